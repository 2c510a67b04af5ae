//! [`MemoryIdentities`]: linked identities in this process (tests, one node without a database).

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::store::{IdentityRecord, IdentityStore, LinkOutcome};
use crate::clock::Timestamp;
use crate::store::StoreError;

/// Linked identities in process memory (one mutex: every step atomic by construction).
#[derive(Debug, Default)]
pub struct MemoryIdentities {
    by_pair: Mutex<BTreeMap<(String, String), IdentityRecord>>,
}

impl MemoryIdentities {
    /// No identities.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<(String, String), IdentityRecord>) -> T) -> T {
        f(&mut self.by_pair.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn key(provider: &str, subject: &str) -> (String, String) {
    (provider.to_owned(), subject.to_owned())
}

#[async_trait::async_trait]
impl IdentityStore for MemoryIdentities {
    async fn find_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<IdentityRecord>, StoreError> {
        Ok(self.with(|m| m.get(&key(provider, subject)).cloned()))
    }

    async fn identities(&self, user_key: &str) -> Result<Vec<IdentityRecord>, StoreError> {
        let mut v: Vec<IdentityRecord> = self.with(|m| {
            m.values()
                .filter(|r| r.user_key == user_key)
                .cloned()
                .collect()
        });
        v.sort_by(|a, b| {
            (a.created_at, &a.provider, &a.subject).cmp(&(b.created_at, &b.provider, &b.subject))
        });
        Ok(v)
    }

    async fn link(&self, record: IdentityRecord) -> Result<LinkOutcome, StoreError> {
        Ok(self.with(|m| {
            let k = key(&record.provider, &record.subject);
            match m.get(&k) {
                Some(existing) => LinkOutcome::Taken {
                    user_key: existing.user_key.clone(),
                },
                None => {
                    m.insert(k, record);
                    LinkOutcome::Linked
                }
            }
        }))
    }

    async fn touch_identity(
        &self,
        provider: &str,
        subject: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|m| match m.get_mut(&key(provider, subject)) {
            Some(r) => {
                r.last_used_at = Some(at);
                true
            }
            None => false,
        }))
    }

    async fn unlink(
        &self,
        user_key: &str,
        provider: &str,
        subject: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|m| {
            let k = key(provider, subject);
            if m.get(&k).is_some_and(|r| r.user_key == user_key) {
                m.remove(&k);
                true
            } else {
                false
            }
        }))
    }

    async fn unlink_all(&self, user_key: &str) -> Result<usize, StoreError> {
        Ok(self.with(|m| {
            let before = m.len();
            m.retain(|_, r| r.user_key != user_key);
            before - m.len()
        }))
    }
}
