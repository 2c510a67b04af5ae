//! The skip rule, and the count of skipped suites at the end of a test run.
//!
//! # The rule
//! A suite whose service (Redis, PostgreSQL, a `redis-server` binary) cannot be reached **skips**: it
//! writes one line, `SKIPPED: <suite>: <reason>`, and passes. With `KEYCARD_REQUIRE_SERVICES=1` (CI) the same
//! situation **fails** the test instead. The line goes straight to the process' stderr with
//! [`std::io::Write`]: libtest captures the output of passing tests written with `eprintln!`, so a skip
//! announced that way would only show with `--nocapture`.
//!
//! # The count
//! A passing skip is easy to overlook among hundreds of `ok` lines, so the count is repeated where a
//! person looks, at the end:
//! - **Per test binary.** When a test binary that used this crate exits (an `atexit` hook, armed by the
//!   first suite or skip), it prints a banner with the number of suites skipped in that binary, and the
//!   first distinct reasons. It comes right after libtest's `test result:` line for that binary.
//! - **Per `cargo test` run.** Each binary also adds its count to a small file keyed by its parent
//!   process (the `cargo` that runs the binaries one after another: its pid and start time, so a recycled
//!   pid never adds to an old count), `$TMPDIR/keycard-skips/<pid>-<start>`, and prints the total of the
//!   run so far. The last binary of the run that uses this crate therefore prints the run's total. When
//!   the parent is not `cargo` (a binary run by hand) only the binary's own count is printed. Files older
//!   than a day are removed when a new one is written.
//!
//! Nothing is printed by a binary in which nothing was skipped and whose run has skipped nothing so far.

use std::fmt::Display;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Mutex, Once};
use std::time::Duration;

/// The variable that turns a skip into a failure.
pub const REQUIRE_SERVICES: &str = "KEYCARD_REQUIRE_SERVICES";

/// Whether an unreachable service must fail the test (`KEYCARD_REQUIRE_SERVICES=1`) instead of skipping it.
pub fn services_required() -> bool {
    std::env::var(REQUIRE_SERVICES).is_ok_and(|v| v.trim() == "1")
}

/// Apply the skip rule to `suite`: print `SKIPPED: <suite>: <reason>` on the real stderr and count it, or
/// panic when services are required.
///
/// # Panics
/// When `KEYCARD_REQUIRE_SERVICES=1`.
pub fn skip_or_fail(suite: &str, reason: &dyn Display) {
    arm();
    if services_required() {
        panic!("{suite}: {reason}, and {REQUIRE_SERVICES}=1 makes that a failure");
    }
    let line = format!("SKIPPED: {suite}: {reason}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    skips().push((suite.to_owned(), reason.to_string()));
}

/// `Some(value)`, or the skip rule applied to the `Err` reason and `None`.
///
/// ```no_run
/// # async fn connect() -> Result<u32, String> { Ok(1) }
/// # async fn t() {
/// let Some(conn) = keycard_store_tests::skip::or_skip("my_suite", connect().await) else {
///     return; // skipped (and said so)
/// };
/// # let _ = conn; }
/// ```
pub fn or_skip<T, E: Display>(suite: &str, result: Result<T, E>) -> Option<T> {
    match result {
        Ok(v) => {
            arm();
            Some(v)
        }
        Err(reason) => {
            skip_or_fail(suite, &reason);
            None
        }
    }
}

/// How many suites skipped in this test binary so far.
pub fn skipped_in_this_binary() -> usize {
    skips().len()
}

/// Make sure the end-of-binary count is printed when the process exits. Idempotent; every entry point of
/// this crate calls it, so a binary that ran any suite reports the run's total.
pub fn arm() {
    static ARMED: Once = Once::new();
    ARMED.call_once(|| {
        if !shutdown_hooks::add_shutdown_hook(at_exit) {
            let _ = std::io::stderr()
                .write_all(b"keycard-store-tests: could not register the skip summary at exit\n");
        }
    });
}

fn skips() -> std::sync::MutexGuard<'static, Vec<(String, String)>> {
    static SKIPS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    SKIPS.lock().unwrap_or_else(|e| e.into_inner())
}

extern "C" fn at_exit() {
    // A panic must not unwind out of an `extern "C"` function.
    let _ = std::panic::catch_unwind(print_summary);
}

fn print_summary() {
    let skips = skips().clone();
    let binary = binary_name();
    let run = RunFile::of_parent().map(|f| f.add(&binary, skips.len()));
    let run_total = run.as_ref().map_or(0, |(total, _)| *total);
    if skips.is_empty() && run_total == 0 {
        return;
    }
    let bar = "!".repeat(100);
    let mut out = format!("\n{bar}\n");
    if !skips.is_empty() {
        out.push_str(&format!(
            "!!! SKIPPED: {} suite(s) of this test binary ({binary}) did NOT run\n",
            skips.len()
        ));
        let mut reasons: Vec<&str> = Vec::new();
        for (_, reason) in &skips {
            if !reasons.contains(&reason.as_str()) {
                reasons.push(reason);
            }
        }
        for reason in reasons.iter().take(3) {
            out.push_str(&format!("!!!   because: {reason}\n"));
        }
    }
    if let Some((total, binaries)) = run {
        out.push_str(&format!(
            "!!! SKIPPED in this `cargo test` run so far: {total} suite(s), in {binaries} test binary(ies)\n"
        ));
    }
    out.push_str(&format!(
        "!!! {REQUIRE_SERVICES}=1 turns every skip into a failure\n{bar}\n"
    ));
    let _ = std::io::stderr().write_all(out.as_bytes());
}

/// The test binary's name without cargo's hash suffix (`redis-0123abcd` → `redis`).
fn binary_name() -> String {
    let exe = std::env::current_exe().ok();
    let stem = exe
        .as_ref()
        .and_then(|p| p.file_stem())
        .and_then(|s| s.to_str())
        .unwrap_or("?");
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            name.to_owned()
        }
        _ => stem.to_owned(),
    }
}

/// The count file of the `cargo` process that runs this binary.
struct RunFile(PathBuf);

impl RunFile {
    /// `None` when the parent process is not `cargo` (or cannot be identified).
    #[cfg(unix)]
    fn of_parent() -> Option<RunFile> {
        let ppid = std::os::unix::process::parent_id();
        let comm = std::fs::read_to_string(format!("/proc/{ppid}/comm")).ok()?;
        if !matches!(comm.trim(), "cargo" | "cargo-nextest") {
            return None;
        }
        let stat = std::fs::read_to_string(format!("/proc/{ppid}/stat")).ok()?;
        // Field 22 (start time) counts from the field after the parenthesised command name.
        let started = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(19)?
            .to_owned();
        let dir = std::env::temp_dir().join("keycard-skips");
        std::fs::create_dir_all(&dir).ok()?;
        Some(RunFile(dir.join(format!("{ppid}-{started}"))))
    }

    #[cfg(not(unix))]
    fn of_parent() -> Option<RunFile> {
        None
    }

    /// Add this binary's count (when non-zero) and return the run's total and how many binaries skipped.
    fn add(&self, binary: &str, skipped: usize) -> (usize, usize) {
        if skipped > 0 {
            remove_stale(self.0.parent());
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.0)
            {
                let _ = f.write_all(format!("{skipped}\t{binary}\n").as_bytes());
            }
        }
        let text = std::fs::read_to_string(&self.0).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split('\t').next()?.parse::<usize>().ok())
            .fold((0, 0), |(total, n), s| (total + s, n + 1))
    }
}

/// Remove count files of runs that ended long ago.
fn remove_stale(dir: Option<&std::path::Path>) {
    let Some(entries) = dir.and_then(|d| std::fs::read_dir(d).ok()) else {
        return;
    };
    let day = Duration::from_secs(24 * 3600);
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > day);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
