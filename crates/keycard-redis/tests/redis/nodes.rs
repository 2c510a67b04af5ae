//! Several app nodes and several apps on one Redis: shared sessions, split renewal races, prefixes that
//! keep apps apart, and the eviction-policy check every node runs when it connects.

use std::sync::Arc;

use keycard::{ManualClock, PutOutcome, SessionMetadata, TokenUse};
use keycard_redis::{RedisConfig, RedisStore};
use keycard_store_tests::fixtures::RENEW;
use keycard_store_tests::services::{redis_url, unique_prefix, OwnRedis};
use keycard_store_tests::skip::or_skip;
use keycard_store_tests::{key, user};

use crate::common::{admin, cache_over, capture, shared_store};

/// Two app nodes (two stores, two caches, one Redis, one prefix): a session made on one works on the
/// other, a renewal race split across both has exactly one winner and signs nobody out, and updates and
/// revocations through either node are seen by both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_sessions_and_a_split_renewal_race_has_one_winner() {
    const TEST: &str = "two_nodes_share_sessions_and_a_split_renewal_race_has_one_winner";
    let Some(first) = or_skip(TEST, shared_store(TEST).await) else {
        return;
    };
    let second = RedisStore::connect(&redis_url(), RedisConfig::with_prefix(first.key_prefix()))
        .await
        .unwrap();
    let clock = ManualClock::starting_now();
    let nodes = [
        cache_over(first, clock.clone()),
        cache_over(second, clock.clone()),
    ];
    for round in 0..10u32 {
        let s = nodes[0]
            .create(user(round, "racer"), SessionMetadata::default())
            .await
            .unwrap();
        assert!(
            nodes[1].fetch(s.cookie.as_str()).await.unwrap().is_some(),
            "made on A, works on B"
        );
        clock.advance(RENEW);
        let barrier = Arc::new(tokio::sync::Barrier::new(20));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (node, b, c) = (
                nodes[i % 2].clone(),
                barrier.clone(),
                s.cookie.as_str().to_owned(),
            );
            tasks.push(tokio::spawn(async move {
                b.wait().await;
                node.fetch(&c).await
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            let a = t
                .await
                .unwrap()
                .unwrap()
                .expect("nobody is signed out by the race");
            if let Some(c) = a.renewed {
                winners.push(c);
            } else {
                assert_eq!(a.token_use, TokenUse::Grace);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        for node in &nodes {
            let a = node.fetch(winners[0].as_str()).await.unwrap().unwrap();
            assert_eq!(a.token_use, TokenUse::Current);
        }
        assert_eq!(
            nodes[1].put_user(user(round, "updated")).await.unwrap(),
            PutOutcome::Updated
        );
        let a = nodes[0].fetch(winners[0].as_str()).await.unwrap().unwrap();
        assert_eq!(a.user.name, "updated");
        assert!(nodes[1]
            .delete_session(&s.session.session_id)
            .await
            .unwrap());
        assert!(nodes[0].fetch(winners[0].as_str()).await.unwrap().is_none());
    }
}

/// Two apps on one Redis with different prefixes (and, here, the same secret) never see each other's
/// sessions, users or indexes.
#[tokio::test]
async fn key_prefixes_keep_apps_apart() {
    const TEST: &str = "key_prefixes_keep_apps_apart";
    let Some(one) = or_skip(TEST, shared_store(TEST).await) else {
        return;
    };
    let two = shared_store(TEST)
        .await
        .expect("Redis answered a moment ago");
    assert_ne!(one.key_prefix(), two.key_prefix());
    let clock = ManualClock::starting_now();
    let (one, two) = (cache_over(one, clock.clone()), cache_over(two, clock));
    let s = one
        .create(user(1, "ann"), SessionMetadata::default())
        .await
        .unwrap();
    assert!(two.fetch(s.cookie.as_str()).await.unwrap().is_none());
    assert!(two.sessions(&key(1)).await.unwrap().is_empty());
    assert!(two.users().await.unwrap().is_empty());
    assert_eq!(
        two.put_user(user(1, "x")).await.unwrap(),
        PutOutcome::NotCached
    );
    assert_eq!(two.delete_user_sessions(&key(1), None).await.unwrap(), 0);
    assert_eq!(
        one.fetch(s.cookie.as_str())
            .await
            .unwrap()
            .unwrap()
            .user
            .name,
        "ann"
    );
}

/// The start-up check returns the policy and warns (tracing) for every policy that can evict session
/// keys, `volatile-*` included; `noeviction` passes silently.
#[tokio::test]
async fn eviction_policy_is_reported_and_anything_but_noeviction_warns() {
    const TEST: &str = "eviction_policy_is_reported_and_anything_but_noeviction_warns";
    let Some(server) = OwnRedis::start_or_skip(TEST, &[]).await else {
        return;
    };
    let capture = capture::Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let store = RedisStore::connect(&server.url(), RedisConfig::with_prefix(unique_prefix(TEST)))
        .await
        .unwrap();
    assert_eq!(store.check_eviction_policy().await.unwrap(), "noeviction");
    assert!(capture.warnings().is_empty(), "{:?}", capture.warnings());
    let mut c = admin(&server.url()).await;
    for policy in [
        "allkeys-lru",
        "volatile-ttl",
        "volatile-lru",
        "allkeys-random",
    ] {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory-policy")
            .arg(policy)
            .query_async(&mut c)
            .await
            .unwrap();
        capture.clear();
        assert_eq!(store.check_eviction_policy().await.unwrap(), policy);
        let w = capture.warnings();
        assert_eq!(w.len(), 1, "{policy}: {w:?}");
        assert!(
            w[0].contains(policy) && w[0].contains("noeviction"),
            "{w:?}"
        );
        // Connecting checks too.
        capture.clear();
        RedisStore::connect(&server.url(), RedisConfig::default())
            .await
            .unwrap();
        assert_eq!(capture.warnings().len(), 1, "{policy}: connect warns");
    }
}
