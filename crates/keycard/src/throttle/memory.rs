//! [`MemoryThrottle`]: counters in this process, bounded in count.

use std::collections::HashMap;
use std::sync::Mutex;

use super::store::{until, Limit, Reservation, ThrottleKey, ThrottleStore};
use crate::clock::Timestamp;
use crate::store::StoreError;

/// Keys a [`MemoryThrottle`] holds at most by default: about 10 MB.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    ends_at: Timestamp,
    count: u32,
}

/// Counters in process memory: for one node (with the memory or an embedded store). Several nodes each
/// count alone: give them a shared store's counters instead.
///
/// Bounded: at most [`max_keys`](Self::with_max_keys) windows; a reservation that would add one more
/// first drops the ended ones, and if the table is still full it fails with a [`StoreError`] (503 and
/// "try again" at the HTTP layer: an attacker filling the table cannot make the next attempt unlimited,
/// only refused).
#[derive(Debug)]
pub struct MemoryThrottle {
    windows: Mutex<HashMap<ThrottleKey, Window>>,
    max_keys: usize,
}

impl Default for MemoryThrottle {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryThrottle {
    /// An empty table holding at most [`DEFAULT_MAX_KEYS`] keys.
    pub fn new() -> Self {
        Self::with_max_keys(DEFAULT_MAX_KEYS)
    }

    /// An empty table holding at most `max_keys` keys (at least 1).
    pub fn with_max_keys(max_keys: usize) -> Self {
        MemoryThrottle {
            windows: Mutex::new(HashMap::new()),
            max_keys: max_keys.max(1),
        }
    }

    /// Keys held now (ended windows included until they are dropped).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ThrottleKey, Window>> {
        // A panic while holding the lock leaves counts that are still counts: keep using them.
        self.windows.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl ThrottleStore for MemoryThrottle {
    async fn reserve(
        &self,
        key: &ThrottleKey,
        limit: Limit,
        now: Timestamp,
    ) -> Result<Reservation, StoreError> {
        let mut windows = self.lock();
        if let Some(w) = windows.get_mut(key) {
            if now < w.ends_at {
                if w.count >= limit.max {
                    return Ok(Reservation::Limited {
                        retry_after: until(w.ends_at, now),
                    });
                }
                w.count += 1;
                return Ok(Reservation::Counted);
            }
        } else if windows.len() >= self.max_keys {
            windows.retain(|_, w| now < w.ends_at);
            if windows.len() >= self.max_keys {
                tracing::warn!(
                    max_keys = self.max_keys,
                    "login throttle table full; refusing new attempts until windows end"
                );
                return Err(StoreError::new(
                    "memory",
                    "reserve",
                    format!(
                        "the throttle table holds its maximum of {} keys",
                        self.max_keys
                    ),
                ));
            }
        }
        windows.insert(
            *key,
            Window {
                ends_at: now.saturating_add(limit.window),
                count: 1,
            },
        );
        Ok(Reservation::Counted)
    }

    async fn refund(&self, key: &ThrottleKey, now: Timestamp) -> Result<(), StoreError> {
        if let Some(w) = self.lock().get_mut(key) {
            if now < w.ends_at && w.count > 0 {
                w.count -= 1;
            }
        }
        Ok(())
    }

    async fn clear(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }

    async fn sweep_throttle(&self, now: Timestamp) -> Result<usize, StoreError> {
        let mut windows = self.lock();
        let before = windows.len();
        windows.retain(|_, w| now < w.ends_at);
        Ok(before - windows.len())
    }
}
