//! [`MemoryFactors`]: second factors in this process (tests, one node without a database).

use std::collections::HashMap;
use std::sync::Mutex;

use super::store::{FactorStore, PasskeyRecord, TotpRecord};
use crate::clock::Timestamp;
use crate::store::StoreError;
use crate::token::TokenHash;

#[derive(Debug, Default)]
struct UserFactors {
    totp: Option<TotpRecord>,
    recovery: Vec<TokenHash>,
    passkeys: Vec<PasskeyRecord>,
}

/// Second factors in process memory (one mutex: every step atomic by construction).
#[derive(Debug, Default)]
pub struct MemoryFactors {
    users: Mutex<HashMap<String, UserFactors>>,
}

impl MemoryFactors {
    /// No factors.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, UserFactors>) -> T) -> T {
        f(&mut self.users.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[async_trait::async_trait]
impl FactorStore for MemoryFactors {
    async fn totp(&self, user_key: &str) -> Result<Option<TotpRecord>, StoreError> {
        Ok(self.with(|u| u.get(user_key).and_then(|f| f.totp.clone())))
    }

    async fn set_totp(&self, user_key: &str, record: Option<TotpRecord>) -> Result<(), StoreError> {
        self.with(|u| u.entry(user_key.to_owned()).or_default().totp = record);
        Ok(())
    }

    async fn claim_totp_step(&self, user_key: &str, step: u64) -> Result<bool, StoreError> {
        Ok(self.with(
            |u| match u.get_mut(user_key).and_then(|f| f.totp.as_mut()) {
                Some(t) if t.last_step.is_none_or(|last| step > last) => {
                    t.last_step = Some(step);
                    true
                }
                _ => false,
            },
        ))
    }

    async fn set_recovery_codes(
        &self,
        user_key: &str,
        codes: Vec<TokenHash>,
    ) -> Result<(), StoreError> {
        self.with(|u| u.entry(user_key.to_owned()).or_default().recovery = codes);
        Ok(())
    }

    async fn recovery_codes_left(&self, user_key: &str) -> Result<usize, StoreError> {
        Ok(self.with(|u| u.get(user_key).map_or(0, |f| f.recovery.len())))
    }

    async fn use_recovery_code(
        &self,
        user_key: &str,
        code: &TokenHash,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|u| {
            let Some(f) = u.get_mut(user_key) else {
                return false;
            };
            match f.recovery.iter().position(|c| c.matches(code)) {
                Some(i) => {
                    f.recovery.swap_remove(i);
                    true
                }
                None => false,
            }
        }))
    }

    async fn passkeys(&self, user_key: &str) -> Result<Vec<PasskeyRecord>, StoreError> {
        Ok(self.with(|u| {
            u.get(user_key)
                .map(|f| f.passkeys.clone())
                .unwrap_or_default()
        }))
    }

    async fn add_passkey(&self, user_key: &str, passkey: PasskeyRecord) -> Result<(), StoreError> {
        self.with(|u| {
            if u.values()
                .any(|f| f.passkeys.iter().any(|p| p.id == passkey.id))
            {
                return Err(StoreError::new(
                    "memory",
                    "add_passkey",
                    "a passkey with this credential id is registered already",
                ));
            }
            u.entry(user_key.to_owned())
                .or_default()
                .passkeys
                .push(passkey);
            Ok(())
        })
    }

    async fn update_passkey(
        &self,
        user_key: &str,
        id: &[u8],
        data: Vec<u8>,
        used_at: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|u| {
            match u
                .get_mut(user_key)
                .and_then(|f| f.passkeys.iter_mut().find(|p| p.id == id))
            {
                Some(p) => {
                    p.data = data;
                    p.last_used_at = Some(used_at);
                    true
                }
                None => false,
            }
        }))
    }

    async fn rename_passkey(
        &self,
        user_key: &str,
        id: &[u8],
        name: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|u| {
            match u
                .get_mut(user_key)
                .and_then(|f| f.passkeys.iter_mut().find(|p| p.id == id))
            {
                Some(p) => {
                    p.name = name.to_owned();
                    true
                }
                None => false,
            }
        }))
    }

    async fn remove_passkey(&self, user_key: &str, id: &[u8]) -> Result<bool, StoreError> {
        Ok(self.with(|u| {
            let Some(f) = u.get_mut(user_key) else {
                return false;
            };
            let before = f.passkeys.len();
            f.passkeys.retain(|p| p.id != id);
            f.passkeys.len() < before
        }))
    }

    async fn passkey_owner(&self, id: &[u8]) -> Result<Option<String>, StoreError> {
        Ok(self.with(|u| {
            u.iter()
                .find(|(_, f)| f.passkeys.iter().any(|p| p.id == id))
                .map(|(k, _)| k.clone())
        }))
    }
}
