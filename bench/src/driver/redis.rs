//! The bench's Redis (db 13 on 127.0.0.1:6379): is it up, how much CPU it used, and cleaning up what the
//! Redis rows wrote (through `crate::resp`).

use std::path::{Path, PathBuf};

use crate::resp::{Resp, RespReply};

const REDIS_ADDR: &str = "127.0.0.1:6379";
pub const REDIS_DB: &str = "13";
pub const KEYCARD_PREFIX: &str = "keycard-bench:";

/// CPU time redis-server has used so far (INFO cpu), in microseconds.
pub fn redis_cpu_us() -> Option<f64> {
    let mut r = Resp::connect(REDIS_ADDR).ok()?;
    let RespReply::Bulk(Some(info)) = r.cmd(&["INFO", "cpu"]).ok()? else {
        return None;
    };
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    Some((field("used_cpu_sys:")? + field("used_cpu_user:")?) * 1e6)
}

/// Is a Redis answering PING at 127.0.0.1:6379?
pub fn redis_ping() -> bool {
    let Ok(mut r) = Resp::connect(REDIS_ADDR) else {
        return false;
    };
    matches!(r.cmd(&["PING"]), Ok(RespReply::Simple(s)) if s == "PONG")
}

/// Where the driver notes the Redis keys it cannot find by prefix (the axum-login session ids), so that a
/// run that was interrupted before its cleanup has them deleted by the next run.
pub fn leftovers_file(work: &Path) -> PathBuf {
    work.join("redis-keys-to-delete.txt")
}

/// Remove what the Redis rows wrote, in the bench's own db: the keys listed in the leftovers file (the
/// axum-login sessions: tower-sessions' Redis store has no key prefix, its key is the cookie value) and
/// every key under keycard's bench prefix.
pub fn cleanup_redis(work: &Path) {
    let listed = std::fs::read_to_string(leftovers_file(work)).unwrap_or_default();
    let Ok(mut r) = Resp::connect(REDIS_ADDR) else {
        return;
    };
    if r.cmd(&["SELECT", REDIS_DB]).is_err() {
        return;
    }
    for key in listed.lines().map(str::trim).filter(|k| !k.is_empty()) {
        let _ = r.cmd(&["DEL", key]);
    }
    let _ = std::fs::remove_file(leftovers_file(work));
    // Both keycard prefixes: the server's (`keycard-bench:`) and put-user's (`keycard-bench-put:`).
    let pattern = format!("{}*", KEYCARD_PREFIX.trim_end_matches(':'));
    let mut cursor = "0".to_owned();
    let mut deleted = 0usize;
    for _ in 0..100_000 {
        let Ok(RespReply::Array(parts)) =
            r.cmd(&["SCAN", &cursor, "MATCH", &pattern, "COUNT", "1000"])
        else {
            break;
        };
        let [RespReply::Bulk(Some(next)), RespReply::Array(keys)] = parts.as_slice() else {
            break;
        };
        for k in keys {
            if let RespReply::Bulk(Some(k)) = k {
                if r.cmd(&["DEL", k]).is_ok() {
                    deleted += 1;
                }
            }
        }
        cursor = next.clone();
        if cursor == "0" {
            break;
        }
    }
    eprintln!("[bench] redis cleanup: {deleted} keycard keys deleted from db {REDIS_DB}");
}
