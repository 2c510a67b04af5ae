//! The Redis store while a Redis Cluster changes under it, each test on a 3-master, 3-replica cluster of
//! its own (`scripts/redis-cluster.sh` on ports 7100-7105, 7200-7205 and 7300-7305, stopped when the
//! test ends), one test at a time:
//!
//! - **failover**: one master is killed (`SIGKILL`) while every session is read in a loop. Requests for
//!   users in its slots fail (a store error: 503) until its replica is promoted, then succeed by
//!   themselves; a revoked session is never served, a live one never reads as signed out. The test
//!   prints the 503 window and how many of the sessions created just before the kill (not yet confirmed
//!   by `WAIT`) were lost.
//! - **one round trip**: `fetch`, renewal included, is one `EVALSHA` on the cluster too (counted with
//!   `INFO commandstats` on every master).
//! - **resharding**: `redis-cli --cluster reshard` moves 2,000 slots between masters while sessions are
//!   read, created and revoked in a loop: no answer is wrong (a store error is the only other outcome,
//!   and is counted), nothing is lost, nothing revoked comes back.
//!
//! - **near cache** (`near.rs`): the failover and the resharding again with a near cache on node A
//!   and the writes on node B: no revoked session served past one lease after the acknowledged
//!   revocation; the revocation lag printed.
//!
//! The figures (`--nocapture`) are in the guide (Redis Cluster) and the crate docs. Needs `redis-server`
//! and `redis-cli` on `PATH`; without them each test skips by the test kit's rule (a
//! failure under `KEYCARD_REQUIRE_SERVICES=1`).

mod near;
mod own;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use keycard_redis::hash_tag;
use keycard_store_tests::skip::or_skip;
use keycard_store_tests::{key, user, Harness};

use own::{keyslot, master_of, slot_masters, OwnCluster};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Live,
    Gone,
    Error,
}

/// One test at a time: each runs a cluster of six nodes (the machine may have two cores), and the error
/// tally is per test.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The store errors seen, by message (the first 60 characters), for the report.
static ERRORS: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

fn tally(e: &keycard::StoreError) {
    // Slot numbers and addresses vary; the kind of error is what the report needs.
    let m: String = e
        .message
        .split(|c: char| c.is_ascii_digit())
        .next()
        .unwrap_or_default()
        .chars()
        .take(70)
        .collect();
    *ERRORS.lock().unwrap().entry(m).or_default() += 1;
}

fn errors_seen() -> String {
    format!("{:#?}", ERRORS.lock().unwrap())
}

async fn probe(h: &Harness, cookie: &str) -> Seen {
    match h.cache.fetch(cookie).await {
        Ok(Some(_)) => Seen::Live,
        Ok(None) => Seen::Gone,
        Err(e) => {
            tally(&e);
            Seen::Error
        }
    }
}

struct Session {
    cookie: String,
    /// Served by the master the test kills (or whose slots move).
    on_victim: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_answers_503_until_its_replica_takes_over_and_nothing_comes_back() {
    const TEST: &str =
        "a_killed_master_answers_503_until_its_replica_takes_over_and_nothing_comes_back";
    let _one = ONE_AT_A_TIME.lock().await;
    ERRORS.lock().unwrap().clear();
    let Some(cluster) = or_skip(TEST, OwnCluster::start(7100)) else {
        return;
    };
    let victim = cluster.base;
    let store = cluster.store("failover").await;
    let p = store.key_prefix().to_owned();
    let mut conn = store.connection();
    let ranges = slot_masters(victim + 1).await;
    assert!(
        ranges.iter().any(|r| r.2 == victim),
        "{victim} is a master: {ranges:?}"
    );
    let h = Harness::new(store);
    let master_of_user = |slot: i64| master_of(&ranges, slot) == victim;

    let (mut live, mut revoked) = (Vec::new(), Vec::new());
    for id in 0..90 {
        let s = h.sign_in(user(id, "u")).await;
        let slot = keyslot(
            &mut conn,
            &format!("{p}{}u:{}", hash_tag(&key(id)), key(id)),
        )
        .await;
        let entry = Session {
            cookie: s.cookie.as_str().to_owned(),
            on_victim: master_of_user(slot),
        };
        if id % 6 == 0 {
            assert!(h.cache.delete_session(&s.session.session_id).await.unwrap());
            revoked.push(entry);
        } else {
            live.push(entry);
        }
    }
    assert!(live.iter().any(|s| s.on_victim) && revoked.iter().any(|s| s.on_victim));
    // Everything so far is confirmed on the victim's replica before the kill.
    let acked = cluster.cli(victim, &["wait", "1", "5000"]);
    assert_eq!(acked.trim(), "1", "the replica confirmed the writes");
    // Sessions acknowledged to the app just before the kill, with no WAIT: replication is asynchronous.
    let mut late = Vec::new();
    let mut id = 1000;
    while late.len() < 10 {
        let slot = keyslot(
            &mut conn,
            &format!("{p}{}u:{}", hash_tag(&key(id)), key(id)),
        )
        .await;
        if master_of_user(slot) {
            late.push(h.sign_in(user(id, "late")).await.cookie.as_str().to_owned());
        }
        id += 1;
    }

    let status = std::process::Command::new("kill")
        .args(["-9", &cluster.pid(victim)])
        .status()
        .expect("kill");
    assert!(status.success());
    let killed = Instant::now();

    let (mut victim_errors, mut other_errors, mut requests) = (0usize, 0usize, 0usize);
    let mut last_error = None;
    let mut healthy_rounds = 0;
    while healthy_rounds < 5 {
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "no recovery within 60 s of the kill"
        );
        let live_seen = join_all(live.iter().map(|s| probe(&h, &s.cookie))).await;
        let revoked_seen = join_all(revoked.iter().map(|s| probe(&h, &s.cookie))).await;
        let mut errors = 0;
        for (s, seen) in live.iter().zip(&live_seen) {
            assert_ne!(*seen, Seen::Gone, "a live session read as signed out");
            if *seen == Seen::Error {
                errors += 1;
                if s.on_victim {
                    victim_errors += 1
                } else {
                    other_errors += 1
                }
            }
        }
        for (s, seen) in revoked.iter().zip(&revoked_seen) {
            assert_ne!(*seen, Seen::Live, "a revoked session came back");
            if *seen == Seen::Error {
                errors += 1;
                if s.on_victim {
                    victim_errors += 1
                } else {
                    other_errors += 1
                }
            }
        }
        requests += live.len() + revoked.len();
        if errors == 0 {
            healthy_rounds += 1;
        } else {
            healthy_rounds = 0;
            last_error = Some(killed.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lost = join_all(late.iter().map(|c| probe(&h, c)))
        .await
        .into_iter()
        .filter(|s| *s == Seen::Gone)
        .count();
    let window = last_error.unwrap_or_default();
    eprintln!(
        "failover: 503 window {:.1} s after the kill; {victim_errors} failed request(s) for users of the \
         killed master, {other_errors} for other users, of {requests}; sessions created just before the \
         kill (no WAIT) lost: {lost}/{}",
        window.as_secs_f64(),
        late.len()
    );
    eprintln!("failover: errors by message: {}", errors_seen());
    assert!(
        victim_errors > 0,
        "the killed master's users saw the outage"
    );
    assert!(window < Duration::from_secs(45), "{window:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resharding_under_load_loses_nothing_and_brings_nothing_back() {
    const TEST: &str = "resharding_under_load_loses_nothing_and_brings_nothing_back";
    let _one = ONE_AT_A_TIME.lock().await;
    ERRORS.lock().unwrap().clear();
    let Some(cluster) = or_skip(TEST, OwnCluster::start(7200)) else {
        return;
    };
    let (from, to) = (cluster.base, cluster.base + 1);
    let store = cluster.store("reshard").await;
    let p = store.key_prefix().to_owned();
    let mut conn = store.connection();
    let before = slot_masters(to).await;
    let h = Arc::new(Harness::new(store));

    let mut slots = Vec::new();
    let (mut live, mut revoked) = (Vec::new(), Vec::new());
    for id in 0..120 {
        let s = h.sign_in(user(id, "u")).await;
        slots.push(
            keyslot(
                &mut conn,
                &format!("{p}{}u:{}", hash_tag(&key(id)), key(id)),
            )
            .await,
        );
        if id % 6 == 0 {
            assert!(h.cache.delete_session(&s.session.session_id).await.unwrap());
            revoked.push(s.cookie.as_str().to_owned());
        } else {
            live.push(s.cookie.as_str().to_owned());
        }
    }

    // The load: every session read, one sign-in per round, every third new session revoked.
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(Mutex::new((Vec::<String>::new(), Vec::<String>::new())));
    let load = {
        let (h, stop, errors, requests, created) = (
            h.clone(),
            stop.clone(),
            errors.clone(),
            requests.clone(),
            created.clone(),
        );
        let (live, revoked) = (live.clone(), revoked.clone());
        tokio::spawn(async move {
            let mut round = 0u32;
            while !stop.load(Ordering::SeqCst) {
                let (new_live, new_revoked) = {
                    let c = created.lock().unwrap();
                    (c.0.clone(), c.1.clone())
                };
                let reads = live.iter().chain(&new_live).map(|c| (c, true));
                let reads = reads.chain(revoked.iter().chain(&new_revoked).map(|c| (c, false)));
                let reads: Vec<_> = reads.collect();
                let seen = join_all(reads.iter().map(|(c, _)| probe(&h, c))).await;
                for ((_, should_live), seen) in reads.iter().zip(seen) {
                    match (should_live, seen) {
                        (_, Seen::Error) => {
                            errors.fetch_add(1, Ordering::SeqCst);
                        }
                        (true, Seen::Gone) => panic!("a live session read as signed out"),
                        (false, Seen::Live) => panic!("a revoked session came back"),
                        _ => {}
                    }
                }
                requests.fetch_add(reads.len() + 1, Ordering::SeqCst);
                match h
                    .cache
                    .create(
                        user(5000 + round, "new"),
                        keycard::SessionMetadata::default(),
                    )
                    .await
                {
                    Ok(s) => {
                        let cookie = s.cookie.as_str().to_owned();
                        if round.is_multiple_of(3) {
                            match h.cache.delete(&cookie).await {
                                Ok(Some(_)) => created.lock().unwrap().1.push(cookie),
                                Ok(None) => panic!("a session just created was not found"),
                                // Unknown outcome: neither list (it may or may not be gone).
                                Err(e) => {
                                    tally(&e);
                                    errors.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                        } else {
                            created.lock().unwrap().0.push(cookie);
                        }
                    }
                    Err(e) => {
                        if let keycard::CreateError::Store(e) = &e {
                            tally(e);
                        }
                        errors.fetch_add(1, Ordering::SeqCst);
                    }
                }
                round += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    let id_of = |port: u16| cluster.cli(port, &["cluster", "myid"]).trim().to_owned();
    let (from_id, to_id) = (id_of(from), id_of(to));
    let started = Instant::now();
    let seed = format!("127.0.0.1:{from}");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("timeout")
            .args(["120", "redis-cli", "--cluster", "reshard", &seed])
            .args(["--cluster-from", &from_id, "--cluster-to", &to_id])
            .args(["--cluster-slots", "2000", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster reshard")
    })
    .await
    .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "reshard failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    load.await.expect("the load ran without a wrong answer");

    let after = slot_masters(to).await;
    let moved = slots
        .iter()
        .filter(|s| master_of(&before, **s) == from && master_of(&after, **s) == to)
        .count();
    assert!(moved > 0, "some users' slots moved");
    let (new_live, new_revoked) = created.lock().unwrap().clone();
    for c in live.iter().chain(&new_live) {
        h.must_fetch(c, "live after resharding").await;
    }
    for c in revoked.iter().chain(&new_revoked) {
        h.must_not_fetch(c, "revoked after resharding").await;
    }
    let check = cluster.cli(from, &["--cluster", "check", &format!("127.0.0.1:{from}")]);
    assert!(check.contains("[OK] All 16384 slots covered."), "{check}");
    eprintln!(
        "resharding: 2000 slots ({moved} of 120 users) moved in {:.1} s under load; {} store error(s) \
         of {} requests; {} sessions created and {} revoked meanwhile, all as expected afterwards",
        took.as_secs_f64(),
        errors.load(Ordering::SeqCst),
        requests.load(Ordering::SeqCst),
        new_live.len(),
        new_revoked.len()
    );
    eprintln!("resharding: errors by message: {}", errors_seen());
}

/// The commands each master has executed, by name, from `INFO commandstats` (`cmdstat_<name>:calls=N,…`).
fn commandstats(cluster: &OwnCluster, port: u16) -> BTreeMap<String, u64> {
    cluster
        .cli(port, &["info", "commandstats"])
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

/// The commands keycard's scripts run inside Redis (`INFO commandstats` counts them too; `MONITOR`, used
/// by the single-Redis test, tells them apart, but would need one per master here).
const SCRIPT_COMMANDS: &[&str] = &[
    "get",
    "set",
    "del",
    "exists",
    "hget",
    "hmget",
    "hset",
    "hdel",
    "pttl",
    "pexpire",
    "zadd",
    "zrem",
    "zscore",
    "zcard",
    "zrange",
    "zrevrange",
    "zrangebyscore",
    "zrevrangebyscore",
    "zremrangebyscore",
    // The invalidation a renewal publishes on its user's shard channel (`RedisConfig::publish_invalidations`).
    "spublish",
];

/// One round trip per signed-in request on the cluster too: N fetches (plain reads and a renewal) of
/// users spread over the three masters add exactly N `EVALSHA`s, summed over the masters, and no other
/// command a client sends (no `ASKING`, `CLUSTER`, `EVAL`, `SCRIPT`, …: only what the scripts run
/// inside), on a cluster of the test's own (no other client).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_is_one_command_on_the_cluster_too() {
    const TEST: &str = "fetch_is_one_command_on_the_cluster_too";
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(cluster) = or_skip(TEST, OwnCluster::start(7300)) else {
        return;
    };
    let store = cluster.store("round-trip").await;
    let h = Harness::new(store);
    let mut cookies = Vec::new();
    for id in 0..30 {
        cookies.push(h.sign_in(user(id, "u")).await.cookie.as_str().to_owned());
    }
    let masters: std::collections::BTreeSet<u16> = slot_masters(cluster.base)
        .await
        .iter()
        .map(|r| r.2)
        .collect();
    assert_eq!(masters.len(), 3);
    let before: Vec<_> = masters.iter().map(|p| commandstats(&cluster, *p)).collect();
    for c in &cookies {
        assert!(h.must_fetch(c, "plain read").await.renewed.is_none());
    }
    h.advance(keycard_store_tests::fixtures::RENEW);
    for c in &cookies {
        assert!(h.must_fetch(c, "renewal").await.renewed.is_some());
    }
    let after: Vec<_> = masters.iter().map(|p| commandstats(&cluster, *p)).collect();
    let fetches = 2 * cookies.len() as u64;
    let mut delta: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_master = Vec::new();
    for (b, a) in before.iter().zip(&after) {
        for (name, calls) in a {
            let d = calls - b.get(name).unwrap_or(&0);
            // `info` is this test's own reading; `replconf`, `psync`, `sync` and `ping` are the replicas'
            // (a new cluster's replicas may still be finishing their handshake under a loaded machine).
            let not_the_client = ["info", "replconf", "psync", "sync", "ping"];
            if d > 0 && !not_the_client.contains(&name.as_str()) {
                *delta.entry(name.clone()).or_default() += d;
            }
        }
        per_master.push(a.get("evalsha").unwrap_or(&0) - b.get("evalsha").unwrap_or(&0));
    }
    eprintln!(
        "cluster round trips: {fetches} fetches; commands run on the masters: {delta:?}; EVALSHA per \
         master {per_master:?}"
    );
    assert_eq!(
        delta.get("evalsha"),
        Some(&fetches),
        "one EVALSHA per fetch"
    );
    for name in delta.keys() {
        assert!(
            name == "evalsha" || SCRIPT_COMMANDS.contains(&name.as_str()),
            "a command other than the fetch script's: {name}"
        );
    }
    assert!(
        per_master.iter().all(|n| *n > 0),
        "on every master: {per_master:?}"
    );
}
