//! [`SpyStore`]: one transparent wrapper around any [`Store`] that counts, records, fails and misbehaves
//! on demand.
//!
//! Every primitive goes through the same three steps: count the call, fail it if a failure is armed for
//! that primitive, otherwise pass it to the wrapped store and record the token hashes and session records
//! that went in or came out. Nothing else changes: with no failure armed and no misbehaviour switched on,
//! a `SpyStore` is indistinguishable from the store it wraps (the conformance suite runs every store
//! through one). That includes [`Store::fetch_ready`]: it is passed through (and counted as a `fetch`
//! when the wrapped store answers it at once), so a store that answers from memory is tested on the path
//! the cache takes with it.
//!
//! ```
//! use std::sync::Arc;
//! use keycard::{CredentialsCache, MemoryStore};
//! use keycard_store_tests::{Primitive, SpyStore, TestUser};
//!
//! let spy = Arc::new(SpyStore::new(MemoryStore::<TestUser>::new()));
//! let cache = CredentialsCache::builder_arc(spy.clone()).secret([7u8; 64]).build().unwrap();
//! spy.set_failing_for(&[Primitive::Fetch], true); // reads fail, sign-ins still work
//! spy.fail_next(Primitive::Sweep, 2); // the next two sweeps fail, then sweeps pass again
//! # let _ = cache;
//! assert_eq!(spy.calls(), 0);
//! ```

use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use keycard::store::{FetchOutcome, NewSession, NextToken, RenewalPlan, Rotation};
use keycard::token::{RouteTag, TokenHash};
use keycard::{
    CachedUser, CreateOutcome, PutOutcome, SessionId, SessionRecord, Store, StoreError, SweepStats,
    Timestamp,
};

/// The primitives of [`Store`], one per trait method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Primitive {
    /// [`Store::create`]
    Create,
    /// [`Store::fetch`]
    Fetch,
    /// [`Store::rotate`]
    Rotate,
    /// [`Store::put_user`]
    PutUser,
    /// [`Store::delete_by_token`]
    DeleteByToken,
    /// [`Store::delete_session`]
    DeleteSession,
    /// [`Store::delete_user_sessions`]
    DeleteUserSessions,
    /// [`Store::sessions`]
    Sessions,
    /// [`Store::session`]
    Session,
    /// [`Store::users`]
    Users,
    /// [`Store::sweep`]
    Sweep,
}

impl Primitive {
    /// Every primitive, in trait order.
    pub const ALL: [Primitive; 11] = [
        Primitive::Create,
        Primitive::Fetch,
        Primitive::Rotate,
        Primitive::PutUser,
        Primitive::DeleteByToken,
        Primitive::DeleteSession,
        Primitive::DeleteUserSessions,
        Primitive::Sessions,
        Primitive::Session,
        Primitive::Users,
        Primitive::Sweep,
    ];

    /// The trait method's name (`"fetch"`, `"put_user"`, …): the `operation` of an injected error.
    pub fn name(self) -> &'static str {
        match self {
            Primitive::Create => "create",
            Primitive::Fetch => "fetch",
            Primitive::Rotate => "rotate",
            Primitive::PutUser => "put_user",
            Primitive::DeleteByToken => "delete_by_token",
            Primitive::DeleteSession => "delete_session",
            Primitive::DeleteUserSessions => "delete_user_sessions",
            Primitive::Sessions => "sessions",
            Primitive::Session => "session",
            Primitive::Users => "users",
            Primitive::Sweep => "sweep",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn bit(self) -> u16 {
        1 << self.index()
    }
}

/// The `backend` of every error a [`SpyStore`] injects.
pub const SPY_BACKEND: &str = "spy";

/// What reached the store (or came back from it), in call order.
#[derive(Debug, Default)]
struct Record {
    hashes: Vec<TokenHash>,
    sessions: Vec<SessionRecord>,
}

/// Wraps any store `S` (`SpyStore<dyn Store<U>>` wraps a trait object): counts calls per primitive,
/// injects failures, records what reached the store, and simulates broken backends. See the
/// [module docs](self).
pub struct SpyStore<S: ?Sized> {
    inner: Arc<S>,
    calls: [AtomicUsize; 11],
    /// One bit per primitive: fail every call while set.
    failing: AtomicU16,
    /// Per primitive: how many of the next calls fail.
    fail_next: [AtomicUsize; 11],
    renew_without_successor: AtomicBool,
    record: Mutex<Record>,
}

impl<S: ?Sized> std::fmt::Debug for SpyStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let calls: Vec<(&str, usize)> = Primitive::ALL
            .iter()
            .map(|p| (p.name(), self.calls_to(*p)))
            .filter(|(_, n)| *n > 0)
            .collect();
        f.debug_struct("SpyStore")
            .field("calls", &calls)
            .field(
                "failing",
                &format_args!("{:#012b}", self.failing.load(Ordering::SeqCst)),
            )
            .field(
                "renew_without_successor",
                &self.renew_without_successor.load(Ordering::SeqCst),
            )
            .finish_non_exhaustive()
    }
}

impl<S> SpyStore<S> {
    /// Wrap `inner`.
    pub fn new(inner: S) -> SpyStore<S> {
        SpyStore::from_arc(Arc::new(inner))
    }
}

impl<S: ?Sized> SpyStore<S> {
    /// Wrap a store the caller keeps a handle to (or a trait object).
    pub fn from_arc(inner: Arc<S>) -> SpyStore<S> {
        SpyStore {
            inner,
            calls: Default::default(),
            failing: AtomicU16::new(0),
            fail_next: Default::default(),
            renew_without_successor: AtomicBool::new(false),
            record: Mutex::new(Record::default()),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    /// How many store calls were made so far (failed ones included).
    pub fn calls(&self) -> usize {
        self.calls.iter().map(|c| c.load(Ordering::SeqCst)).sum()
    }

    /// How many calls of `primitive` were made so far (failed ones included).
    pub fn calls_to(&self, primitive: Primitive) -> usize {
        self.calls[primitive.index()].load(Ordering::SeqCst)
    }

    /// Make every following call of every primitive fail (`true`) or pass through again (`false`).
    pub fn set_failing(&self, on: bool) {
        self.set_failing_for(&Primitive::ALL, on);
    }

    /// Make every following call of these primitives fail (`true`) or pass through again (`false`);
    /// the other primitives keep their setting.
    pub fn set_failing_for(&self, primitives: &[Primitive], on: bool) {
        let bits = primitives.iter().fold(0u16, |b, p| b | p.bit());
        if on {
            self.failing.fetch_or(bits, Ordering::SeqCst);
        } else {
            self.failing.fetch_and(!bits, Ordering::SeqCst);
        }
    }

    /// Make the next `n` calls of `primitive` fail (on top of [`set_failing_for`](Self::set_failing_for));
    /// later calls pass through. Replaces any count armed before.
    pub fn fail_next(&self, primitive: Primitive, n: usize) {
        self.fail_next[primitive.index()].store(n, Ordering::SeqCst);
    }

    /// Simulate a broken backend that reports a renewal (`renewed: true`) on every successful fetch
    /// without ever taking the caller's successor token: the wrapped store is handed a plan with a
    /// successor of its own, which the caller never sees.
    pub fn set_renewal_without_successor(&self, on: bool) {
        self.renew_without_successor.store(on, Ordering::SeqCst);
    }

    /// Every token hash passed to or returned by the store so far, in call order.
    pub fn seen_hashes(&self) -> Vec<TokenHash> {
        self.record().hashes.clone()
    }

    /// Every session record passed to (`create`) or returned by (`fetch`, `rotate`, `sessions`) the store
    /// so far, in call order.
    pub fn seen_sessions(&self) -> Vec<SessionRecord> {
        self.record().sessions.clone()
    }

    fn record(&self) -> MutexGuard<'_, Record> {
        // A test that panicked while recording leaves a consistent Vec behind: ignore poisoning.
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Count the call; the injected error if this call must fail.
    fn enter(&self, p: Primitive) -> Result<(), StoreError> {
        self.calls[p.index()].fetch_add(1, Ordering::SeqCst);
        let armed = self.failing.load(Ordering::SeqCst) & p.bit() != 0;
        let counted = self.fail_next[p.index()]
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if armed || counted {
            Err(StoreError::new(SPY_BACKEND, p.name(), "injected failure"))
        } else {
            Ok(())
        }
    }

    fn saw(&self, h: &TokenHash) {
        self.record().hashes.push(*h);
    }

    fn saw_session(&self, s: &SessionRecord) {
        let mut r = self.record();
        r.hashes.push(s.current_token);
        if let Some((p, _)) = &s.previous_token {
            r.hashes.push(*p);
        }
        r.sessions.push(s.clone());
    }
}

#[async_trait::async_trait]
impl<U: CachedUser, S: Store<U> + ?Sized> Store<U> for SpyStore<S> {
    async fn create(&self, new: NewSession<U>) -> Result<CreateOutcome, StoreError> {
        self.enter(Primitive::Create)?;
        self.saw_session(&new.session);
        self.inner.create(new).await
    }

    async fn fetch(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> Result<FetchOutcome<U>, StoreError> {
        self.enter(Primitive::Fetch)?;
        self.saw(token);
        let out = if self.renew_without_successor.load(Ordering::SeqCst) {
            let own = RenewalPlan {
                due_if_renewed_at_or_before: plan.due_if_renewed_at_or_before,
                next_token: NextToken::new(),
                idle_deadline: plan.idle_deadline,
                grace_until: plan.grace_until,
            };
            match self.inner.fetch(token, now, &own).await? {
                FetchOutcome::Found {
                    session,
                    user,
                    token_use,
                    ..
                } => FetchOutcome::Found {
                    session,
                    user,
                    token_use,
                    renewed: true,
                },
                other => other,
            }
        } else {
            self.inner.fetch(token, now, plan).await?
        };
        if let FetchOutcome::Found { session, .. } = &out {
            self.saw_session(session);
        }
        Ok(out)
    }

    fn fetch_ready(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> Option<Result<FetchOutcome<U>, StoreError>> {
        // The broken-renewal simulation hands the store a plan of its own: it keeps to `fetch`.
        if self.renew_without_successor.load(Ordering::SeqCst) {
            return None;
        }
        // Counted and failed as `fetch` is (an injected failure never reaches the wrapped store).
        if let Err(e) = self.enter(Primitive::Fetch) {
            return Some(Err(e));
        }
        let Some(answer) = self.inner.fetch_ready(token, now, plan) else {
            // The wrapped store must be awaited: `fetch` follows and counts this call itself.
            self.calls[Primitive::Fetch.index()].fetch_sub(1, Ordering::SeqCst);
            return None;
        };
        self.saw(token);
        if let Ok(FetchOutcome::Found { session, .. }) = &answer {
            self.saw_session(session);
        }
        Some(answer)
    }

    async fn rotate(
        &self,
        rotation: Rotation<U>,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        self.enter(Primitive::Rotate)?;
        self.saw(&rotation.new_token);
        let out = self.inner.rotate(rotation).await?;
        if let Some(s) = &out {
            self.record().sessions.push((**s).clone());
        }
        Ok(out)
    }

    async fn put_user(&self, user: Arc<U>, now: Timestamp) -> Result<PutOutcome, StoreError> {
        self.enter(Primitive::PutUser)?;
        self.inner.put_user(user, now).await
    }

    async fn delete_by_token(
        &self,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(SessionId, String)>, StoreError> {
        self.enter(Primitive::DeleteByToken)?;
        self.saw(token);
        self.inner.delete_by_token(token, now).await
    }

    async fn delete_session(&self, session_id: &SessionId) -> Result<Option<String>, StoreError> {
        self.enter(Primitive::DeleteSession)?;
        self.inner.delete_session(session_id).await
    }

    async fn delete_user_sessions(
        &self,
        user_key: &str,
        except: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        self.enter(Primitive::DeleteUserSessions)?;
        self.inner.delete_user_sessions(user_key, except).await
    }

    async fn sessions(
        &self,
        user_key: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.enter(Primitive::Sessions)?;
        let out = self.inner.sessions(user_key, now).await?;
        for s in &out {
            self.saw_session(s);
        }
        Ok(out)
    }

    async fn session(
        &self,
        user_key: &str,
        session_id: &SessionId,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.enter(Primitive::Session)?;
        let out = self.inner.session(user_key, session_id, now).await?;
        if let Some(s) = &out {
            self.saw_session(s);
        }
        Ok(out)
    }

    async fn users(&self, now: Timestamp) -> Result<Vec<Arc<U>>, StoreError> {
        self.enter(Primitive::Users)?;
        self.inner.users(now).await
    }

    async fn sweep(&self, now: Timestamp) -> Result<SweepStats, StoreError> {
        self.enter(Primitive::Sweep)?;
        self.inner.sweep(now).await
    }

    fn route_tag(&self, user_key: &str) -> Option<RouteTag> {
        self.inner.route_tag(user_key)
    }

    fn attach_events(&self, events: keycard::events::EventSender) {
        self.inner.attach_events(events);
    }

    fn session_route_tag(&self, session_id: &SessionId) -> Option<RouteTag> {
        self.inner.session_route_tag(session_id)
    }
}

#[cfg(test)]
mod tests {
    use keycard::{CredentialsCache, MemoryStore, SessionMetadata};

    use super::*;
    use crate::fixtures::{user, TestUser, SECRET};

    /// A cache over `spy` with the kit's policy: no session cap, so a sign-in is one store call (a cap
    /// adds a listing of the user's sessions after it).
    fn cache(spy: &Arc<SpyStore<MemoryStore<TestUser>>>) -> CredentialsCache<TestUser> {
        CredentialsCache::builder_arc(spy.clone())
            .secret(SECRET)
            .policy(crate::fixtures::test_policy())
            .build()
            .expect("valid test configuration")
    }

    /// Calls are counted per primitive, failed ones included.
    #[tokio::test]
    async fn counts_every_call_per_primitive() {
        let spy = Arc::new(SpyStore::new(MemoryStore::new()));
        let cache = cache(&spy);
        let s = cache
            .create(user(1, "ann"), SessionMetadata::default())
            .await
            .unwrap();
        cache.fetch(s.cookie.as_str()).await.unwrap();
        spy.set_failing(true);
        assert!(cache.fetch(s.cookie.as_str()).await.is_err());
        assert_eq!(
            (
                spy.calls_to(Primitive::Create),
                spy.calls_to(Primitive::Fetch)
            ),
            (1, 2)
        );
        assert_eq!(spy.calls(), 3);
        assert_eq!(spy.seen_sessions().len(), 2, "created, then fetched once");
    }

    /// `fail_next` fails exactly the next `n` calls of one primitive; `set_failing_for` fails the chosen
    /// primitives until switched off, and leaves the others alone.
    #[tokio::test]
    async fn injected_failures_hit_only_what_was_chosen() {
        let spy = Arc::new(SpyStore::new(MemoryStore::new()));
        let cache = cache(&spy);
        spy.fail_next(Primitive::Sweep, 2);
        assert!(cache.sweep().await.is_err());
        assert!(cache.users().await.is_ok(), "other primitives pass");
        let e = cache.sweep().await.unwrap_err();
        assert_eq!((e.backend, e.operation), (SPY_BACKEND, "sweep"));
        assert!(cache.sweep().await.is_ok(), "only the next two failed");

        spy.set_failing_for(&[Primitive::Users, Primitive::Sessions], true);
        assert!(cache.users().await.is_err());
        assert!(cache.sessions("u1").await.is_err());
        assert!(cache.sweep().await.is_ok());
        spy.set_failing_for(&[Primitive::Users], false);
        assert!(cache.users().await.is_ok());
        assert!(cache.sessions("u1").await.is_err(), "still switched on");
    }
}
