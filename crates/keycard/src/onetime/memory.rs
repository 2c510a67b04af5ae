//! [`MemoryOneTime`]: one-time tokens in this process.

use std::collections::HashMap;
use std::sync::Mutex;

use super::store::{CodeRedemption, OneTimeRecord, OneTimeStore};
use crate::clock::Timestamp;
use crate::store::StoreError;
use crate::token::TokenHash;

/// One-time tokens in process memory (one mutex: every step is atomic by construction). For one node and
/// for tests; a fleet keeps them in its shared store.
#[derive(Debug, Default)]
pub struct MemoryOneTime {
    records: Mutex<HashMap<TokenHash, OneTimeRecord>>,
}

impl MemoryOneTime {
    /// No records.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TokenHash, OneTimeRecord>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl OneTimeStore for MemoryOneTime {
    async fn issue(&self, record: OneTimeRecord, supersede: bool) -> Result<(), StoreError> {
        let mut all = self.lock();
        if supersede {
            all.retain(|_, r| r.purpose != record.purpose || r.subject != record.subject);
        }
        all.insert(record.token, record);
        Ok(())
    }

    async fn find(
        &self,
        purpose: &str,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<OneTimeRecord>, StoreError> {
        Ok(self
            .lock()
            .get(token)
            .filter(|r| r.purpose == purpose && r.is_live(now))
            .cloned())
    }

    async fn redeem(
        &self,
        purpose: &str,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<OneTimeRecord>, StoreError> {
        let mut all = self.lock();
        match all.get(token) {
            Some(r) if r.purpose == purpose && r.is_live(now) => Ok(all.remove(token)),
            _ => Ok(None),
        }
    }

    async fn redeem_code(
        &self,
        purpose: &str,
        subject: &str,
        code: &TokenHash,
        now: Timestamp,
    ) -> Result<CodeRedemption, StoreError> {
        let mut all = self.lock();
        let Some((token, record)) = all.iter_mut().find(|(_, r)| {
            r.purpose == purpose && r.subject == subject && r.code.is_some() && r.is_live(now)
        }) else {
            return Ok(CodeRedemption::Unknown);
        };
        let token = *token;
        record.attempts_left -= 1;
        let right = record.code.as_ref().is_some_and(|c| c.matches(code));
        let left = record.attempts_left;
        if right {
            let consumed = all.remove(&token).ok_or_else(|| {
                StoreError::new(
                    "memory",
                    "redeem_code",
                    "the record vanished under its lock",
                )
            })?;
            return Ok(CodeRedemption::Redeemed(consumed));
        }
        if left == 0 {
            all.remove(&token);
        }
        Ok(CodeRedemption::Wrong {
            attempts_left: left,
        })
    }

    async fn revoke(&self, purpose: &str, subject: &str) -> Result<usize, StoreError> {
        let mut all = self.lock();
        let before = all.len();
        all.retain(|_, r| r.purpose != purpose || r.subject != subject);
        Ok(before - all.len())
    }

    async fn sweep_one_time(&self, now: Timestamp) -> Result<usize, StoreError> {
        let mut all = self.lock();
        let before = all.len();
        all.retain(|_, r| r.is_live(now));
        Ok(before - all.len())
    }
}
