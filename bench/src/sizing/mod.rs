//! `keycard-bench store-size --store S --sessions N`: one store with N live sessions (10 per user), in a
//! process of its own (so that the memory store's resident memory is its own), printing one `BENCHJSON`
//! line for the `sizing` driver:
//!
//! 1. the store's footprint empty, then after [`populate`] fills it through `CredentialsCache::create`
//!    (bytes per session: the difference over N; [`target`] says how each store is read);
//! 2. `fetch`, sign-in and `put_user`, one call at a time ([`ops`]): p50/p99;
//! 3. one `sweep` with 10% of the sessions expired, and the footprint after it;
//! 4. a bounded load of concurrent fetches and sign-ins ([`ops::load`]): throughput on this machine.
//!
//! On Redis and the cluster, each phase also reads every master's command counts and CPU before and after
//! ([`nodes`]): commands per operation, the spread over the masters; and on the cluster, how the users'
//! hash tags fall on the masters.

mod nodes;
mod ops;
mod populate;
mod target;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keycard::{CredentialsCache, ManualClock};
use serde_json::json;

use crate::common::Rng;
use crate::common::SESSIONS_PER_USER;
pub use ops::fetches;

pub use target::KINDS;
use target::{Kind, Places, Target};

const SECRET: [u8; 64] = [9u8; 64];

/// The flags of `keycard-bench store-size`.
#[derive(Debug, Clone, clap::Args)]
pub struct SizeArgs {
    /// Which store.
    #[arg(long, value_parser = KINDS)]
    pub store: String,
    /// Live sessions (10 per user, so a multiple of 10).
    #[arg(long, default_value_t = 10_000)]
    pub sessions: u64,
    /// Concurrent tasks signing users in while the store is filled.
    #[arg(long, default_value_t = 64)]
    pub tasks: usize,
    /// Cookies kept in the uniform sample the fetches draw from.
    #[arg(long, default_value_t = 20_000)]
    pub sample: usize,
    /// Timed fetches (one at a time).
    #[arg(long, default_value_t = 20_000)]
    pub fetches: usize,
    /// Timed sign-ins, and timed `put_user`s (one at a time).
    #[arg(long, default_value_t = 2_000)]
    pub ops: usize,
    /// Seconds of the concurrent load (0: none).
    #[arg(long, default_value_t = 5.0)]
    pub load_secs: f64,
    /// Concurrent tasks of the load.
    #[arg(long, default_value_t = 32)]
    pub load_tasks: usize,
    /// The SQLite file (removed before and after).
    #[arg(long, default_value = "keycard-sizing.db")]
    pub sqlite_path: PathBuf,
    /// Where the shared stores are.
    #[command(flatten)]
    pub services: Services,
    /// `FLUSHALL` the Redis (every master) first, so that `used_memory` holds this run's keys only. Only
    /// for a Redis of one's own (refused on port 6379).
    #[arg(long)]
    pub flush: bool,
}

/// The shared stores of a sizing run (a run's own: `bench/sizing.sh` starts them), and the SQL stores'
/// timeout; `keycard-bench sizing` passes its own to every `store-size` ([`Services::args`]).
#[derive(Debug, Clone, clap::Args)]
pub struct Services {
    /// PostgreSQL, a database of the run's own (tables prefixed `kcsize_`, emptied before and after).
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/keycard_sizing"
    )]
    pub postgres_url: String,
    /// A Redis of the run's own (keys prefixed `kcsize:`).
    #[arg(long, default_value = "redis://127.0.0.1:6395")]
    pub redis_url: String,
    /// A Redis Cluster of the run's own.
    #[arg(
        long,
        default_value = "redis+cluster://127.0.0.1:7200,127.0.0.1:7201,127.0.0.1:7202"
    )]
    pub cluster_url: String,
    /// The SQL stores' operation timeout, seconds (`SqlConfig::with_operation_timeout`; the library's
    /// default is 2 s).
    #[arg(long, default_value_t = 2.0)]
    pub sql_timeout_s: f64,
}

impl Services {
    /// These settings as `store-size` flags.
    pub fn args(&self) -> Vec<String> {
        [
            ("--postgres-url", self.postgres_url.clone()),
            ("--redis-url", self.redis_url.clone()),
            ("--cluster-url", self.cluster_url.clone()),
            ("--sql-timeout-s", self.sql_timeout_s.to_string()),
        ]
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_owned(), value])
        .collect()
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub fn main(args: &SizeArgs) -> Result<(), String> {
    let kind = Kind::parse(&args.store)?;
    if args.sessions < SESSIONS_PER_USER || !args.sessions.is_multiple_of(SESSIONS_PER_USER) {
        return Err(format!(
            "--sessions must be a multiple of {SESSIONS_PER_USER}"
        ));
    }
    let places = Places {
        sqlite_path: args.sqlite_path.clone(),
        postgres_url: args.services.postgres_url.clone(),
        redis_url: args.services.redis_url.clone(),
        cluster_url: args.services.cluster_url.clone(),
        flush: args.flush,
        sql_timeout: Duration::from_secs_f64(args.services.sql_timeout_s),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(async {
        let target = Target::open(kind, &places).await?;
        let result = measure(&target, args).await;
        target.cleanup().await;
        println!("BENCHJSON {}", result?);
        Ok(())
    })
}

/// Every master's counters now (nothing for the stores without nodes).
fn snap(target: &Target) -> Result<Vec<nodes::NodeStat>, String> {
    nodes::snapshot(target.nodes())
}

async fn measure(target: &Target, args: &SizeArgs) -> Result<serde_json::Value, String> {
    let load_start = loadavg();
    let users = args.sessions / SESSIONS_PER_USER;
    let clock = ManualClock::starting_now();
    let cache = CredentialsCache::builder_arc(target.store.clone())
        .secret(SECRET)
        .clock(clock.clone())
        .build()
        .map_err(|e| format!("cache: {e}"))?;
    let slots = populate::sample_slots(args.sample, args.tasks);
    let before = target.footprint().await?;

    let s0 = snap(target)?;
    let filled = populate::populate(&cache, &clock, users, slots).await?;
    let s1 = snap(target)?;
    let full = target.footprint().await?;
    let cookies = Arc::new(filled.cookies);
    if cookies.is_empty() {
        return Err("no cookie sampled".to_owned());
    }

    let mut rng = Rng::new(0x512e ^ args.sessions);
    let fetch = ops::fetches(&cache, &cookies, args.fetches, &mut rng).await?;
    let s2 = snap(target)?;
    let sign_in = ops::sign_ins(&cache, users, args.ops, &mut rng).await?;
    let s3 = snap(target)?;
    let put_user = ops::put_users(&cache, users, args.ops, &mut rng).await?;
    let s4 = snap(target)?;
    // 31 minutes after t0 the first session of every user is past its idle deadline (30 min), and none of
    // the other nine is due for renewal yet (15 min after their sign-in at t0 + 20): the load below still
    // reads them without renewing.
    clock.advance(Duration::from_secs(11 * 60));
    let t = Instant::now();
    let swept = cache.sweep().await.map_err(|e| format!("sweep: {e}"))?;
    let sweep_ms = t.elapsed().as_secs_f64() * 1e3;
    let s5 = snap(target)?;
    let after_sweep = target.footprint().await?;

    let pg_cpu = target.server_cpu_us().await;
    let mut load = if args.load_secs > 0.0 {
        ops::load(
            &cache,
            cookies.clone(),
            users,
            args.load_tasks,
            args.load_secs,
        )
        .await?
    } else {
        json!(null)
    };
    if let (Some(a), Some(b)) = (target.server_cpu_us().await, pg_cpu) {
        let n = load["fetches"].as_f64().unwrap_or(0.0) + load["sign_ins"].as_f64().unwrap_or(0.0);
        load["postgres_cpu_us_per_op"] = ((a - b) / n.max(1.0)).into();
    }
    let s6 = snap(target)?;

    let distribution = if target.kind == Kind::Cluster {
        nodes::users_by_master(target.nodes(), users)?
    } else {
        json!(null)
    };
    let per_op = |a: &[nodes::NodeStat], b: &[nodes::NodeStat], n: f64| -> serde_json::Value {
        let d = nodes::delta(a, b);
        let sum = |f: &str| -> f64 {
            d.as_array()
                .map_or(0.0, |r| r.iter().filter_map(|m| m[f].as_f64()).sum())
        };
        json!({"masters": d, "evalsha_per_op": sum("evalsha") / n,
            "commands_per_op": sum("commands") / n, "cpu_us_per_op": sum("cpu_us") / n})
    };
    let nodes = if target.nodes().is_empty() {
        json!(null)
    } else {
        let load_ops =
            load["fetches"].as_f64().unwrap_or(0.0) + load["sign_ins"].as_f64().unwrap_or(0.0);
        json!({
            "populate": per_op(&s0, &s1, args.sessions as f64),
            "fetch": per_op(&s1, &s2, args.fetches as f64),
            "sign_in": per_op(&s2, &s3, args.ops as f64),
            "put_user": per_op(&s3, &s4, args.ops as f64),
            "sweep": per_op(&s4, &s5, 1.0),
            "load": per_op(&s5, &s6, load_ops.max(1.0)),
        })
    };
    Ok(json!({
        "store": args.store,
        "sessions": args.sessions,
        "users": users,
        "loadavg_start": load_start,
        "loadavg_end": loadavg(),
        "footprint": {
            "before": before.bytes,
            "full": full.bytes,
            "after_sweep": after_sweep.bytes,
            "bytes_per_session": full.bytes.saturating_sub(before.bytes) as f64 / args.sessions as f64,
            "detail_full": full.detail,
        },
        "populate": filled.report,
        "fetch": fetch,
        "sign_in": sign_in,
        "put_user": put_user,
        "load": load,
        "sweep": {"ms": sweep_ms, "sessions": swept.sessions, "tokens": swept.tokens, "users": swept.users},
        "nodes": nodes,
        "distribution": distribution,
    }))
}
