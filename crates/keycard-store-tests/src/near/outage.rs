//! Fail closed with a near cache: a node whose shared store stops or hangs stops answering from memory
//! and every request is an error, never "signed in" from a cache the store can no longer vouch for;
//! once the store is back, hot fetches are answered from memory again. The waits of the stores' outage
//! tests (`keycard-sqlx`'s `tests/postgres_near_outage.rs`, `keycard-redis`'s
//! `tests/redis_near/outage.rs`), which run on a server of the test's own
//! ([`OwnPostgres`](crate::services), [`OwnRedis`](crate::services)). No timed assertion: how long each
//! took is printed.

use std::time::{Duration, Instant};

use keycard::store::near::NearCache;
use keycard::{CachedUser, CredentialsCache, Store};

use super::BOUND;

/// A credentials cache over `near` once its channel is confirmed: the node an outage test takes down.
///
/// # Panics
/// When the channel is not confirmed within [`BOUND`].
pub async fn cache_over_confirmed<U: CachedUser, S: Store<U>>(
    near: &NearCache<U, S>,
) -> CredentialsCache<U> {
    assert!(near.wait_confirmed(BOUND).await, "channel never confirmed");
    CredentialsCache::builder(near.clone())
        .secret([9u8; 64])
        .build()
        .expect("cache")
}

/// Fetch until the answer is an error; every answer before it must be the signed-in user. Prints how
/// long it took and how many answers came from memory in the meantime (`what`: the test and the
/// outage, e.g. `near_outage (Redis): killed`).
///
/// # Panics
/// When an answer is "signed out", or no error comes within [`BOUND`].
pub async fn until_an_error<U: CachedUser, S>(
    near: &NearCache<U, S>,
    cache: &CredentialsCache<U>,
    cookie: &str,
    what: &str,
) {
    let start = Instant::now();
    let hits = near.stats().hits;
    loop {
        match cache.fetch(cookie).await {
            Err(_) => {
                println!(
                    "{what}: first error after {:?}, {} answers from memory before it",
                    start.elapsed(),
                    near.stats().hits - hits
                );
                return;
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("{what}: signed out by an outage"),
        }
        assert!(
            start.elapsed() < BOUND,
            "{what}: still answering after {BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// [`until_an_error`], then one more fetch that must be an error too (`still` says so when it is not):
/// the store is out, and the node stays closed.
pub async fn fails_closed<U: CachedUser, S>(
    near: &NearCache<U, S>,
    cache: &CredentialsCache<U>,
    cookie: &str,
    what: &str,
    still: &str,
) {
    until_an_error(near, cache, cookie, what).await;
    assert!(cache.fetch(cookie).await.is_err(), "{still}");
}

/// Fetch until a hit (answered from memory), errors and all in between: the store came back.
///
/// # Panics
/// When no hit comes within [`BOUND`].
pub async fn until_served_from_memory<U: CachedUser, S>(
    near: &NearCache<U, S>,
    cache: &CredentialsCache<U>,
    cookie: &str,
) {
    let start = Instant::now();
    loop {
        let hits = near.stats().hits;
        if let Ok(Some(_)) = cache.fetch(cookie).await {
            if near.stats().hits > hits {
                return;
            }
        }
        assert!(start.elapsed() < BOUND, "never served from memory again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
