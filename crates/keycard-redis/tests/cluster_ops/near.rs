//! The failover and the resharding again, with the near cache on: node A reads through a near cache
//! over its own store (`RedisStore::near_cache`'s pieces: `ClusterInvalidations`, one `SSUBSCRIBE`
//! connection per master), node B (a plain store, the same prefix) signs in and revokes; A hears B's
//! writes through the shard channels. The promise checked on every answer: once B's revocation is
//! acknowledged, no answer of A that began more than one lease later is the revoked session (a
//! failure, not a figure); before that, A may still answer it from memory (counted). Printed: the
//! revocation lag (from B's acknowledgement to A's first answer without the session; p50/p99/max),
//! in steady state and during the failover or the resharding, and how long A's near cache was off
//! (served from the cluster) after the kill. Each on a cluster of its own (ports 7400-7405, 7500-7505).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use keycard::store::near::{NearCache, NearConfig};
use keycard_redis::near_cluster::ClusterStatus;
use keycard_redis::{hash_tag, ClusterInvalidations, RedisStore};
use keycard_store_tests::near::BOUND;
use keycard_store_tests::services::unique_prefix;
use keycard_store_tests::skip::or_skip;
use keycard_store_tests::{key, user, Harness, TestUser};

use super::own::{keyslot, master_of, slot_masters, OwnCluster};
use super::{errors_seen, probe, tally, Seen, ERRORS, ONE_AT_A_TIME};

const LEASE: Duration = Duration::from_secs(2);

struct Nodes {
    /// Node A: reads through its near cache.
    a: Harness,
    near: NearCache<TestUser, RedisStore>,
    status: Arc<ClusterStatus>,
    /// Node B: writes (its own store, the same prefix).
    b: Harness,
    prefix: String,
}

async fn nodes(cluster: &OwnCluster, test: &str) -> Nodes {
    let prefix = unique_prefix(test);
    let store = cluster.store_with_prefix(&prefix).await;
    let source = ClusterInvalidations::new(&store).expect("a cluster store that publishes");
    let status = source.status();
    let near = NearCache::new(store, NearConfig::default().with_lease(LEASE));
    let near = near.clone().with_source_guard(source.start(near.channel()));
    assert!(near.wait_confirmed(BOUND).await, "never confirmed");
    Nodes {
        a: Harness::new(near.clone()),
        near,
        status,
        b: Harness::new(cluster.store_with_prefix(&prefix).await),
        prefix,
    }
}

/// What one revocation on B looked like from A.
struct Revoked {
    /// From B's acknowledgement to A's first answer without the session.
    lag: Duration,
    /// Answers of A that were the revoked session (all within one lease of the acknowledgement).
    early: usize,
}

/// Revoke `sid` on B and read `cookie` on A until A says it is gone (store errors: read again). `None`
/// when B's revocation failed (its outcome unknown).
///
/// # Panics
/// When an answer of A that began more than one lease after the acknowledgement is the session.
async fn revoke_on_b_and_watch_a(
    n: &Nodes,
    cookie: &str,
    sid: &keycard::SessionId,
) -> Option<Revoked> {
    match n.b.cache.delete_session(sid).await {
        Ok(true) => {}
        Ok(false) => panic!("a live session was not found to revoke"),
        Err(e) => {
            tally(&e);
            return None;
        }
    }
    let acked = Instant::now();
    let mut early = 0;
    loop {
        let began = Instant::now();
        match probe(&n.a, cookie).await {
            Seen::Gone => {
                return Some(Revoked {
                    lag: acked.elapsed(),
                    early,
                })
            }
            Seen::Live => {
                assert!(
                    began < acked + LEASE,
                    "A served a session revoked {:?} earlier (bound: one lease, {LEASE:?})",
                    began - acked
                );
                early += 1;
            }
            Seen::Error => {}
        }
        assert!(acked.elapsed() < BOUND, "A never saw the revocation");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn figures(lags: &mut [Duration]) -> String {
    if lags.is_empty() {
        return "none".to_owned();
    }
    lags.sort();
    let at = |q: f64| lags[((lags.len() as f64 * q).ceil() as usize).clamp(1, lags.len()) - 1];
    format!(
        "n={} p50 {:.2?} p99 {:.2?} max {:.2?}",
        lags.len(),
        at(0.5),
        at(0.99),
        lags[lags.len() - 1]
    )
}

/// Wait until A answers `cookie` from memory again.
async fn until_served_from_memory(n: &Nodes, cookie: &str) {
    let start = Instant::now();
    loop {
        let hits = n.near.stats().hits;
        let _ = probe(&n.a, cookie).await;
        if n.near.stats().hits > hits {
            return;
        }
        assert!(start.elapsed() < BOUND, "A never served from memory again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Session {
    cookie: String,
    sid: keycard::SessionId,
    on_victim: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_cache_failover_never_serves_a_revoked_session_past_the_bound() {
    const TEST: &str = "near_cache_failover_never_serves_a_revoked_session_past_the_bound";
    let _one = ONE_AT_A_TIME.lock().await;
    ERRORS.lock().unwrap().clear();
    let Some(cluster) = or_skip(TEST, OwnCluster::start(7400)) else {
        return;
    };
    let victim = cluster.base;
    let n = nodes(&cluster, "near-failover").await;
    let p = n.prefix.clone();
    let ranges = slot_masters(victim + 1).await;
    let mut conn = cluster.store("slots").await.connection();
    let mut live = Vec::new();
    for id in 0..60 {
        let s = n.b.sign_in(user(id, "u")).await;
        let slot = keyslot(
            &mut conn,
            &format!("{p}{}u:{}", hash_tag(&key(id)), key(id)),
        )
        .await;
        let cookie = s.cookie.as_str().to_owned();
        n.a.must_fetch(&cookie, "warm").await;
        live.push(Session {
            cookie,
            sid: s.session.session_id,
            on_victim: master_of(&ranges, slot) == victim,
        });
    }
    assert!(live.iter().any(|s| s.on_victim) && live.iter().any(|s| !s.on_victim));
    until_served_from_memory(&n, &live[1].cookie).await;
    // Steady state: ten revocations, the lag of each.
    let (mut steady, mut early) = (Vec::new(), 0);
    let mut revoked = Vec::new();
    for _ in 0..10 {
        let s = live.remove(0);
        let r = revoke_on_b_and_watch_a(&n, &s.cookie, &s.sid)
            .await
            .expect("steady state");
        steady.push(r.lag);
        early += r.early;
        revoked.push(s.cookie);
    }
    let acked = cluster.cli(victim, &["wait", "1", "5000"]);
    assert_eq!(acked.trim(), "1", "the replica confirmed the writes");
    let generations = n.status.generations();

    let status = std::process::Command::new("kill")
        .args(["-9", &cluster.pid(victim)])
        .status()
        .expect("kill");
    assert!(status.success());
    let killed = Instant::now();
    let (mut during, mut during_victim) = (Vec::new(), Vec::new());
    let (mut errors, mut requests, mut healthy_rounds) = (0usize, 0usize, 0);
    let (mut last_error, mut off_until) = (None, None::<Duration>);
    let mut next_victim = true;
    while healthy_rounds < 5 {
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "no recovery within 60 s"
        );
        let live_seen = join_all(live.iter().map(|s| probe(&n.a, &s.cookie))).await;
        let revoked_seen = join_all(revoked.iter().map(|c| probe(&n.a, c))).await;
        assert!(
            !live_seen.contains(&Seen::Gone),
            "a live session read as signed out"
        );
        assert!(
            !revoked_seen.contains(&Seen::Live),
            "a revoked session came back"
        );
        let round_errors = live_seen
            .iter()
            .chain(&revoked_seen)
            .filter(|s| **s == Seen::Error)
            .count();
        errors += round_errors;
        requests += live_seen.len() + revoked_seen.len();
        // One revocation per round on B, alternating the killed master's users and the others'.
        if let Some(i) = live.iter().position(|s| s.on_victim == next_victim) {
            let s = live.remove(i);
            if let Some(r) = revoke_on_b_and_watch_a(&n, &s.cookie, &s.sid).await {
                early += r.early;
                if s.on_victim {
                    during_victim.push(r.lag)
                } else {
                    during.push(r.lag)
                }
                revoked.push(s.cookie);
            }
        }
        next_victim = !next_victim;
        if !n.near.channel().is_confirmed() {
            off_until = Some(killed.elapsed());
        }
        if round_errors == 0 {
            healthy_rounds += 1;
        } else {
            healthy_rounds = 0;
            last_error = Some(killed.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let non_victim = live.iter().find(|s| !s.on_victim).expect("a live session");
    until_served_from_memory(&n, &non_victim.cookie.clone()).await;
    let back = killed.elapsed();
    assert!(
        n.status.generations() > generations,
        "subscribed again after the failover"
    );
    eprintln!(
        "near failover: 503 window {:.1} s after the kill ({errors} failed of {requests} reads); near \
         cache unconfirmed (every read from the cluster) until at least {:.1} s, serving from memory \
         again at {:.1} s; {} subscription generations; revocation lag B -> A: steady {}; during the \
         failover, other masters' users {}, the killed master's users {}; {early} answers from memory \
         within one lease of an acknowledged revocation, none after",
        last_error.unwrap_or_default().as_secs_f64(),
        off_until.unwrap_or_default().as_secs_f64(),
        back.as_secs_f64(),
        n.status.generations(),
        figures(&mut steady),
        figures(&mut during),
        figures(&mut during_victim),
    );
    eprintln!("near failover: errors by message: {}", errors_seen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_cache_resharding_never_serves_a_revoked_session_past_the_bound() {
    const TEST: &str = "near_cache_resharding_never_serves_a_revoked_session_past_the_bound";
    let _one = ONE_AT_A_TIME.lock().await;
    ERRORS.lock().unwrap().clear();
    let Some(cluster) = or_skip(TEST, OwnCluster::start(7500)) else {
        return;
    };
    let (from, to) = (cluster.base, cluster.base + 1);
    let n = Arc::new(nodes(&cluster, "near-reshard").await);
    let mut live = Vec::new();
    for id in 0..60 {
        let s = n.b.sign_in(user(id, "u")).await;
        let cookie = s.cookie.as_str().to_owned();
        n.a.must_fetch(&cookie, "warm").await;
        live.push(cookie);
    }
    until_served_from_memory(&n, &live[0]).await;
    let generations = n.status.generations();

    // The load: A reads every session; B signs one in per round and revokes every second one, A
    // watched until it sees the revocation.
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicUsize::new(0));
    let lags = Arc::new(Mutex::new((Vec::new(), 0usize)));
    let load = {
        let (n, stop, errors, lags, live) = (
            n.clone(),
            stop.clone(),
            errors.clone(),
            lags.clone(),
            live.clone(),
        );
        tokio::spawn(async move {
            let (mut live, mut revoked) = (live, Vec::<String>::new());
            let mut round = 0u32;
            while !stop.load(Ordering::SeqCst) {
                let live_seen = join_all(live.iter().map(|c| probe(&n.a, c))).await;
                let revoked_seen = join_all(revoked.iter().map(|c| probe(&n.a, c))).await;
                assert!(
                    !live_seen.contains(&Seen::Gone),
                    "a live session read as signed out"
                );
                assert!(
                    !revoked_seen.contains(&Seen::Live),
                    "a revoked session came back"
                );
                let e = live_seen
                    .iter()
                    .chain(&revoked_seen)
                    .filter(|s| **s == Seen::Error)
                    .count();
                errors.fetch_add(e, Ordering::SeqCst);
                match n
                    .b
                    .cache
                    .create(
                        user(5000 + round, "new"),
                        keycard::SessionMetadata::default(),
                    )
                    .await
                {
                    Ok(s) => {
                        let cookie = s.cookie.as_str().to_owned();
                        if round.is_multiple_of(2) {
                            if let Some(r) =
                                revoke_on_b_and_watch_a(&n, &cookie, &s.session.session_id).await
                            {
                                let mut l = lags.lock().unwrap();
                                l.0.push(r.lag);
                                l.1 += r.early;
                                revoked.push(cookie);
                            }
                        } else {
                            live.push(cookie);
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
            (live, revoked)
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
        "reshard failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    let (live, revoked) = load.await.expect("the load ran without a wrong answer");
    for c in &live {
        n.a.must_fetch(c, "live after resharding").await;
    }
    for c in &revoked {
        n.a.must_not_fetch(c, "revoked after resharding").await;
    }
    until_served_from_memory(&n, &live[0]).await;
    let (mut lags, early) = lags.lock().unwrap().clone();
    eprintln!(
        "near resharding: 2000 slots moved in {:.1} s under load; {} store error(s); {} subscription \
         generations (one more per slot move the subscriptions saw); revocation lag B -> A during the \
         resharding: {}; {early} answers from memory within one lease of an acknowledged revocation, \
         none after; {} live and {} revoked sessions as expected afterwards",
        took.as_secs_f64(),
        errors.load(Ordering::SeqCst),
        n.status.generations() - generations + 1,
        figures(&mut lags),
        live.len(),
        revoked.len()
    );
    eprintln!("near resharding: errors by message: {}", errors_seen());
}
