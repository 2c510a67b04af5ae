//! [`LoginThrottle`]: the three counters of one sign-in attempt, reserved before the password check; and
//! the two of a password check made by a signed-in session.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::store::{Limit, Reservation, ThrottleKey, ThrottleStore};
use crate::audit::AuditLog;
use crate::clock::{Clock, SystemClock};
use crate::store::StoreError;
use crate::token::{labeled_key, SecretError, SessionId};

const KEY_LABEL: &[u8] = b"keycard login throttle key v1";

/// The limits of a [`LoginThrottle`]. Every counter counts **failed** attempts: an attempt is counted when
/// it begins and given back when the password was right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// One account from one address (the common guess-one-account attack): 5 per 15 minutes.
    pub per_pair: Limit,
    /// One account from every address together (guessing from many addresses): 20 per hour.
    pub per_account: Limit,
    /// One address across every account (password spraying): 100 per 15 minutes.
    pub per_address: Limit,
    /// One signed-in session's own password checks (re-authentication, the current password of a
    /// change: [`LoginThrottle::begin_in_session`]): 5 per 15 minutes. These never count toward
    /// `per_pair` or `per_account`, so failed sign-ins from anywhere cannot lock the owner out of them.
    pub per_session: Limit,
    /// Longest login accepted, in bytes (254, the longest email address): a longer one is refused before
    /// anything is counted or stored.
    pub max_login_bytes: usize,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_pair: Limit::new(5, Duration::from_secs(15 * 60)),
            per_account: Limit::new(20, Duration::from_secs(60 * 60)),
            per_address: Limit::new(100, Duration::from_secs(15 * 60)),
            per_session: Limit::new(5, Duration::from_secs(15 * 60)),
            max_login_bytes: 254,
        }
    }
}

/// Which counter refused an attempt. For logs and metrics: tell the user the same thing whichever it was,
/// so the answer says nothing about the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// This account from this address.
    Pair,
    /// This account, from any address.
    Account,
    /// This address, for any account.
    Address,
    /// This signed-in session's own password checks ([`LoginThrottle::begin_in_session`]).
    Session,
}

impl Scope {
    /// A stable name: `pair`, `account`, `address`, `session`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Pair => "pair",
            Scope::Account => "account",
            Scope::Address => "address",
            Scope::Session => "session",
        }
    }
}

/// Why [`LoginThrottle::begin`] refused an attempt. The password must not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ThrottleError {
    /// Too many failed attempts: answer 429 with `Retry-After`.
    #[error("too many failed sign-in attempts ({}); try again in {} s", scope.as_str(), whole_secs(*retry_after))]
    Limited {
        /// Time until the refusing window ends.
        retry_after: Duration,
        /// Which counter refused.
        scope: Scope,
    },
    /// The login is longer than [`LoginLimits::max_login_bytes`]: answer as to a wrong password (or 422);
    /// nothing was counted or stored.
    #[error("the login is {len} bytes long; at most {max} bytes are accepted")]
    LoginTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The counters' store failed: answer 503, and do not check the password.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ThrottleError {
    /// The time to put in `Retry-After`, for [`Limited`](Self::Limited).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ThrottleError::Limited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

/// `d` in whole seconds, rounded up, at least 1: what `Retry-After` carries.
pub fn whole_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

/// One password check, counted on every counter of its kind. Call [`LoginThrottle::succeeded`] when the
/// password was right; dropping it leaves it counted, as a failure.
#[must_use = "call LoginThrottle::succeeded after a correct password; dropping the attempt counts it as a failure"]
#[derive(Debug)]
pub struct Attempt {
    /// Forgotten when the password was right: the account + address pair (a sign-in), or the session
    /// (a check in a session).
    cleared: ThrottleKey,
    /// Given back when the password was right: the account counter of a sign-in, if any.
    account: Option<ThrottleKey>,
    /// Given back when the password was right: the address counter, if the address is known.
    address: Option<ThrottleKey>,
}

/// A login throttle: counts failed sign-ins per account + address, per account and per address, in a
/// [`ThrottleStore`], **reserving** each attempt before the password is checked (see the
/// [module docs](super)).
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use keycard::throttle::{LoginThrottle, MemoryThrottle, ThrottleError};
///
/// let throttle = LoginThrottle::new(Arc::new(MemoryThrottle::new()), &[7u8; 64])?;
/// let address = "203.0.113.9".parse().ok();
/// match throttle.begin("alice@example.com", address).await {
///     Ok(attempt) => {
///         let password_ok = true; // hasher.verify(…)
///         if password_ok {
///             throttle.succeeded(attempt).await?;
///         } // else: drop it, it stays counted
///     }
///     Err(ThrottleError::Limited { retry_after, .. }) => { /* 429, Retry-After */ }
///     Err(e) => return Err(e.into()),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LoginThrottle {
    store: Arc<dyn ThrottleStore>,
    key: Hmac<Sha256>,
    limits: LoginLimits,
    clock: Arc<dyn Clock>,
    audit: Option<AuditLog>,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl LoginThrottle {
    /// A throttle over `store` with the default [`LoginLimits`], keying its counters with `secret` (at
    /// least [`MIN_SECRET_LEN`](crate::token::MIN_SECRET_LEN) bytes; the app secret is fine: the key is derived under a label of its own).
    ///
    /// Errors: [`SecretError::TooShort`] for a secret shorter than [`MIN_SECRET_LEN`](crate::token::MIN_SECRET_LEN).
    pub fn new(store: Arc<dyn ThrottleStore>, secret: &[u8]) -> Result<Self, SecretError> {
        Ok(LoginThrottle {
            store,
            key: labeled_key(secret, KEY_LABEL)?,
            limits: LoginLimits::default(),
            clock: Arc::new(SystemClock),
            audit: None,
        })
    }

    /// Other limits.
    pub fn with_limits(mut self, limits: LoginLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Another clock (tests; the app's own clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Write a `sign_in.throttled` audit event for every refusal
    /// ([`CredentialsCache::audit`](crate::CredentialsCache::audit)).
    pub fn with_audit(mut self, audit: AuditLog) -> Self {
        self.audit = Some(audit);
        self
    }

    /// The limits.
    pub fn limits(&self) -> &LoginLimits {
        &self.limits
    }

    /// Reserve one attempt for `login` from `address` (`None` when the app does not know it: then only
    /// the account counters count) on every counter, before the password is checked. Refused when any
    /// counter is full (what the others counted is given back), when the login is too long, or when the
    /// store fails.
    pub async fn begin(
        &self,
        login: &str,
        address: Option<IpAddr>,
    ) -> Result<Attempt, ThrottleError> {
        if login.len() > self.limits.max_login_bytes {
            return Err(ThrottleError::LoginTooLong {
                len: login.len(),
                max: self.limits.max_login_bytes,
            });
        }
        let address = address.map(address_bytes);
        let account = self.key_of(b"account", login, None);
        let attempt = Attempt {
            cleared: self.key_of(b"pair", login, address.as_deref()),
            account: Some(account),
            address: address
                .as_deref()
                .map(|a| self.key_of(b"address", "", Some(a))),
        };
        let mut counters = vec![
            (attempt.cleared, self.limits.per_pair, Scope::Pair),
            (account, self.limits.per_account, Scope::Account),
        ];
        if let Some(a) = attempt.address {
            counters.push((a, self.limits.per_address, Scope::Address));
        }
        self.reserve_all(attempt, &counters, login).await
    }

    /// Reserve one password check made **by a signed-in session** (re-authentication for sudo mode, the
    /// current password of a password change) on two counters: this session's own
    /// ([`LoginLimits::per_session`], 5 per 15 minutes) and the address's (`per_address`, shared with
    /// sign-ins: one address spraying guesses through many sessions is still bounded). Not on the
    /// account counters: wrong sign-ins from any number of addresses fill those, and the owner, signed
    /// in, must still be able to confirm their password and change it (issue 18, W12). A stolen session
    /// gets at most `per_session` guesses per window at the password it does not know.
    ///
    /// `account` names the user in the `sign_in.throttled` audit event only (hashed, as every account
    /// there); `session` is the session's stable id (it survives token rotations). Call
    /// [`succeeded`](Self::succeeded) when the password was right (the session's failures are forgotten).
    pub async fn begin_in_session(
        &self,
        account: &str,
        session: &SessionId,
        address: Option<IpAddr>,
    ) -> Result<Attempt, ThrottleError> {
        let attempt = Attempt {
            cleared: self.key_of(b"session", "", Some(&session.0)),
            account: None,
            address: address
                .map(address_bytes)
                .as_deref()
                .map(|a| self.key_of(b"address", "", Some(a))),
        };
        let mut counters = vec![(attempt.cleared, self.limits.per_session, Scope::Session)];
        if let Some(a) = attempt.address {
            counters.push((a, self.limits.per_address, Scope::Address));
        }
        self.reserve_all(attempt, &counters, account).await
    }

    /// Reserve on every counter in order; on a refusal give back what was reserved and say why.
    async fn reserve_all(
        &self,
        attempt: Attempt,
        counters: &[(ThrottleKey, Limit, Scope)],
        login: &str,
    ) -> Result<Attempt, ThrottleError> {
        let now = self.clock.now();
        for (i, (key, limit, scope)) in counters.iter().enumerate() {
            let refused = match self.store.reserve(key, *limit, now).await {
                Ok(Reservation::Counted) => continue,
                Ok(Reservation::Limited { retry_after }) => ThrottleError::Limited {
                    retry_after,
                    scope: *scope,
                },
                Err(e) => ThrottleError::Store(e),
            };
            for (counted, _, _) in &counters[..i] {
                if let Err(e) = self.store.refund(counted, now).await {
                    tracing::warn!(error = %e, "could not give back a throttle reservation");
                }
            }
            if let (ThrottleError::Limited { retry_after, scope }, Some(audit)) =
                (&refused, &self.audit)
            {
                audit.sign_in_throttled(login, scope.as_str(), whole_secs(*retry_after));
            }
            return Err(refused);
        }
        Ok(attempt)
    }

    /// The password was right: forget this account + address pair's failures (for a check in a session:
    /// this session's), and give the attempt back to the account and address counters (their earlier
    /// failures stay counted).
    pub async fn succeeded(&self, attempt: Attempt) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.store.clear(&attempt.cleared).await?;
        for key in attempt.account.iter().chain(attempt.address.iter()) {
            self.store.refund(key, now).await?;
        }
        Ok(())
    }

    /// Remove ended windows from the store (see [`ThrottleStore::sweep_throttle`]).
    ///
    /// Errors: [`StoreError`] when the store fails.
    pub async fn sweep(&self) -> Result<usize, StoreError> {
        self.store.sweep_throttle(self.clock.now()).await
    }

    fn key_of(&self, kind: &[u8], login: &str, address: Option<&[u8]>) -> ThrottleKey {
        let mut m = self.key.clone();
        m.update(kind);
        m.update(&[0]);
        m.update(&(login.len() as u64).to_be_bytes());
        m.update(login.as_bytes());
        if let Some(a) = address {
            m.update(a);
        }
        ThrottleKey(m.finalize().into_bytes().into())
    }
}

/// What an address counts as: an IPv4 address, or an IPv6 address's /64 (one subscriber's prefix: an
/// attacker holding a /64 has 2^64 addresses).
pub(super) fn address_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets().to_vec(),
            None => v6.octets()[..8].to_vec(),
        },
    }
}
