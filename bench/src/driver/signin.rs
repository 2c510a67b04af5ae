//! Sign-in under load: signed-in `GET /me` alone vs while clients sign in continuously (real argon2id).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common::median;

use super::config::Config;
use super::http::sign_in;
use super::procs::{spawn_server, wait_ready, Children};
use super::report::{fmt_us, Report};
use super::wrk::{wrk, wrk_command, WrkRun, LOGIN_LUA, REPORT_LUA};

#[derive(Clone, Copy)]
pub struct SigninResult {
    pub p99_idle: f64,
    pub p99_busy: f64,
    /// Median over rounds of (p99 with sign-ins / p99 alone) of the same round.
    pub paired_ratio: f64,
}

/// The sign-in-under-load variants: keycard's own hashing limit, and a stricter bench-server variant.
const SIGNIN_VARIANTS: &[(&str, &[&str])] = &[
    (
        "keycard: `PasswordHasher::verify` (library defaults: at most half the cores hash at once, bounded queue)",
        &["--argon2"],
    ),
    (
        "variant: 1 verification at a time, hashing thread at lower priority (bench server only)",
        &["--argon2", "--hash-permits", "1"],
    ),
];

/// The `GET /me` loads of the sign-in measurement: (label, pause in ms each connection takes between two
/// requests). Saturating shows how much CPU the hashing takes from requests on these 2 cores; paced (well
/// under the saturated rate) shows whether a request waits behind hashing, which is the stall the target
/// is about.
const SIGNIN_LOADS: &[(&str, u32)] = &[
    ("paced: each connection pauses 2 ms between requests", 2),
    ("saturating: no pause", 0),
];

pub fn signin_under_load(
    cfg: &Config,
    exe: &Path,
    db: &Path,
    redis_url: &str,
    report_lua: &Path,
    children: &mut Children,
    rep: &mut Report,
) -> Result<SigninResult, String> {
    let login_lua = cfg.work.join("login.lua");
    let login = LOGIN_LUA.replace("USERS", &cfg.users.clamp(1, 1000).to_string());
    std::fs::write(&login_lua, format!("{login}\n{REPORT_LUA}"))
        .map_err(|e| format!("write lua: {e}"))?;
    let mut scripts = Vec::new();
    for (i, (_, pause)) in SIGNIN_LOADS.iter().enumerate() {
        if *pause == 0 {
            scripts.push(report_lua.to_path_buf());
        } else {
            let p = cfg.work.join(format!("report-paced-{i}.lua"));
            std::fs::write(
                &p,
                format!("{REPORT_LUA}\ndelay = function() return {pause} end\n"),
            )
            .map_err(|e| format!("write lua: {e}"))?;
            scripts.push(p);
        }
    }
    let mut servers = Vec::new();
    for (i, (_, extra)) in SIGNIN_VARIANTS.iter().enumerate() {
        let name = format!("keycard-memory-signin{i}");
        let port = spawn_server(
            children,
            exe,
            "keycard-memory",
            &name,
            db,
            redis_url,
            &cfg.work,
            extra,
        )?;
        wait_ready(children, &name, port)?;
        let s = sign_in(&name, port, 1)?;
        wrk(
            report_lua,
            port,
            Some(&s.cookie),
            1,
            cfg.threads,
            cfg.connections,
        )?; // warm-up
        servers.push(s);
    }
    // Per (variant, load): p99 alone, p99 with sign-ins, req/s alone, req/s with, sign-ins/s, and the p99
    // ratio of the same round (the two runs of a pair are adjacent in time: same background load).
    let mut m: Vec<Vec<[Vec<f64>; 6]>> =
        vec![vec![Default::default(); SIGNIN_LOADS.len()]; servers.len()];
    for round in 0..cfg.rounds {
        for (li, script) in scripts.iter().enumerate() {
            for (vi, s) in servers.iter().enumerate() {
                let alone = wrk(
                    script,
                    s.port,
                    Some(&s.cookie),
                    cfg.duration_s,
                    cfg.threads,
                    cfg.connections,
                )?;
                // The sign-in clients run a little longer than the measured window, on both sides of it;
                // their own result goes to a file, read when they are done.
                let login_out = cfg.work.join(format!("login-{vi}.out"));
                let f = std::fs::File::create(&login_out)
                    .map_err(|e| format!("{}: {e}", login_out.display()))?;
                let mut bg = wrk_command(&login_lua, cfg.duration_s + 1, 1, cfg.signin_clients)
                    .arg(format!("http://127.0.0.1:{}/login", s.port))
                    .stdout(f)
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("wrk: {e}"))?;
                std::thread::sleep(Duration::from_millis(300));
                let busy = wrk(
                    script,
                    s.port,
                    Some(&s.cookie),
                    cfg.duration_s,
                    cfg.threads,
                    cfg.connections,
                );
                let _ = bg.wait();
                let busy = busy?;
                let lo = std::fs::read_to_string(&login_out).unwrap_or_default();
                let l: WrkRun = lo
                    .lines()
                    .find_map(|l| l.strip_prefix("BENCHJSON "))
                    .ok_or_else(|| format!("sign-in wrk printed no result: {lo}"))
                    .and_then(|j| serde_json::from_str(j).map_err(|e| format!("{e}")))?;
                if l.status > 0 || l.requests == 0 {
                    return Err(format!(
                        "sign-in clients: {} requests, {} non-2xx answers",
                        l.requests, l.status
                    ));
                }
                if alone.errors() + busy.errors() > 0 {
                    return Err(format!(
                        "GET /me errors during the sign-in measurement: {} alone, {} with sign-ins",
                        alone.errors(),
                        busy.errors()
                    ));
                }
                eprintln!(
                    "[bench] sign-in round {} load {li} variant {vi}: /me {:.0} req/s p99 {:.0} us alone; {:.0} req/s p99 {:.0} us with {} sign-in clients ({:.1} sign-ins/s)",
                    round + 1,
                    alone.rps(),
                    alone.p99_us,
                    busy.rps(),
                    busy.p99_us,
                    cfg.signin_clients,
                    l.rps(),
                );
                for (slot, v) in m[vi][li].iter_mut().zip([
                    alone.p99_us,
                    busy.p99_us,
                    alone.rps(),
                    busy.rps(),
                    l.rps(),
                    busy.p99_us / alone.p99_us,
                ]) {
                    slot.push(v);
                }
            }
        }
    }
    rep.line(format!(
        "\n### Sign-in under load: `keycard-memory`, signed-in `GET /me` (wrk -t{} -c{} -d{}s) alone vs while {} clients sign in continuously (real argon2id verify), medians of {} rounds\n",
        cfg.threads, cfg.connections, cfg.duration_s, cfg.signin_clients, cfg.rounds
    ));
    rep.line("| `GET /me` load | password check | req/s alone | with sign-ins | p99 alone | with sign-ins | p99 ratio (median of per-round ratios) | sign-ins/s |");
    rep.line("|---|---|---:|---:|---:|---:|---:|---:|");
    let mut target = None;
    for (li, (load, _)) in SIGNIN_LOADS.iter().enumerate() {
        for (vi, (label, _)) in SIGNIN_VARIANTS.iter().enumerate() {
            let v = &m[vi][li];
            let r = SigninResult {
                p99_idle: median(&v[0]),
                p99_busy: median(&v[1]),
                paired_ratio: median(&v[5]),
            };
            target.get_or_insert(r);
            rep.line(format!(
                "| {load} | {label} | {:.0} | {:.0} | {} | {} | {:.2} | {:.1} |",
                median(&v[2]),
                median(&v[3]),
                fmt_us(r.p99_idle),
                fmt_us(r.p99_busy),
                r.paired_ratio,
                median(&v[4]),
            ));
        }
    }
    target.ok_or_else(|| "no sign-in variant ran".to_owned())
}
