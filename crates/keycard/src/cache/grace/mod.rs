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
//! The count is kept in a [`ThrottleStore`](crate::throttle::ThrottleStore): one atomic `reserve` per
//! grace answer, on a counter named by the replaced token's hash and living as long as its window
//! (`count`: the counter and where the counts live). By default each cache counts in its own process
//! ([`MemoryThrottle`](crate::throttle::MemoryThrottle));
//! [`Builder::grace_counter`](super::Builder::grace_counter) gives it the shared store's counters, so the
//! bound holds across nodes.

use std::time::Duration;

use super::{Authenticated, CredentialsCache};
use crate::store::StoreError;
use crate::throttle::{Limit, Reservation};
use crate::token::TokenHash;
use crate::user::CachedUser;

mod count;

use count::counter;
pub(super) use count::{GraceCounter, GraceKind};

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

    /// A grace answer, if the replaced token has answered fewer than
    /// [`Policy::grace_uses`](crate::Policy::grace_uses) requests; anonymous after.
    pub(super) async fn counted_grace(
        &self,
        token: &TokenHash,
        found: Authenticated<U>,
    ) -> Result<Option<Authenticated<U>>, StoreError> {
        let p = &self.inner.policy;
        let allowed = self
            .grace_allowed(
                GraceKind::Session,
                token,
                &found.session.user_key,
                p.grace_uses,
                p.grace,
            )
            .await?;
        Ok(allowed.then_some(found))
    }
}
