//! The demo's login throttle: the library's [`LoginThrottle`] over the configured store's counters.
//!
//! **Rule** ([`keycard::throttle`] has the model): every sign-in attempt, and every current-password
//! check of the password-change form, reserves a place on three counters *before* its password is
//! checked, and gives it back when the password was right:
//!
//! | counter | limit |
//! |---|---|
//! | this email from this address | 5 per 15 minutes |
//! | this email from any address | 20 per hour |
//! | this address for any email | 100 per 15 minutes |
//!
//! A full counter answers `429 Too Many Requests` with `Retry-After`, without checking the password; the
//! page says the same whichever counter was full and whether or not the account exists. An email longer
//! than 254 bytes is refused as a wrong password before anything is counted.
//!
//! The counters live where the sessions do: in the SQLite or PostgreSQL store's `keycard_throttle`
//! table, or in Redis, so every node and every restart counts the same attempts; with the memory store,
//! in this process (bounded, [`MemoryThrottle`]). The address is the one the session layer records
//! (`CLIENT_IP_SOURCE`, [`keycard_axum::ClientIpSource`]): behind one trusted reverse proxy,
//! `rightmost-forwarded-for` tells the clients behind it apart.

use std::sync::Arc;
use std::time::Duration;

use keycard::throttle::{Limit, LoginLimits, MemoryThrottle, ThrottleStore};
pub use keycard::throttle::{LoginThrottle, ThrottleError};
use keycard::{AuditLog, SecretError};

use crate::clock::AppClock;

/// Failed attempts per email + address per [`WINDOW`].
pub const MAX_FAILURES: u32 = 5;
/// The email + address window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed attempts per email, from every address together, per hour.
pub const MAX_FAILURES_PER_ACCOUNT: u32 = 20;
/// Failed attempts per address, for every email together, per [`WINDOW`].
pub const MAX_FAILURES_PER_ADDRESS: u32 = 100;

/// The demo's limits (the library's defaults, spelled out).
pub fn limits() -> LoginLimits {
    LoginLimits {
        per_pair: Limit::new(MAX_FAILURES, WINDOW),
        per_account: Limit::new(MAX_FAILURES_PER_ACCOUNT, Duration::from_secs(60 * 60)),
        per_address: Limit::new(MAX_FAILURES_PER_ADDRESS, WINDOW),
        // 254 bytes: the longest email registration accepts.
        ..LoginLimits::default()
    }
}

/// The throttle over `store` (the configured store's counters; [`MemoryThrottle`] when `None`).
pub fn login_throttle(
    store: Option<Arc<dyn ThrottleStore>>,
    secret: &[u8],
    clock: AppClock,
    audit: AuditLog,
) -> Result<LoginThrottle, SecretError> {
    let store = store.unwrap_or_else(|| Arc::new(MemoryThrottle::new()));
    Ok(LoginThrottle::new(store, secret)?
        .with_limits(limits())
        .with_clock(Arc::new(clock))
        .with_audit(audit))
}

/// The message of a refused attempt: the same whichever counter refused.
pub fn try_again_message(retry_after_secs: u64) -> String {
    let minutes = retry_after_secs.div_ceil(60);
    format!(
        "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    )
}
