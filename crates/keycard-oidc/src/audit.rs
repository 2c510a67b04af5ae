//! The provider events of the audit log (`tracing` target `keycard::audit`), named like keycard's own:
//! the account as keycard's salted hash ([`AuditLog::account`]), the provider by its key, a refusal by
//! [`OidcError::code`]. Never a code, a token, a `state`, a nonce, a secret or a provider's subject.

use keycard::audit::{AuditLog, TARGET};

use crate::error::OidcError;

/// Writes the provider events.
#[derive(Debug, Clone)]
pub(crate) struct Events {
    pub(crate) log: AuditLog,
}

impl Events {
    pub(crate) fn signed_in(&self, provider: &str, user_key: &str) {
        tracing::info!(target: TARGET, event = "oidc.signed_in", provider, account = %self.log.account(user_key));
    }

    /// `how`: `sign_up` (a new account), `email` (an account with the provider's verified email),
    /// `settings` (the user linked it).
    pub(crate) fn linked(&self, provider: &str, user_key: &str, how: &'static str) {
        tracing::info!(target: TARGET, event = "oidc.linked", provider, account = %self.log.account(user_key), how);
    }

    pub(crate) fn unlinked(&self, provider: &str, user_key: &str) {
        tracing::info!(target: TARGET, event = "oidc.unlinked", provider, account = %self.log.account(user_key));
    }

    /// Nothing was created: the user must sign in with a password and link from settings (`reason`:
    /// `email_taken`, `no_trusted_email`).
    pub(crate) fn password_first(&self, provider: &str, reason: &'static str) {
        tracing::info!(target: TARGET, event = "oidc.password_first", provider, reason);
    }

    /// A refused flow. The ones an attacker causes (a replayed state, a foreign token, a wrong nonce, an
    /// unknown key, another issuer, another browser) are warnings.
    pub(crate) fn refused(&self, provider: &str, user_key: Option<&str>, error: &OidcError) {
        let account = user_key.map(|k| self.log.account(k).to_string());
        let account = account.as_deref().unwrap_or("-");
        let reason = error.code();
        match error {
            OidcError::FlowExpired
            | OidcError::BrowserMismatch
            | OidcError::WrongProvider
            | OidcError::WrongAudience
            | OidcError::NonceMismatch
            | OidcError::UnknownKey
            | OidcError::IssuerMismatch
            | OidcError::Expired
            | OidcError::InvalidIdToken { .. } => {
                tracing::warn!(target: TARGET, event = "oidc.refused", provider, account, reason);
            }
            _ => tracing::info!(target: TARGET, event = "oidc.refused", provider, account, reason),
        }
    }
}
