//! Fail closed with a near cache: a node whose Redis dies or hangs stops answering from memory (the
//! subscription drops, or its `PONG`s stop coming back and the lease runs out) and every request is an
//! error, never "signed in" from a cache Redis can no longer vouch for; when Redis is back, hot fetches
//! are answered from memory again. Runs against a `redis-server` of the test's own (the kit's
//! `OwnRedis`). No timed assertion: how long each took is printed. The waits are the kit's
//! (`keycard_store_tests::near::outage`), shared with the PostgreSQL store's outage test.

use std::time::{Duration, Instant};

use keycard::store::near::{NearCache, NearConfig};
use keycard::CredentialsCache;
use keycard_redis::{RedisConfig, RedisStore};
use keycard_store_tests::near::outage::{
    cache_over_confirmed, fails_closed, until_served_from_memory,
};
use keycard_store_tests::near::BOUND;
use keycard_store_tests::services::OwnRedis;
use keycard_store_tests::{user, TestUser};

type Near = NearCache<TestUser, RedisStore>;

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
    until_served_from_memory(near, cache, &cookie).await;
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
    let cache = cache_over_confirmed(&near).await;
    let cookie = signed_in_and_warm(&near, &cache).await;

    redis.kill();
    let killed = "near_outage (Redis): killed";
    fails_closed(&near, &cache, &cookie, killed, "still an error while down").await;
    assert!(!near.channel().is_confirmed());

    redis.restart().await;
    let cookie = signed_in_and_warm(&near, &cache).await;

    redis.pause();
    let hung = "near_outage (Redis): hung (lease 1 s)";
    fails_closed(&near, &cache, &cookie, hung, "still an error while hung").await;
    redis.resume();
    until_served_from_memory(&near, &cache, &cookie).await;
}
