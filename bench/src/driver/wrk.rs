//! Driving `wrk`: the Lua scripts that make it print one `BENCHJSON` line, and its runs.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::Deserialize;

use super::procs::die_with_parent;

/// What `wrk` reports through `report.lua`.
#[derive(Debug, Clone, Deserialize)]
pub struct WrkRun {
    pub requests: u64,
    pub duration_us: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub status: u64,
    pub timeout: u64,
}

impl WrkRun {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }
    pub fn errors(&self) -> u64 {
        self.connect + self.read + self.write + self.status + self.timeout
    }
}

pub const REPORT_LUA: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCHJSON {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%f,\"p99_us\":%f,\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"#;

/// Sign-in clients: POST /login as users 1..=USERS in turn (USERS: min(1000, users in the table)), each response a new session (its cookie unused).
pub const LOGIN_LUA: &str = r#"
local i = 0
request = function()
  i = (i % USERS) + 1
  local body = "email=user" .. i .. "%40bench.invalid&password=bench-password"
  return wrk.format("POST", "/login", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
"#;

pub fn wrk_command(script: &Path, secs: u64, threads: u32, conns: u32) -> Command {
    let mut cmd = Command::new("wrk");
    cmd.arg(format!("-t{threads}"))
        .arg(format!("-c{conns}"))
        .arg(format!("-d{secs}s"))
        .args(["--timeout", "10s", "-s"])
        .arg(script)
        .stdin(Stdio::null());
    die_with_parent(&mut cmd);
    cmd
}

pub fn parse_wrk(out: &std::process::Output, what: &str) -> Result<WrkRun, String> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCHJSON "))
        .ok_or_else(|| {
            format!(
                "wrk ({what}) printed no result: {} {}",
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })?;
    serde_json::from_str(line).map_err(|e| format!("wrk result {line:?}: {e}"))
}

/// The script of a `GET /me` run over several sessions: each request carries the next cookie, each wrk
/// thread starting at its own place in the list (so the threads do not walk it in step), and the report.
pub fn cycling_lua(cookies: &[&str]) -> Result<String, String> {
    if let Some(c) = cookies.iter().find(|c| c.contains(['"', '\\', '\n'])) {
        return Err(format!("cookie {c:?} cannot go in a Lua string"));
    }
    let list: Vec<String> = cookies.iter().map(|c| format!("\"{c}\"")).collect();
    Ok(format!(
        r#"
local cookies = {{ {} }}
local started = 0
setup = function(thread)
  thread:set("start", started)
  started = started + {}
end
local i = 0
init = function(args) i = start or 0 end
request = function()
  i = (i % #cookies) + 1
  return wrk.format(nil, nil, {{ ["Cookie"] = cookies[i] }})
end
{REPORT_LUA}"#,
        list.join(", "),
        cookies.len() / 2 + 1
    ))
}

/// One `wrk` run of signed-in `GET /me`.
pub fn wrk(
    script: &Path,
    port: u16,
    cookie: Option<&str>,
    secs: u64,
    threads: u32,
    conns: u32,
) -> Result<WrkRun, String> {
    let mut cmd = wrk_command(script, secs, threads, conns);
    if let Some(cookie) = cookie {
        cmd.args(["-H", &format!("Cookie: {cookie}")]);
    }
    let out = cmd
        .arg(format!("http://127.0.0.1:{port}/me"))
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    parse_wrk(&out, "GET /me")
}
