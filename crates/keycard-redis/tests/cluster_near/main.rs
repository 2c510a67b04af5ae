//! The near cache on a Redis Cluster (`NearCache` + `ClusterInvalidations`: `SPUBLISH` from every write
//! script to its user's shard channel, `SSUBSCRIBE` per master, a `PING` and `CLUSTER NODES` per master
//! every lease/4), on the shared cluster (`scripts/redis-cluster.sh start`;
//! `KEYCARD_TEST_REDIS_CLUSTER_URL`): the conformance suite and the model test pass unchanged through
//! it; two nodes on the cluster, each with its own near cache, keep the promise (once node B's write
//! has reached node A, A never answers from the entry it replaced), with the revocation lag printed;
//! a warm near cache answers hot fetches with no command to any master (`MONITOR` on every master).
//! When the cluster is not up every test skips by the test kit's rule (a failure under
//! `KEYCARD_REQUIRE_SERVICES=1`). The failover and resharding runs with the near cache on are in
//! `tests/cluster_ops/near.rs`. No assertion is timed: every wait polls within a generous bound.

use std::sync::Arc;
use std::time::Duration;

use keycard::store::near::{NearCache, NearConfig};
use keycard_redis::near_cluster::ClusterStatus;
use keycard_redis::{ClusterInvalidations, RedisConfig, RedisStore};
use keycard_store_tests::near::{self, signed_in_and_warm_on_a};
use keycard_store_tests::services::monitor::Monitor;
use keycard_store_tests::services::{
    redact, redis_cluster_or_skip, redis_cluster_reachable, redis_cluster_url, unique_prefix,
};
use keycard_store_tests::TestUser;

fn near_config() -> NearConfig {
    NearConfig::default().with_lease(Duration::from_secs(2))
}

async fn cluster_url() -> Result<String, String> {
    let url = redis_cluster_url();
    match redis_cluster_reachable(&url).await {
        Ok(()) => Ok(url),
        Err(e) => Err(format!(
            "Redis Cluster not reachable at {} ({e}); run scripts/redis-cluster.sh start or set \
             KEYCARD_TEST_REDIS_CLUSTER_URL",
            redact(&url)
        )),
    }
}

async fn connect(url: &str, prefix: &str) -> RedisStore {
    let config = RedisConfig::with_prefix(prefix).response_timeout(Duration::from_secs(10));
    let store = RedisStore::connect(url, config)
        .await
        .unwrap_or_else(|e| panic!("the cluster is up at {url} but the store cannot connect: {e}"));
    assert!(store.is_cluster());
    store
}

/// The suites' factory: a cluster store with a near cache subscribed on every master and confirmed.
async fn near_store(test: &'static str) -> Result<NearCache<TestUser, RedisStore>, String> {
    let url = cluster_url().await?;
    let store = connect(&url, &unique_prefix(test)).await;
    let near = store
        .near_cache::<TestUser>(near_config())
        .expect("a cluster store that publishes: a near cache");
    Ok(near::confirmed(test, near).await)
}

keycard_store_tests::conformance_suite!(near_store);
keycard_store_tests::model_suite!(near_store);

/// One app node on the cluster.
type Node = near::Node<RedisStore, Arc<ClusterStatus>>;

async fn node(url: &str, prefix: &str) -> Node {
    let store = connect(url, prefix).await;
    let source = ClusterInvalidations::new(&store).expect("a cluster store that publishes");
    let status = source.status();
    Node::start(store, near_config(), status, |channel| {
        source.start(channel)
    })
    .await
}

/// Two nodes on the cluster and one key prefix, or `None` after the skip rule.
async fn two_nodes(test: &str) -> Option<(Node, Node)> {
    let url = redis_cluster_or_skip(test).await?;
    let prefix = unique_prefix(test);
    Some((node(&url, &prefix).await, node(&url, &prefix).await))
}

keycard_store_tests::near_two_node_tests! {
    two_nodes;
    fn a_revocation_on_node_b_is_never_served_by_node_a_once_received("cluster_near_revoke") => a_revocation_on_b_is_never_served_by_a;
    fn a_put_user_on_node_b_is_never_served_stale_by_node_a_once_received("cluster_near_put") => a_put_user_on_b_is_never_served_stale_by_a;
    fn a_credential_change_on_node_b_ends_the_session_on_node_a_once_received("cluster_near_creds") => a_credential_change_on_b_ends_the_session_on_a;
    fn node_a_events_report_a_revocation_made_on_node_b("cluster_near_events") => a_events_report_a_revocation_made_on_b;
    /// The revocation lag between two nodes on the cluster, measured (printed, not asserted), over 40
    /// users spread over the masters.
    fn revocation_lag_over_forty_trials_is_printed_and_never_stale_after_invalidation("cluster_near_lag") => revocation_lag_is_printed_and_never_stale("cluster_near_lag (Redis Cluster)", 40);
}

/// Every master subscribed: one generation, one subscription per master.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_master_is_subscribed_and_confirmed() {
    let Some((a, _b)) = two_nodes("cluster_near_masters").await else {
        return;
    };
    let masters = a.status.masters();
    assert!(masters.len() >= 3, "{masters:?}");
    assert!(a.status.subscribed() >= masters.len() as u64);
    near::until("a PONG from every master", || {
        a.status.pongs_received() >= masters.len() as u64
    })
    .await;
    assert!(a.near.channel().is_confirmed() || a.status.generations() > 1);
}

/// A warm near cache answers 100 hot fetches with no command to any master: `MONITOR` on every master
/// shows nothing that names the test's keys (every script call names its keys, under the test's own
/// prefix), and the spy under the near cache counts no store call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_near_cache_answers_hot_fetches_with_no_command_to_any_master() {
    let Some((a, b)) = two_nodes("cluster_near_warm").await else {
        return;
    };
    let prefix = a.spy.inner().key_prefix().to_owned();
    let mut cookies = Vec::new();
    // Users spread over the masters.
    for id in 0..12 {
        cookies.push(signed_in_and_warm_on_a(&a, &b, id).await.0);
    }
    let mut monitors = Vec::new();
    for m in a.status.masters() {
        monitors.push((m.clone(), Monitor::start(&format!("redis://{m}")).await));
    }
    for (_, mon) in &mut monitors {
        mon.drain().await;
    }
    let calls = a.spy.calls();
    let hits = a.near.stats().hits;
    for _ in 0..10 {
        for c in &cookies {
            assert!(a.cache.fetch(c).await.unwrap().is_some());
        }
    }
    let mut seen = Vec::new();
    for (m, mon) in &mut monitors {
        let lines = mon.drain().await;
        seen.extend(
            lines
                .into_iter()
                .filter(|l| l.contains(&prefix) && !l.to_ascii_lowercase().contains("ssubscribe"))
                .map(|l| format!("{m}: {l}")),
        );
    }
    assert!(
        seen.is_empty(),
        "a hot fetch sends nothing to any master: {seen:#?}"
    );
    assert_eq!(a.spy.calls(), calls, "120 hot fetches, no store call");
    assert_eq!(a.near.stats().hits, hits + 120);
    println!(
        "cluster_near_warm: 120 hot fetches of 12 users over {} masters, 0 commands naming their keys",
        monitors.len()
    );
}
