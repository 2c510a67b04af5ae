//! The demo's login throttle and registration limit: the library's [`LoginThrottle`] and [`RateLimit`]
//! over the configured store's counters.
//!
//! **Rule** ([`keycard::throttle`] has the model): every sign-in attempt reserves a place on three
//! counters *before* its password is checked, and gives it back when the password was right:
//!
//! | counter | limit |
//! |---|---|
//! | this email from this address | 5 per 15 minutes |
//! | this email from any address | 20 per hour |
//! | this address for any email | 100 per 15 minutes |
//!
//! A password check made by a signed-in session (the sudo confirmation, the current password of a
//! password change) reserves on this session's own counter (5 per 15 minutes) and the address's instead,
//! never on the email's: wrong sign-ins from anywhere cannot lock the signed-in owner out of them (issue
//! 18, W12).
//!
//! A full counter answers `429 Too Many Requests` with `Retry-After`, without checking the password; the
//! page says the same whichever counter was full and whether or not the account exists. An email longer
//! than 254 bytes is refused as a wrong password before anything is counted.
//!
//! **Registration** ([`registration_limit`]): at most [`MAX_REGISTRATIONS_PER_ADDRESS`] per address per
//! hour (an IPv6 address by its /64) reach the password hash, valid or not, taken email or not; the next
//! answers `429` with `Retry-After`, the same page whatever was typed (issue 18, W9). A request refused
//! before (an invalid form) is not counted; one the hasher was too busy for is given back.
//!
//! The counters live where the sessions do: in the SQLite or PostgreSQL store's `keycard_throttle`
//! table, or in Redis, so every node and every restart counts the same attempts; with the memory store,
//! in this process (bounded, [`MemoryThrottle`]). The address is the one the session layer records
//! (`CLIENT_IP_SOURCE`, [`keycard_axum::ClientIpSource`]): behind one trusted reverse proxy,
//! `rightmost-forwarded-for` tells the clients behind it apart.

use std::sync::Arc;
use std::time::Duration;

use keycard::throttle::{Limit, LoginLimits, MemoryThrottle, ThrottleStore};
pub use keycard::throttle::{LoginThrottle, RateLimit, RateLimitError, ThrottleError};
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
/// Failed password checks per signed-in session (confirmation, current password) per [`WINDOW`].
pub const MAX_FAILURES_PER_SESSION: u32 = 5;
/// Registrations per address (IPv6: per /64) per [`REGISTRATION_WINDOW`].
pub const MAX_REGISTRATIONS_PER_ADDRESS: u32 = 10;
/// The registration window: an hour.
pub const REGISTRATION_WINDOW: Duration = Duration::from_secs(60 * 60);

/// The demo's limits (the library's defaults, spelled out).
pub fn limits() -> LoginLimits {
    LoginLimits {
        per_pair: Limit::new(MAX_FAILURES, WINDOW),
        per_account: Limit::new(MAX_FAILURES_PER_ACCOUNT, Duration::from_secs(60 * 60)),
        per_address: Limit::new(MAX_FAILURES_PER_ADDRESS, WINDOW),
        per_session: Limit::new(MAX_FAILURES_PER_SESSION, WINDOW),
        // 254 bytes: the longest email registration accepts.
        ..LoginLimits::default()
    }
}

/// Where the counters live: the configured store's, or a [`MemoryThrottle`] of this process when it has
/// none (the memory store). The login throttle and the registration limit share it.
pub fn counters(store: Option<Arc<dyn ThrottleStore>>) -> Arc<dyn ThrottleStore> {
    store.unwrap_or_else(|| Arc::new(MemoryThrottle::new()))
}

/// The login throttle over `store` ([`counters`]).
pub fn login_throttle(
    store: Arc<dyn ThrottleStore>,
    secret: &[u8],
    clock: AppClock,
    audit: AuditLog,
) -> Result<LoginThrottle, SecretError> {
    Ok(LoginThrottle::new(store, secret)?
        .with_limits(limits())
        .with_clock(Arc::new(clock))
        .with_audit(audit))
}

/// The registration limit over `store` ([`counters`]): [`MAX_REGISTRATIONS_PER_ADDRESS`] per
/// [`REGISTRATION_WINDOW`].
pub fn registration_limit(
    store: Arc<dyn ThrottleStore>,
    secret: &[u8],
    clock: AppClock,
) -> Result<RateLimit, SecretError> {
    let limit = Limit::new(MAX_REGISTRATIONS_PER_ADDRESS, REGISTRATION_WINDOW);
    Ok(RateLimit::new(store, secret, "registration", limit)?.with_clock(Arc::new(clock)))
}

/// Requests for mail (reset and sign-in links, new confirmations, email changes) per client address:
/// 20 per hour.
pub const MAIL_PER_CLIENT: Limit = Limit::new(20, Duration::from_secs(3600));
/// Requests for mail per typed address: 5 per hour (whether or not it has an account).
pub const MAIL_PER_ADDRESS: Limit = Limit::new(5, Duration::from_secs(3600));

/// The two limits on requests for mail over `store` ([`counters`]): per client address, per typed
/// address; so the app cannot be turned into a spam cannon aimed at one inbox or from one client.
pub fn mail_limits(
    store: Arc<dyn ThrottleStore>,
    secret: &[u8],
    clock: AppClock,
) -> Result<(RateLimit, RateLimit), SecretError> {
    let clock: Arc<dyn keycard::Clock> = Arc::new(clock);
    Ok((
        RateLimit::new(store.clone(), secret, "mail_client", MAIL_PER_CLIENT)?
            .with_clock(clock.clone()),
        RateLimit::new(store, secret, "mail_address", MAIL_PER_ADDRESS)?.with_clock(clock),
    ))
}

/// Passkey sign-ins begun per client address: 60 per 10 minutes (each writes a ceremony record to the
/// session store, for anybody who asks).
pub const PASSKEY_STARTS_PER_CLIENT: Limit = Limit::new(60, Duration::from_secs(600));

/// The limit on passkey sign-ins begun, per client address, over `store` ([`counters`]).
pub fn passkey_start_limit(
    store: Arc<dyn ThrottleStore>,
    secret: &[u8],
    clock: AppClock,
) -> Result<RateLimit, SecretError> {
    Ok(
        RateLimit::new(store, secret, "passkey_start", PASSKEY_STARTS_PER_CLIENT)?
            .with_clock(Arc::new(clock)),
    )
}

/// The message of a refused registration: the same whatever was typed.
pub fn too_many_registrations_message(retry_after_secs: u64) -> String {
    let minutes = retry_after_secs.div_ceil(60);
    format!(
        "Too many accounts were created from your network. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    )
}

/// The message of a refused attempt: the same whichever counter refused.
pub fn try_again_message(retry_after_secs: u64) -> String {
    let minutes = retry_after_secs.div_ceil(60);
    format!(
        "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    )
}

/// Identity-provider sign-ins begun per client address: 60 per 10 minutes (each writes a flow record
/// to the session store, for anybody who asks).
pub const OIDC_STARTS_PER_CLIENT: Limit = Limit::new(60, Duration::from_secs(600));

/// The limit on identity-provider sign-ins begun, per client address, over `store` ([`counters`]).
pub fn oidc_start_limit(
    store: Arc<dyn ThrottleStore>,
    secret: &[u8],
    clock: AppClock,
) -> Result<RateLimit, SecretError> {
    Ok(
        RateLimit::new(store, secret, "oidc_start", OIDC_STARTS_PER_CLIENT)?
            .with_clock(Arc::new(clock)),
    )
}
