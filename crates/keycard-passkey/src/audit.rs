//! The passkey events of the audit log (`tracing` target `keycard::audit`), named like keycard's own:
//! the account as keycard's salted hash ([`AuditLog::account`]), a passkey by the first characters of its
//! credential id. Never a token, a challenge, a whole credential id or key material.

use keycard::audit::{AuditLog, TARGET};

use crate::error::PasskeyError;
use crate::types::IdPrefix;

/// Writes the passkey events.
#[derive(Debug, Clone)]
pub(crate) struct Events {
    pub(crate) log: AuditLog,
}

impl Events {
    pub(crate) fn registered(&self, user_key: &str, id: &str) {
        tracing::info!(target: TARGET, event = "passkey.registered", account = %self.log.account(user_key), passkey = %IdPrefix(id));
    }

    pub(crate) fn verified(&self, user_key: &str, id: &str, flow: &'static str) {
        tracing::info!(target: TARGET, event = "passkey.verified", account = %self.log.account(user_key), passkey = %IdPrefix(id), flow);
    }

    /// A refused answer. A counter that went backwards is a warning: a cloned authenticator.
    pub(crate) fn refused(
        &self,
        user_key: Option<&str>,
        id: Option<&str>,
        flow: &'static str,
        error: &PasskeyError,
    ) {
        let account = user_key.map(|k| self.log.account(k).to_string());
        let account = account.as_deref().unwrap_or("-");
        let passkey = id.map(|i| IdPrefix(i).to_string());
        let passkey = passkey.as_deref().unwrap_or("-");
        if matches!(error, PasskeyError::CounterRegressed) {
            tracing::warn!(target: TARGET, event = "passkey.counter_regressed", account, passkey, flow);
        } else {
            tracing::info!(target: TARGET, event = "passkey.refused", account, passkey, flow, reason = %error);
        }
    }

    pub(crate) fn removed(&self, user_key: &str, id: &str) {
        tracing::info!(target: TARGET, event = "passkey.removed", account = %self.log.account(user_key), passkey = %IdPrefix(id));
    }
}
