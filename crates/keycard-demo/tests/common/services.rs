//! The services some suites need (PostgreSQL, Redis, a `redis-server` binary), and the skip rule: the
//! test kit's helpers (`keycard_store_tests::services` and `keycard_store_tests::skip`), plus the demo's
//! key prefix.
//!
//! | env | default | used by |
//! |---|---|---|
//! | `KEYCARD_TEST_POSTGRES_URL` | `postgres://postgres@127.0.0.1:5432/test` | `db`, `two_nodes`, the HTTP suite on PostgreSQL: a scratch database is created beside it per test and dropped |
//! | `KEYCARD_TEST_REDIS_URL` | `redis://127.0.0.1:6379` | `two_nodes`, the HTTP suite on Redis: a unique key prefix per test |
//! | `KEYCARD_TEST_REDIS_CLUSTER_URL` | `redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002` | `two_nodes`, the HTTP suite with `KEYCARD_TEST_CACHE=redis-cluster` (`scripts/redis-cluster.sh start`) |
//! | `KEYCARD_TEST_REDIS_SERVER` | `redis-server` (on `PATH`) | `outage`: a server of the test's own on a free port |
//! | `KEYCARD_REQUIRE_SERVICES` | unset | `1` (CI): an unreachable service fails the test instead of skipping it |
//!
//! **The skip rule** (`keycard_store_tests::skip`): a test whose service cannot be reached prints one
//! line, `SKIPPED: <test>: <why>`, straight to the process' stderr (libtest captures `eprintln!` of
//! passing tests) and passes, unless `KEYCARD_REQUIRE_SERVICES=1`, which makes it a failure; each test
//! binary prints the number of skipped suites when it exits.

#[allow(unused_imports)] // each test binary uses some of them
pub use keycard_store_tests::services::{
    postgres_or_skip, postgres_url, redis_cluster_or_skip, redis_cluster_url, redis_or_skip,
    redis_url, RedisKeys, ScratchDb,
};

/// A key prefix no other test or run uses.
pub fn unique_prefix(tag: &str) -> String {
    format!("keycard-demo-test:{tag}:{}:", super::random_hex(6))
}
