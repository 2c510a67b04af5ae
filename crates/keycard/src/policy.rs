//! How long sessions live and when they renew: the numbers behind every deadline.

use std::time::Duration;

/// Session lifetime policy. Every deadline a store keeps is computed from these by the cache.
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `idle_ttl` | 30 min | a session not renewed within this long after its last renewal dies |
/// | `renewal_interval` | 15 min | the first request after this long since the last rotation rotates the token and pushes the idle deadline to `now + idle_ttl` |
/// | `grace` | 60 s | after a renewal, the replaced token keeps resolving to the session this long (parallel requests in flight) |
/// | `absolute_ttl` | 8 h | a session dies this long after sign-in whatever happens |
/// | `grace_uses` | 32 | a replaced token answers at most this many requests in its grace window; later ones are anonymous |
/// | `max_sessions_per_user` | 32 | a sign-in past this many live sessions of one user ends the oldest |
///
/// The defaults follow OWASP's session management guidance: an idle timeout of 15–30 minutes (with
/// renewal every 15 minutes a session idle for longer than 15–30 minutes dies), an absolute timeout of a
/// working day, and a short safety interval for the previous id after a rotation. Reads never write: the
/// idle deadline only moves when a renewal rotates the token, so an active session costs one write per
/// `renewal_interval`, not one per request.
///
/// Start from the default and change what you need (the fields stay readable):
/// ```
/// use std::time::Duration;
/// use keycard::Policy;
/// let policy = Policy::default()
///     .with_idle_ttl(Duration::from_secs(20 * 60))
///     .with_renewal_interval(Duration::from_secs(10 * 60));
/// assert!(policy.validate().is_ok());
/// assert_eq!(policy.grace, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// Idle lifetime measured from the last rotation.
    pub idle_ttl: Duration,
    /// Time after a rotation when the next request rotates again.
    pub renewal_interval: Duration,
    /// How long a replaced token still resolves after a renewal. Privilege changes use no grace.
    pub grace: Duration,
    /// Lifetime measured from sign-in.
    pub absolute_ttl: Duration,
    /// How many requests a replaced token may answer inside its grace window (counted per token; see
    /// [`Builder::grace_counter`](crate::Builder::grace_counter) for where). A request past the bound is
    /// anonymous. Grace requests are read-only for identity whatever the count (keycard-axum refuses
    /// every sign-in, sync, rotation and sign-out made from one).
    pub grace_uses: u32,
    /// The most live sessions one user may hold: a sign-in (or a remember-me redemption) past it ends
    /// the user's oldest sessions. `None`: no cap.
    pub max_sessions_per_user: Option<usize>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            idle_ttl: Duration::from_secs(30 * 60),
            renewal_interval: Duration::from_secs(15 * 60),
            grace: Duration::from_secs(60),
            absolute_ttl: Duration::from_secs(8 * 60 * 60),
            grace_uses: DEFAULT_GRACE_USES,
            max_sessions_per_user: Some(DEFAULT_MAX_SESSIONS_PER_USER),
        }
    }
}

/// Requests a replaced session token may answer in its grace window by default ([`Policy::grace_uses`]):
/// enough for the requests a busy page has in flight when its token rotates, far from the unbounded
/// replay a copied token would otherwise get (issue 18, V3).
pub const DEFAULT_GRACE_USES: u32 = 32;

/// Live sessions per user by default ([`Policy::max_sessions_per_user`]).
pub const DEFAULT_MAX_SESSIONS_PER_USER: usize = 32;

/// A [`Policy`] that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid session policy: {0}")]
#[non_exhaustive]
pub struct PolicyError(pub String);

impl Policy {
    /// The idle lifetime ([`idle_ttl`](Self::idle_ttl)).
    pub fn with_idle_ttl(mut self, d: Duration) -> Self {
        self.idle_ttl = d;
        self
    }

    /// The renewal interval ([`renewal_interval`](Self::renewal_interval)).
    pub fn with_renewal_interval(mut self, d: Duration) -> Self {
        self.renewal_interval = d;
        self
    }

    /// The grace window of a replaced token ([`grace`](Self::grace)).
    pub fn with_grace(mut self, d: Duration) -> Self {
        self.grace = d;
        self
    }

    /// The absolute lifetime ([`absolute_ttl`](Self::absolute_ttl)).
    pub fn with_absolute_ttl(mut self, d: Duration) -> Self {
        self.absolute_ttl = d;
        self
    }

    /// How many requests a replaced token may answer in its grace window ([`grace_uses`](Self::grace_uses)).
    pub fn with_grace_uses(mut self, n: u32) -> Self {
        self.grace_uses = n;
        self
    }

    /// The cap on one user's live sessions ([`max_sessions_per_user`](Self::max_sessions_per_user)).
    pub fn with_max_sessions_per_user(mut self, n: Option<usize>) -> Self {
        self.max_sessions_per_user = n;
        self
    }

    /// Check the settings fit together: all positive (grace may be zero),
    /// `grace < renewal_interval < idle_ttl <= absolute_ttl`, `grace_uses` and the session cap at least 1.
    ///
    /// Errors: a [`PolicyError`] naming the first rule broken.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let err = |m: &str| Err(PolicyError(m.to_string()));
        if self.idle_ttl.is_zero() || self.renewal_interval.is_zero() || self.absolute_ttl.is_zero()
        {
            return err("idle_ttl, renewal_interval and absolute_ttl must be greater than zero");
        }
        if self.renewal_interval >= self.idle_ttl {
            return err(
                "renewal_interval must be shorter than idle_ttl, or sessions die before they renew",
            );
        }
        if self.grace >= self.renewal_interval {
            return err("grace must be shorter than renewal_interval, so a replaced token dies before the next rotation");
        }
        if self.idle_ttl > self.absolute_ttl {
            return err("idle_ttl must not be longer than absolute_ttl");
        }
        if self.grace_uses == 0 {
            return err(
                "grace_uses must be at least 1 (set grace to zero to have no grace window)",
            );
        }
        if self.max_sessions_per_user == Some(0) {
            return err("max_sessions_per_user must be at least 1, or None for no cap");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_valid() {
        Policy::default().validate().unwrap();
    }

    #[test]
    fn renewal_not_shorter_than_idle_is_refused() {
        let p = Policy {
            renewal_interval: Duration::from_secs(30 * 60),
            ..Policy::default()
        };
        assert!(p.validate().is_err());
    }

    #[test]
    fn grace_not_shorter_than_renewal_is_refused() {
        let p = Policy {
            grace: Duration::from_secs(15 * 60),
            ..Policy::default()
        };
        assert!(p.validate().is_err());
    }
}
