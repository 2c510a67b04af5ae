//! The conformance suite: the behaviour every [`Store`](keycard::Store) must show through a
//! [`CredentialsCache`](keycard::CredentialsCache), written once and run unchanged against every backend.
//!
//! One file per section; each behaviour is a `pub async fn(Harness)` whose doc comment names the
//! DESIGN.md invariant(s) it pins. [`conformance_suite!`](crate::conformance_suite) turns each into one
//! `#[test]` over a fresh store.
//!
//! # What the tests may assume
//! Nothing about the backend beyond the [`Store`](keycard::Store) trait docs. Time comes from a
//! [`ManualClock`](keycard::ManualClock) that starts at the wall clock (so a backend that also sets real
//! key expiries from the deadlines keeps the keys long enough) and only moves when a test moves it: no
//! test sleeps. Every store call goes through a [`SpyStore`](crate::SpyStore), which counts calls, records
//! the token hashes the store is shown, and can be switched to fail.

pub mod credentials;
pub mod expiry;
pub mod failures;
pub mod limits;
pub mod no_resurrection;
pub mod one_copy;
pub mod personal;
pub mod privilege;
pub mod races;
pub mod renewal;
pub mod revocation;
pub mod sign_in;
pub mod sudo;

/// What every section file uses.
mod prelude {
    pub(crate) use std::sync::Arc;
    pub(crate) use std::time::Duration;

    pub(crate) use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    pub(crate) use base64::Engine as _;
    pub(crate) use keycard::token::{Token, TokenHash};
    pub(crate) use keycard::{
        CookieSigner, PutOutcome, SessionId, SessionMetadata, SweepStats, TokenUse,
    };
    pub(crate) use tokio::sync::Barrier;

    pub(crate) use crate::fixtures::*;
    pub(crate) use crate::harness::Harness;
}
