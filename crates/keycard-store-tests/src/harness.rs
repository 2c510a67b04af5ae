//! The harness: a fresh [`CredentialsCache`] over the store under test, wrapped in a [`SpyStore`], with a
//! manual clock and the test policy, plus the operations and assertions the suites are written in.
//!
//! A conformance test is an `async fn(Harness)`. It reaches the store only through `h.cache` (the public
//! API an app uses) and looks at what reached the store through `h.spy`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use keycard::token::{Token, TokenHash};
use keycard::{
    Authenticated, CookieSigner, CredentialsCache, ManualClock, PutOutcome, SessionId,
    SessionMetadata, SessionRecord, SignedIn, Store, Timestamp,
};

use crate::fixtures::{key, test_policy, TestUser, RENEW, SECRET};
use crate::skip;
use crate::spy::SpyStore;

/// The store under test behind a trait object: what the harness wraps.
pub type DynStore = Arc<dyn Store<TestUser>>;

/// A fresh cache over the store under test, with a manual clock and the test policy.
pub struct Harness {
    /// The store under test, wrapped: counts calls, records what reached the store, fails on demand.
    pub spy: Arc<SpyStore<dyn Store<TestUser>>>,
    /// The cache over it.
    pub cache: CredentialsCache<TestUser>,
    /// The clock the cache reads.
    pub clock: ManualClock,
    /// A signer with the cache's secret, to look inside cookies.
    pub signer: CookieSigner,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("spy", &self.spy)
            .field("now", &self.cache.now())
            .finish_non_exhaustive()
    }
}

/// Run one conformance test: build the store with `factory`, then `test` over a [`Harness`] on a
/// multi-thread tokio runtime (2 workers, so the concurrency tests race for real). When the factory says
/// the backend cannot be reached (`Err(reason)`), the [skip rule](crate::skip) applies instead.
///
/// This is what [`conformance_suite!`](crate::conformance_suite) expands to, once per behaviour.
///
/// # Panics
/// When the test fails, when the runtime cannot be built, or when the store is unreachable and
/// `KEYCARD_REQUIRE_SERVICES=1`.
pub fn run_conformance<F, Fut, S, T, TFut>(
    suite: &str,
    test_name: &'static str,
    factory: F,
    test: T,
) where
    F: FnOnce(&'static str) -> Fut,
    Fut: Future<Output = Result<S, String>>,
    S: Store<TestUser>,
    T: FnOnce(Harness) -> TFut,
    TFut: Future<Output = ()>,
{
    run_over(suite, test_name, factory, |store| test(Harness::new(store)));
}

/// Runs `test` over a fresh store from `factory` on its own multi-thread tokio runtime (2 workers), or
/// skips or fails it by the [skip rule](crate::skip) when the factory cannot reach its backend: what
/// every suite of the kit (conformance, throttle, remember-me) does for each of its tests.
pub fn run_over<F, Fut, S, T, TFut>(suite: &str, test_name: &'static str, factory: F, test: T)
where
    F: FnOnce(&'static str) -> Fut,
    Fut: Future<Output = Result<S, String>>,
    T: FnOnce(S) -> TFut,
    TFut: Future<Output = ()>,
{
    skip::arm();
    test_runtime().block_on(async move {
        match factory(test_name).await {
            Ok(store) => test(store).await,
            Err(reason) => skip::skip_or_fail(suite, &reason),
        }
    });
}

/// The runtime every test of the kit's suites runs on: multi-thread, 2 workers (so concurrent calls race
/// for real), time and I/O enabled.
///
/// # Panics
/// When the runtime cannot be built.
pub(crate) fn test_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime for the test")
}

impl Harness {
    /// A harness over `store`.
    pub fn new(store: impl Store<TestUser>) -> Harness {
        Harness::from_arc(Arc::new(store))
    }

    /// A harness over a store the test keeps a handle to (to inspect it beside the suite's checks).
    pub fn from_arc(store: DynStore) -> Harness {
        let spy = Arc::new(SpyStore::from_arc(store));
        let clock = ManualClock::starting_now();
        let cache = CredentialsCache::builder_arc(spy.clone())
            .secret(SECRET)
            .policy(test_policy())
            .clock(clock.clone())
            .build()
            .expect("the test configuration is valid");
        Harness {
            spy,
            cache,
            clock,
            signer: CookieSigner::new(&SECRET).expect("the test secret is long enough"),
        }
    }

    /// Now, on the cache's clock.
    pub fn now(&self) -> Timestamp {
        self.cache.now()
    }

    /// Move the clock forward.
    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    /// Sign `u` in with default metadata.
    pub async fn sign_in(&self, u: TestUser) -> SignedIn<TestUser> {
        self.cache
            .create(u, SessionMetadata::default())
            .await
            .expect("create")
    }

    /// Sign `u` in with `m`.
    pub async fn sign_in_with(&self, u: TestUser, m: SessionMetadata) -> SignedIn<TestUser> {
        self.cache.create(u, m).await.expect("create")
    }

    /// `fetch`, with a store error failing the test.
    pub async fn fetch(&self, cookie: &str) -> Option<Authenticated<TestUser>> {
        self.cache.fetch(cookie).await.expect("fetch")
    }

    /// `fetch` that must find the session; returns it.
    pub async fn must_fetch(&self, cookie: &str, what: &str) -> Authenticated<TestUser> {
        match self.fetch(cookie).await {
            Some(a) => a,
            None => panic!("{what}: expected the cookie to resolve to a session, got None"),
        }
    }

    /// `fetch` that must find nothing.
    pub async fn must_not_fetch(&self, cookie: &str, what: &str) {
        if let Some(a) = self.fetch(cookie).await {
            panic!(
                "{what}: expected no session, got session {} of {} ({:?})",
                a.session.session_id, a.session.user_key, a.token_use
            );
        }
    }

    /// `put_user`, with a store error failing the test.
    pub async fn put(&self, u: TestUser) -> PutOutcome {
        self.cache.put_user(u).await.expect("put_user")
    }

    /// The live session `id` of user `uid`, as `sessions()` lists it.
    pub async fn session(&self, uid: u32, id: &SessionId) -> Option<SessionRecord> {
        self.sessions(uid)
            .await
            .into_iter()
            .find(|s| &s.session_id == id)
    }

    /// `sessions(key(uid))`.
    pub async fn sessions(&self, uid: u32) -> Vec<SessionRecord> {
        self.cache.sessions(&key(uid)).await.expect("sessions")
    }

    /// The ids `sessions(key(uid))` lists, in its order.
    pub async fn session_ids(&self, uid: u32) -> Vec<SessionId> {
        self.sessions(uid)
            .await
            .into_iter()
            .map(|s| s.session_id)
            .collect()
    }

    /// `users()`, sorted by id.
    pub async fn users(&self) -> Vec<TestUser> {
        let mut v: Vec<TestUser> = self
            .cache
            .users()
            .await
            .expect("users")
            .iter()
            .map(|u| (**u).clone())
            .collect();
        v.sort_by_key(|u| u.id);
        v
    }

    /// The ids of the users `users()` lists, sorted.
    pub async fn user_ids(&self) -> Vec<u32> {
        self.users().await.into_iter().map(|u| u.id).collect()
    }

    /// The hash the store keys `cookie`'s token by.
    pub fn hash_of(&self, cookie: &str) -> TokenHash {
        self.signer
            .decode(cookie)
            .expect("a cookie this cache issued")
            .hash()
    }

    /// A well-signed cookie for a token nobody was ever issued.
    pub fn unknown_cookie(&self) -> String {
        self.signer.encode(&Token::generate()).into_string()
    }

    /// Sign in, then move past the renewal interval and renew: returns (sign-in, old cookie, new cookie).
    pub async fn sign_in_and_renew(&self, u: TestUser) -> (SignedIn<TestUser>, String, String) {
        let s = self.sign_in(u).await;
        let old = s.cookie.as_str().to_owned();
        self.advance(RENEW);
        let a = self.must_fetch(&old, "renewal").await;
        let new = a
            .renewed
            .expect("a fetch after the renewal interval renews")
            .into_string();
        (s, old, new)
    }
}
