//! The Redis store on a Redis Cluster (`scripts/redis-cluster.sh start`; `KEYCARD_TEST_REDIS_CLUSTER_URL`,
//! default `redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002`): the conformance suite, the
//! model test and the remember-me suites unchanged, and the layout's promises (a user's keys, series
//! included, in one slot; users on every master). When the cluster is not up every test skips by the
//! test kit's rule (a failure under `KEYCARD_REQUIRE_SERVICES=1`).

mod layout;

use std::time::Duration;

use keycard_redis::{RedisConfig, RedisStore};
use keycard_store_tests::services::{
    redact, redis_cluster_reachable, redis_cluster_url, unique_prefix,
};

/// A store on the shared cluster with a fresh prefix, or why the cluster cannot be reached.
pub async fn cluster_store(test: &'static str) -> Result<RedisStore, String> {
    let url = redis_cluster_url();
    if let Err(e) = redis_cluster_reachable(&url).await {
        return Err(format!(
            "Redis Cluster not reachable at {} ({e}); run scripts/redis-cluster.sh start or set \
             KEYCARD_TEST_REDIS_CLUSTER_URL",
            redact(&url)
        ));
    }
    let config =
        RedisConfig::with_prefix(unique_prefix(test)).response_timeout(Duration::from_secs(10));
    let store = RedisStore::connect(&url, config).await.unwrap_or_else(|e| {
        panic!("{test}: the cluster is up at {url} but the store cannot connect: {e}")
    });
    assert!(store.is_cluster());
    Ok(store)
}

keycard_store_tests::conformance_suite!(cluster_store);
keycard_store_tests::model_suite!(cluster_store);
keycard_store_tests::remember_suite!(cluster_store);
keycard_store_tests::one_time_suite!(cluster_store);
keycard_store_tests::remember_sessions_suite!(|test: &'static str| async move {
    cluster_store(test)
        .await
        .map(keycard_store_tests::remember_sessions::both)
});
