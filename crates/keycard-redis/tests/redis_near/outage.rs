//! Fail closed with a near cache: a node whose Redis dies or hangs stops answering from memory (the
//! subscription drops, or its `PONG`s stop coming back and the lease runs out) and every request is an
//! error, never "signed in" from a cache Redis can no longer vouch for; when Redis is back, hot fetches
//! are answered from memory again. Runs against a `redis-server` of the test's own (the kit's
//! `OwnRedis`). No timed assertion: how long each took is printed.

use std::time::{Duration, Instant};

use keycard::store::near::{NearCache, NearConfig};
use keycard::CredentialsCache;
use keycard_redis::{RedisConfig, RedisStore};
use keycard_store_tests::services::OwnRedis;
use keycard_store_tests::{user, TestUser};

use crate::BOUND;

type Near = NearCache<TestUser, RedisStore>;

/// Fetch until the answer is an error; every answer before it must be the signed-in user. Prints how
/// long it took and how many answers came from memory in the meantime.
async fn until_an_error(near: &Near, cache: &CredentialsCache<TestUser>, cookie: &str, what: &str) {
    let start = Instant::now();
    let hits = near.stats().hits;
    loop {
        match cache.fetch(cookie).await {
            Err(_) => {
                println!(
                    "near_outage (Redis): {what}: first error after {:?}, {} answers from memory before it",
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

/// Fetch until a hit (answered from memory).
async fn until_a_hit(near: &Near, cache: &CredentialsCache<TestUser>, cookie: &str) {
    let start = Instant::now();
    loop {
        let hits = near.stats().hits;
        if let Ok(Some(_)) = cache.fetch(cookie).await {
            if near.stats().hits > hits {
                return;
            }
        }
        assert!(start.elapsed() < BOUND, "never served from memory");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sign in (again: the test's Redis keeps nothing over a restart) and wait until served from memory.
async fn signed_in_and_warm(near: &Near, cache: &CredentialsCache<TestUser>) -> String {
    let start = Instant::now();
    let cookie = loop {
        // Right after a restart the store's connection may still be reconnecting.
        match cache.create(user(1, "ann"), Default::default()).await {
            Ok(s) => break s.cookie.as_str().to_owned(),
            Err(_) => {
                assert!(start.elapsed() < BOUND, "cannot sign in");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    until_a_hit(near, cache, &cookie).await;
    cookie
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_near_cache_stops_answering_from_memory_when_its_redis_dies_or_hangs() {
    let Some(mut redis) = OwnRedis::start_or_skip("redis_near_outage", &[]).await else {
        return;
    };
    let config = RedisConfig::default().response_timeout(Duration::from_secs(1));
    let store = RedisStore::connect(&redis.url(), config)
        .await
        .expect("store on the test's own server");
    let near = store
        .near_cache::<TestUser>(NearConfig::default().with_lease(Duration::from_secs(1)))
        .unwrap();
    assert!(near.wait_confirmed(BOUND).await);
    let cache = CredentialsCache::<TestUser>::builder(near.clone())
        .secret([9u8; 64])
        .build()
        .unwrap();
    let cookie = signed_in_and_warm(&near, &cache).await;

    redis.kill();
    until_an_error(&near, &cache, &cookie, "killed").await;
    assert!(
        cache.fetch(&cookie).await.is_err(),
        "still an error while down"
    );
    assert!(!near.channel().is_confirmed());

    redis.restart().await;
    let cookie = signed_in_and_warm(&near, &cache).await;

    redis.pause();
    until_an_error(&near, &cache, &cookie, "hung (lease 1 s)").await;
    assert!(
        cache.fetch(&cookie).await.is_err(),
        "still an error while hung"
    );
    redis.resume();
    until_a_hit(&near, &cache, &cookie).await;
}
