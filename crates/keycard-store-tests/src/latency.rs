//! `CredentialsCache::fetch` latency on any store: the harness of the stores' `fetch` benchmarks.
//!
//! A store's bench (`benches/*.rs`, `harness = false`) builds its stores, hands them to [`FetchBench`],
//! and prints one table: 1 and 2 concurrent loops per store, each calling `fetch` back to back on its
//! own share of [`SESSIONS`] live sessions over [`USERS`] users, timing every call (cookie decode and
//! HMAC check, token hash, the store's read), on whatever runtime the bench runs (the stores' benches use
//! a multi-thread runtime with 2 workers: what an app gets on a 2-core machine). The policy renews after
//! 12 h, so no renewal happens (checked: every call must return the user and no new token).
//!
//! [`BenchUser`], [`user`], [`metadata`] and [`policy`] serve any benchmark of the cache (keycard's own
//! `benches/cache.rs` over the memory store).
//!
//! ```ignore
//! let bench = FetchBench::from_env();                   // KEYCARD_BENCH_SECS, default 10
//! bench.header("redis://127.0.0.1:6379");
//! bench.run("redis", Arc::new(redis_store)).await;
//! bench.run("memory", Arc::new(MemoryStore::new())).await;
//! bench.footer();
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use keycard::{CachedUser, CredentialsCache, Policy, SessionMetadata, Store};

/// Live sessions per store.
pub const SESSIONS: u64 = 10_000;
/// Users they belong to.
pub const USERS: u64 = 1_000;

const SECRET: [u8; 64] = [0x42; 64];

/// The bench's user: about the size of a real app's cached user.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BenchUser {
    /// Primary key.
    pub id: u64,
    /// Shown on pages.
    pub email: String,
    /// What authorization reads.
    pub plan: String,
}

impl CachedUser for BenchUser {
    fn user_key(&self) -> String {
        self.id.to_string()
    }
}

/// Bench user `id`: `user{id}@example.com` on the `pro` plan.
pub fn user(id: u64) -> BenchUser {
    BenchUser {
        id,
        email: format!("user{id}@example.com"),
        plan: "pro".into(),
    }
}

/// A sign-in's metadata as a browser sends it (a Firefox user agent, an address).
pub fn metadata() -> SessionMetadata {
    SessionMetadata {
        user_agent: Some(
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".into(),
        ),
        ip: Some("203.0.113.42".into()),
        fields: Default::default(),
    }
}

/// Long enough that nothing renews or expires during a run (renewal after 12 h, idle after 24 h).
pub fn policy() -> Policy {
    Policy::default()
        .with_idle_ttl(Duration::from_secs(24 * 3600))
        .with_renewal_interval(Duration::from_secs(12 * 3600))
        .with_grace(Duration::from_secs(60))
        .with_absolute_ttl(Duration::from_secs(48 * 3600))
}

/// The 1-minute load average, for the report.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// One benchmark run: how long each row measures.
#[derive(Debug, Clone)]
pub struct FetchBench {
    secs: u64,
    load_before: String,
}

impl FetchBench {
    /// Measured seconds per row from `KEYCARD_BENCH_SECS` (default 10; 1 s of warm-up before each).
    pub fn from_env() -> FetchBench {
        let secs = std::env::var("KEYCARD_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10);
        FetchBench {
            secs,
            load_before: loadavg(),
        }
    }

    /// Print what is measured (`setting`: where the stores are) and the table's header.
    pub fn header(&self, setting: &str) {
        println!(
            "fetch latency: {SESSIONS} sessions over {USERS} users, {} s per row after 1 s warm-up, {setting}",
            self.secs
        );
        println!("| store | loops | fetches | fetches/s | median | p90 | p99 | p99.9 | max |");
        println!("|---|---|---|---|---|---|---|---|---|");
    }

    /// Fill `store` with the sessions, then print its rows (1 and 2 loops).
    pub async fn run(&self, name: &str, store: Arc<dyn Store<BenchUser>>) {
        let cache = CredentialsCache::builder_arc(store)
            .secret(SECRET)
            .policy(policy())
            .build()
            .expect("the bench's cache configuration is valid");
        let cookies = Arc::new(populate(&cache).await);
        for loops in [1, 2] {
            let (lat, window) = measure(&cache, &cookies, loops, self.secs).await;
            report(name, loops, &lat, window);
        }
    }

    /// Print the load average before and after.
    pub fn footer(&self) {
        println!(
            "load average (1 min): {} before, {} after",
            self.load_before,
            loadavg()
        );
    }
}

/// Sign in [`SESSIONS`] sessions over [`USERS`] users; the cookies.
async fn populate(cache: &CredentialsCache<BenchUser>) -> Vec<String> {
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
    cache: &CredentialsCache<BenchUser>,
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
