//! Filling a store with N live sessions through its real API: `CredentialsCache::create`, the sign-in
//! path (the store's `create`, then the listing the session cap reads), from `tasks` concurrent tasks on
//! the run's runtime, each signing in its own contiguous range of users. On the shared stores the tasks'
//! calls overlap on the wire (Redis: pipelined on the one multiplexed connection; SQL: up to the pool's
//! connections); nothing is written around the store.
//!
//! As `store-scale` does: 10 sessions per user, the first at t0 (the 10% that have expired when the sweep
//! runs, 35 minutes later), the other nine 20 minutes later. A uniform sample of the nine's cookies is kept
//! in strings allocated before the store's footprint is first read, so that the sample does not count as
//! the memory store's.

use std::time::{Duration, Instant};

use keycard::{CredentialsCache, ManualClock, SessionMetadata};
use serde_json::json;

use crate::common::{self, BenchUser};
use crate::common::{bench_user as user, SESSIONS_PER_USER};

/// The cookie slots of the sample, allocated (and written to, so resident) up front: `tasks` chunks.
pub fn sample_slots(sample: usize, tasks: usize) -> Vec<Vec<String>> {
    let per = sample.div_ceil(tasks.max(1));
    (0..tasks)
        .map(|_| {
            (0..per)
                .map(|_| {
                    let mut s = String::with_capacity(128);
                    s.push_str(&"x".repeat(100));
                    s
                })
                .collect()
        })
        .collect()
}

pub struct Populated {
    pub cookies: Vec<String>,
    pub report: serde_json::Value,
}

/// Sign in `users` users 10 times each (see the module docs); `slots` from [`sample_slots`].
pub async fn populate(
    cache: &CredentialsCache<BenchUser>,
    clock: &ManualClock,
    users: u64,
    slots: Vec<Vec<String>>,
) -> Result<Populated, String> {
    let tasks = slots.len() as u64;
    let range = |t: u64| (1 + users * t / tasks, users * (t + 1) / tasks);
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let cache = cache.clone();
        let (lo, hi) = range(t);
        set.spawn(async move {
            for u in lo..=hi {
                cache
                    .create(user(u, common::plan_of(u)), SessionMetadata::default())
                    .await
                    .map_err(|e| format!("create: {e}"))?;
            }
            Ok::<(), String>(())
        });
    }
    join(&mut set).await?;
    let first_s = started.elapsed().as_secs_f64();

    clock.advance(Duration::from_secs(20 * 60));
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (t, mut chunk) in slots.into_iter().enumerate() {
        let cache = cache.clone();
        let (lo, hi) = range(t as u64);
        let made = (hi + 1).saturating_sub(lo) * (SESSIONS_PER_USER - 1);
        let stride = made.div_ceil(chunk.len().max(1) as u64).max(1);
        set.spawn(async move {
            let (mut k, mut filled) = (0u64, 0usize);
            for u in lo..=hi {
                for _ in 1..SESSIONS_PER_USER {
                    let s = cache
                        .create(user(u, common::plan_of(u)), SessionMetadata::default())
                        .await
                        .map_err(|e| format!("create: {e}"))?;
                    if k % stride == 0 && filled < chunk.len() {
                        let slot = &mut chunk[filled];
                        slot.clear();
                        slot.push_str(s.cookie.as_str());
                        filled += 1;
                    }
                    k += 1;
                }
            }
            chunk.truncate(filled);
            Ok::<Vec<String>, String>(chunk)
        });
    }
    let mut cookies = Vec::new();
    while let Some(r) = set.join_next().await {
        cookies.extend(r.map_err(|e| format!("populate task: {e}"))??);
    }
    let rest_s = started.elapsed().as_secs_f64();
    let sessions = users * SESSIONS_PER_USER;
    Ok(Populated {
        report: json!({
            "tasks": tasks,
            "first_session_s": first_s,
            "other_nine_s": rest_s,
            "sign_ins_per_s": sessions as f64 / (first_s + rest_s),
            "sample_cookies": cookies.len(),
        }),
        cookies,
    })
}

async fn join(set: &mut tokio::task::JoinSet<Result<(), String>>) -> Result<(), String> {
    while let Some(r) = set.join_next().await {
        r.map_err(|e| format!("populate task: {e}"))??;
    }
    Ok(())
}
