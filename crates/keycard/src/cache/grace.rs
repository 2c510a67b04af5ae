//! Grace answers, bounded: a replaced token (a session token after its renewal, a remember-me token after
//! its redemption) answers only a few requests, and only inside its window.
//!
//! # The model
//! A grace window exists for honest concurrency: the requests a page had in flight when its token
//! rotated, the tabs a browser restores at once. The same window serves a copied cookie replayed just
//! after its owner's request rotated it (issue 18, V3). So a grace answer is
//! - **read-only for identity**: keycard-axum refuses every sign-in, sync, rotation and sign-out made
//!   from it (`AuthError::StaleToken`), so a replayed token can read as the user, never act for them;
//! - **bounded in number**: each replaced token may answer [`Policy::grace_uses`](crate::Policy::grace_uses)
//!   session requests or [`RememberPolicy::grace_uses`](crate::remember::RememberPolicy::grace_uses)
//!   remember-me requests; later ones are anonymous and written to the audit log (`grace.exhausted`);
//! - **short**: the session window is [`Policy::grace`](crate::Policy::grace) (60 s), the remember-me one
//!   [`RememberPolicy::grace`](crate::remember::RememberPolicy::grace) (10 s).
//!
//! The count is kept in a [`ThrottleStore`]: one atomic `reserve` per grace answer, on a counter named by
//! the replaced token's hash and living as long as its window. By default each cache counts in its own
//! process ([`MemoryThrottle`]); [`Builder::grace_counter`](super::Builder::grace_counter) gives it the
//! shared store's counters, so the bound holds across nodes.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::CredentialsCache;
use crate::store::StoreError;
use crate::throttle::{Limit, Reservation, ThrottleKey, ThrottleStore};
use crate::token::TokenHash;
use crate::user::CachedUser;

const LABEL: &[u8] = b"keycard grace answers v1\0";

/// Which kind of replaced token a grace answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GraceKind {
    /// A session token after its renewal.
    Session,
    /// A remember-me token after its redemption.
    Remember,
}

impl GraceKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GraceKind::Session => "session",
            GraceKind::Remember => "remember_me",
        }
    }
}

/// Where grace answers are counted.
#[derive(Clone)]
pub(super) struct GraceCounter {
    pub(super) store: Arc<dyn ThrottleStore>,
}

/// The counter of one replaced token: a hash of its (already hashed) value, so the counter store never
/// holds anything a lookup could use.
fn counter(kind: GraceKind, token: &TokenHash) -> ThrottleKey {
    let mut h = Sha256::new();
    h.update(LABEL);
    h.update([kind as u8]);
    h.update(token.0);
    ThrottleKey(h.finalize().into())
}

impl<U: CachedUser> CredentialsCache<U> {
    /// Count one grace answer of the replaced token `token`: `true` while it has answered fewer than
    /// `max` in its window (this one counted), `false` after (nothing counted, audited).
    pub(crate) async fn grace_allowed(
        &self,
        kind: GraceKind,
        token: &TokenHash,
        user_key: &str,
        max: u32,
        window: Duration,
    ) -> Result<bool, StoreError> {
        // A zero window never answers grace at all; a one-millisecond counter is the least a store keeps.
        let limit = Limit::new(max, window.max(Duration::from_millis(1)));
        match self
            .inner
            .grace
            .store
            .reserve(&counter(kind, token), limit, self.now())
            .await?
        {
            Reservation::Counted => Ok(true),
            Reservation::Limited { .. } => {
                self.inner.audit.grace_exhausted(user_key, kind.as_str());
                Ok(false)
            }
        }
    }
}
