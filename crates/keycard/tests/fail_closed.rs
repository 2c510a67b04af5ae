//! Invariant 6 at the cache level: a store error never authenticates anybody and is never mistaken for
//! "signed out". The stores here are deliberately broken (a [`SpyStore`] over the memory store, failing or
//! misbehaving on demand); the conformance suite checks the same promise through each real store.

use std::sync::Arc;
use std::time::Duration;

use keycard::token::Token;
use keycard::{
    CachedUser, CookieSigner, CredentialsCache, ManualClock, MemoryStore, SessionId,
    SessionMetadata,
};
use keycard_store_tests::spy::SPY_BACKEND;
use keycard_store_tests::{Primitive, SpyStore};

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

/// A spy over an empty memory store.
fn spy() -> Arc<SpyStore<MemoryStore<User>>> {
    Arc::new(SpyStore::new(MemoryStore::new()))
}

/// A spy whose every call fails.
fn failing() -> Arc<SpyStore<MemoryStore<User>>> {
    let store = spy();
    store.set_failing(true);
    store
}

fn cache_over(store: Arc<SpyStore<MemoryStore<User>>>) -> CredentialsCache<User> {
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
    let store = failing();
    let cache = cache_over(store.clone());
    let err = cache
        .fetch(&valid_cookie())
        .await
        .expect_err("a store failure must surface as Err");
    assert_eq!((err.backend, err.operation), (SPY_BACKEND, "fetch"));
    assert_eq!(store.calls(), 1);
}

/// Invariant 6: every operation surfaces the store's failure as `Err`.
#[tokio::test]
async fn every_operation_over_a_failing_store_is_an_error() {
    let cache = cache_over(failing());
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

/// Invariant 6: a store failing only some primitives fails exactly those operations: here reads fail
/// while sign-in still works, and the session is intact once reads recover.
#[tokio::test]
async fn a_store_failing_only_reads_fails_only_the_reads() {
    let store = spy();
    let cache = cache_over(store.clone());
    store.set_failing_for(&[Primitive::Fetch, Primitive::Sessions], true);
    let s = cache
        .create(User { id: 1 }, SessionMetadata::default())
        .await
        .expect("sign-in does not read");
    let err = cache
        .fetch(s.cookie.as_str())
        .await
        .expect_err("reads fail");
    assert_eq!(err.operation, "fetch");
    assert!(cache.sessions("1").await.is_err());
    store.set_failing_for(&[Primitive::Fetch, Primitive::Sessions], false);
    let a = cache
        .fetch(s.cookie.as_str())
        .await
        .unwrap()
        .expect("the session survived");
    assert_eq!(*a.user, User { id: 1 });
}

/// Invariants 5, 6: a forged cookie is refused before the store is asked, so even a failing store yields
/// a plain "not signed in" for it, with zero store calls.
#[tokio::test]
async fn forged_cookie_is_refused_without_asking_the_failing_store() {
    let store = failing();
    let cache = cache_over(store.clone());
    let other = CookieSigner::new(&[0x44; 64]).unwrap();
    let forged = other.encode(&Token::generate()).into_string();
    assert!(cache.fetch(&forged).await.unwrap().is_none());
    assert!(cache.fetch("garbage").await.unwrap().is_none());
    assert_eq!(cache.delete(&forged).await.unwrap(), None);
    assert_eq!(store.calls(), 0);
}

/// Invariants 6, 3: a store that reports a rotation but never took the successor token would leave the
/// client with a dead cookie; the cache refuses it as an error rather than authenticating.
#[tokio::test]
async fn renewal_reported_without_a_successor_token_is_an_error() {
    let store = spy();
    let cache = cache_over(store.clone());
    let s = cache
        .create(User { id: 1 }, SessionMetadata::default())
        .await
        .unwrap();
    store.set_renewal_without_successor(true);
    let err = cache
        .fetch(s.cookie.as_str())
        .await
        .expect_err("a renewal without a successor must not authenticate");
    assert_eq!(err.backend, "cache");
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
    let store = spy();
    store.fail_next(Primitive::Sweep, 1);
    let cache = cache_over(store.clone());
    let every = Duration::from_secs(60);
    let handle = cache.spawn_sweeper(every);
    settle().await;
    assert_eq!(
        store.calls_to(Primitive::Sweep),
        0,
        "no sweep before the first period"
    );
    for expected in 1..=3 {
        tokio::time::advance(every).await;
        settle().await;
        assert_eq!(store.calls_to(Primitive::Sweep), expected);
    }
    assert!(
        cache.sweep().await.is_ok(),
        "only the first sweep was made to fail"
    );
    drop(handle);
    settle().await;
    tokio::time::advance(every * 5).await;
    settle().await;
    assert_eq!(
        store.calls_to(Primitive::Sweep),
        4,
        "a dropped handle stops the sweeper"
    );
}

/// Invariant 8: the sweeper holds no strong reference to the cache: once the last clone is dropped it
/// stops sweeping even if its handle is kept.
#[tokio::test(start_paused = true)]
async fn sweeper_stops_when_the_cache_is_dropped() {
    let store = spy();
    let cache = cache_over(store.clone());
    let every = Duration::from_secs(60);
    let _handle = cache.spawn_sweeper(every);
    settle().await;
    tokio::time::advance(every).await;
    settle().await;
    assert_eq!(store.calls_to(Primitive::Sweep), 1);
    drop(cache);
    tokio::time::advance(every * 5).await;
    settle().await;
    assert_eq!(store.calls_to(Primitive::Sweep), 1);
    assert_eq!(
        Arc::strong_count(&store),
        1,
        "the store was released with the cache"
    );
}
