//! [`IdentityStore`]: where linked identities live (with the users, durably).

use crate::clock::Timestamp;
use crate::store::StoreError;

/// One linked identity: the account `subject` at the provider the app named `provider`, signing in as
/// the user `user_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRecord {
    /// The app's name for the provider (lowercase, as configured).
    pub provider: String,
    /// The provider's identifier of the account (the ID token's `sub`): stable, never reassigned.
    pub subject: String,
    /// The user it signs in as.
    pub user_key: String,
    /// The email the provider gave when it was linked (shown on the settings page; never used to find
    /// the identity).
    pub email: Option<String>,
    /// When it was linked.
    pub created_at: Timestamp,
    /// When it last signed in.
    pub last_used_at: Option<Timestamp>,
}

/// What [`IdentityStore::link`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkOutcome {
    /// The identity now signs in as the user.
    Linked,
    /// The pair was linked already, to `user_key` (maybe the same user): nothing changed.
    Taken {
        /// The user it signs in as.
        user_key: String,
    },
}

/// Linked identities, kept with the users (the app's users database: keycard-sqlx's tables, or the app's
/// own implementation). [`MemoryIdentities`](super::MemoryIdentities) for tests; `keycard-store-tests`'
/// `identity_suite!` checks an implementation. [`link`](Self::link) is **atomic**: of any number of
/// concurrent links of one (provider, subject), exactly one is [`LinkOutcome::Linked`].
#[async_trait::async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    /// The identity (provider, subject), if linked.
    async fn find_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<IdentityRecord>, StoreError>;

    /// The user's identities, oldest first.
    async fn identities(&self, user_key: &str) -> Result<Vec<IdentityRecord>, StoreError>;

    /// Link `record` unless its (provider, subject) is linked already (to anyone).
    async fn link(&self, record: IdentityRecord) -> Result<LinkOutcome, StoreError>;

    /// Record a sign-in with the identity at `at`; `false` when it is not linked.
    async fn touch_identity(
        &self,
        provider: &str,
        subject: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Remove the identity (provider, subject) of `user_key`; `false` when that user has no such
    /// identity. The app checks [`can_unlink`] first.
    async fn unlink(
        &self,
        user_key: &str,
        provider: &str,
        subject: &str,
    ) -> Result<bool, StoreError>;

    /// Remove every identity of `user_key` (the account is deleted); how many.
    async fn unlink_all(&self, user_key: &str) -> Result<usize, StoreError>;
}

/// Whether one of a user's `identities` may be removed: only when another way to sign in remains (a
/// password, a passkey, or another identity). `can_sign_in_otherwise`: the user has a password or a
/// passkey.
///
/// ```
/// use keycard::identity::can_unlink;
/// assert!(can_unlink(1, true), "the password remains");
/// assert!(can_unlink(2, false), "another identity remains");
/// assert!(!can_unlink(1, false), "the last way in");
/// ```
pub fn can_unlink(identities: usize, can_sign_in_otherwise: bool) -> bool {
    can_sign_in_otherwise || identities > 1
}
