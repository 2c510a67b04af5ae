//! The services some suites need (PostgreSQL, Redis, a `redis-server` binary), and the skip rule.
//!
//! | env | default | used by |
//! |---|---|---|
//! | `KEYCARD_TEST_POSTGRES_URL` | `postgres://postgres@127.0.0.1:5432/test` | `db`, `two_nodes`, the HTTP suite on PostgreSQL: a scratch database is created beside it per test and dropped |
//! | `KEYCARD_TEST_REDIS_URL` | `redis://127.0.0.1:6379` | `two_nodes`, the HTTP suite on Redis: a unique key prefix per test |
//! | `KEYCARD_TEST_REDIS_SERVER` | `redis-server` (on `PATH`) | `outage`: a server of the test's own on a free port |
//! | `KEYCARD_REQUIRE_SERVICES` | unset | `1` (CI): an unreachable service fails the test instead of skipping it |
//!
//! **The skip rule**: a test whose service cannot be reached prints one line, `<test>: SKIPPED: <why>`, and
//! passes, unless `KEYCARD_REQUIRE_SERVICES=1`, which makes it a failure. The line is written to the
//! process' stderr with `std::io::Write`: libtest captures only the `print!`/`eprint!` family of macros,
//! so `eprintln!` in a passing test would only show with `--nocapture`, while a direct write always shows
//! in `cargo test` output.

use std::io::Write as _;
use std::time::Duration;

use sqlx::Connection as _;

/// Default administrative PostgreSQL URL (this machine: trust auth, database `test`).
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Default Redis URL.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Whether an unreachable service must fail the test (CI) instead of skipping it.
pub fn required() -> bool {
    std::env::var("KEYCARD_REQUIRE_SERVICES").is_ok_and(|v| v.trim() == "1")
}

/// Apply the skip rule: print `<test>: SKIPPED: <what>` on the real stderr, or panic when services are
/// required.
pub fn skip_or_fail(test: &str, what: &str) {
    if required() {
        panic!("{test}: {what}, and KEYCARD_REQUIRE_SERVICES=1 makes that a failure");
    }
    let _ = writeln!(
        std::io::stderr(),
        "{test}: SKIPPED: {what} (set KEYCARD_REQUIRE_SERVICES=1 to make this a failure)"
    );
}

/// The administrative PostgreSQL URL the tests use.
pub fn postgres_url() -> String {
    std::env::var("KEYCARD_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
}

/// The Redis URL the tests use.
pub fn redis_url() -> String {
    std::env::var("KEYCARD_TEST_REDIS_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_REDIS_URL.to_owned())
}

/// The `redis-server` binary the outage tests start.
pub fn redis_server_bin() -> String {
    std::env::var("KEYCARD_TEST_REDIS_SERVER")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "redis-server".to_owned())
}

/// One connection and `SELECT 1`, bounded.
pub async fn postgres_reachable(url: &str) -> Result<(), String> {
    let probe = async {
        let mut c = sqlx::PgConnection::connect(url).await?;
        sqlx::query("SELECT 1").execute(&mut c).await?;
        c.close().await
    };
    match tokio::time::timeout(Duration::from_secs(5), probe).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 5 s".to_owned()),
    }
}

/// One connection and `PING`, bounded.
pub async fn redis_reachable(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| format!("invalid URL: {e}"))?;
    let ping = async {
        let mut c = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut c).await
    };
    match tokio::time::timeout(Duration::from_secs(3), ping).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 3 s".to_owned()),
    }
}

/// The PostgreSQL admin URL if it answers; else the skip rule, and `None`.
pub async fn postgres_or_skip(test: &str) -> Option<String> {
    let url = postgres_url();
    match postgres_reachable(&url).await {
        Ok(()) => Some(url),
        Err(e) => {
            skip_or_fail(
                test,
                &format!(
                    "PostgreSQL not reachable at {} ({e}); set KEYCARD_TEST_POSTGRES_URL",
                    keycard_demo::config::redact_url(&url)
                ),
            );
            None
        }
    }
}

/// The Redis URL if it answers; else the skip rule, and `None`.
pub async fn redis_or_skip(test: &str) -> Option<String> {
    let url = redis_url();
    match redis_reachable(&url).await {
        Ok(()) => Some(url),
        Err(e) => {
            skip_or_fail(
                test,
                &format!(
                    "Redis not reachable at {} ({e}); set KEYCARD_TEST_REDIS_URL",
                    keycard_demo::config::redact_url(&url)
                ),
            );
            None
        }
    }
}

/// A key prefix no other test or run uses.
pub fn unique_prefix(tag: &str) -> String {
    format!("keycard-demo-test:{tag}:{}:", super::random_hex(6))
}

/// Delete every key under `prefix` (test clean-up; `SCAN` is fine here, never on a request path).
pub async fn delete_redis_prefix(url: &str, prefix: &str) {
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(Ok(mut c)) = tokio::time::timeout(
        Duration::from_secs(3),
        client.get_multiplexed_async_connection(),
    )
    .await
    else {
        return;
    };
    let mut cursor: u64 = 0;
    for _ in 0..10_000 {
        let reply: Result<(u64, Vec<Vec<u8>>), _> = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(500)
            .query_async(&mut c)
            .await;
        let Ok((next, keys)) = reply else { return };
        if !keys.is_empty() {
            let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query_async(&mut c).await;
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
}

/// Deletes every key under a prefix when dropped (however the test ends; keys also expire by themselves).
pub struct RedisKeys {
    pub url: String,
    pub prefix: String,
}

impl Drop for RedisKeys {
    fn drop(&mut self) {
        let (url, prefix) = (self.url.clone(), self.prefix.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(delete_redis_prefix(&url, &prefix));
            }
        })
        .join();
    }
}

/// A PostgreSQL database of one test's own, beside the admin URL's database: created by [`ScratchDb::create`],
/// dropped (`WITH (FORCE)`, so open pools do not block it) on drop.
pub struct ScratchDb {
    admin_url: String,
    /// The database name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl ScratchDb {
    /// Create `keycard_demo_<tag>_<random>` on the server of `admin_url`.
    pub async fn create(admin_url: &str, tag: &str) -> ScratchDb {
        let name = format!("keycard_demo_{tag}_{}", super::random_hex(6));
        assert!(name.len() <= 63, "database name too long: {name}");
        let (base, query) = match admin_url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (admin_url, String::new()),
        };
        let server = base
            .rsplit_once('/')
            .map(|(s, _)| s)
            .filter(|s| s.contains("://") && !s.ends_with('/'))
            .unwrap_or_else(|| panic!("the PostgreSQL URL must name a database: {base}"));
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("create a scratch database");
        let _ = admin.close().await;
        ScratchDb {
            admin_url: admin_url.to_owned(),
            url: format!("{server}/{name}{query}"),
            name,
        }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        // Drop may run inside a runtime (and while panicking): do the async work on a thread of its own.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let work = async {
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut admin)
                        .await?;
                    admin.close().await
                };
                tokio::time::timeout(Duration::from_secs(15), work)
                    .await
                    .ok()?
                    .ok()
            })
        })
        .join();
        if !matches!(done, Ok(Some(()))) {
            let _ = writeln!(
                std::io::stderr(),
                "warning: could not drop the scratch database {}",
                self.name
            );
        }
    }
}
