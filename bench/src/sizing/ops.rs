//! The timed operations of a sizing run, on a populated store: `fetch`, sign-in and `put_user` one call
//! at a time (latency), then a bounded load of concurrent fetches and sign-ins (throughput).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keycard::{CredentialsCache, PutOutcome, SessionMetadata};
use serde_json::json;

use crate::common::{self, bench_user as user, latency_summary as summary, BenchUser, Rng};
use crate::driver::procs::proc_cpu_us;

/// `n` `CredentialsCache::fetch`es of random sampled cookies, one at a time.
pub async fn fetches(
    cache: &CredentialsCache<BenchUser>,
    cookies: &[String],
    n: usize,
    rng: &mut Rng,
) -> Result<serde_json::Value, String> {
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let cookie = &cookies[rng.below(cookies.len() as u64) as usize];
        let t = Instant::now();
        let got = cache.fetch(cookie).await;
        let dt = t.elapsed().as_nanos() as u64;
        match got {
            Ok(Some(a)) if a.renewed.is_none() => {}
            Ok(Some(_)) => return Err("fetch renewed a session: the clock is off".to_owned()),
            Ok(None) => return Err("fetch: a live session was not found".to_owned()),
            Err(e) => return Err(format!("fetch: {e}")),
        }
        lat.push(dt);
    }
    Ok(summary(lat))
}

/// `n` sign-ins (`CredentialsCache::create`) of random existing users, one at a time.
pub async fn sign_ins(
    cache: &CredentialsCache<BenchUser>,
    users: u64,
    n: usize,
    rng: &mut Rng,
) -> Result<serde_json::Value, String> {
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let u = 1 + rng.below(users);
        let t = Instant::now();
        cache
            .create(user(u, common::plan_of(u)), SessionMetadata::default())
            .await
            .map_err(|e| format!("create: {e}"))?;
        lat.push(t.elapsed().as_nanos() as u64);
    }
    Ok(summary(lat))
}

/// `n` `put_user`s (a plan change) of random users with 10 sessions, one at a time.
pub async fn put_users(
    cache: &CredentialsCache<BenchUser>,
    users: u64,
    n: usize,
    rng: &mut Rng,
) -> Result<serde_json::Value, String> {
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let u = 1 + rng.below(users);
        let plan = if i % 2 == 0 { "pro" } else { "free" };
        let t = Instant::now();
        let out = cache.put_user(user(u, plan)).await;
        let dt = t.elapsed().as_nanos() as u64;
        match out {
            Ok(PutOutcome::Updated) => {}
            other => return Err(format!("put_user: expected Updated, got {other:?}")),
        }
        lat.push(dt);
    }
    Ok(summary(lat))
}

/// `tasks` concurrent tasks for `secs` seconds: each loop is a `fetch` of a random sampled cookie, or
/// (one in ten) the sign-in of a new user (ids above `users`: so that no sampled session is displaced by
/// the per-user session cap). Bounded by time and by a cap of 10^8 operations.
pub async fn load(
    cache: &CredentialsCache<BenchUser>,
    cookies: Arc<Vec<String>>,
    users: u64,
    tasks: usize,
    secs: f64,
) -> Result<serde_json::Value, String> {
    let fetches = Arc::new(AtomicU64::new(0));
    let sign_ins = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let not_found = Arc::new(AtomicU64::new(0));
    let next_user = Arc::new(AtomicU64::new(users + 1));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let cpu_before = proc_cpu_us(std::process::id());
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let (cache, cookies) = (cache.clone(), cookies.clone());
        let (fetches, sign_ins, errors) = (fetches.clone(), sign_ins.clone(), errors.clone());
        let (not_found, next_user) = (not_found.clone(), next_user.clone());
        set.spawn(async move {
            let mut rng = Rng::new(0x10ad ^ (t as u64) << 20);
            for _ in 0..100_000_000u64 {
                if Instant::now() >= deadline {
                    break;
                }
                if rng.below(10) == 0 {
                    let u = next_user.fetch_add(1, Ordering::Relaxed);
                    let r = cache
                        .create(user(u, common::plan_of(u)), SessionMetadata::default())
                        .await;
                    let c = if r.is_ok() { &sign_ins } else { &errors };
                    c.fetch_add(1, Ordering::Relaxed);
                } else {
                    let cookie = &cookies[rng.below(cookies.len() as u64) as usize];
                    let c = match cache.fetch(cookie).await {
                        Ok(Some(_)) => &fetches,
                        Ok(None) => &not_found,
                        Err(_) => &errors,
                    };
                    c.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.map_err(|e| format!("load task: {e}"))?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = proc_cpu_us(std::process::id())
        .zip(cpu_before)
        .map(|(a, b)| a - b);
    let (f, s, e) = (
        fetches.load(Ordering::Relaxed),
        sign_ins.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
    );
    Ok(json!({
        "tasks": tasks,
        "secs": elapsed,
        "fetches": f,
        "sign_ins": s,
        "errors": e,
        "not_found": not_found.load(Ordering::Relaxed),
        "ops_per_s": (f + s) as f64 / elapsed,
        // This process's CPU (the app's side: the cache and the store's client; all of the memory and
        // SQLite stores), per operation.
        "app_cpu_us_per_op": cpu.map(|c| c / (f + s).max(1) as f64),
    }))
}
