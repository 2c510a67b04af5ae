//! The report: printed as it is made, written to `--out` at the end; the machine it ran on; number formats.

use std::process::Command;

/// The whole report, printed as it is made and written to `--out` at the end.
pub struct Report(pub String);

impl Report {
    pub fn line(&mut self, s: impl AsRef<str>) {
        println!("{}", s.as_ref());
        self.0.push_str(s.as_ref());
        self.0.push('\n');
    }
}

pub fn machine(rep: &mut Report, wrk_version: &str) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let free = Command::new("free")
        .arg("-h")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    rep.line("### Machine\n");
    rep.line(format!(
        "- {cores} cores (nproc), {cpu}; Linux {}",
        kernel.trim()
    ));
    rep.line(format!("- load average at start: {}", load.trim()));
    rep.line(format!("- {wrk_version}"));
    rep.line("- `free -h`:\n\n```");
    rep.line(free.trim_end());
    rep.line("```");
}

pub fn fmt_ns(ns: u64) -> String {
    if ns < 1_000 {
        format!("{ns} ns")
    } else {
        fmt_us(ns as f64 / 1000.0)
    }
}

pub fn fmt_us(us: f64) -> String {
    if us < 10.0 {
        return format!("{us:.2} µs");
    }
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

pub fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}
