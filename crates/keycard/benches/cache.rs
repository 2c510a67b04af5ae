//! Benchmarks of the credentials cache over the memory store (`cargo bench -p keycard`).
//!
//! - `cookie_decode`: length + alphabet check, HMAC-SHA256 verification and SHA-256 of the token: the part
//!   of every fetch that happens before the store is asked.
//! - `fetch_hit`: `CredentialsCache::fetch` of a live session among 10,000 (cookie decode, signature check,
//!   token hash, store lookup, `Arc` handout), driven by a current-thread tokio runtime. The policy renews
//!   after 12 h, so no renewal happens while measuring (checked before and after).
//! - `fetch_forged_cookie`: a well-formed cookie signed with another secret (the most expensive refusal:
//!   it gets as far as the HMAC).
//! - `create`: sign-in with user agent and ip metadata (two CSPRNG draws, the store inserts). The store is
//!   emptied every 10,000 sign-ins outside the timed region, so it never holds more than that.
//! - `put_user/1` vs `put_user/10000`: the background update for a user with 1 or 10,000 sessions.
//! - `fetch_2_threads/*`: fetch throughput with two OS threads (one current-thread runtime each) fetching
//!   two different sessions, or the same session; one iteration is one fetch on each thread, so the
//!   reported throughput is fetches per second.
//!
//! The clock is the system clock, as in production. The user, the session metadata and the policy (renewal
//! after 12 h) are those of the stores' `fetch` benchmarks (`keycard_store_tests::latency`).

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use keycard::token::Token;
use keycard::{CachedUser, CookieSigner, CredentialsCache, MemoryStore, PutOutcome};
use keycard_store_tests::latency::{metadata, policy, user, BenchUser};

const SECRET: [u8; 64] = [0x42; 64];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn new_cache() -> CredentialsCache<BenchUser> {
    CredentialsCache::builder(MemoryStore::new())
        .secret(SECRET)
        .policy(policy())
        .build()
        .unwrap()
}

/// `users * per_user` sessions; returns their cookies.
fn populate(
    rt: &tokio::runtime::Runtime,
    cache: &CredentialsCache<BenchUser>,
    users: u64,
    per_user: usize,
) -> Vec<String> {
    rt.block_on(async {
        let mut cookies = Vec::new();
        for u in 0..users {
            let shared = Arc::new(user(u));
            for _ in 0..per_user {
                let s = cache.create(shared.clone(), metadata()).await.unwrap();
                cookies.push(s.cookie.into_string());
            }
        }
        cookies
    })
}

fn assert_not_renewing(
    rt: &tokio::runtime::Runtime,
    cache: &CredentialsCache<BenchUser>,
    cookie: &str,
) {
    let a = rt
        .block_on(cache.fetch(cookie))
        .unwrap()
        .expect("the benchmark session is live");
    assert!(a.renewed.is_none(), "the fetch benchmark must not renew");
}

fn bench_fetch(c: &mut Criterion) {
    let rt = runtime();
    let cache = new_cache();
    let cookies = populate(&rt, &cache, 1_000, 10);
    let cookie = cookies[5_000].clone();
    assert_not_renewing(&rt, &cache, &cookie);

    let signer = CookieSigner::new(&SECRET).unwrap();
    c.bench_function("cookie_decode", |b| {
        b.iter(|| black_box(signer.decode(black_box(&cookie)).unwrap().hash()))
    });

    c.bench_function("fetch_hit", |b| {
        b.to_async(&rt).iter(|| cache.fetch(black_box(&cookie)))
    });
    assert_not_renewing(&rt, &cache, &cookie);

    let forged = CookieSigner::new(&[0x43; 64])
        .unwrap()
        .encode(&Token::generate())
        .into_string();
    assert!(rt.block_on(cache.fetch(&forged)).unwrap().is_none());
    c.bench_function("fetch_forged_cookie", |b| {
        b.to_async(&rt).iter(|| cache.fetch(black_box(&forged)))
    });
}

fn bench_create(c: &mut Criterion) {
    const USERS: u64 = 1_000;
    const BATCH: u64 = 10_000;
    let rt = runtime();
    let cache = new_cache();
    let users: Vec<Arc<BenchUser>> = (0..USERS).map(|i| Arc::new(user(i))).collect();
    c.bench_function("create", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut timed = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let n = (iters - done).min(BATCH);
                    let start = Instant::now();
                    for i in 0..n {
                        let u = users[((done + i) % USERS) as usize].clone();
                        black_box(cache.create(u, metadata()).await.unwrap());
                    }
                    timed += start.elapsed();
                    done += n;
                    // Untimed: empty the store so it stays at most BATCH sessions.
                    for u in 0..USERS {
                        cache
                            .delete_user_sessions(&u.to_string(), None)
                            .await
                            .unwrap();
                    }
                }
                timed
            })
        })
    });
}

fn bench_put_user(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("put_user");
    for sessions in [1usize, 10_000] {
        let cache = new_cache();
        // Other users around, as in a real store.
        populate(&rt, &cache, 100, 10);
        let target = Arc::new(user(1_000_000));
        rt.block_on(async {
            for _ in 0..sessions {
                cache.create(target.clone(), metadata()).await.unwrap();
            }
        });
        assert_eq!(
            rt.block_on(cache.sessions(&target.user_key()))
                .unwrap()
                .len(),
            sessions
        );
        assert_eq!(
            rt.block_on(cache.put_user(target.clone())).unwrap(),
            PutOutcome::Updated
        );
        group.bench_with_input(BenchmarkId::from_parameter(sessions), &sessions, |b, _| {
            b.to_async(&rt).iter(|| cache.put_user(target.clone()))
        });
    }
    group.finish();
}

/// Wall time for two threads to do `iters` fetches each (thread start-up and runtime creation excluded).
fn two_threads(cache: &CredentialsCache<BenchUser>, cookies: [&str; 2], iters: u64) -> Duration {
    let ready = Barrier::new(3);
    std::thread::scope(|s| {
        let handles: Vec<_> = cookies
            .iter()
            .map(|cookie| {
                let (cache, ready) = (cache.clone(), &ready);
                s.spawn(move || {
                    let rt = runtime();
                    ready.wait();
                    rt.block_on(async {
                        for _ in 0..iters {
                            black_box(cache.fetch(black_box(cookie)).await.unwrap());
                        }
                    })
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        for h in handles {
            h.join().unwrap();
        }
        start.elapsed()
    })
}

fn bench_throughput(c: &mut Criterion) {
    let rt = runtime();
    let cache = new_cache();
    let cookies = populate(&rt, &cache, 1_000, 10);
    let (a, b_) = (cookies[1_234].as_str(), cookies[8_765].as_str());
    assert_not_renewing(&rt, &cache, a);
    assert_not_renewing(&rt, &cache, b_);
    let mut group = c.benchmark_group("fetch_2_threads");
    group.throughput(Throughput::Elements(2));
    group.bench_function("distinct_sessions", |b| {
        b.iter_custom(|iters| two_threads(&cache, [a, b_], iters))
    });
    group.bench_function("same_session", |b| {
        b.iter_custom(|iters| two_threads(&cache, [a, a], iters))
    });
    group.finish();
    assert_not_renewing(&rt, &cache, a);
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(50)
}

// `criterion_group!` defines an undocumented `pub fn benches`.
#[allow(missing_docs)]
mod group {
    use super::*;

    criterion_group! {
        name = benches;
        config = config();
        targets = bench_fetch, bench_create, bench_put_user, bench_throughput
    }
}
criterion_main!(group::benches);
