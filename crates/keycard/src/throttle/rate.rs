//! [`RateLimit`]: one fixed-window counter per client (or per any subject) for requests that cost the
//! server, or somebody else, something whatever their outcome: registrations (a password hash each),
//! "email me a link" requests.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::login::{address_bytes, whole_secs};
use super::store::{Limit, Reservation, ThrottleKey, ThrottleStore};
use crate::clock::{Clock, SystemClock};
use crate::store::StoreError;
use crate::token::{labeled_key, SecretError};

const KEY_LABEL: &[u8] = b"keycard rate limit key v1";

/// Why [`RateLimit`] refused a request. Do the expensive work only after a counted hit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// The subject's window is full: answer 429 with `Retry-After`, the same page whoever asks.
    #[error("rate limit reached; try again in {} s", whole_secs(*retry_after))]
    Limited {
        /// Time until the window ends.
        retry_after: Duration,
    },
    /// The counters' store failed: answer 503, and do not do the work.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RateLimitError {
    /// The time to put in `Retry-After`, for [`Limited`](Self::Limited).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RateLimitError::Limited { retry_after } => Some(*retry_after),
            RateLimitError::Store(_) => None,
        }
    }
}

/// One request counted by [`RateLimit::hit_address`] or [`RateLimit::hit`]. Dropping it keeps it
/// counted; [`RateLimit::give_back`] returns it when the work was not done after all (the hasher was
/// busy, the store failed).
#[derive(Debug)]
pub struct Counted {
    key: ThrottleKey,
}

/// A per-client rate limit: at most `limit.max` requests of one kind per window for each subject,
/// counted in a [`ThrottleStore`] (the one the [`LoginThrottle`](super::LoginThrottle) uses does: the
/// counter names are keyed hashes under labels of their own, so they never meet).
///
/// The login throttle counts *failed* password checks; this counts *every* request it is asked
/// about, before the work is done, in one atomic step of the store: however many race, at most
/// `max` per window go through. An address counts as the login throttle counts it (IPv4, or an IPv6
/// address's /64). `name` keeps two limits on one store apart (`"registration"`, `"reset_email"`).
///
/// ```
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use keycard::throttle::{Limit, MemoryThrottle, RateLimit, RateLimitError};
///
/// let per_hour = Limit::new(10, Duration::from_secs(3600));
/// let registrations = RateLimit::new(Arc::new(MemoryThrottle::new()), &[7u8; 64], "registration", per_hour)?;
/// let client = "203.0.113.9".parse()?;
/// match registrations.hit_address(client).await {
///     Ok(_counted) => { /* hash the password, create the account */ }
///     Err(RateLimitError::Limited { retry_after }) => { /* 429, Retry-After */ }
///     Err(e) => return Err(e.into()), // store down: 503
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RateLimit {
    store: Arc<dyn ThrottleStore>,
    key: Hmac<Sha256>,
    name: &'static str,
    limit: Limit,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("name", &self.name)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl RateLimit {
    /// A limit named `name` of `limit` per subject over `store`, keying its counters with `secret` (at
    /// least [`MIN_SECRET_LEN`](crate::token::MIN_SECRET_LEN) bytes; the app secret is fine: the key is
    /// derived under a label of its own). `limit.max` should be at least 1.
    pub fn new(
        store: Arc<dyn ThrottleStore>,
        secret: &[u8],
        name: &'static str,
        limit: Limit,
    ) -> Result<Self, SecretError> {
        Ok(RateLimit {
            store,
            key: labeled_key(secret, KEY_LABEL)?,
            name,
            limit,
            clock: Arc::new(SystemClock),
        })
    }

    /// Another clock (tests; the app's own clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The limit.
    pub fn limit(&self) -> Limit {
        self.limit
    }

    /// Count one request from `address` (an IPv6 address by its /64), or refuse it when the address's
    /// window is full or the store fails.
    pub async fn hit_address(&self, address: IpAddr) -> Result<Counted, RateLimitError> {
        self.reserve(self.key_of(b"address", &address_bytes(address)))
            .await
    }

    /// Count one request for `subject` (an account, an email address: normalize it the way the app
    /// does), or refuse it.
    pub async fn hit(&self, subject: &str) -> Result<Counted, RateLimitError> {
        self.reserve(self.key_of(b"subject", subject.as_bytes()))
            .await
    }

    /// The work was not done after all: give the request back, if its window still runs.
    pub async fn give_back(&self, counted: Counted) -> Result<(), StoreError> {
        self.store.refund(&counted.key, self.clock.now()).await
    }

    async fn reserve(&self, key: ThrottleKey) -> Result<Counted, RateLimitError> {
        match self
            .store
            .reserve(&key, self.limit, self.clock.now())
            .await?
        {
            Reservation::Counted => Ok(Counted { key }),
            Reservation::Limited { retry_after } => {
                tracing::info!(
                    limit = self.name,
                    retry_after_secs = whole_secs(retry_after),
                    "rate limit reached; request refused"
                );
                Err(RateLimitError::Limited { retry_after })
            }
        }
    }

    fn key_of(&self, kind: &[u8], subject: &[u8]) -> ThrottleKey {
        let mut m = self.key.clone();
        m.update(&(self.name.len() as u64).to_be_bytes());
        m.update(self.name.as_bytes());
        m.update(kind);
        m.update(&[0]);
        m.update(&(subject.len() as u64).to_be_bytes());
        m.update(subject);
        ThrottleKey(m.finalize().into_bytes().into())
    }
}
