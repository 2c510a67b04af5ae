//! Audit events: what happened to which account, for a security log.
//!
//! Every event is a `tracing` event under one stable target, [`TARGET`] (`keycard::audit`), so an app
//! routes them with one filter (`RUST_LOG=keycard::audit=info`, or a dedicated layer). Each carries:
//!
//! | field | |
//! |---|---|
//! | `event` | the stable name below |
//! | `account` | an [`AccountId`]: the account's identifier (user key, or the login the client typed) as a salted hash, so events of one account can be correlated without the log naming anybody |
//! | `session_id` | the session concerned, when there is one (its public handle, not a token) |
//! | `count`, `reason`, `retry_after_secs` | where the event has them |
//!
//! | `event` | level | emitted by |
//! |---|---|---|
//! | `sign_in.succeeded` | INFO | the app's sign-in, through [`AuditLog::sign_in_succeeded`] |
//! | `sign_in.failed` | INFO | the app's sign-in (wrong password, unknown account) |
//! | `sign_in.throttled` | WARN | [`LoginThrottle`](crate::throttle::LoginThrottle) refusing an attempt (`reason`: `pair`, `account`, `address`) |
//! | `session.signed_out` | INFO | [`CredentialsCache::delete`](crate::CredentialsCache::delete), [`CredentialsCache::sign_out`](crate::CredentialsCache::sign_out) (keycard-axum's `Auth::delete`) |
//! | `session.revoked` | INFO | [`CredentialsCache::delete_session`](crate::CredentialsCache::delete_session) |
//! | `sessions.revoked` | INFO | [`CredentialsCache::delete_user_sessions`](crate::CredentialsCache::delete_user_sessions) |
//! | `session.reauthenticated` | INFO | keycard-axum's `Auth::reauthenticate` (sudo mode) |
//! | `password.changed` | INFO | the app's password change |
//! | `session.credentials_changed` | WARN | a session ended because the user's credentials changed since it was created |
//! | `session.displaced` | INFO | a sign-in ended an older session (`reason`: `cap`, past the per-user cap; `series`, an older session of the same remember-me browser) |
//! | `remember_me.redeemed` | INFO | a browser signed back in by its remember-me cookie |
//! | `remember_me.theft` | WARN | a remember-me token replayed after its series moved on: every session and series of the account ended |
//! | `grace.exhausted` | WARN | a replaced token (`reason`: `session`, `remember_me`) asked for more grace answers than allowed: anonymous from now on |
//! | `grace.write_refused` | WARN | a request served from a replaced token tried to sign in, sync, rotate or sign out (`reason`: which): refused |
//! | `second_factor.required` | INFO | a right password for an account with a second factor: a pending login began, nobody is signed in yet |
//! | `second_factor.failed` | INFO | a wrong or replayed second-factor code (`reason`: `wrong_code`, `replayed`, `wrong_recovery_code`, `passkey`) |
//! | `recovery_code.used` | WARN | a recovery code stood in for the second factor (`count`: codes left) |
//! | `factor.added` | INFO | a second factor was turned on (`reason`: `totp`, `passkey`, `recovery_codes`) |
//! | `factor.removed` | WARN | a second factor was turned off (`reason`: which; `count`: other sessions ended) |
//!
//! **Never** a password, a token, a cookie value, a secret or a raw email: the only identifying field is
//! the salted hash, keyed by the app secret (a label of its own), so it cannot be reversed or matched
//! against a list of emails without the secret.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::token::{labeled_key, SecretError, SessionId};

/// The `tracing` target of every audit event.
pub const TARGET: &str = "keycard::audit";

const LABEL: &[u8] = b"keycard audit account id v1";

/// An account's identifier as the audit log shows it: the first 8 bytes of HMAC-SHA256 of the
/// identifier, keyed by a key derived from the app secret; 16 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountId([u8; 8]);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({self})")
    }
}

/// Writes audit events: the key of the account hash, and one method per event.
///
/// The cache makes one from its secret ([`CredentialsCache::audit`](crate::CredentialsCache::audit)), so
/// an app's own events (sign-in, password change) name accounts the same way the cache's do.
#[derive(Clone)]
pub struct AuditLog {
    key: Hmac<Sha256>,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditLog(<keyed>)")
    }
}

impl AuditLog {
    /// An audit log keyed by `secret` (at least [`MIN_SECRET_LEN`](crate::token::MIN_SECRET_LEN) bytes; the app secret is fine, the
    /// key is derived under a label of its own).
    ///
    /// Errors: [`SecretError::TooShort`] for a secret shorter than [`MIN_SECRET_LEN`](crate::token::MIN_SECRET_LEN).
    pub fn new(secret: &[u8]) -> Result<AuditLog, SecretError> {
        Ok(AuditLog {
            key: labeled_key(secret, LABEL)?,
        })
    }

    /// The audit log's name for the account `identifier` (a user key, or a login as typed: normalize it
    /// the way the app does, e.g. trimmed and lower-cased, so one account has one id).
    pub fn account(&self, identifier: &str) -> AccountId {
        let mut mac = self.key.clone();
        mac.update(identifier.as_bytes());
        let out = mac.finalize().into_bytes();
        let mut id = [0u8; 8];
        id.copy_from_slice(&out[..8]);
        AccountId(id)
    }

    /// A sign-in that proved the password.
    pub fn sign_in_succeeded(&self, account: &str, session_id: &SessionId) {
        tracing::info!(target: TARGET, event = "sign_in.succeeded", account = %self.account(account), session_id = %session_id);
    }

    /// A sign-in that did not (`reason`: e.g. `"invalid_credentials"`; never says whether the account
    /// exists in anything a client sees).
    pub fn sign_in_failed(&self, login: &str, reason: &'static str) {
        tracing::info!(target: TARGET, event = "sign_in.failed", account = %self.account(login), reason);
    }

    /// A sign-in refused by a throttle before any password check (`reason`: which limit).
    pub fn sign_in_throttled(&self, login: &str, reason: &'static str, retry_after_secs: u64) {
        tracing::warn!(target: TARGET, event = "sign_in.throttled", account = %self.account(login), reason, retry_after_secs);
    }

    /// A session signed out by its own cookie.
    pub fn signed_out(&self, account: &str, session_id: &SessionId) {
        tracing::info!(target: TARGET, event = "session.signed_out", account = %self.account(account), session_id = %session_id);
    }

    /// One session ended by id (from a sessions page or an admin).
    pub fn session_revoked(&self, account: &str, session_id: &SessionId) {
        tracing::info!(target: TARGET, event = "session.revoked", account = %self.account(account), session_id = %session_id);
    }

    /// Every session of an account ended but `kept` ("log out everywhere (else)").
    pub fn sessions_revoked(&self, account: &str, count: usize, kept: Option<&SessionId>) {
        match kept {
            Some(kept) => {
                tracing::info!(target: TARGET, event = "sessions.revoked", account = %self.account(account), count, kept = %kept)
            }
            None => {
                tracing::info!(target: TARGET, event = "sessions.revoked", account = %self.account(account), count)
            }
        }
    }

    /// A re-authentication (sudo mode): the user proved their password again in this session.
    pub fn reauthenticated(&self, account: &str, session_id: &SessionId) {
        tracing::info!(target: TARGET, event = "session.reauthenticated", account = %self.account(account), session_id = %session_id);
    }

    /// A password change (the app's, after it stored the new hash).
    pub fn password_changed(&self, account: &str, other_sessions_ended: usize) {
        tracing::info!(target: TARGET, event = "password.changed", account = %self.account(account), other_sessions_ended);
    }

    /// A browser signed back in by its remember-me cookie (a new session, no password checked).
    pub fn remember_me_redeemed(&self, account: &str, session_id: &SessionId) {
        tracing::info!(target: TARGET, event = "remember_me.redeemed", account = %self.account(account), session_id = %session_id);
    }

    /// A remember-me token was replayed after its series moved on (a copied cookie): every session and
    /// series of the account is ended.
    pub fn remember_me_theft(&self, account: &str) {
        tracing::warn!(target: TARGET, event = "remember_me.theft", account = %self.account(account));
    }

    /// A sign-in ended an older session of the account (`reason`: `cap` or `series`).
    pub fn session_displaced(&self, account: &str, session_id: &SessionId, reason: &'static str) {
        tracing::info!(target: TARGET, event = "session.displaced", account = %self.account(account), session_id = %session_id, reason);
    }

    /// A replaced token (`reason`: `session` or `remember_me`) was presented past its bound of grace
    /// answers: the request is anonymous.
    pub fn grace_exhausted(&self, account: &str, reason: &'static str) {
        tracing::warn!(target: TARGET, event = "grace.exhausted", account = %self.account(account), reason);
    }

    /// A request served from a replaced token tried to change identity (`reason`: the operation): refused.
    pub fn grace_write_refused(&self, account: &str, reason: &'static str) {
        tracing::warn!(target: TARGET, event = "grace.write_refused", account = %self.account(account), reason);
    }

    /// A right password for an account with a second factor: a pending login began.
    pub fn second_factor_required(&self, account: &str) {
        tracing::info!(target: TARGET, event = "second_factor.required", account = %self.account(account));
    }

    /// A second-factor step failed (`reason`: `wrong_code`, `replayed`, `wrong_recovery_code`, `passkey`).
    pub fn second_factor_failed(&self, account: &str, reason: &'static str) {
        tracing::info!(target: TARGET, event = "second_factor.failed", account = %self.account(account), reason);
    }

    /// A recovery code stood in for the second factor; `left` remain.
    pub fn recovery_code_used(&self, account: &str, left: usize) {
        tracing::warn!(target: TARGET, event = "recovery_code.used", account = %self.account(account), count = left);
    }

    /// A second factor was turned on (`factor`: `totp`, `passkey`, `recovery_codes`).
    pub fn factor_added(&self, account: &str, factor: &'static str) {
        tracing::info!(target: TARGET, event = "factor.added", account = %self.account(account), reason = factor);
    }

    /// A second factor was turned off; `other_sessions_ended` of the user's other sessions ended.
    pub fn factor_removed(&self, account: &str, factor: &'static str, other_sessions_ended: usize) {
        tracing::warn!(target: TARGET, event = "factor.removed", account = %self.account(account), reason = factor, count = other_sessions_ended);
    }

    /// A session ended because the user's credentials changed after it was created.
    pub fn credentials_changed(&self, account: &str, session_id: &SessionId) {
        tracing::warn!(target: TARGET, event = "session.credentials_changed", account = %self.account(account), session_id = %session_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_keyed_stable_and_never_the_identifier() {
        let a = AuditLog::new(&[1u8; 64]).unwrap();
        let b = AuditLog::new(&[2u8; 64]).unwrap();
        let id = a.account("alice@example.com");
        assert_eq!(id, a.account("alice@example.com"), "stable for one key");
        assert_ne!(id, a.account("bob@example.com"));
        assert_ne!(id, b.account("alice@example.com"), "keyed by the secret");
        let shown = id.to_string();
        assert_eq!(shown.len(), 16);
        assert!(!shown.contains("alice"));
        assert!(AuditLog::new(&[1u8; 63]).is_err());
    }
}
