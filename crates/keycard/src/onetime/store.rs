//! [`OneTimeStore`]: where one-time tokens live, and the atomic steps that make them single use.

use std::fmt;

use crate::clock::Timestamp;
use crate::store::StoreError;
use crate::token::{RouteTag, TokenHash};

/// What a one-time token is for (`reset_password`, `sign_in`, a second-factor challenge…): a short
/// ASCII name the store keeps with the record, so a token issued for one purpose is never accepted for
/// another.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Purpose(&'static str);

impl Purpose {
    /// A purpose named `name`: 1 to 32 bytes of lowercase ASCII letters, digits and `_`.
    ///
    /// # Panics
    /// On any other name (a programming error; in a `const` it fails the build).
    pub const fn new(name: &'static str) -> Purpose {
        let b = name.as_bytes();
        assert!(
            !b.is_empty() && b.len() <= 32,
            "a purpose name is 1 to 32 bytes"
        );
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            assert!(
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_',
                "a purpose name is lowercase ASCII letters, digits and _"
            );
            i += 1;
        }
        Purpose(name)
    }

    /// The name.
    pub const fn as_str(&self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Purpose({})", self.0)
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One live one-time token, as the store keeps it: never the token itself, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeRecord {
    /// What it is for ([`Purpose::as_str`]).
    pub purpose: String,
    /// Whose: a user key, or the key the issuer names the recipient by. With `supersede`, one live
    /// record per purpose and subject.
    pub subject: String,
    /// `SHA-256` of the link token (tagged like session tokens on a routing store).
    pub token: TokenHash,
    /// The keyed hash of a short code sent with the link, if any (typed instead of opening the link).
    pub code: Option<TokenHash>,
    /// When it was issued.
    pub created_at: Timestamp,
    /// It dies at this instant.
    pub expires_at: Timestamp,
    /// How many more wrong codes it takes; at zero the record is gone.
    pub attempts_left: u32,
    /// What the issuer bound to it (the address it was sent to, the user's credential fingerprint, a
    /// challenge's state): opaque to the store.
    pub payload: Vec<u8>,
}

impl OneTimeRecord {
    /// Whether it is still live at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at && self.attempts_left > 0
    }
}

/// What a code redemption did ([`OneTimeStore::redeem_code`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeRedemption {
    /// The code was right: the record is consumed (deleted) and returned (its `attempts_left` counts this
    /// attempt).
    Redeemed(OneTimeRecord),
    /// The code was wrong: one attempt is used; `attempts_left` more are allowed (at zero the record is
    /// gone).
    Wrong {
        /// Attempts left.
        attempts_left: u32,
    },
    /// No live record with a code for that purpose and subject (never issued, expired, used, superseded,
    /// or out of attempts): nothing was counted.
    Unknown,
}

/// One-time tokens, kept where every node sees them (the session store's backend: memory, SQL, Redis).
///
/// [`MemoryOneTime`](super::MemoryOneTime) for one process; `keycard-store-tests`' `one_time_suite!`
/// checks an implementation. Every method is **atomic**: of any number of concurrent redemptions of one
/// token, exactly one gets the record; a code's attempts are reserved before the code is compared, so
/// however many guesses race, at most `attempts_left` are ever compared.
#[async_trait::async_trait]
pub trait OneTimeStore: Send + Sync + 'static {
    /// Store a new record. With `supersede`, every other record of the same purpose and subject is
    /// deleted in the same step (a new link supersedes the older ones).
    async fn issue(&self, record: OneTimeRecord, supersede: bool) -> Result<(), StoreError>;

    /// The live record of `purpose` whose token hash is `token`, without consuming it (the page a link
    /// opens, before its button is pressed).
    async fn find(
        &self,
        purpose: &str,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<OneTimeRecord>, StoreError>;

    /// Consume the live record of `purpose` whose token hash is `token`: deleted and returned, to exactly
    /// one of any number of concurrent callers.
    async fn redeem(
        &self,
        purpose: &str,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<OneTimeRecord>, StoreError>;

    /// Check `code` against the live record of `purpose` and `subject` that has a code: first reserve one
    /// attempt (refused when none is left), then compare; a right code consumes the record (exactly one
    /// winner), a wrong one leaves it with one attempt fewer (deleted at zero).
    async fn redeem_code(
        &self,
        purpose: &str,
        subject: &str,
        code: &TokenHash,
        now: Timestamp,
    ) -> Result<CodeRedemption, StoreError>;

    /// Delete every record of `purpose` and `subject` (a password reset ends the other reset links);
    /// how many.
    async fn revoke(&self, purpose: &str, subject: &str) -> Result<usize, StoreError>;

    /// Remove records past their deadline; how many. A store whose keys expire by themselves answers 0.
    async fn sweep_one_time(&self, now: Timestamp) -> Result<usize, StoreError>;

    /// The [`RouteTag`] to put in the tokens of `subject`, for a store that shards by it (the Redis
    /// store keeps a subject's records in one slot and finds a token's from its hash). Default `None`.
    fn route_tag(&self, _subject: &str) -> Option<RouteTag> {
        None
    }
}
