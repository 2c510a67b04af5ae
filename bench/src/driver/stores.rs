//! The in-process store measurements, each in a process of its own: memory store scale, `put_user` cost.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::charts::{self, Curves};
use super::config::Config;
use super::procs::run_json;
use super::report::{fmt_ns, mib, Report};

#[derive(Debug, Clone, Deserialize)]
pub struct Lat {
    pub p50_ns: u64,
    pub p99_ns: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ScaleRun {
    pub sessions: u64,
    rss_before_kib: u64,
    pub rss_kib: u64,
    rss_after_sweep_kib: u64,
    create_s: f64,
    pub fetch: Lat,
    pub store_fetch: Lat,
    chase_ns: f64,
    timer_overhead_ns: u64,
    sweep_ms: f64,
    swept: BTreeMap<String, u64>,
}

pub fn store_scale(cfg: &Config, exe: &Path, rep: &mut Report) -> Result<Vec<ScaleRun>, String> {
    rep.line("\n### Memory store scale (one dedicated process per size; 10 sessions per user)\n");
    rep.line("All sessions are live when memory and `fetch` are measured; then the clock moves so that 10% (one per user) have expired, and one `sweep` runs.\n");
    rep.line("| live sessions | VmRSS | store (RSS − RSS before) | create all | `fetch` p50 | `fetch` p99 | `Store::fetch` alone p50 | p99 | one sweep | swept sessions | VmRSS after sweep |");
    rep.line("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut out = Vec::new();
    for &n in &cfg.store_sizes {
        let v = run_json(
            exe,
            &["store-scale", "--sessions", &n.to_string()],
            Duration::from_secs(240),
        )?;
        let r: ScaleRun = serde_json::from_value(v).map_err(|e| format!("store-scale: {e}"))?;
        rep.line(format!(
            "| {} | {} | {} | {:.1} s | {} ns | {} ns | {} ns | {} ns | {:.1} ms | {} | {} |",
            r.sessions,
            mib(r.rss_kib),
            mib(r.rss_kib.saturating_sub(r.rss_before_kib)),
            r.create_s,
            r.fetch.p50_ns,
            r.fetch.p99_ns,
            r.store_fetch.p50_ns,
            r.store_fetch.p99_ns,
            r.sweep_ms,
            r.swept.get("sessions").copied().unwrap_or(0),
            mib(r.rss_after_sweep_kib),
        ));
        out.push(r);
    }
    scale_charts(cfg, &out, rep)?;
    rep.line("\n`Store::fetch` next to the cost of one dependent memory access at that size (a random pointer chase through a buffer as large as the store):\n");
    rep.line("| live sessions | `Store::fetch` p50 | one dependent memory access |");
    rep.line("|---:|---:|---:|");
    for r in &out {
        rep.line(format!(
            "| {} | {} ns | {:.0} ns |",
            r.sessions, r.store_fetch.p50_ns, r.chase_ns
        ));
    }
    if let Some(r) = out.first() {
        rep.line(format!(
            "\n(one `Instant::now()` pair costs {} ns here; `fetch` is the whole `CredentialsCache::fetch`: cookie HMAC check, SHA-256, store lookups; `Store::fetch` alone is the memory store's part, given the token hash. Both are timed one call at a time over random sessions from a uniform sample of up to 50,000 cookies, 200,000 calls.)",
            r.timer_overhead_ns
        ));
    }
    Ok(out)
}

pub fn put_user(exe: &Path, redis: bool, redis_url: &str, rep: &mut Report) -> Result<(), String> {
    rep.line("\n### `put_user`: a user with 1 session vs a user with 10,000 sessions\n");
    rep.line(
        "| store | 1 session p50 | 1 session p99 | 10,000 sessions p50 | 10,000 sessions p99 |",
    );
    rep.line("|---|---:|---:|---:|---:|");
    let mut stores = vec![("memory", "2000")];
    if redis {
        stores.push(("redis", "500"));
    }
    for (store, iters) in stores {
        let v = run_json(
            exe,
            &[
                "put-user",
                "--store",
                store,
                "--iters",
                iters,
                "--redis-url",
                redis_url,
            ],
            Duration::from_secs(120),
        )?;
        let one: Lat = serde_json::from_value(v["one"].clone()).map_err(|e| e.to_string())?;
        let many: Lat = serde_json::from_value(v["many"].clone()).map_err(|e| e.to_string())?;
        let f = fmt_ns;
        rep.line(format!(
            "| {store} | {} | {} | {} | {} |",
            f(one.p50_ns),
            f(one.p99_ns),
            f(many.p50_ns),
            f(many.p99_ns)
        ));
    }
    if !redis {
        rep.line(
            "| redis | skipped: no Redis at 127.0.0.1:6379 (or built without `redis`) | | | |",
        );
    }
    Ok(())
}

/// The memory store's curves: resident memory, and `fetch` latency, per live-session count.
fn scale_charts(cfg: &Config, runs: &[ScaleRun], rep: &mut Report) -> Result<(), String> {
    let points = |f: &dyn Fn(&ScaleRun) -> f64| -> Vec<(u64, f64)> {
        runs.iter().map(|r| (r.sessions, f(r))).collect()
    };
    let mem = cfg.charts.join("memory-store-rss.svg");
    charts::curves(
        &mem,
        &Curves {
            title: "Memory store: resident memory per live-session count",
            y_desc: "MiB",
            series: &[
                (
                    "process VmRSS".to_owned(),
                    points(&|r| r.rss_kib as f64 / 1024.0),
                ),
                (
                    "the store (VmRSS − VmRSS before)".to_owned(),
                    points(&|r| r.rss_kib.saturating_sub(r.rss_before_kib) as f64 / 1024.0),
                ),
            ],
            log_y: false,
            legend_right: false,
        },
    )?;
    let lat = cfg.charts.join("memory-store-fetch.svg");
    charts::curves(
        &lat,
        &Curves {
            title: "Memory store: fetch latency per live-session count",
            y_desc: "ns",
            series: &[
                (
                    "CredentialsCache::fetch p50".to_owned(),
                    points(&|r| r.fetch.p50_ns as f64),
                ),
                (
                    "CredentialsCache::fetch p99".to_owned(),
                    points(&|r| r.fetch.p99_ns as f64),
                ),
                (
                    "Store::fetch p50".to_owned(),
                    points(&|r| r.store_fetch.p50_ns as f64),
                ),
            ],
            log_y: false,
            legend_right: false,
        },
    )?;
    rep.line(format!(
        "\nCharts: `{}`, `{}`.",
        mem.display(),
        lat.display()
    ));
    Ok(())
}
