//! The sizing runs' tables and charts, from the `store-size` results (`sizing`): bytes per session,
//! latency per operation, commands and server CPU per operation on Redis and the cluster, throughput
//! under load, and how the cluster's keys and load fall on its masters.

use std::path::Path;

use serde_json::Value;

use super::charts::{self, Bars, Curves};
use super::report::{fmt_ns, Report};

const ORDER: [&str; 5] = ["memory", "sqlite", "postgres", "redis", "cluster"];

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn ns(v: &Value) -> String {
    v.as_u64().map_or_else(|| "–".to_owned(), fmt_ns)
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

/// The successful runs of `store`, by session count.
fn runs_of<'a>(runs: &'a [Value], store: &str) -> Vec<&'a Value> {
    let mut v: Vec<&Value> = runs
        .iter()
        .filter(|r| r["store"] == store && r.get("error").is_none())
        .collect();
    v.sort_by_key(|r| r["sessions"].as_u64());
    v
}

pub fn report(runs: &[Value], charts_dir: &Path, rep: &mut Report) -> Result<(), String> {
    let ordered: Vec<&Value> = ORDER.iter().flat_map(|s| runs_of(runs, s)).collect();
    for r in runs.iter().filter(|r| r.get("error").is_some()) {
        rep.line(format!(
            "- **failed**: {} with {} sessions: {}",
            r["store"], r["sessions"], r["error"]
        ));
    }
    rep.line("\n#### Bytes per live session\n");
    rep.line("| store | live sessions | empty | full | **bytes per session** | after one sweep | fill: sign-ins/s (tasks) | load avg start → end |");
    rep.line("|---|---:|---:|---:|---:|---:|---:|---|");
    for r in &ordered {
        let fp = &r["footprint"];
        rep.line(format!(
            "| {} | {} | {} | {} | **{:.0}** | {} | {:.0} ({}) | {} → {} |",
            r["store"].as_str().unwrap_or(""),
            r["sessions"],
            mib(f(&fp["before"])),
            mib(f(&fp["full"])),
            f(&fp["bytes_per_session"]),
            mib(f(&fp["after_sweep"])),
            f(&r["populate"]["sign_ins_per_s"]),
            r["populate"]["tasks"],
            r["loadavg_start"].as_str().unwrap_or(""),
            r["loadavg_end"].as_str().unwrap_or(""),
        ));
    }
    rep.line("\n#### Latency, one call at a time (p50 / p99)\n");
    rep.line("| store | live sessions | sign-in p50 | p99 | `fetch` p50 | p99 | `put_user` p50 | p99 | one sweep (10% expired) | sessions swept |");
    rep.line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &ordered {
        rep.line(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} ms | {} |",
            r["store"].as_str().unwrap_or(""),
            r["sessions"],
            ns(&r["sign_in"]["p50_ns"]),
            ns(&r["sign_in"]["p99_ns"]),
            ns(&r["fetch"]["p50_ns"]),
            ns(&r["fetch"]["p99_ns"]),
            ns(&r["put_user"]["p50_ns"]),
            ns(&r["put_user"]["p99_ns"]),
            f(&r["sweep"]["ms"]),
            r["sweep"]["sessions"],
        ));
    }
    rep.line("\n#### Under load: concurrent fetches with one sign-in in ten, on this machine\n");
    rep.line("| store | live sessions | tasks | seconds | operations/s | fetches | sign-ins | not found | errors | app CPU per op | server CPU per op |");
    rep.line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in ordered.iter().filter(|r| !r["load"].is_null()) {
        let l = &r["load"];
        rep.line(format!(
            "| {} | {} | {} | {:.1} | {:.0} | {} | {} | {} | {} | {:.1} µs | {} |",
            r["store"].as_str().unwrap_or(""),
            r["sessions"],
            l["tasks"],
            f(&l["secs"]),
            f(&l["ops_per_s"]),
            l["fetches"],
            l["sign_ins"],
            l["not_found"],
            l["errors"],
            f(&l["app_cpu_us_per_op"]),
            server_cpu(r),
        ));
    }
    redis_tables(&ordered, rep);
    charts_of(&ordered, charts_dir, rep)
}

/// The store server's CPU per operation of the load: the PostgreSQL backends, or redis-server (masters).
fn server_cpu(r: &Value) -> String {
    let l = &r["load"];
    if let Some(us) = l["postgres_cpu_us_per_op"].as_f64() {
        return format!("{us:.1} µs (backends)");
    }
    match r["nodes"]["load"]["cpu_us_per_op"].as_f64() {
        Some(us) => format!("{us:.1} µs (redis-server)"),
        None => "in process".to_owned(),
    }
}

/// Commands and server CPU per operation, from every master's `INFO commandstats` and `INFO cpu`.
fn redis_tables(ordered: &[&Value], rep: &mut Report) {
    let redis: Vec<&&Value> = ordered.iter().filter(|r| !r["nodes"].is_null()).collect();
    if redis.is_empty() {
        return;
    }
    rep.line("\n#### Redis and the cluster, per operation, summed over the masters: round trips (`EVALSHA` calls), commands (with those the scripts run) and redis-server CPU\n");
    rep.line(
        "| store | live sessions | `fetch` | sign-in | `put_user` | one sweep | load (per op) |",
    );
    rep.line("|---|---:|---|---|---|---|---|");
    for r in &redis {
        let c = |phase: &str| {
            let p = &r["nodes"][phase];
            format!(
                "{:.2} RT, {:.1} cmd, {:.1} µs",
                f(&p["evalsha_per_op"]),
                f(&p["commands_per_op"]),
                f(&p["cpu_us_per_op"])
            )
        };
        rep.line(format!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r["store"].as_str().unwrap_or(""),
            r["sessions"],
            c("fetch"),
            c("sign_in"),
            c("put_user"),
            c("sweep"),
            c("load"),
        ));
    }
    for r in redis.iter().filter(|r| !r["distribution"].is_null()) {
        let d = &r["distribution"];
        rep.line(format!(
            "\n#### Cluster with {} sessions ({} users): the masters\n",
            r["sessions"], r["users"]
        ));
        rep.line(format!(
            "{} hash tags in use; users per tag: {} to {}.\n",
            d["tags"], d["users_per_tag_min"], d["users_per_tag_max"]
        ));
        rep.line("| master | slots | tags | users | keys | used_memory | load: `EVALSHA` calls | share | load: redis-server CPU |");
        rep.line("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        let empty = Vec::new();
        let masters = d["masters"].as_array().unwrap_or(&empty);
        let nodes = r["footprint"]["detail_full"]["nodes"]
            .as_array()
            .unwrap_or(&empty);
        let load = r["nodes"]["load"]["masters"].as_array().unwrap_or(&empty);
        let total: f64 = load.iter().map(|m| f(&m["evalsha"])).sum();
        for m in masters {
            let node = nodes.iter().find(|n| n["addr"] == m["addr"]);
            let l = load.iter().find(|n| n["addr"] == m["addr"]);
            let cmds = l.map_or(f64::NAN, |l| f(&l["evalsha"]));
            rep.line(format!(
                "| {} | {} | {} | {} | {} | {} | {:.0} | {:.1}% | {:.2} s |",
                m["addr"].as_str().unwrap_or(""),
                m["slots"],
                m["tags"],
                m["users"],
                node.map_or(Value::Null, |n| n["keys"].clone()),
                mib(node.map_or(f64::NAN, |n| f(&n["used_memory"]))),
                cmds,
                100.0 * cmds / total,
                l.map_or(f64::NAN, |l| f(&l["cpu_us"])) / 1e6,
            ));
        }
    }
}

fn charts_of(ordered: &[&Value], dir: &Path, rep: &mut Report) -> Result<(), String> {
    let series = |get: &dyn Fn(&Value) -> f64| -> Vec<(String, Vec<(u64, f64)>)> {
        ORDER
            .iter()
            .map(|s| {
                let pts = ordered
                    .iter()
                    .filter(|r| r["store"] == *s)
                    .map(|r| (r["sessions"].as_u64().unwrap_or(0), get(r)))
                    .collect::<Vec<_>>();
                (s.to_string(), pts)
            })
            .filter(|(_, p)| !p.is_empty())
            .collect()
    };
    let bytes = dir.join("sizing-bytes.svg");
    charts::curves(
        &bytes,
        &Curves {
            title: "Bytes per live session, per store",
            y_desc: "bytes per session",
            series: &series(&|r| f(&r["footprint"]["bytes_per_session"])),
            log_y: false,
            legend_right: true,
        },
    )?;
    let fetch = dir.join("sizing-fetch.svg");
    charts::curves(
        &fetch,
        &Curves {
            title: "fetch p50 per live-session count, per store (log scale)",
            y_desc: "µs",
            series: &series(&|r| f(&r["fetch"]["p50_ns"]) / 1e3),
            log_y: true,
            legend_right: true,
        },
    )?;
    let sign_in = dir.join("sizing-signin.svg");
    charts::curves(
        &sign_in,
        &Curves {
            title: "Sign-in p50 per live-session count, per store (log scale)",
            y_desc: "µs",
            series: &series(&|r| f(&r["sign_in"]["p50_ns"]) / 1e3),
            log_y: true,
            legend_right: true,
        },
    )?;
    let mut drawn = vec![bytes, fetch, sign_in];
    if let Some(r) = ordered.iter().rev().find(|r| !r["distribution"].is_null()) {
        let empty = Vec::new();
        let masters = r["distribution"]["masters"].as_array().unwrap_or(&empty);
        let load = r["nodes"]["load"]["masters"].as_array().unwrap_or(&empty);
        let users: Vec<(String, f64)> = masters
            .iter()
            .map(|m| (m["addr"].as_str().unwrap_or("").to_owned(), f(&m["users"])))
            .collect();
        let cmds: Vec<(String, f64)> = load
            .iter()
            .map(|m| {
                (
                    m["addr"].as_str().unwrap_or("").to_owned(),
                    f(&m["evalsha"]),
                )
            })
            .collect();
        let title_users = format!("Cluster: users per master ({} users)", r["users"]);
        let p = dir.join("sizing-cluster-users.svg");
        charts::bars(
            &p,
            &Bars {
                title: &title_users,
                y_desc: "users",
                rows: &users,
            },
        )?;
        drawn.push(p);
        let p = dir.join("sizing-cluster-load.svg");
        charts::bars(
            &p,
            &Bars {
                title: "Cluster: round trips (EVALSHA) per master under load",
                y_desc: "EVALSHA calls",
                rows: &cmds,
            },
        )?;
        drawn.push(p);
    }
    let names: Vec<String> = drawn.iter().map(|p| format!("`{}`", p.display())).collect();
    rep.line(format!("\nCharts: {}.", names.join(", ")));
    Ok(())
}
