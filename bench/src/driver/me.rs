//! Signed-in `GET /me` on every server: `wrk` rounds alternating between them, medians, server CPU per
//! request, ratios to `bare`; and the same request in-process, without sockets (`layer-cost`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::common::median;

use super::charts::{self, Bars};
use super::config::Config;
use super::http::Server;
use super::procs::{proc_cpu_us, run_json};
use super::redis::redis_cpu_us;
use super::report::{fmt_us, Report};
use super::wrk::{cycling_lua, wrk, WrkRun};

/// What the targets need from the `GET /me` runs.
pub struct MeResult {
    /// Per server: median req/s, p50 and p99 (µs).
    pub stats: BTreeMap<String, (f64, f64, f64)>,
    /// Per server: median CPU per request (µs), its own plus redis-server's.
    pub cpu_totals: BTreeMap<String, f64>,
}

/// The `GET /me` rounds and their table (servers that could not run are listed as skipped).
pub fn measure(
    cfg: &Config,
    servers: &[Server],
    skipped: &[(String, &str)],
    expected_body: Option<&str>,
    report_lua: &Path,
    rep: &mut Report,
) -> Result<MeResult, String> {
    rep.line(format!(
        "\n### Signed-in `GET /me`: wrk -t{} -c{} -d{}s, {} rounds (A B C … A B C …), medians\n",
        cfg.threads, cfg.connections, cfg.duration_s, cfg.rounds
    ));
    if let Some(b) = expected_body {
        rep.line(format!(
            "Every server answered `{b}` (checked before the runs).\n"
        ));
    }
    // One cookie: a header on every request. Several (`--sessions`): a script per server that sends
    // each request with the next one.
    let mut scripts: BTreeMap<String, (std::path::PathBuf, Option<&str>)> = BTreeMap::new();
    for s in servers {
        let script = if s.more_cookies.is_empty() {
            (report_lua.to_path_buf(), Some(s.cookie.as_str()))
        } else {
            let mut all = vec![s.cookie.as_str()];
            all.extend(s.more_cookies.iter().map(String::as_str));
            let path = cfg.work.join(format!("me-{}.lua", s.kind));
            std::fs::write(&path, cycling_lua(&all)?)
                .map_err(|e| format!("write {}: {e}", path.display()))?;
            (path, None)
        };
        scripts.insert(s.kind.clone(), script);
    }
    if cfg.sessions > 1 {
        rep.line(format!(
            "Spread over {} sessions (users 1..={}, one session each): each request carries the next cookie.\n",
            cfg.sessions, cfg.sessions
        ));
    }
    for s in servers {
        let (script, cookie) = &scripts[&s.kind];
        wrk(script, s.port, *cookie, 1, cfg.threads, cfg.connections)?; // warm-up
    }
    let mut runs: BTreeMap<String, Vec<WrkRun>> = BTreeMap::new();
    // Server CPU per request (µs), and redis-server's for the Redis rows: less sensitive than req/s to
    // whatever else the machine runs, since it counts the work, not the wall time.
    let mut cpu: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for round in 0..cfg.rounds {
        for s in servers {
            let uses_redis = s.kind.ends_with("redis");
            let before = (proc_cpu_us(s.pid), uses_redis.then(redis_cpu_us).flatten());
            let (script, cookie) = &scripts[&s.kind];
            let r = wrk(
                script,
                s.port,
                *cookie,
                cfg.duration_s,
                cfg.threads,
                cfg.connections,
            )?;
            let after = (proc_cpu_us(s.pid), uses_redis.then(redis_cpu_us).flatten());
            let per_req = |a: Option<f64>, b: Option<f64>| {
                a.zip(b).map(|(a, b)| (a - b) / r.requests.max(1) as f64)
            };
            let c = cpu.entry(s.kind.clone()).or_default();
            if let Some(x) = per_req(after.0, before.0) {
                c.0.push(x);
            }
            if let Some(x) = per_req(after.1, before.1) {
                c.1.push(x);
            }
            eprintln!(
                "[bench] round {} {:<18} {:>9.0} req/s  p50 {:>7.0} us  p99 {:>7.0} us  cpu/req {:>5.1} us  errors {}",
                round + 1,
                s.kind,
                r.rps(),
                r.p50_us,
                r.p99_us,
                c.0.last().copied().unwrap_or(f64::NAN),
                r.errors()
            );
            runs.entry(s.kind.clone()).or_default().push(r);
        }
    }
    let stats: BTreeMap<String, (f64, f64, f64)> = runs
        .iter()
        .map(|(k, v)| {
            let rps = median(&v.iter().map(WrkRun::rps).collect::<Vec<_>>());
            let p50 = median(&v.iter().map(|r| r.p50_us).collect::<Vec<_>>());
            let p99 = median(&v.iter().map(|r| r.p99_us).collect::<Vec<_>>());
            (k.clone(), (rps, p50, p99))
        })
        .collect();
    let bare = stats.get("bare").copied();
    let cpu_med: BTreeMap<String, (f64, f64)> = cpu
        .iter()
        .map(|(k, (s, r))| (k.clone(), (median(s), median(r))))
        .collect();
    let bare_cpu = cpu_med.get("bare").map(|c| c.0);
    let cpu_totals: BTreeMap<String, f64> = cpu_med
        .iter()
        .map(|(k, (c, rc))| (k.clone(), c + if rc.is_finite() { *rc } else { 0.0 }))
        .collect();
    rep.line(
        "| server | req/s | × bare | p50 | × bare | p99 | × bare | server CPU per request | × bare | req/s per round | errors |",
    );
    rep.line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    for s in servers {
        let (rps, p50, p99) = stats[&s.kind];
        let ratio =
            |x: f64, b: Option<f64>| b.map_or("–".to_owned(), |b| format!("{:.2}", x / b));
        let per_round = runs[&s.kind]
            .iter()
            .map(|r| format!("{:.0}", r.rps()))
            .collect::<Vec<_>>()
            .join(" / ");
        let errors: u64 = runs[&s.kind].iter().map(WrkRun::errors).sum();
        let (c, rc) = cpu_med
            .get(&s.kind)
            .copied()
            .unwrap_or((f64::NAN, f64::NAN));
        let cpu_cell = if rc.is_finite() {
            format!("{c:.1} µs + {rc:.1} µs in redis-server")
        } else {
            format!("{c:.1} µs")
        };
        rep.line(format!(
            "| `{}` | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.kind,
            rps,
            ratio(rps, bare.map(|b| b.0)),
            fmt_us(p50),
            ratio(p50, bare.map(|b| b.1)),
            fmt_us(p99),
            ratio(p99, bare.map(|b| b.2)),
            cpu_cell,
            ratio(c + if rc.is_finite() { rc } else { 0.0 }, bare_cpu),
            per_round,
            errors
        ));
    }
    for (k, why) in skipped {
        rep.line(format!("| `{k}` | skipped: {why} | | | | | | | | | |"));
    }

    let order = |f: &dyn Fn(&str) -> Option<f64>| -> Vec<(String, f64)> {
        servers
            .iter()
            .filter_map(|s| f(&s.kind).map(|v| (s.kind.clone(), v)))
            .collect()
    };
    let rps_path = cfg.charts.join("me-requests.svg");
    charts::bars(
        &rps_path,
        &Bars {
            title: "Signed-in GET /me: requests/s (median of rounds)",
            y_desc: "requests/s",
            rows: &order(&|k| stats.get(k).map(|s| s.0)),
        },
    )?;
    let cpu_path = cfg.charts.join("me-cpu.svg");
    charts::bars(
        &cpu_path,
        &Bars {
            title: "Signed-in GET /me: server CPU per request (+ redis-server's)",
            y_desc: "µs of CPU per request",
            rows: &order(&|k| cpu_totals.get(k).copied()),
        },
    )?;
    rep.line(format!(
        "
Charts: `{}`, `{}`.",
        rps_path.display(),
        cpu_path.display()
    ));

    Ok(MeResult { stats, cpu_totals })
}

/// The same request in-process (no sockets, no wrk): what the session layer itself adds.
pub fn layer_cost(exe: &Path, db: &Path, rep: &mut Report) -> Result<(), String> {
    let v = run_json(
        exe,
        &["layer-cost", "--db", &db.to_string_lossy()],
        Duration::from_secs(120),
    )?;
    let ns = |k: &str| v[k]["ns_per_request"].as_f64().unwrap_or(f64::NAN);
    let (b, l) = (ns("bare"), ns("keycard-memory"));
    rep.line(format!(
        "\nIn-process, without sockets or wrk (`layer-cost`: the two routers called with `oneshot`, 200,000 signed-in `GET /me`, one thread): `bare` {b:.0} ns per request, `keycard-memory` {l:.0} ns: the session layer adds {:.0} ns per request.",
        l - b
    ));
    Ok(())
}
