//! What keycard needs to know about the app's user type.
//!
//! # Credential-bound sessions
//!
//! A user type that returns an [`auth_fingerprint`](CachedUser::auth_fingerprint) binds every session to
//! the credentials it was signed in with (Django's "session auth hash", Devise's salt, Laravel's
//! `AuthenticateSession`): each session remembers the [`Fingerprint`] of its user at sign-in, and a session
//! whose fingerprint is not the cached user's is not a session any more. So the one write that caches the
//! user with new credentials (the password change's [`sync`](crate::CredentialsCache::sync), or a
//! [`put_user`](crate::CredentialsCache::put_user) from an admin's password reset) ends **every other
//! session of the user at once, on every store, with no extra read per request**: the store compares two
//! fingerprints it already holds when it resolves a token, and ends a session that no longer matches.
//!
//! The ordering that makes it hold against a sign-in that verified the **old** password while the change
//! was being made (issue V1) is the user's [`version`](CachedUser::version): such a sign-in carries the
//! old version and the old fingerprint, and a store that holds a newer version with another fingerprint
//! refuses to create the session ([`CreateError::CredentialsChanged`](crate::CreateError)). Give a user
//! with a fingerprint a version that grows with every change of its row; without one, the last writer wins.
//!
//! Derive the fingerprint from a field that is **part of the cached user** (it is serialized with it): a
//! counter the app bumps on every credential change, or a digest of the password hash. Never a field the
//! user type skips when it is serialized, or a networked store's deserialized copy would not match.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The app's user, as the credentials cache keeps it.
///
/// The cache holds **one copy per user** (keyed by [`user_key`](CachedUser::user_key)) that every session of
/// that user reads. Stores that leave the process (Redis, SQL) serialize it with serde; the memory store keeps
/// the value itself behind an `Arc`.
///
/// ```
/// use keycard::CachedUser;
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct User { id: i64, email: String, plan: String, updated_at_ms: u64 }
///
/// impl CachedUser for User {
///     fn user_key(&self) -> String { self.id.to_string() }
///     // Optional: lets the cache refuse to replace a newer copy with an older one.
///     fn version(&self) -> Option<u64> { Some(self.updated_at_ms) }
/// }
/// ```
pub trait CachedUser: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// A stable key for this user (its primary key, usually). Two values with the same key are the same user.
    fn user_key(&self) -> String;

    /// A monotonic version of this user's row (a counter, or `updated_at` in milliseconds), if the app has one.
    ///
    /// When both the cached copy and an incoming copy carry a version, the incoming copy replaces the cached
    /// one only if its version is greater than or equal to the cached one. `None` means "always replace".
    fn version(&self) -> Option<u64> {
        None
    }

    /// Bytes that change exactly when this user's credentials change (a credential counter, the password
    /// hash's digest, …), or `None` (the default) for sessions not bound to credentials. See the
    /// [module docs](self) for what it does and what to derive it from; the store keeps only its
    /// [`Fingerprint`].
    fn auth_fingerprint(&self) -> Option<Vec<u8>> {
        None
    }
}

/// What a store keeps of a user's [`auth_fingerprint`](CachedUser::auth_fingerprint): the first 16 bytes
/// of SHA-256 over a label and the bytes. Not keyed, so that rotating the app secret changes no
/// fingerprint (and ends no session); it is a digest of credentials metadata, not of a secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint(pub [u8; 16]);

const FINGERPRINT_LABEL: &[u8] = b"keycard credential fingerprint v1\0";

impl Fingerprint {
    /// The fingerprint of `user`'s credentials, if its type has one.
    pub fn of<U: CachedUser>(user: &U) -> Option<Fingerprint> {
        user.auth_fingerprint().map(|bytes| {
            let digest = Sha256::new()
                .chain_update(FINGERPRINT_LABEL)
                .chain_update(&bytes)
                .finalize();
            let mut f = [0u8; 16];
            f.copy_from_slice(&digest[..16]);
            Fingerprint(f)
        })
    }

    /// Lower-case hex, 32 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({}…)", &self.to_hex()[..8])
    }
}

/// Whether a session created under `session` may still be used with a cached user whose fingerprint is
/// `user`: the same fingerprint, or neither has one.
pub fn credentials_match(session: Option<Fingerprint>, user: Option<Fingerprint>) -> bool {
    session == user
}

/// Whether a copy with version `incoming` may replace a cached copy with version `cached`.
pub fn may_replace(cached: Option<u64>, incoming: Option<u64>) -> bool {
    match (cached, incoming) {
        (Some(c), Some(i)) => i >= c,
        _ => true,
    }
}
