//! Fixtures: the policy every suite runs under, the user type, and small constructors.
//!
//! The suites use a short, explicit [`test_policy`] (idle 10 min, renewal after 2 min, grace 10 s, absolute
//! 30 min) and a [`ManualClock`](keycard::ManualClock) that only moves when a test moves it, so no test
//! sleeps and every deadline is exact.

use std::time::Duration;

use keycard::{CachedUser, Policy, SessionMetadata};

/// The idle lifetime of the test policy.
pub const IDLE: Duration = Duration::from_secs(600);
/// The renewal interval of the test policy.
pub const RENEW: Duration = Duration::from_secs(120);
/// The grace window of the test policy.
pub const GRACE: Duration = Duration::from_secs(10);
/// The absolute lifetime of the test policy.
pub const ABSOLUTE: Duration = Duration::from_secs(1800);
/// One clock tick.
pub const MS: Duration = Duration::from_millis(1);

/// The app secret of every test cache.
pub const SECRET: [u8; 64] = [0x5a; 64];

/// Short, explicit policy: idle 10 min, renew after 2 min, grace 10 s, absolute 30 min; no cap on a
/// user's sessions (suites sign one user in hundreds of times; the cap has tests of its own).
pub fn test_policy() -> Policy {
    Policy::default()
        .with_idle_ttl(IDLE)
        .with_renewal_interval(RENEW)
        .with_grace(GRACE)
        .with_absolute_ttl(ABSOLUTE)
        .with_max_sessions_per_user(None)
}

/// The user type of the suite: a key, a display name that tests change, an optional version and an
/// optional credential counter (its [`auth_fingerprint`](CachedUser::auth_fingerprint)).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TestUser {
    /// Primary key.
    pub id: u32,
    /// What tests update.
    pub name: String,
    /// Row version, when the test uses one.
    pub version: Option<u64>,
    /// Credentials generation, when the test binds sessions to credentials.
    #[serde(default)]
    pub credentials: Option<u32>,
}

impl CachedUser for TestUser {
    fn user_key(&self) -> String {
        key(self.id)
    }
    fn version(&self) -> Option<u64> {
        self.version
    }
    fn auth_fingerprint(&self) -> Option<Vec<u8>> {
        self.credentials.map(|c| c.to_le_bytes().to_vec())
    }
}

/// An unversioned user.
pub fn user(id: u32, name: &str) -> TestUser {
    TestUser {
        id,
        name: name.to_owned(),
        version: None,
        credentials: None,
    }
}

/// A versioned user.
pub fn user_v(id: u32, name: &str, version: u64) -> TestUser {
    TestUser {
        id,
        name: name.to_owned(),
        version: Some(version),
        credentials: None,
    }
}

/// A versioned user whose sessions are bound to credentials generation `credentials`.
pub fn user_c(id: u32, name: &str, version: u64, credentials: u32) -> TestUser {
    TestUser {
        credentials: Some(credentials),
        ..user_v(id, name, version)
    }
}

/// The user key of user `id`.
pub fn key(id: u32) -> String {
    format!("u{id}")
}

/// Metadata with a user agent and an ip.
pub fn meta(user_agent: &str, ip: &str) -> SessionMetadata {
    SessionMetadata {
        user_agent: Some(user_agent.to_owned()),
        ip: Some(ip.to_owned()),
        fields: Default::default(),
    }
}

/// Replace the character at `i` of a cookie value by another base64url character (a tampered cookie).
///
/// # Panics
/// If `i` is out of range.
pub fn flip(s: &str, i: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).expect("a base64url character replaced by another")
}
