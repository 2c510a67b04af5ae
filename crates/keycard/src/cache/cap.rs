//! What a new session displaces: the user's oldest sessions past
//! [`Policy::max_sessions_per_user`](crate::Policy::max_sessions_per_user), and, for a session a
//! remember-me cookie signed in, the older sessions of the same series (a series is one browser, and a
//! browser holds one session of it).
//!
//! Without these, a remember-me cookie redeemed in a loop (drop the session cookie, redeem the new
//! remember-me cookie, again) makes sessions without a password and without end (issue 18, W10: 1,500
//! in 1.3 s). The check runs after the store created the session, on one listing of the user's
//! sessions; concurrent sign-ins may exceed the cap for a moment, and the next sign-in trims again. A
//! failure here is logged, never the sign-in's: the session exists, and the cap is a bound on
//! resources, not a decision about who is signed in.

use super::CredentialsCache;
use crate::events::{EndReason, SessionEvent};
use crate::store::SessionRecord;
use crate::token::SessionId;
use crate::user::CachedUser;

impl<U: CachedUser> CredentialsCache<U> {
    /// End what the new session `session` displaces (see the module docs). `redeemed`: it was made by a
    /// remember-me redemption.
    pub(super) async fn displace_for(&self, session: &SessionRecord, redeemed: bool) {
        let cap = self.inner.policy.max_sessions_per_user;
        let series = session.remember_series.filter(|_| redeemed);
        if cap.is_none() && series.is_none() {
            return;
        }
        let sessions = match self.sessions(&session.user_key).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "could not list the user's sessions after a sign-in; the session cap is applied at the next one");
                return;
            }
        };
        // Personal tokens neither count nor are displaced (they have a limit of their own).
        let others = sessions.iter().filter(|s| {
            s.session_id != session.session_id && !super::personal_record::is_personal_token(s)
        });
        let (siblings, rest): (Vec<&SessionRecord>, Vec<&SessionRecord>) =
            others.partition(|s| series.is_some() && s.remember_series == series);
        let over = cap.map_or(0, |cap| (rest.len() + 1).saturating_sub(cap));
        // `sessions` is oldest first: the cap ends the oldest.
        let ended = siblings
            .iter()
            .map(|s| (s, "series"))
            .chain(rest.iter().take(over).map(|s| (s, "cap")));
        for (s, reason) in ended {
            self.end_displaced(&s.session_id, &s.user_key, reason).await;
        }
    }

    async fn end_displaced(&self, session_id: &SessionId, user_key: &str, reason: &'static str) {
        match self.inner.store.delete_session(session_id).await {
            Ok(Some(user_key)) => {
                self.inner
                    .audit
                    .session_displaced(&user_key, session_id, reason);
                self.inner.events.emit(SessionEvent::SessionEnded {
                    session_id: *session_id,
                    user_key,
                    reason: EndReason::Revoked,
                });
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, session_id = %session_id, user = %self.inner.audit.account(user_key), reason, "could not end a displaced session; it lives until its deadline");
            }
        }
    }
}
