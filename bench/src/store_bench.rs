//! In-process store measurements, each run by the driver in a dedicated process so that its resident memory
//! is its own:
//! - `store-scale --sessions N`: memory store with N live sessions (10 per user): VmRSS, `fetch` latency over
//!   random sessions, and one `sweep` with 10% of the sessions expired;
//! - `put-user --store memory|redis`: `put_user` latency for a user with 1 session vs one with 10,000.
//!
//! Each prints one `BENCHJSON {...}` line for the driver.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keycard::{CredentialsCache, ManualClock, MemoryStore, PutOutcome, SessionMetadata, Store};
use serde_json::json;

use crate::common::{
    self, bench_user as user, latency_summary as summary, quantile, vm_rss_kib, BenchUser, Rng,
    SESSIONS_PER_USER,
};

const SECRET: [u8; 64] = [7u8; 64];

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

/// Median cost of one `Instant::now()` pair, to read the latency numbers against.
fn timer_overhead_ns() -> u64 {
    let mut v: Vec<u64> = (0..10_000)
        .map(|_| {
            let t = Instant::now();
            t.elapsed().as_nanos() as u64
        })
        .collect();
    v.sort_unstable();
    quantile(&v, 0.5).unwrap_or(0)
}

/// The flags of `keycard-bench store-scale`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScaleArgs {
    /// Live sessions (10 per user, so a multiple of 10).
    #[arg(long, default_value_t = 1_000)]
    pub sessions: u64,
    /// Cookies kept in the uniform sample the fetches draw from.
    #[arg(long, default_value_t = 50_000)]
    pub sample: usize,
    /// Timed fetches.
    #[arg(long, default_value_t = 200_000)]
    pub fetches: usize,
}

/// The flags of `keycard-bench put-user`.
#[derive(Debug, Clone, clap::Args)]
pub struct PutUserArgs {
    /// Which store.
    #[arg(long, default_value = "memory", value_parser = ["memory", "redis"])]
    pub store: String,
    /// Timed `put_user` calls per user.
    #[arg(long, default_value_t = 2_000)]
    pub iters: usize,
    /// Sessions of the user with many.
    #[arg(long, default_value_t = 10_000)]
    pub many: u64,
    /// Redis for `--store redis`.
    #[arg(long, default_value = "redis://127.0.0.1:6379/13")]
    pub redis_url: String,
    /// Prefix of keycard's Redis keys.
    #[arg(long, default_value = "keycard-bench-put:")]
    pub redis_prefix: String,
}

pub fn scale(args: &ScaleArgs) -> Result<(), String> {
    let sessions = args.sessions;
    let sample_max = args.sample;
    let fetches = args.fetches;
    if sessions < SESSIONS_PER_USER || !sessions.is_multiple_of(SESSIONS_PER_USER) {
        return Err(format!(
            "--sessions must be a multiple of {SESSIONS_PER_USER}"
        ));
    }
    let users = sessions / SESSIONS_PER_USER;
    runtime()?.block_on(async move {
        let rss_before = vm_rss_kib();
        let clock = ManualClock::starting_now();
        let store = Arc::new(MemoryStore::<BenchUser>::new());
        let cache = CredentialsCache::builder_arc(store.clone() as Arc<dyn Store<BenchUser>>)
            .secret(SECRET)
            .clock(clock.clone())
            .build()
            .map_err(|e| format!("cache: {e}"))?;
        let mut rng = Rng::new(0x5eed ^ sessions);
        let t_create = Instant::now();
        // One session per user at t0: these are the 10% that have expired when the sweep runs.
        for u in 1..=users {
            cache
                .create(user(u, common::plan_of(u)), SessionMetadata::default())
                .await
                .map_err(|e| format!("create: {e}"))?;
        }
        // The other nine, 20 minutes later (idle TTL 30 min, renewal after 15: none is due when fetched).
        clock.advance(Duration::from_secs(20 * 60));
        let mut sample: Vec<String> = Vec::with_capacity(sample_max);
        let mut seen: u64 = 0;
        for u in 1..=users {
            for _ in 1..SESSIONS_PER_USER {
                let s = cache
                    .create(user(u, common::plan_of(u)), SessionMetadata::default())
                    .await
                    .map_err(|e| format!("create: {e}"))?;
                // Reservoir sampling: a uniform sample of the live sessions' cookies.
                seen += 1;
                if sample.len() < sample_max {
                    sample.push(s.cookie.into_string());
                } else {
                    let j = rng.below(seen) as usize;
                    if j < sample_max {
                        sample[j] = s.cookie.into_string();
                    }
                }
            }
        }
        let create_s = t_create.elapsed().as_secs_f64();
        let rss_full = vm_rss_kib();
        let (n_sessions, n_tokens, n_users) = store.len();

        // fetch: random sampled sessions, timed one by one.
        let fetch = crate::sizing::fetches(&cache, &sample, fetches, &mut rng).await?;

        // The store alone (`Store::fetch` with the token hash precomputed): what scales with the session count,
        // without the cookie's HMAC check and SHA-256, which cost the same at any size.
        let signer = keycard::CookieSigner::new(&SECRET).map_err(|e| format!("signer: {e}"))?;
        let hashes: Vec<keycard::token::TokenHash> = sample
            .iter()
            .map(|c| signer.decode(c).map(|t| t.hash()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("decode: {e}"))?;
        let now = cache.now();
        let mut store_lat = Vec::with_capacity(fetches);
        for _ in 0..fetches {
            let hash = &hashes[rng.below(hashes.len() as u64) as usize];
            let plan = keycard::store::RenewalPlan {
                due_if_renewed_at_or_before: now.saturating_sub(Duration::from_secs(15 * 60)),
                next_token: keycard::store::NextToken::new(),
                idle_deadline: now.saturating_add(Duration::from_secs(30 * 60)),
                grace_until: now.saturating_add(Duration::from_secs(60)),
            };
            let t = Instant::now();
            let got = store.fetch(hash, now, &plan).await;
            let dt = t.elapsed().as_nanos() as u64;
            match got {
                Ok(keycard::store::FetchOutcome::Found { renewed: false, .. }) => {}
                _ => {
                    return Err("store fetch: a live session was not found (or renewed)".to_owned())
                }
            }
            store_lat.push(dt);
        }

        // sweep: 35 minutes after t0 the first session of every user is past its idle deadline.
        clock.advance(Duration::from_secs(15 * 60));
        let t_sweep = Instant::now();
        let stats = cache.sweep().await.map_err(|e| format!("sweep: {e}"))?;
        let sweep_ms = t_sweep.elapsed().as_secs_f64() * 1e3;
        let rss_swept = vm_rss_kib();
        let (left_sessions, _, _) = store.len();

        // What one dependent memory access costs in a buffer as large as this store, after it is gone.
        let store_kib = rss_full
            .zip(rss_before)
            .map_or(0, |(a, b)| a.saturating_sub(b));
        drop(cache);
        drop(store);
        let chase_ns = pointer_chase_ns((store_kib as usize * 1024).max(1 << 20), 2_000_000);

        let out = json!({
            "chase_ns": chase_ns,
            "sessions": sessions,
            "users": users,
            "held": {"sessions": n_sessions, "tokens": n_tokens, "users": n_users},
            "create_s": create_s,
            "rss_before_kib": rss_before,
            "rss_kib": rss_full,
            "rss_after_sweep_kib": rss_swept,
            "sample_cookies": sample.len(),
            "fetch": fetch,
            "store_fetch": summary(store_lat),
            "timer_overhead_ns": timer_overhead_ns(),
            "sweep_ms": sweep_ms,
            "swept": {"sessions": stats.sessions, "tokens": stats.tokens, "users": stats.users},
            "left_sessions": left_sessions,
        });
        println!("BENCHJSON {out}");
        Ok(())
    })
}

pub fn put_user(args: &PutUserArgs) -> Result<(), String> {
    let which = args.store.clone();
    let iters = args.iters;
    let many = args.many;
    runtime()?.block_on(async move {
        let store: Arc<dyn Store<BenchUser>> = match which.as_str() {
            "memory" => Arc::new(MemoryStore::<BenchUser>::new()),
            "redis" => redis_store(args).await?,
            other => return Err(format!("unknown --store {other:?}")),
        };
        let cache = CredentialsCache::builder_arc(store)
            .secret(SECRET)
            .build()
            .map_err(|e| format!("cache: {e}"))?;
        // Two users far from the other benches' ids; start clean in case an earlier run was killed.
        let (one, lots) = (900_000_001u64, 900_000_002u64);
        for key in [one, lots] {
            cache
                .delete_user_sessions(&key.to_string(), None)
                .await
                .map_err(|e| format!("cleanup: {e}"))?;
        }
        let result = async {
            cache
                .create(user(one, "free"), SessionMetadata::default())
                .await
                .map_err(|e| format!("create: {e}"))?;
            let t = Instant::now();
            for _ in 0..many {
                cache
                    .create(user(lots, "free"), SessionMetadata::default())
                    .await
                    .map_err(|e| format!("create: {e}"))?;
            }
            let create_many_s = t.elapsed().as_secs_f64();
            let mut lat_one = Vec::with_capacity(iters);
            let mut lat_lots = Vec::with_capacity(iters);
            // Alternate the two users so drift hits both alike; the first 10% are warm-up.
            let warm = iters / 10;
            for i in 0..(iters + warm) {
                let plan = if i % 2 == 0 { "pro" } else { "free" };
                for (id, lat) in [(one, &mut lat_one), (lots, &mut lat_lots)] {
                    let u = user(id, plan);
                    let t = Instant::now();
                    let out = cache.put_user(u).await;
                    let dt = t.elapsed().as_nanos() as u64;
                    match out {
                        Ok(PutOutcome::Updated) => {}
                        other => return Err(format!("put_user: expected Updated, got {other:?}")),
                    }
                    if i >= warm {
                        lat.push(dt);
                    }
                }
            }
            Ok(json!({
                "store": which,
                "sessions_many": many,
                "create_many_s": create_many_s,
                "one": summary(lat_one),
                "many": summary(lat_lots),
            }))
        }
        .await;
        // Leave nothing behind (Redis keys especially), whatever happened above.
        for key in [one, lots] {
            let _ = cache.delete_user_sessions(&key.to_string(), None).await;
        }
        println!("BENCHJSON {}", result?);
        Ok(())
    })
}

/// Nanoseconds per dependent load when chasing a random cycle through `bytes` of memory.
pub fn pointer_chase_ns(bytes: usize, steps: usize) -> f64 {
    let n = (bytes / 8).max(2);
    // Sattolo's algorithm: one random cycle through all slots.
    let mut next: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(0xc4a5e);
    for i in (1..n).rev() {
        let j = rng.below(i as u64) as usize;
        next.swap(i, j);
    }
    let mut p = 0usize;
    let start = Instant::now();
    for _ in 0..steps {
        p = next[p];
    }
    let ns = start.elapsed().as_nanos() as f64 / steps as f64;
    std::hint::black_box(p);
    ns
}

#[cfg(feature = "redis")]
async fn redis_store(args: &PutUserArgs) -> Result<Arc<dyn Store<BenchUser>>, String> {
    crate::keycard_srv::redis_store(&args.redis_url, &args.redis_prefix, false).await
}

#[cfg(not(feature = "redis"))]
async fn redis_store(_args: &PutUserArgs) -> Result<Arc<dyn Store<BenchUser>>, String> {
    Err("built without the `redis` feature".to_owned())
}
