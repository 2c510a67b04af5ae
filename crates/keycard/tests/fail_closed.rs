//! Invariant 6 at the cache level: a store error never authenticates anybody and is never mistaken for
//! "signed out". The stores here are deliberately broken; the conformance suite checks the same promise
//! through each real store.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use keycard::store::{FetchOutcome, NewSession, RenewalPlan};
use keycard::token::{Token, TokenHash};
use keycard::{
    CachedUser, CookieSigner, CredentialsCache, ManualClock, PutOutcome, SessionId,
    SessionMetadata, SessionRecord, Store, StoreError, SweepStats, Timestamp, TokenUse,
};

const SECRET: [u8; 64] = [0x33; 64];

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct User {
    id: u32,
}

impl CachedUser for User {
    fn user_key(&self) -> String {
        self.id.to_string()
    }
}

/// A store whose every call fails, counting the calls.
#[derive(Default)]
struct FailingStore {
    calls: AtomicUsize,
}

impl FailingStore {
    fn fail<T>(&self, op: &'static str) -> Result<T, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(StoreError::new("failing", op, "connection refused"))
    }
}

#[async_trait::async_trait]
impl Store<User> for FailingStore {
    async fn create(&self, _: NewSession<User>) -> Result<(), StoreError> {
        self.fail("create")
    }
    async fn fetch(
        &self,
        _: &TokenHash,
        _: Timestamp,
        _: &RenewalPlan,
    ) -> Result<FetchOutcome<User>, StoreError> {
        self.fail("fetch")
    }
    async fn rotate(
        &self,
        _: &SessionId,
        _: &TokenHash,
        _: Option<Arc<User>>,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        self.fail("rotate")
    }
    async fn put_user(&self, _: Arc<User>, _: Timestamp) -> Result<PutOutcome, StoreError> {
        self.fail("put_user")
    }
    async fn delete_by_token(
        &self,
        _: &TokenHash,
        _: Timestamp,
    ) -> Result<Option<SessionId>, StoreError> {
        self.fail("delete_by_token")
    }
    async fn delete_session(&self, _: &SessionId) -> Result<bool, StoreError> {
        self.fail("delete_session")
    }
    async fn delete_user_sessions(
        &self,
        _: &str,
        _: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        self.fail("delete_user_sessions")
    }
    async fn sessions(&self, _: &str, _: Timestamp) -> Result<Vec<SessionRecord>, StoreError> {
        self.fail("sessions")
    }
    async fn users(&self, _: Timestamp) -> Result<Vec<Arc<User>>, StoreError> {
        self.fail("users")
    }
    async fn sweep(&self, _: Timestamp) -> Result<SweepStats, StoreError> {
        self.fail("sweep")
    }
}

fn cache_over(store: Arc<dyn Store<User>>) -> CredentialsCache<User> {
    CredentialsCache::builder_arc(store)
        .secret(SECRET)
        .clock(ManualClock::starting_now())
        .build()
        .unwrap()
}

/// A well-signed cookie: it passes the signature check, so the store is asked.
fn valid_cookie() -> String {
    CookieSigner::new(&SECRET)
        .unwrap()
        .encode(&Token::generate())
        .into_string()
}

/// Invariant 6: `fetch` of a well-signed cookie over a failing store is `Err` carrying the store's error,
/// not `Ok(None)` (which the HTTP layer would treat as signed out).
#[tokio::test]
async fn fetch_over_a_failing_store_is_an_error_not_signed_out() {
    let store = Arc::new(FailingStore::default());
    let cache = cache_over(store.clone());
    let err = cache
        .fetch(&valid_cookie())
        .await
        .expect_err("a store failure must surface as Err");
    assert_eq!((err.backend, err.operation), ("failing", "fetch"));
    assert_eq!(store.calls.load(Ordering::SeqCst), 1);
}

/// Invariant 6: every operation surfaces the store's failure as `Err`.
#[tokio::test]
async fn every_operation_over_a_failing_store_is_an_error() {
    let cache = cache_over(Arc::new(FailingStore::default()));
    let id = SessionId::generate();
    let c = valid_cookie();
    assert!(cache
        .create(User { id: 1 }, SessionMetadata::default())
        .await
        .is_err());
    assert!(cache.fetch(&c).await.is_err());
    assert!(cache.delete(&c).await.is_err());
    assert!(cache.sync(&id, User { id: 1 }).await.is_err());
    assert!(cache.regenerate(&id).await.is_err());
    assert!(cache.put_user(User { id: 1 }).await.is_err());
    assert!(cache.delete_session(&id).await.is_err());
    assert!(cache.delete_user_sessions("1", None).await.is_err());
    assert!(cache.sessions("1").await.is_err());
    assert!(cache.users().await.is_err());
    assert!(cache.sweep().await.is_err());
}

/// Invariants 5, 6: a forged cookie is refused before the store is asked, so even a failing store yields
/// a plain "not signed in" for it, with zero store calls.
#[tokio::test]
async fn forged_cookie_is_refused_without_asking_the_failing_store() {
    let store = Arc::new(FailingStore::default());
    let cache = cache_over(store.clone());
    let other = CookieSigner::new(&[0x44; 64]).unwrap();
    let forged = other.encode(&Token::generate()).into_string();
    assert!(cache.fetch(&forged).await.unwrap().is_none());
    assert!(cache.fetch("garbage").await.unwrap().is_none());
    assert_eq!(cache.delete(&forged).await.unwrap(), None);
    assert_eq!(store.calls.load(Ordering::SeqCst), 0);
}

/// A store that resolves every token to one session and claims to have renewed it, without ever taking
/// the successor token from the plan: a broken backend.
struct LyingStore;

#[async_trait::async_trait]
impl Store<User> for LyingStore {
    async fn create(&self, _: NewSession<User>) -> Result<(), StoreError> {
        Ok(())
    }
    async fn fetch(
        &self,
        token: &TokenHash,
        now: Timestamp,
        _: &RenewalPlan,
    ) -> Result<FetchOutcome<User>, StoreError> {
        let session = SessionRecord {
            session_id: SessionId::generate(),
            user_key: "1".into(),
            created_at: now,
            renewed_at: now,
            idle_deadline: now.saturating_add(Duration::from_secs(60)),
            absolute_deadline: now.saturating_add(Duration::from_secs(60)),
            current_token: *token,
            previous_token: None,
            metadata: SessionMetadata::default(),
        };
        Ok(FetchOutcome::Found {
            session: Arc::new(session),
            user: Arc::new(User { id: 1 }),
            token_use: TokenUse::Current,
            renewed: true,
        })
    }
    async fn rotate(
        &self,
        _: &SessionId,
        _: &TokenHash,
        _: Option<Arc<User>>,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        Ok(None)
    }
    async fn put_user(&self, _: Arc<User>, _: Timestamp) -> Result<PutOutcome, StoreError> {
        Ok(PutOutcome::NotCached)
    }
    async fn delete_by_token(
        &self,
        _: &TokenHash,
        _: Timestamp,
    ) -> Result<Option<SessionId>, StoreError> {
        Ok(None)
    }
    async fn delete_session(&self, _: &SessionId) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn delete_user_sessions(
        &self,
        _: &str,
        _: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        Ok(0)
    }
    async fn sessions(&self, _: &str, _: Timestamp) -> Result<Vec<SessionRecord>, StoreError> {
        Ok(Vec::new())
    }
    async fn users(&self, _: Timestamp) -> Result<Vec<Arc<User>>, StoreError> {
        Ok(Vec::new())
    }
    async fn sweep(&self, _: Timestamp) -> Result<SweepStats, StoreError> {
        Ok(SweepStats::default())
    }
}

/// Invariants 6, 3: a store that reports a rotation but never took the successor token would leave the
/// client with a dead cookie; the cache refuses it as an error rather than authenticating.
#[tokio::test]
async fn renewal_reported_without_a_successor_token_is_an_error() {
    let cache = cache_over(Arc::new(LyingStore));
    let err = cache
        .fetch(&valid_cookie())
        .await
        .expect_err("a renewal without a successor must not authenticate");
    assert_eq!(err.backend, "cache");
}

/// A store whose sweeps fail the first time and succeed afterwards, counting them.
#[derive(Default)]
struct SweepCounter {
    sweeps: AtomicUsize,
}

#[async_trait::async_trait]
impl Store<User> for SweepCounter {
    async fn create(&self, n: NewSession<User>) -> Result<(), StoreError> {
        LyingStore.create(n).await
    }
    async fn fetch(
        &self,
        t: &TokenHash,
        n: Timestamp,
        p: &RenewalPlan,
    ) -> Result<FetchOutcome<User>, StoreError> {
        LyingStore.fetch(t, n, p).await
    }
    async fn rotate(
        &self,
        s: &SessionId,
        t: &TokenHash,
        u: Option<Arc<User>>,
        n: Timestamp,
        i: Timestamp,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        LyingStore.rotate(s, t, u, n, i).await
    }
    async fn put_user(&self, u: Arc<User>, n: Timestamp) -> Result<PutOutcome, StoreError> {
        LyingStore.put_user(u, n).await
    }
    async fn delete_by_token(
        &self,
        t: &TokenHash,
        n: Timestamp,
    ) -> Result<Option<SessionId>, StoreError> {
        LyingStore.delete_by_token(t, n).await
    }
    async fn delete_session(&self, s: &SessionId) -> Result<bool, StoreError> {
        LyingStore.delete_session(s).await
    }
    async fn delete_user_sessions(
        &self,
        k: &str,
        e: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        LyingStore.delete_user_sessions(k, e).await
    }
    async fn sessions(&self, k: &str, n: Timestamp) -> Result<Vec<SessionRecord>, StoreError> {
        LyingStore.sessions(k, n).await
    }
    async fn users(&self, n: Timestamp) -> Result<Vec<Arc<User>>, StoreError> {
        LyingStore.users(n).await
    }
    async fn sweep(&self, _: Timestamp) -> Result<SweepStats, StoreError> {
        if self.sweeps.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(StoreError::new("counter", "sweep", "first sweep fails"))
        } else {
            Ok(SweepStats::default())
        }
    }
}

/// Let the spawned sweeper run on the paused current-thread runtime: the sweep is awaited on the
/// sweeper's own task, so yielding is all it takes (bounded, no sleeping).
async fn settle() {
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
}

/// Invariants 6, 8: the background sweeper survives a failing sweep (it retries on the next tick) and stops
/// when its handle is dropped. Tokio's paused clock drives the ticks: no sleeping.
#[tokio::test(start_paused = true)]
async fn sweeper_retries_after_a_failed_sweep_and_stops_when_dropped() {
    let store = Arc::new(SweepCounter::default());
    let cache = cache_over(store.clone());
    let every = Duration::from_secs(60);
    let handle = cache.spawn_sweeper(every);
    settle().await;
    assert_eq!(
        store.sweeps.load(Ordering::SeqCst),
        0,
        "no sweep before the first period"
    );
    for expected in 1..=3 {
        tokio::time::advance(every).await;
        settle().await;
        assert_eq!(store.sweeps.load(Ordering::SeqCst), expected);
    }
    drop(handle);
    settle().await;
    tokio::time::advance(every * 5).await;
    settle().await;
    assert_eq!(
        store.sweeps.load(Ordering::SeqCst),
        3,
        "a dropped handle stops the sweeper"
    );
}

/// Invariant 8: the sweeper holds no strong reference to the cache: once the last clone is dropped it
/// stops sweeping even if its handle is kept.
#[tokio::test(start_paused = true)]
async fn sweeper_stops_when_the_cache_is_dropped() {
    let store = Arc::new(SweepCounter::default());
    let cache = cache_over(store.clone());
    let every = Duration::from_secs(60);
    let _handle = cache.spawn_sweeper(every);
    settle().await;
    tokio::time::advance(every).await;
    settle().await;
    assert_eq!(store.sweeps.load(Ordering::SeqCst), 1);
    drop(cache);
    tokio::time::advance(every * 5).await;
    settle().await;
    assert_eq!(store.sweeps.load(Ordering::SeqCst), 1);
    assert_eq!(
        Arc::strong_count(&store),
        1,
        "the store was released with the cache"
    );
}
