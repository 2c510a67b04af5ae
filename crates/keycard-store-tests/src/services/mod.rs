//! The services some suites need, in one place: where they are, whether they answer, a `redis-server` of
//! a test's own, and scratch space on the shared ones.
//!
//! | env | default | what |
//! |---|---|---|
//! | `KEYCARD_TEST_REDIS_URL` | `redis://127.0.0.1:6379` | the shared Redis; tests isolate themselves with a [`unique_prefix`] |
//! | `KEYCARD_TEST_REDIS_CLUSTER_URL` | `redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002` | the shared Redis Cluster (`scripts/redis-cluster.sh start`) |
//! | `KEYCARD_TEST_POSTGRES_URL` | `postgres://postgres@127.0.0.1:5432/test` | the administrative PostgreSQL URL; tests create a scratch database beside it |
//! | `KEYCARD_TEST_REDIS_SERVER` | `redis-server` (on `PATH`) | the binary [`OwnRedis`] starts |
//! | `KEYCARD_TEST_PG_BIN` | the newest `/usr/lib/postgresql/*/bin` | where [`OwnPostgres`] finds `initdb` and `pg_ctl` |
//! | `KEYCARD_TEST_PYTHON` | `python3` (on `PATH`) | the Python (with `aiosmtpd`: `scripts/smtp-sink.sh`) that runs [`OwnSmtp`] |
//! | `KEYCARD_REQUIRE_SERVICES` | unset | `1`: an unreachable service fails the test instead of skipping it ([`crate::skip`]) |
//!
//! The URLs and the prefix need no client library and are always here. The reachability checks and
//! helpers are behind the crate's features: `redis` ([`redis_reachable`], [`redis_or_skip`],
//! [`OwnRedis`], [`RedisKeys`], a `MONITOR` feed: [`monitor`]) and `postgres` ([`postgres_reachable`],
//! [`postgres_or_skip`], [`ScratchDb`], [`run_database_or_skip`], [`OwnPostgres`]) and `smtp`
//! ([`OwnSmtp`]: an SMTP server of a test's own, and [`SinkMessage`]: what it received, parsed), so an
//! out-of-tree store that needs none of them stays light.

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod monitor;
#[cfg(feature = "postgres")]
mod own_postgres;
#[cfg(feature = "redis")]
mod own_redis;
#[cfg(feature = "smtp")]
mod own_smtp;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "smtp")]
mod smtp_message;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use own_postgres::OwnPostgres;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use own_redis::OwnRedis;
#[cfg(feature = "smtp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smtp")))]
pub use own_smtp::{python_bin, OwnSmtp, SmtpSinkOptions};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{postgres_or_skip, postgres_reachable, run_database_or_skip, ScratchDb};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{
    delete_redis_prefix, redis_cluster_or_skip, redis_cluster_reachable, redis_or_skip,
    redis_reachable, RedisKeys,
};
#[cfg(feature = "smtp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smtp")))]
pub use smtp_message::SinkMessage;

/// Default administrative PostgreSQL URL (trust auth, database `test`).
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Default Redis URL.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Default Redis Cluster URL (the cluster `scripts/redis-cluster.sh start` runs).
pub const DEFAULT_REDIS_CLUSTER_URL: &str =
    "redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The shared Redis the tests use (`KEYCARD_TEST_REDIS_URL`).
pub fn redis_url() -> String {
    env_or("KEYCARD_TEST_REDIS_URL", DEFAULT_REDIS_URL)
}

/// The shared Redis Cluster the tests use (`KEYCARD_TEST_REDIS_CLUSTER_URL`).
pub fn redis_cluster_url() -> String {
    env_or("KEYCARD_TEST_REDIS_CLUSTER_URL", DEFAULT_REDIS_CLUSTER_URL)
}

/// The administrative PostgreSQL URL the tests use (`KEYCARD_TEST_POSTGRES_URL`).
pub fn postgres_url() -> String {
    env_or("KEYCARD_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
}

/// The `redis-server` binary [`OwnRedis`] starts (`KEYCARD_TEST_REDIS_SERVER`).
pub fn redis_server_bin() -> String {
    env_or("KEYCARD_TEST_REDIS_SERVER", "redis-server")
}

/// A key prefix no other test or run uses: `keycard-test:<tag>:<random>:`.
pub fn unique_prefix(tag: &str) -> String {
    format!("keycard-test:{tag}:{}:", random_hex(6))
}

/// `n` random bytes as hex (from the OS, through the session id generator).
pub fn random_hex(n: usize) -> String {
    let mut out = String::with_capacity(2 * n);
    while out.len() < 2 * n {
        out.push_str(&keycard::SessionId::generate().to_hex());
    }
    out.truncate(2 * n);
    out
}

/// `url` without its password, for messages: `redis://:hunter2@h:6379` → `redis://…@h:6379`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}
