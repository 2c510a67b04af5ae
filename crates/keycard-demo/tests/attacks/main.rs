//! The attacks of issue 18, each against the real demo router (`TestApp`: the memory store by default;
//! `.ci/run` runs this binary again on SQLite, PostgreSQL, Redis and the Redis Cluster through
//! `KEYCARD_TEST_CACHE`). One module per finding; every test here failed before its fix.

#[path = "../common/mod.rs"]
mod common;

mod caps;
mod grace;
mod reauth_throttle;
mod redirect;
mod registration;
mod remember_stall;
mod slow_clients;
mod sudo_gap;
