//! `keycard-bench run`: the whole benchmark of issue 5, in one process that starts and stops everything.
//!
//! 1. makes the SQLite users table (N users, one real argon2id hash shared by all);
//! 2. starts every server kind on its own loopback port (this binary, `server --kind …`), signs in to each to
//!    get a real session cookie and checks that `GET /me` answers the same body everywhere;
//! 3. drives `GET /me` with `wrk` (fixed threads, connections and duration) in rounds that alternate between
//!    the servers, and prints requests/s, p50 and p99 per server (medians over the rounds) and the ratio of
//!    each to `bare`;
//! 4. sign-in under load, memory-store scale and `put_user` cost (see the issue);
//! 5. prints every issue-5 target as met or missed;
//! 6. draws the `GET /me` side-by-side and the scale curves as SVG charts (`charts`) into `--charts`.
//!
//! Servers die with the driver (`PR_SET_PDEATHSIG`) and are killed when it returns; every loop is bounded.

mod charts;
mod config;
mod http;
mod me;
pub(crate) mod procs;
mod redis;
mod report;
mod servers;
mod signin;
pub mod sizing;
mod sizing_report;
mod stores;
mod targets;
mod wrk;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

pub use config::RunArgs;

use config::Config;
use procs::Children;
use redis::{cleanup_redis, redis_ping, REDIS_DB};
use report::{machine, Report};
use wrk::REPORT_LUA;

pub fn main(args: RunArgs) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let cfg = Config::from_args(args, &exe);
    let started = Instant::now();
    let mut rep = Report(String::new());
    let result = run(&cfg, &exe, &mut rep);
    rep.line(format!(
        "\n_Whole run (after the build): {:.0} s._",
        started.elapsed().as_secs_f64()
    ));
    if let Some(out) = &cfg.out {
        std::fs::write(out, &rep.0).map_err(|e| format!("write {}: {e}", out.display()))?;
        println!("(report written to {})", out.display());
    }
    result
}

fn run(cfg: &Config, exe: &Path, rep: &mut Report) -> Result<(), String> {
    std::fs::create_dir_all(&cfg.work).map_err(|e| format!("mkdir {}: {e}", cfg.work.display()))?;
    std::fs::create_dir_all(&cfg.charts)
        .map_err(|e| format!("mkdir {}: {e}", cfg.charts.display()))?;
    let wrk_version = Command::new("wrk").arg("-v").output().map_err(|e| {
        format!("wrk not found ({e}): install it (`apt-get install -y wrk`; bench/run.sh does)")
    })?;
    let wrk_version = String::from_utf8_lossy(&wrk_version.stdout)
        .lines()
        .next()
        .unwrap_or("wrk")
        .to_owned();
    machine(rep, &wrk_version);
    let report_lua = cfg.work.join("report.lua");
    std::fs::write(&report_lua, REPORT_LUA).map_err(|e| format!("write lua: {e}"))?;

    // 1. The users table.
    let db = cfg.work.join("users.db");
    let t = Instant::now();
    crate::init_db::init(&db, cfg.users)?;
    eprintln!(
        "[bench] users table: {} users in {:.1} s",
        cfg.users,
        t.elapsed().as_secs_f64()
    );

    let redis_up = redis_ping();
    if redis_up {
        // Whatever an interrupted earlier run left behind.
        cleanup_redis(&cfg.work);
    }
    let redis_url = format!("redis://127.0.0.1:6379/{REDIS_DB}");

    // 2. Servers, each signed in to once.
    let mut children = Children::default();
    let started = servers::start_all(cfg, exe, &db, &redis_url, redis_up, &mut children)?;

    // 3. GET /me, rounds alternating between servers; the same request in-process.
    let me = me::measure(
        cfg,
        &started.servers,
        &started.skipped,
        started.expected_body.as_deref(),
        &report_lua,
        rep,
    )?;
    if cfg.kinds.iter().any(|k| k == "keycard-memory") {
        me::layer_cost(exe, &db, rep)?;
    }

    // 4a. Sign-in under load.
    let signin = if cfg.kinds.iter().any(|k| k == "keycard-memory") {
        Some(signin::signin_under_load(
            cfg,
            exe,
            &db,
            &redis_url,
            &report_lua,
            &mut children,
            rep,
        )?)
    } else {
        None
    };

    // Servers are done: stop them before the in-process store measurements.
    drop(children);
    if redis_up {
        cleanup_redis(&cfg.work);
    }

    // 4b. Memory store scale.
    let scale = stores::store_scale(cfg, exe, rep)?;
    // 4c. put_user.
    stores::put_user(exe, redis_up && cfg!(feature = "redis"), &redis_url, rep)?;

    // 5. Targets.
    targets::targets(&me.stats, &me.cpu_totals, signin, &scale, rep);
    Ok(())
}
