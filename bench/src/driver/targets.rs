//! Every issue-5 target, met or missed.

use std::collections::BTreeMap;

use super::report::{fmt_us, mib, Report};
use super::signin::SigninResult;
use super::stores::ScaleRun;

pub fn targets(
    stats: &BTreeMap<String, (f64, f64, f64)>,
    cpu: &BTreeMap<String, f64>,
    signin: Option<SigninResult>,
    scale: &[ScaleRun],
    rep: &mut Report,
) {
    rep.line("\n### Issue 5 targets\n");
    rep.line("| target | measured | |");
    rep.line("|---|---|---|");
    let mut row = |name: &str, measured: Option<(String, bool)>| match measured {
        Some((m, ok)) => rep.line(format!(
            "| {name} | {m} | {} |",
            if ok { "met" } else { "**missed**" }
        )),
        None => rep.line(format!("| {name} | not measured in this run | – |")),
    };
    let rps = |k: &str| stats.get(k).map(|s| s.0);
    // Cross-check: the inverse ratio of CPU per request (what the req/s ratio would be if each server were
    // alone and CPU-bound), which the machine's other load disturbs far less than req/s.
    let ratio = |a: &str, b: &str, min: f64| {
        rps(a).zip(rps(b)).map(|(x, y)| {
            let by_cpu = cpu
                .get(a)
                .zip(cpu.get(b))
                .map_or(String::new(), |(ca, cb)| {
                    format!(" (by server CPU per request: {:.2}×)", cb / ca)
                });
            (format!("{:.2}×{by_cpu}", x / y), x / y >= min)
        })
    };
    row(
        "`keycard-memory` ≥ 0.85× `bare` req/s",
        ratio("keycard-memory", "bare", 0.85),
    );
    row(
        "`keycard-memory` ≥ 3× `axum-login-sqlite` req/s",
        ratio("keycard-memory", "axum-login-sqlite", 3.0),
    );
    row(
        "`keycard-redis` ≥ 1.5× `axum-login-redis` req/s",
        ratio("keycard-redis", "axum-login-redis", 1.5),
    );
    row(
        "`keycard-redis-near` ≥ 0.70× `bare` req/s",
        ratio("keycard-redis-near", "bare", 0.70),
    );
    row(
        "`keycard-redis-near` ≥ 4× `axum-login-redis` req/s",
        ratio("keycard-redis-near", "axum-login-redis", 4.0),
    );
    row(
        "`keycard-sqlite` ≥ 2× `axum-login-sqlite` req/s",
        ratio("keycard-sqlite", "axum-login-sqlite", 2.0),
    );
    row(
        "p99 of `GET /me` with concurrent sign-ins ≤ 2× without (paced load, keycard's own limit)",
        signin.map(|s| {
            let r = s.paired_ratio;
            (
                format!(
                    "{r:.2}× (median of the rounds' ratios; medians {} with vs {} without)",
                    fmt_us(s.p99_busy),
                    fmt_us(s.p99_idle)
                ),
                r <= 2.0,
            )
        }),
    );
    let biggest = scale.iter().max_by_key(|r| r.sessions);
    let smallest = scale.iter().min_by_key(|r| r.sessions);
    let big_enough = biggest.filter(|r| r.sessions >= 1_000_000);
    row(
        "10^6 sessions in the memory store ≤ 512 MiB resident",
        big_enough.map(|r| (format!("{} VmRSS", mib(r.rss_kib)), r.rss_kib <= 512 * 1024)),
    );
    row(
        "`fetch` latency at 10^6 within 2× of 10^3 (p50)",
        big_enough.zip(smallest).map(|(b, s)| {
            let x = b.fetch.p50_ns as f64 / s.fetch.p50_ns as f64;
            let y = b.store_fetch.p50_ns as f64 / s.store_fetch.p50_ns as f64;
            (
                format!(
                    "{x:.2}× ({} ns vs {} ns; p99 {} vs {} ns; `Store::fetch` alone {y:.2}×: {} vs {} ns)",
                    b.fetch.p50_ns,
                    s.fetch.p50_ns,
                    b.fetch.p99_ns,
                    s.fetch.p99_ns,
                    b.store_fetch.p50_ns,
                    s.store_fetch.p50_ns
                ),
                x <= 2.0,
            )
        }),
    );
}
