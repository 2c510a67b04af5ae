//! Login throttling per account + client address.
//!
//! **Rule:** after [`MAX_FAILURES`] (5) failed password checks for one email from one IP address within
//! [`WINDOW`] (15 minutes, counted from the first failure), further sign-in attempts for that pair get
//! `429 Too Many Requests` with `Retry-After` until the window ends, without the password being checked.
//! A successful sign-in clears the pair. Wrong current passwords on the password-change form count too.
//!
//! Keying on the pair (Laravel's default) stops guessing one account from one address while an attacker
//! elsewhere cannot lock the real user out (lockout as denial of service). The address is the TCP peer:
//! behind a reverse proxy every client shares one, so put the demo behind one only with that in mind.
//!
//! State lives in memory, bounded: windows that have ended are pruned by the plan job's tick and whenever
//! the table grows past `PRUNE_AT` (10,000) entries.

use std::net::IpAddr;
use std::time::Duration;

use dashmap::DashMap;
use keycard::{Clock as _, Timestamp};

use crate::clock::AppClock;

/// Failed attempts allowed per account + address per window.
pub const MAX_FAILURES: u32 = 5;
/// Length of a window, from its first failure.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Table size at which a failure also prunes ended windows.
const PRUNE_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    ends_at: Timestamp,
    failures: u32,
}

/// Too many failures: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Time until the window ends.
    pub retry_after: Duration,
}

impl Throttled {
    /// Whole seconds to put in `Retry-After` (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        let whole = self.retry_after.as_secs();
        (whole + u64::from(self.retry_after.subsec_nanos() > 0)).max(1)
    }
}

/// Failure counts per (email, address).
#[derive(Debug)]
pub struct LoginThrottle {
    windows: DashMap<(String, IpAddr), Window>,
    clock: AppClock,
    max_failures: u32,
    window: Duration,
}

impl LoginThrottle {
    /// A throttle with the documented limits, reading time from `clock`.
    pub fn new(clock: AppClock) -> Self {
        Self::with_limits(clock, MAX_FAILURES, WINDOW)
    }

    /// A throttle with other limits.
    pub fn with_limits(clock: AppClock, max_failures: u32, window: Duration) -> Self {
        LoginThrottle {
            windows: DashMap::new(),
            clock,
            max_failures,
            window,
        }
    }

    /// `Err` if this pair has used up its failures in the current window.
    pub fn check(&self, email: &str, ip: IpAddr) -> Result<(), Throttled> {
        let now = self.clock.now();
        match self.windows.get(&(email.to_owned(), ip)) {
            Some(w) if now < w.ends_at && w.failures >= self.max_failures => Err(Throttled {
                retry_after: Duration::from_millis(w.ends_at.as_millis() - now.as_millis()),
            }),
            _ => Ok(()),
        }
    }

    /// Count one failed attempt.
    pub fn record_failure(&self, email: &str, ip: IpAddr) {
        let now = self.clock.now();
        if self.windows.len() >= PRUNE_AT {
            self.prune();
        }
        let mut w = self
            .windows
            .entry((email.to_owned(), ip))
            .or_insert(Window {
                ends_at: now.saturating_add(self.window),
                failures: 0,
            });
        if now >= w.ends_at {
            *w = Window {
                ends_at: now.saturating_add(self.window),
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
        if w.failures == self.max_failures {
            tracing::warn!(%ip, "sign-in throttled for one account after repeated failures");
        }
    }

    /// Forget this pair (after a successful sign-in).
    pub fn reset(&self, email: &str, ip: IpAddr) {
        self.windows.remove(&(email.to_owned(), ip));
    }

    /// Drop windows that have ended.
    pub fn prune(&self) {
        let now = self.clock.now();
        self.windows.retain(|_, w| now < w.ends_at);
    }

    /// Number of pairs tracked.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keycard::ManualClock;

    #[test]
    fn locks_after_max_failures_until_the_window_ends() {
        let clock = ManualClock::new(Timestamp(1_000_000));
        let t = LoginThrottle::new(AppClock::new(clock.clone()));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(t.check("a@x", ip).is_ok());
            t.record_failure("a@x", ip);
        }
        let e = t.check("a@x", ip).unwrap_err();
        assert_eq!(e.retry_after, WINDOW);
        assert!(
            t.check("a@x", other).is_ok(),
            "another address is not locked out"
        );
        assert!(
            t.check("b@x", ip).is_ok(),
            "another account is not locked out"
        );
        clock.advance(WINDOW);
        assert!(t.check("a@x", ip).is_ok());
        t.prune();
        assert!(t.is_empty());
    }

    #[test]
    fn success_resets() {
        let t = LoginThrottle::new(AppClock::new(ManualClock::new(Timestamp(5))));
        let ip: IpAddr = "::1".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            t.record_failure("a@x", ip);
        }
        t.reset("a@x", ip);
        assert!(t.check("a@x", ip).is_ok());
    }
}
