//! Password hashing: argon2id for new hashes, verification of Pow's PBKDF2 hashes, rehash on sign-in, a
//! bounded number of hashes at a time, and a [`PasswordPolicy`] for new passwords. Behind the default-on
//! `password` feature.
//!
//! # The model
//!
//! - **A value the app owns.** A [`PasswordHasher`] holds the argon2id parameters and the concurrency limit;
//!   the app builds one at start-up and keeps it in its router state (clones share it). Two apps, or two
//!   tests, in one process have two independent limits.
//! - **New hashes are argon2id** ([`PasswordHasher::hash`]) with m = 19 MiB, t = 2, p = 1 by default
//!   ([`ARGON2_M_COST_KIB`], [`ARGON2_T_COST`], [`ARGON2_P_COST`]: OWASP's password storage floor;
//!   [`Argon2Params`] to choose others), a 16-byte random salt and a 32-byte output, stored as a PHC
//!   string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) that carries its own parameters.
//! - **Old hashes keep working.** [`PasswordHasher::verify`] also verifies the hashes Pow wrote,
//!   `$pbkdf2-sha512$<iterations>$<base64 salt>$<base64 hash>` (standard base64 with padding), and argon2
//!   hashes made with other parameters, so an app migrating from Pow (or raising its parameters later)
//!   changes nothing in its users table up front.
//! - **Rehash on sign-in.** When a password verifies against a hash that is not current (a Pow hash, an
//!   argon2 hash with weaker parameters, argon2i/argon2d) the answer is
//!   [`Verified::Valid { rehash: Some(new_hash) }`](Verified::Valid): the app stores `new_hash` for that user.
//!   The plaintext is only ever available at that moment, so this is the one chance to upgrade.
//! - **Off the async workers, a few at a time, never an endless queue.** Hashing costs tens of milliseconds
//!   of CPU and 19 MiB of memory on purpose. The async methods run it on [`tokio::task::spawn_blocking`],
//!   at most [`max_concurrent`](PasswordHasherBuilder::max_concurrent) at once (default: half the CPUs), so
//!   a burst of sign-ins never stalls the requests that share the runtime. A call waits for its turn at most
//!   [`max_wait`](PasswordHasherBuilder::max_wait) (2 s), behind at most
//!   [`max_queue`](PasswordHasherBuilder::max_queue) others; past either bound it fails fast with
//!   [`PasswordError::Busy`] and a retry hint, which `keycard-axum` answers with `503` and `Retry-After`.
//!   The `*_blocking` methods are for CLIs and code already off the runtime (they take no permit).
//! - **Sign-in keeps permits of its own.** [`PasswordHasher::verify`] (sign-in, re-authentication, the
//!   current password of a change) and [`PasswordHasher::hash`] (a new password: registration, change,
//!   reset) take their permits from two separate lanes, each with its own queue
//!   ([`hash_max_concurrent`](PasswordHasherBuilder::hash_max_concurrent), default 1, beside
//!   `max_concurrent`), so a flood of registrations fills only the hashing lane and never makes a
//!   sign-in wait or answer `Busy`. Throttle registration per client too (`keycard::throttle::RateLimit`).
//! - **Unknown users cost the same as a wrong password.** `verify(pw, None)` (no such account) verifies
//!   `pw` against a dummy argon2id hash made with the hasher's parameters and answers
//!   [`Verified::Invalid`], so response timing does not reveal which emails have accounts. (Each hasher
//!   makes its dummy hash at its first call that needs it; every call after that costs one verification.)
//!   A user whose stored hash is still a Pow hash costs whatever its PBKDF2 iteration count costs until
//!   their next sign-in rehashes it.
//!
//! # Which new passwords to accept
//!
//! [`PasswordPolicy`] checks a new password before it is hashed, at registration and at every change:
//! at least 8 characters (counted as typed, nothing trimmed), at most 1024 bytes, not whitespace only,
//! not one character repeated, not on a bundled list of common and breached passwords (Django's list of
//! the 20,000 most common, compiled by Royce Williams; BSD-3-Clause, see the [`policy`] module), in any
//! case, not the account's email or its local part ([`check_for_user`](PasswordPolicy::check_for_user)),
//! and not the current password ([`check_change`](PasswordPolicy::check_change) once the current one
//! verified, or [`check_change_against_hash`](PasswordPolicy::check_change_against_hash) with the stored
//! hash). A refusal is a [`PasswordRejected`] whose `Display` tells the user what to do instead
//! ("use at least 8 characters", "this password is on a list of common or breached passwords; choose
//! another"). The checks cost microseconds, so run them before the (deliberately slow) hash.
//!
//! # Errors, not panics, and bounded work
//!
//! Everything here handles attacker-chosen passwords and whatever the users table holds without panicking:
//!
//! - A stored hash that cannot be parsed (unknown scheme, bad base64, missing fields) is
//!   [`PasswordError::MalformedHash`], **not** `Invalid`: it is corrupt data in the app's database, not a
//!   wrong password, and saying "wrong password" would hide it. The app should log it and answer the
//!   sign-in with its usual generic failure. Before answering, `verify` spends the same work as for a wrong
//!   password, so the response time does not single out that account.
//! - A stored hash whose parameters would make one verification absurdly expensive is
//!   [`PasswordError::UnsupportedParams`] (after the same dummy work, never the absurd work): PBKDF2
//!   iterations above [`PBKDF2_MAX_ITERATIONS`] (1,000,000: ten times Pow's default of 100,000 and above
//!   OWASP's 210,000 for PBKDF2-HMAC-SHA512; roughly half a second of one core in release builds), a PBKDF2
//!   output longer than one SHA-512 block (64 bytes; each extra block repeats every iteration), or argon2
//!   memory above [`ARGON2_MAX_M_COST_KIB`] (256 MiB), time cost above [`ARGON2_MAX_T_COST`] or lanes above
//!   [`ARGON2_MAX_P_COST`].
//! - A password longer than [`MAX_PASSWORD_BYTES`] (16 KiB) is refused by `hash` with
//!   [`PasswordError::TooLong`]; `verify` answers `Invalid` for it after the usual dummy work (no such
//!   password was ever hashed). The limit is generous on purpose: passwords are never truncated.
//!
//! Nothing in this module logs a password or a hash.
//!
//! # Why a feature and not a crate
//!
//! Every app that signs users in with a password needs this next to the session cache, so it ships in the
//! core crate and is on by default: one dependency line, one version. Apps that sign in some other way
//! (OAuth, passkeys, an existing hashing scheme) turn it off with `default-features = false` and lose the
//! `argon2` and `pbkdf2` dependencies. A crate of its own would add a fifth crate to publish and keep in
//! step for one module, and `keycard-axum` would still need an optional dependency on it for its
//! `From<PasswordError>` conversion; like Pow (whose password module lives in its core), keycard keeps it
//! in the core.
//!
//! # Example
//! ```
//! use keycard::password::{PasswordHasher, Verified};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), keycard::password::PasswordError> {
//! let hasher = PasswordHasher::new(); // once, at start-up; keep it in the app state
//! let stored = hasher.hash("correct horse battery staple").await?;
//! assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
//!
//! match hasher.verify("correct horse battery staple", Some(&stored)).await? {
//!     Verified::Valid { rehash: Some(new_hash) } => { /* store new_hash for this user */ let _ = new_hash; }
//!     Verified::Valid { rehash: None } => { /* signed in */ }
//!     Verified::Invalid => unreachable!(),
//! }
//! // No such user: same cost as a wrong password, and always Invalid.
//! assert_eq!(hasher.verify("anything", None).await?, Verified::Invalid);
//! # Ok(()) }
//! ```

use std::time::Duration;

mod hasher;
mod limit;
mod params;
pub mod policy;
mod pow;
mod scheme;
#[cfg(test)]
mod tests;

pub use hasher::{
    PasswordHasher, PasswordHasherBuilder, DEFAULT_HASH_MAX_CONCURRENT, DEFAULT_MAX_WAIT,
    DEFAULT_QUEUE_PER_PERMIT,
};
pub use params::{Argon2Params, HasherConfigError};
pub use policy::{
    is_common_password, PasswordCheckError, PasswordPolicy, PasswordRejected, DEFAULT_MAX_BYTES,
    DEFAULT_MIN_CHARS,
};

/// Argon2id memory cost of new hashes by default, in KiB (19 MiB, OWASP's minimum).
pub const ARGON2_M_COST_KIB: u32 = 19_456;
/// Argon2id iterations of new hashes by default (OWASP's minimum at 19 MiB).
pub const ARGON2_T_COST: u32 = 2;
/// Argon2id lanes of new hashes by default.
pub const ARGON2_P_COST: u32 = 1;
/// Argon2 output length for new hashes, in bytes.
pub const ARGON2_OUTPUT_LEN: usize = 32;
/// Salt length for new hashes, in bytes.
pub const SALT_LEN: usize = 16;

/// The most memory a stored argon2 hash may ask for (KiB) before it is refused as a denial of service.
pub const ARGON2_MAX_M_COST_KIB: u32 = 256 * 1024;
/// The highest argon2 time cost accepted in a stored hash.
pub const ARGON2_MAX_T_COST: u32 = 16;
/// The most argon2 lanes accepted in a stored hash.
pub const ARGON2_MAX_P_COST: u32 = 16;

/// The highest PBKDF2 iteration count accepted in a stored Pow hash (see the [module docs](self)).
pub const PBKDF2_MAX_ITERATIONS: u32 = 1_000_000;
/// The longest PBKDF2-SHA512 output accepted (one SHA-512 block).
pub const PBKDF2_MAX_OUTPUT_LEN: usize = 64;
/// The shortest PBKDF2-SHA512 output accepted (128 bits; Pow writes 64 bytes).
pub const PBKDF2_MIN_OUTPUT_LEN: usize = 16;
/// The longest PBKDF2 salt accepted, in bytes (Pow writes 16).
pub const PBKDF2_MAX_SALT_LEN: usize = 1024;

/// The longest password accepted, in bytes. Longer passwords are refused, never truncated.
pub const MAX_PASSWORD_BYTES: usize = 16 * 1024;

/// Why hashing or verification could not give an answer. A wrong password is not an error: it is
/// [`Verified::Invalid`].
///
/// None of these carries a password or a hash, so they are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The password is longer than [`MAX_PASSWORD_BYTES`] (only `hash` says this).
    #[error("password is longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Too many hashes are running or waiting: the call waited [`max_wait`](PasswordHasher::max_wait) for
    /// a permit, or found [`max_queue`](PasswordHasher::max_queue) calls already waiting. Nothing was
    /// computed. Answer "try again" (`keycard-axum`: 503 with `Retry-After`).
    #[error("password hashing is at capacity; retry in {} s", retry_after.as_secs())]
    Busy {
        /// When a retry has a fair chance (whole seconds, at least one).
        retry_after: Duration,
    },
    /// The stored hash is not a PHC argon2 string nor a Pow `$pbkdf2-sha512$` string, or a field in it is
    /// malformed. Corrupt data in the users table: log it, fail the sign-in generically.
    #[error("stored password hash is malformed: {0}")]
    MalformedHash(&'static str),
    /// The stored hash is well-formed but its parameters exceed the bounds this module accepts (a denial of
    /// service guard). Nothing was computed.
    #[error("stored password hash has unsupported parameters: {0}")]
    UnsupportedParams(String),
    /// The hashing library failed (should not happen with the parameters used here).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The blocking task running the hash panicked or was cancelled (runtime shutting down).
    #[error("password hashing task failed: {0}")]
    Task(String),
}

/// The answer of [`PasswordHasher::verify`].
///
/// Deliberately exhaustive: it is the yes/no of a sign-in, and a new kind of answer must make every
/// `match` on it fail to compile rather than fall into a wildcard arm.
#[derive(Clone, PartialEq, Eq)]
pub enum Verified {
    /// Wrong password, or no such user.
    Invalid,
    /// The password is right.
    Valid {
        /// `Some(new_hash)` when the stored hash is not current (a Pow hash, weaker argon2 parameters):
        /// store `new_hash` for this user now.
        rehash: Option<String>,
    },
}

impl Verified {
    /// Whether the password was right.
    pub fn is_valid(&self) -> bool {
        matches!(self, Verified::Valid { .. })
    }

    /// The replacement hash to store, if any.
    pub fn rehash(&self) -> Option<&str> {
        match self {
            Verified::Valid { rehash } => rehash.as_deref(),
            Verified::Invalid => None,
        }
    }
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verified::Invalid => f.write_str("Invalid"),
            Verified::Valid { rehash } => f
                .debug_struct("Valid")
                .field("rehash", &rehash.as_ref().map(|_| "<new hash>"))
                .finish(),
        }
    }
}
