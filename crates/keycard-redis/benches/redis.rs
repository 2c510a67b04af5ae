//! `CredentialsCache::fetch` on the Redis store: latency percentiles and throughput.
//!
//! ```text
//! cargo bench -p keycard-redis --bench redis
//! ```
//!
//! A tokio multi-thread runtime with 2 worker threads (what an app gets on a 2-core machine) runs
//! 1 or 2 loops, each calling `fetch` back to back on its own share of 10,000 live sessions (1,000 users),
//! timing every call: cookie decode and HMAC check, token hash, and one `EVALSHA` round trip over the
//! store's one multiplexed connection. The policy renews after 12 h, so no renewal happens (checked: every
//! call must return the user and no new token). The same loops over the memory store are printed for
//! reference. Keys go under a fresh prefix and are deleted at the end.
//!
//! Settings (environment): `KEYCARD_BENCH_REDIS_URL` (default `redis://127.0.0.1:6379`),
//! `KEYCARD_BENCH_SECS` (measured seconds per row, default 10; 1 s of warm-up before each).
//! Arguments cargo passes (`--bench`) are ignored. Needs Redis; without it the bench says so and exits 0.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keycard::{CachedUser, CredentialsCache, MemoryStore, Policy, SessionMetadata};
use keycard_redis::{RedisConfig, RedisStore};
use keycard_store_tests::services::delete_redis_prefix;

const SECRET: [u8; 64] = [0x42; 64];
const USERS: u64 = 1_000;
const SESSIONS: u64 = 10_000;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct User {
    id: u64,
    email: String,
    plan: String,
}

impl CachedUser for User {
    fn user_key(&self) -> String {
        self.id.to_string()
    }
}

fn user(id: u64) -> User {
    User {
        id,
        email: format!("user{id}@example.com"),
        plan: "pro".into(),
    }
}

fn metadata() -> SessionMetadata {
    SessionMetadata {
        user_agent: Some(
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".into(),
        ),
        ip: Some("203.0.113.42".into()),
        fields: Default::default(),
    }
}

/// Long enough that nothing renews or expires during a run.
fn policy() -> Policy {
    Policy::default()
        .with_idle_ttl(Duration::from_secs(24 * 3600))
        .with_renewal_interval(Duration::from_secs(12 * 3600))
        .with_grace(Duration::from_secs(60))
        .with_absolute_ttl(Duration::from_secs(48 * 3600))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// Sign in `SESSIONS` sessions over `USERS` users; the cookies.
async fn populate(cache: &CredentialsCache<User>) -> Vec<String> {
    let mut cookies = Vec::with_capacity(SESSIONS as usize);
    for i in 0..SESSIONS {
        let signed_in = cache
            .create(user(i % USERS), metadata())
            .await
            .expect("create a session");
        cookies.push(signed_in.cookie.as_str().to_owned());
    }
    cookies
}

/// `loops` concurrent loops of back-to-back fetches for `secs` (after 1 s of warm-up); every latency in ns.
async fn measure(
    cache: &CredentialsCache<User>,
    cookies: &Arc<Vec<String>>,
    loops: usize,
    secs: u64,
) -> (Vec<u64>, Duration) {
    let start_at = Instant::now() + Duration::from_secs(1);
    let end_at = start_at + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for l in 0..loops {
        let (cache, cookies) = (cache.clone(), cookies.clone());
        tasks.spawn(async move {
            let mut lat = Vec::with_capacity(1 << 20);
            let mut i = l;
            loop {
                let cookie = &cookies[i % cookies.len()];
                i += loops;
                let t0 = Instant::now();
                let got = cache.fetch(cookie).await;
                let t1 = Instant::now();
                match got {
                    Ok(Some(a)) => assert!(a.renewed.is_none(), "a renewal during the bench"),
                    Ok(None) => panic!("a live session was not found"),
                    Err(e) => panic!("fetch failed: {e}"),
                }
                if t0 >= start_at {
                    lat.push(u64::try_from((t1 - t0).as_nanos()).unwrap_or(u64::MAX));
                }
                if t1 >= end_at {
                    return lat;
                }
            }
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.expect("bench loop"));
    }
    all.sort_unstable();
    (all, end_at - start_at)
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let idx = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[idx.clamp(1, sorted.len()) - 1]
}

fn us(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1000.0)
}

fn report(store: &str, loops: usize, sorted: &[u64], window: Duration) {
    println!(
        "| {store} | {loops} | {} | {:.0} | {} | {} | {} | {} | {} |",
        sorted.len(),
        sorted.len() as f64 / window.as_secs_f64(),
        us(pct(sorted, 0.50)),
        us(pct(sorted, 0.90)),
        us(pct(sorted, 0.99)),
        us(pct(sorted, 0.999)),
        us(sorted.last().copied().unwrap_or(0)),
    );
}

fn main() {
    let url = std::env::var("KEYCARD_BENCH_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let secs: u64 = std::env::var("KEYCARD_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let nonce: String = keycard::SessionId::generate().to_hex()[..12].to_owned();
        let config = RedisConfig::with_prefix(format!("keycard-bench-fetch:{nonce}:"));
        let store = match RedisStore::connect(&url, config).await {
            Ok(s) => s,
            Err(e) => {
                println!("redis bench skipped: cannot connect to {url}: {e}");
                return;
            }
        };
        let build = |store: Arc<dyn keycard::Store<User>>| {
            CredentialsCache::builder_arc(store)
                .secret(SECRET)
                .policy(policy())
                .build()
                .expect("cache")
        };
        let redis_cache = build(Arc::new(store.clone()));
        let memory_cache = build(Arc::new(MemoryStore::<User>::new()));
        let load_before = loadavg();
        let redis_cookies = Arc::new(populate(&redis_cache).await);
        let memory_cookies = Arc::new(populate(&memory_cache).await);

        println!(
            "fetch latency: {SESSIONS} sessions over {USERS} users, {secs} s per row after 1 s warm-up, \
             tokio multi-thread runtime with 2 workers, {url}"
        );
        println!("| store | loops | fetches | fetches/s | median | p90 | p99 | p99.9 | max |");
        println!("|---|---|---|---|---|---|---|---|---|");
        for loops in [1, 2] {
            let (lat, window) = measure(&redis_cache, &redis_cookies, loops, secs).await;
            report("redis", loops, &lat, window);
        }
        for loops in [1, 2] {
            let (lat, window) = measure(&memory_cache, &memory_cookies, loops, secs).await;
            report("memory", loops, &lat, window);
        }
        println!("load average (1 min): {load_before} before, {} after", loadavg());
        delete_redis_prefix(&url, store.key_prefix()).await;
    });
}
