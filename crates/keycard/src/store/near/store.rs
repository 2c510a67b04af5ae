//! [`Store`] for [`NearCache`]: `fetch` from memory when it may, everything else through to the inner
//! store, evicting what each write changes.

use std::sync::Arc;

use super::{Invalidation, NearCache};
use crate::store::{
    CreateOutcome, FetchOutcome, NewSession, PutOutcome, RenewalPlan, Rotation, SessionRecord,
    Store, StoreError, SweepStats,
};
use crate::token::{SessionId, TokenHash};
use crate::user::CachedUser;
use crate::Timestamp;

#[async_trait::async_trait]
impl<U: CachedUser, S: Store<U>> Store<U> for NearCache<U, S> {
    async fn create(&self, new: NewSession<U>) -> Result<CreateOutcome, StoreError> {
        let user_key = new.session.user_key.to_string();
        let out = self.inner.create(new).await;
        self.evict(Invalidation::User(user_key));
        out
    }

    async fn fetch(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> Result<FetchOutcome<U>, StoreError> {
        // Read the change counter before asking whether the channel is confirmed: a `down` in between
        // changes it, so a fill can never keep an answer read while the channel was down.
        let snapshot = self.shared.snapshot();
        let confirmed = self.shared.confirmed();
        if confirmed {
            if let Some(hit) = self.serve(token, now, plan) {
                self.shared.count_hit();
                return Ok(hit);
            }
        }
        self.shared.count_miss(confirmed);
        let out = self.inner.fetch(token, now, plan).await;
        match &out {
            Ok(FetchOutcome::Found { session, user, .. }) if confirmed => {
                self.fill(snapshot, token, session, user);
            }
            Ok(FetchOutcome::Found { .. }) => {}
            Ok(FetchOutcome::NotFound) => self.entries.invalidate(token),
            Ok(FetchOutcome::Ended { user_key, .. }) => {
                // The store ended every session of the user signed in with other credentials.
                self.evict(Invalidation::User(user_key.clone()));
            }
            Err(_) => self.entries.invalidate(token),
        }
        out
    }

    fn fetch_ready(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> Option<Result<FetchOutcome<U>, StoreError>> {
        // A hit only, as `fetch` serves it (channel confirmed, entry valid, no renewal due); anything else
        // is left to `fetch`, which counts the miss and asks the inner store.
        if !self.shared.confirmed() {
            return None;
        }
        let hit = self.serve(token, now, plan)?;
        self.shared.count_hit();
        Some(Ok(hit))
    }

    async fn rotate(
        &self,
        rotation: Rotation<U>,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        let user_key = rotation.user.as_ref().map(|u| u.user_key());
        let session_id = rotation.session_id;
        let out = self.inner.rotate(rotation).await;
        self.evict(Invalidation::Session(session_id));
        if let Some(key) = user_key {
            self.evict(Invalidation::User(key));
        }
        out
    }

    async fn put_user(&self, user: Arc<U>, now: Timestamp) -> Result<PutOutcome, StoreError> {
        let user_key = user.user_key();
        let out = self.inner.put_user(user, now).await;
        self.evict(Invalidation::User(user_key));
        out
    }

    async fn delete_by_token(
        &self,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(SessionId, String)>, StoreError> {
        // The session is unknown until the store answers: evict what this node cached for the token too.
        let cached = self.entries.get(token).map(|e| e.session.session_id);
        let out = self.inner.delete_by_token(token, now).await;
        self.entries.invalidate(token);
        if let Some(sid) = cached {
            self.evict(Invalidation::Session(sid));
        }
        if let Ok(Some((sid, _))) = &out {
            self.evict(Invalidation::Session(*sid));
        }
        out
    }

    async fn delete_session(&self, session_id: &SessionId) -> Result<Option<String>, StoreError> {
        let out = self.inner.delete_session(session_id).await;
        self.evict(Invalidation::Session(*session_id));
        out
    }

    async fn delete_user_sessions(
        &self,
        user_key: &str,
        except: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        let out = self.inner.delete_user_sessions(user_key, except).await;
        self.evict(Invalidation::User(user_key.to_owned()));
        out
    }

    async fn sessions(
        &self,
        user_key: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        // Prunes only what is dead at `now` (expired, or other credentials): a hit checks both itself.
        self.inner.sessions(user_key, now).await
    }

    async fn session(
        &self,
        user_key: &str,
        session_id: &SessionId,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.session(user_key, session_id, now).await
    }

    async fn users(&self, now: Timestamp) -> Result<Vec<Arc<U>>, StoreError> {
        self.inner.users(now).await
    }

    async fn sweep(&self, now: Timestamp) -> Result<SweepStats, StoreError> {
        let out = self.inner.sweep(now).await;
        if !matches!(&out, Ok(s) if *s == SweepStats::default()) {
            self.evict(Invalidation::All);
        }
        out
    }

    // A routing store (Redis Cluster) behind the wrapper still gets its tags into tokens and ids.
    fn route_tag(&self, user_key: &str) -> Option<crate::token::RouteTag> {
        self.inner.route_tag(user_key)
    }

    fn attach_events(&self, events: crate::events::EventSender) {
        self.shared.attach_events(events.clone());
        self.inner.attach_events(events);
    }

    fn session_route_tag(&self, session_id: &SessionId) -> Option<crate::token::RouteTag> {
        self.inner.session_route_tag(session_id)
    }
}
