//! [`ThrottleStore`]: where attempt counters live, and the one atomic operation they need.

use std::fmt;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::store::StoreError;

/// How many attempts one counter allows, and for how long.
///
/// A window opens at the first attempt counted after the previous window ended and lasts `window`; in it
/// at most `max` attempts are counted. Fixed windows, not sliding: one timestamp and one count per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Attempts counted per window (at least 1).
    pub max: u32,
    /// Length of a window.
    pub window: Duration,
}

impl Limit {
    /// `max` attempts per `window`.
    pub const fn new(max: u32, window: Duration) -> Self {
        Limit { max, window }
    }
}

/// A counter's name: 32 bytes, a keyed hash of what it counts (an account, an address, the pair), so a
/// key has the same length whatever the input and the store never holds an email or an address.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThrottleKey(pub [u8; 32]);

impl ThrottleKey {
    /// The key in lowercase hex (64 characters), for stores that name keys with text.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for ThrottleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ThrottleKey({}…)", &self.to_hex()[..8])
    }
}

/// What [`ThrottleStore::reserve`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt is counted: go on (check the password).
    Counted,
    /// The window already holds `max` attempts; nothing was counted.
    Limited {
        /// Time until the window ends.
        retry_after: Duration,
    },
}

/// Attempt counters, kept where every node sees them.
///
/// The memory store's counterpart is [`MemoryThrottle`](super::MemoryThrottle); `keycard-redis` and
/// `keycard-sqlx` implement this trait on their stores, so a fleet that shares sessions also shares its
/// counters. [`ThrottleStore::reserve`] is the whole point: it counts and checks in **one atomic step**,
/// so any number of concurrent attempts, on any number of nodes, count at most `max` per window.
/// `keycard-store-tests`' `throttle_suite!` checks an implementation.
#[async_trait::async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Count one attempt against `key` unless its current window already holds `limit.max`; open a new
    /// window (count 1, ending at `now + limit.window`) when there is none or it has ended.
    async fn reserve(
        &self,
        key: &ThrottleKey,
        limit: Limit,
        now: Timestamp,
    ) -> Result<Reservation, StoreError>;

    /// Give one counted attempt back (it succeeded), if the key's window still runs and holds any.
    async fn refund(&self, key: &ThrottleKey, now: Timestamp) -> Result<(), StoreError>;

    /// Forget the key.
    async fn clear(&self, key: &ThrottleKey) -> Result<(), StoreError>;

    /// Remove windows that ended before `now`; returns how many. A store whose keys expire by
    /// themselves (Redis) removes nothing and returns 0.
    async fn sweep_throttle(&self, now: Timestamp) -> Result<usize, StoreError>;
}

/// Time from `now` until `ends_at` (zero if past).
pub(crate) fn until(ends_at: Timestamp, now: Timestamp) -> Duration {
    Duration::from_millis(ends_at.0.saturating_sub(now.0))
}
