//! Starting every server kind, signing in to each, and checking that they all answer `GET /me` alike.

use std::io::Write;
use std::path::Path;

use super::config::Config;
use super::http::{sign_in, Server};
use super::procs::{spawn_server, wait_ready, Children};
use super::redis::leftovers_file;

/// The servers that run, signed in; the kinds that cannot run here, and why; the body every server gave.
pub struct Started {
    pub servers: Vec<Server>,
    pub skipped: Vec<(String, &'static str)>,
    pub expected_body: Option<String>,
}

/// Start every kind `cfg` asks for (those needing Redis only when `redis_up`), each on its own port.
pub fn start_all(
    cfg: &Config,
    exe: &Path,
    db: &Path,
    redis_url: &str,
    redis_up: bool,
    children: &mut Children,
) -> Result<Started, String> {
    let redis_built = cfg!(feature = "redis");
    let mut skipped: Vec<(String, &'static str)> = Vec::new();
    let mut servers: Vec<Server> = Vec::new();
    let mut pending: Vec<(String, u16)> = Vec::new();
    for kind in &cfg.kinds {
        if kind.contains("redis") && !redis_up {
            skipped.push((kind.clone(), "no Redis answering at 127.0.0.1:6379"));
            continue;
        }
        if kind.starts_with("keycard-postgres") && !postgres_up() {
            skipped.push((kind.clone(), "no PostgreSQL answering at 127.0.0.1:5432"));
            continue;
        }
        if kind.starts_with("keycard-redis") && !redis_built {
            skipped.push((kind.clone(), "built without the `redis` feature"));
            continue;
        }
        let port = spawn_server(children, exe, kind, kind, db, redis_url, &cfg.work, &[])?;
        pending.push((kind.clone(), port));
    }
    let mut expected_body: Option<String> = None;
    for (kind, port) in pending {
        wait_ready(children, &kind, port)?;
        let mut s = sign_in(&kind, port, 1)?;
        note_leftovers(cfg, &kind, &s.cookie)?;
        for user in 2..=cfg.sessions {
            let cookie = sign_in(&kind, port, user)?.cookie;
            note_leftovers(cfg, &kind, &cookie)?;
            s.more_cookies.push(cookie);
        }
        s.pid = children
            .0
            .iter()
            .find(|(name, _)| *name == kind)
            .map_or(0, |(_, c)| c.id());
        match &expected_body {
            None => expected_body = Some(s.body.clone()),
            Some(b) if *b != s.body => {
                return Err(format!(
                    "{kind}: GET /me answered {:?}, others {b:?}",
                    s.body
                ))
            }
            Some(_) => {}
        }
        servers.push(s);
    }
    if servers.is_empty() {
        return Err("no server could run".to_owned());
    }
    Ok(Started {
        servers,
        skipped,
        expected_body,
    })
}

/// axum-login-redis: its Redis key is the session id, the cookie's value: note it before anything can fail.
fn note_leftovers(cfg: &Config, kind: &str, cookie: &str) -> Result<(), String> {
    if kind != "axum-login-redis" {
        return Ok(());
    }
    let ids: String = cookie
        .split("; ")
        .filter_map(|c| c.split_once('=').map(|(_, v)| format!("{v}\n")))
        .collect();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(leftovers_file(&cfg.work))
        .map_err(|e| format!("leftovers file: {e}"))?;
    f.write_all(ids.as_bytes())
        .map_err(|e| format!("leftovers file: {e}"))
}

/// Does something accept connections on PostgreSQL's port (127.0.0.1:5432)?
fn postgres_up() -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], 5432)),
        std::time::Duration::from_secs(1),
    )
    .is_ok()
}
