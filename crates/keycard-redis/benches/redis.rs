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
//! `KEYCARD_BENCH_CLUSTER_URL` (a `redis+cluster://` URL: the same loops on that Redis Cluster, in the
//! same run; unset: no cluster row), `KEYCARD_BENCH_SECS` (measured seconds per row, default 10; 1 s of
//! warm-up before each). The 1,000 users spread over the cluster's masters (256 hash tags); a cluster's
//! keys are left to expire. On the cluster a second row, `redis-cluster-near`, runs the same loops
//! through `RedisStore::near_cache` (sharded pub/sub, confirmed on every master before it starts): the
//! hot `fetch` from memory.
//! Arguments cargo passes (`--bench`) are ignored. Needs Redis; without it the bench says so and exits 0.

use std::sync::Arc;

use keycard::MemoryStore;
use keycard_redis::{RedisConfig, RedisStore};
use keycard_store_tests::latency::FetchBench;
use keycard_store_tests::services::delete_redis_prefix;

fn main() {
    let url = std::env::var("KEYCARD_BENCH_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
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
        let bench = FetchBench::from_env();
        bench.header(&format!("tokio multi-thread runtime with 2 workers, {url}"));
        bench.run("redis", Arc::new(store.clone())).await;
        if let Ok(cluster_url) = std::env::var("KEYCARD_BENCH_CLUSTER_URL") {
            let config = RedisConfig::with_prefix(format!("keycard-bench-fetch:{nonce}:"));
            match RedisStore::connect(&cluster_url, config).await {
                Ok(cluster) => {
                    bench.run("redis-cluster", Arc::new(cluster.clone())).await;
                    near_row(&bench, &cluster).await;
                }
                Err(e) => println!("cluster row skipped: cannot connect to {cluster_url}: {e}"),
            }
        }
        bench.run("memory", Arc::new(MemoryStore::new())).await;
        bench.footer();
        delete_redis_prefix(&url, store.key_prefix()).await;
    });
}

/// The cluster row again through the cluster near cache, once every master's subscription is confirmed.
async fn near_row(bench: &FetchBench, cluster: &RedisStore) {
    let near = match cluster.near_cache(keycard::store::near::NearConfig::default()) {
        Ok(n) => n,
        Err(e) => return println!("cluster near-cache row skipped: {e}"),
    };
    if !near
        .wait_confirmed(std::time::Duration::from_secs(30))
        .await
    {
        return println!("cluster near-cache row skipped: never confirmed");
    }
    bench
        .run("redis-cluster-near", Arc::new(near.clone()))
        .await;
    let stats = near.stats();
    println!(
        "redis-cluster-near: {} hits, {} misses, {} bypassed",
        stats.hits, stats.misses, stats.bypassed
    );
}
