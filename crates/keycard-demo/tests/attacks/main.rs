//! Issue 18's attacks against the real demo router, one module per finding: each test pins the behaviour
//! that stops the attack and fails without its fix. Runs on every store `.ci/run` gives the HTTP suites
//! (`KEYCARD_TEST_DATABASE`, `KEYCARD_TEST_CACHE`).

#[path = "../common/mod.rs"]
mod common;

mod reauth_throttle;
mod redirect;
mod registration;
mod slow_clients;
