//! The run's figures as text (printed, and kept as report.txt) and the checker's report as JSON
//! (report.json), beside the history.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::checker::Report;

/// Violations shown in full (the rest are in report.json).
const SHOWN: usize = 20;

/// The figures; `run` is the configuration, seed and wall time of a run just made.
pub fn text(report: &Report, run: Option<(&str, u64, Duration)>) -> String {
    let mut out = String::new();
    if let Some((setup, seed, wall)) = run {
        let _ = writeln!(
            out,
            "soak {setup}: seed {seed}, {:.0} s wall",
            wall.as_secs_f64()
        );
    }
    let [ok, fail, info] = report.outcomes;
    let _ = writeln!(
        out,
        "  operations: {} (ok {ok}, fail {fail}, info {info})",
        report.ops
    );
    let faults: Vec<String> = report
        .faults
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let total: usize = report.faults.values().sum();
    let _ = writeln!(out, "  faults: {total} ({})", faults.join(", "));
    let by_rule: Vec<String> = report
        .by_rule()
        .iter()
        .map(|(r, n)| {
            format!(
                "{} {n}",
                serde_json::to_string(r)
                    .unwrap_or_default()
                    .trim_matches('"')
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "  violations: {}{}",
        report.violations.len(),
        if by_rule.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_rule.join(", "))
        }
    );
    let _ = writeln!(
        out,
        "  excused (documented failover loss): {}",
        report.excused.len()
    );
    let u = &report.unavailable;
    let _ = writeln!(
        out,
        "  503 answers: {} in {} windows (longest {} ms, total {} ms)",
        u.answers,
        u.windows,
        u.longest_us / 1000,
        u.total_us / 1000
    );
    let _ = writeln!(
        out,
        "  revocations probed: {}, longest revocation lag: {} ms",
        report.revocations_probed,
        report.longest_revocation_lag_us / 1000
    );
    let _ = writeln!(
        out,
        "  node memory: peak {} MiB, largest growth after warm-up {} MiB",
        report.peak_rss_kib / 1024,
        report.largest_rss_growth_kib / 1024
    );
    for v in report.violations.iter().take(SHOWN) {
        let _ = writeln!(out, "  VIOLATION op {:?}: {}", v.op, v.detail);
    }
    if report.violations.len() > SHOWN {
        let _ = writeln!(
            out,
            "  … {} more in report.json",
            report.violations.len() - SHOWN
        );
    }
    for v in report.excused.iter().take(5) {
        let _ = writeln!(out, "  excused op {:?}: {}", v.op, v.detail);
    }
    out
}

/// Write report.json and report.txt into `dir`.
pub fn write(dir: &Path, report: &Report, text: &str) -> Result<(), String> {
    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("report.json"), json).map_err(|e| format!("report.json: {e}"))?;
    std::fs::write(dir.join("report.txt"), text).map_err(|e| format!("report.txt: {e}"))
}
