//! Login throttling: every sign-in attempt is **counted before** its password is checked.
//!
//! # The model
//! A throttle that checks a counter before the password and counts the failure after it lets every
//! attempt already in flight through: 100 wrong passwords sent at once are all checked (issue 9, V2).
//! So an attempt here **reserves** its place first, in one atomic step of the store
//! ([`ThrottleStore::reserve`]: "count it unless the window is full"), and only a reserved attempt may
//! check the password; a right password gives the reservation back ([`LoginThrottle::succeeded`]), a
//! wrong one simply keeps it. However many attempts race, at most `max` per window are ever checked.
//!
//! One attempt reserves on three counters ([`LoginLimits`]), and is refused when any is full:
//!
//! | counter | default | stops |
//! |---|---|---|
//! | account + address | 5 per 15 min | guessing one account from one address |
//! | account | 20 per hour | guessing one account from many addresses |
//! | address | 100 per 15 min | one address trying many accounts (spraying) |
//!
//! A password check made **by a signed-in session** (re-authentication, the current password of a
//! change) reserves on other counters ([`LoginThrottle::begin_in_session`]): the session's own (5 per
//! 15 min, [`LoginLimits::per_session`]) and the address's, never the account's. So wrong sign-ins from
//! any number of addresses, which fill the account counter, cannot lock the signed-in owner out of
//! confirming their password or changing it (issue 18, W12), and a stolen session still gets only 5
//! guesses per window.
//!
//! An IPv6 address counts by its /64. Counter names are keyed hashes (32 bytes, [`ThrottleKey`]): the
//! store never holds an email or an address, and a login longer than
//! [`LoginLimits::max_login_bytes`] is refused before anything is counted, so input cannot grow the
//! store beyond one fixed-size entry per counter.
//!
//! The account counter is a trade-off every account lockout makes: somebody who knows an email can use
//! up its 20 failures an hour and make its sign-ins wait (not the signed-in owner's own checks, which
//! [`begin_in_session`](LoginThrottle::begin_in_session) counts elsewhere). The window is short and the
//! refusal is a "try again later", never a locked account; an app that prefers to let the owner through
//! can raise `per_account` (or set it very high) and rely on the other two counters.
//!
//! Where the counters live: [`MemoryThrottle`] for one process; `keycard-redis`' and `keycard-sqlx`'s
//! stores implement [`ThrottleStore`] too, so every node of a fleet counts the same attempts. The global
//! cap on concurrent password checks is the hasher's (`keycard::password::PasswordHasher`: a bounded
//! queue and wait, then `Busy`, a 503 with `Retry-After`).
//!
//! The answer to a refused attempt must not depend on the account: the same page and status whichever
//! counter refused, and whether or not the account exists (the counters count logins, not accounts).
//!
//! # Requests that cost something whatever their outcome
//! [`RateLimit`] counts **every** request of one kind per client address (or per any subject), before
//! the work is done, on the same [`ThrottleStore`]: registrations (each costs a password hash; issue 18,
//! W9: unthrottled, 40 connections of registrations had made every sign-in answer 503), "email me a
//! link" requests. A refusal is [`RateLimitError::Limited`] with the time to wait (429 and
//! `Retry-After`).

mod login;
mod memory;
mod rate;
mod store;

pub use login::{whole_secs, Attempt, LoginLimits, LoginThrottle, Scope, ThrottleError};
pub use memory::{MemoryThrottle, DEFAULT_MAX_KEYS};
pub use rate::{Counted, RateLimit, RateLimitError};
pub use store::{Limit, Reservation, ThrottleKey, ThrottleStore};

#[cfg(test)]
mod tests;
