//! [`PasswordHasher`]: the argon2id parameters and the concurrency limit, as a value the app owns.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;

use super::limit::HashLimit;
use super::params::{Argon2Params, HasherConfigError};
use super::scheme::classify;
use super::{PasswordError, Verified, ARGON2_OUTPUT_LEN, MAX_PASSWORD_BYTES, SALT_LEN};

/// How long a call waits for a hashing permit by default before it answers [`PasswordError::Busy`].
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(2);

/// By default at most this many calls per permit wait at once; the next one answers
/// [`PasswordError::Busy`] at once.
pub const DEFAULT_QUEUE_PER_PERMIT: usize = 16;

/// New hashes ([`PasswordHasher::hash`]: registration, password change, reset) running at once by
/// default, in their own lane beside the verifications'.
pub const DEFAULT_HASH_MAX_CONCURRENT: usize = 1;

/// Hashes and verifies passwords off the async worker threads, a bounded number at a time.
///
/// Owned by the app (put it in the router state); cheap to clone (one `Arc`): clones share its limits.
/// See the [module docs](super) for the model.
///
/// **Two lanes.** [`verify`](Self::verify) (sign-in, re-authentication, the current password of a
/// change) and [`hash`](Self::hash) (a new password: registration, change, reset) each take permits
/// from a limit of their own, with a queue of its own. A flood of registrations therefore fills only
/// the hashing lane (its calls answer `Busy`), and sign-ins keep every verification permit (issue 18,
/// W9: 40 connections posting registrations had turned every sign-in into a 503 when both shared one
/// queue). At most `max_concurrent + hash_max_concurrent` hashes run at once.
///
/// | setting | default | |
/// |---|---|---|
/// | [`params`](PasswordHasherBuilder::params) | m = 19 MiB, t = 2, p = 1 | argon2id cost of new hashes ([`Argon2Params`]) |
/// | [`max_concurrent`](PasswordHasherBuilder::max_concurrent) | half the CPUs, at least 1 | verifications running at once |
/// | [`max_wait`](PasswordHasherBuilder::max_wait) | [`DEFAULT_MAX_WAIT`] (2 s) | how long a call (either lane) waits for its turn |
/// | [`max_queue`](PasswordHasherBuilder::max_queue) | [`DEFAULT_QUEUE_PER_PERMIT`] × `max_concurrent` | verifications waiting at once |
/// | [`hash_max_concurrent`](PasswordHasherBuilder::hash_max_concurrent) | [`DEFAULT_HASH_MAX_CONCURRENT`] (1) | new hashes running at once |
/// | [`hash_max_queue`](PasswordHasherBuilder::hash_max_queue) | [`DEFAULT_QUEUE_PER_PERMIT`] × `hash_max_concurrent` | new hashes waiting at once |
///
/// A call that would wait longer than `max_wait`, or find its lane's queue full, fails with
/// [`PasswordError::Busy`] instead of queueing without end: under a flood of sign-ins, real users get a
/// quick "try again" (503 with `Retry-After` from `keycard-axum`) instead of a sign-in that takes seconds.
///
/// ```
/// use std::time::Duration;
/// use keycard::password::PasswordHasher;
///
/// let hasher = PasswordHasher::builder()
///     .max_concurrent(2)
///     .max_wait(Duration::from_secs(1))
///     .build()?;
/// assert_eq!(hasher.max_queue(), 32);
/// assert_eq!(hasher.hash_max_concurrent(), 1); // new hashes: a lane of their own
/// # Ok::<(), keycard::password::HasherConfigError>(())
/// ```
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Argon2Params,
    argon2: Argon2<'static>,
    /// The verifications' lane ([`PasswordHasher::verify`]).
    limit: HashLimit,
    /// The new hashes' lane ([`PasswordHasher::hash`]).
    hash_limit: HashLimit,
    /// A hash of a random password at `params`, made at the first call that needs it.
    dummy: OnceLock<Option<String>>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.inner.params)
            .field("max_concurrent", &self.max_concurrent())
            .field("max_wait", &self.max_wait())
            .field("max_queue", &self.max_queue())
            .field("hash_max_concurrent", &self.hash_max_concurrent())
            .field("hash_max_queue", &self.hash_max_queue())
            .finish_non_exhaustive()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        PasswordHasher::new()
    }
}

/// Builds a [`PasswordHasher`]; see its table for the defaults.
#[derive(Debug, Clone)]
pub struct PasswordHasherBuilder {
    params: Argon2Params,
    max_concurrent: Option<usize>,
    max_wait: Duration,
    max_queue: Option<usize>,
    hash_max_concurrent: usize,
    hash_max_queue: Option<usize>,
}

impl PasswordHasherBuilder {
    /// The argon2id cost of new hashes (default [`Argon2Params::default`]).
    pub fn params(mut self, params: Argon2Params) -> Self {
        self.params = params;
        self
    }

    /// How many verifications ([`PasswordHasher::verify`]) may run at once (default: half the CPUs, at
    /// least one; zero is refused). New hashes have a lane of their own
    /// ([`hash_max_concurrent`](Self::hash_max_concurrent)).
    ///
    /// Each argon2id hash holds 19 MiB and a core for tens of milliseconds. Without a limit, tokio's blocking
    /// pool starts up to 512 threads under a flood of sign-ins (about 10 GiB), and even one hash per core
    /// leaves the async workers no CPU: every signed-in request waits behind the hashes (BENCHMARKS.md,
    /// "sign-in under load"). With half the cores, requests keep the other half.
    pub fn max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = Some(n);
        self
    }

    /// How long a call waits for a permit before answering [`PasswordError::Busy`] (default
    /// [`DEFAULT_MAX_WAIT`]). Zero: never wait.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// How many verifications may wait for a permit at once; the next answers [`PasswordError::Busy`]
    /// without waiting (default [`DEFAULT_QUEUE_PER_PERMIT`] × `max_concurrent`). Zero: never wait.
    pub fn max_queue(mut self, n: usize) -> Self {
        self.max_queue = Some(n);
        self
    }

    /// How many new hashes ([`PasswordHasher::hash`]: registration, password change, reset) may run at
    /// once, in a lane of their own: they never take a verification's permit, so a flood of
    /// registrations cannot starve sign-ins (default [`DEFAULT_HASH_MAX_CONCURRENT`], 1; zero is refused).
    pub fn hash_max_concurrent(mut self, n: usize) -> Self {
        self.hash_max_concurrent = n;
        self
    }

    /// How many new hashes may wait for a permit at once; the next answers [`PasswordError::Busy`]
    /// without waiting (default [`DEFAULT_QUEUE_PER_PERMIT`] × `hash_max_concurrent`). Zero: never wait.
    pub fn hash_max_queue(mut self, n: usize) -> Self {
        self.hash_max_queue = Some(n);
        self
    }

    /// Check the settings and build the hasher.
    ///
    /// Errors: [`HasherConfigError`] when `max_concurrent` is zero or beyond what a semaphore can hold.
    pub fn build(self) -> Result<PasswordHasher, HasherConfigError> {
        let max_concurrent = self.max_concurrent.unwrap_or_else(default_max_concurrent);
        let hash_max_concurrent = self.hash_max_concurrent;
        for (name, n) in [
            ("max_concurrent", max_concurrent),
            ("hash_max_concurrent", hash_max_concurrent),
        ] {
            if n == 0 || n > Semaphore::MAX_PERMITS {
                return Err(HasherConfigError(format!(
                    "{name} must be between 1 and {}, not {n}",
                    Semaphore::MAX_PERMITS
                )));
            }
        }
        let queue = |set: Option<usize>, permits: usize| {
            set.unwrap_or_else(|| permits.saturating_mul(DEFAULT_QUEUE_PER_PERMIT))
        };
        let max_queue = queue(self.max_queue, max_concurrent);
        let hash_max_queue = queue(self.hash_max_queue, hash_max_concurrent);
        Ok(PasswordHasher {
            inner: Arc::new(Inner {
                params: self.params,
                argon2: self.params.argon2()?,
                limit: HashLimit::new(max_concurrent, self.max_wait, max_queue),
                hash_limit: HashLimit::new(hash_max_concurrent, self.max_wait, hash_max_queue),
                dummy: OnceLock::new(),
            }),
        })
    }
}

fn default_max_concurrent() -> usize {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cpus / 2).max(1)
}

impl PasswordHasher {
    /// A hasher with the defaults (see the table above).
    pub fn new() -> Self {
        match PasswordHasher::builder().build() {
            Ok(hasher) => hasher,
            Err(e) => unreachable!("the default password hasher configuration is valid: {e}"),
        }
    }

    /// Start from the defaults.
    pub fn builder() -> PasswordHasherBuilder {
        PasswordHasherBuilder {
            params: Argon2Params::default(),
            max_concurrent: None,
            max_wait: DEFAULT_MAX_WAIT,
            max_queue: None,
            hash_max_concurrent: DEFAULT_HASH_MAX_CONCURRENT,
            hash_max_queue: None,
        }
    }

    /// The argon2id cost of new hashes.
    pub fn params(&self) -> Argon2Params {
        self.inner.params
    }

    /// How many verifications run at once at most.
    pub fn max_concurrent(&self) -> usize {
        self.inner.limit.max_concurrent()
    }

    /// How long a call waits for a permit at most (either lane).
    pub fn max_wait(&self) -> Duration {
        self.inner.limit.max_wait()
    }

    /// How many verifications wait for a permit at once at most.
    pub fn max_queue(&self) -> usize {
        self.inner.limit.max_queue()
    }

    /// How many new hashes run at once at most (their own lane).
    pub fn hash_max_concurrent(&self) -> usize {
        self.inner.hash_limit.max_concurrent()
    }

    /// How many new hashes wait for a permit at once at most.
    pub fn hash_max_queue(&self) -> usize {
        self.inner.hash_limit.max_queue()
    }

    /// Hash `password` with argon2id at this hasher's parameters, off the async worker threads, on the
    /// new hashes' lane ([`hash_max_concurrent`](PasswordHasherBuilder::hash_max_concurrent)): however
    /// many wait here, [`verify`](Self::verify) keeps its own permits.
    ///
    /// Returns a PHC string. Errors: [`PasswordError::TooLong`], [`PasswordError::Busy`], or a failed
    /// hashing task.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        check_length(password)?;
        let password = password.to_owned();
        self.run(Lane::Hash, move |inner| inner.hash(&password))
            .await
    }

    /// Check `password` against the stored hash of the user signing in, off the async worker threads.
    ///
    /// `stored` is `None` when no account matches the login: the password is then verified against a dummy
    /// hash at this hasher's parameters (same cost as a wrong password) and the answer is
    /// [`Verified::Invalid`]. See the [module docs](super) for the errors and the rehash signal. Runs on
    /// the verifications' lane (a rehash too: it is part of the sign-in).
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<Verified, PasswordError> {
        let stored = stored.map(str::to_owned);
        let password = password.to_owned();
        self.run(Lane::Verify, move |inner| {
            inner.verify(&password, stored.as_deref())
        })
        .await
    }

    /// [`hash`](Self::hash) on the calling thread, without a permit. For CLIs and code already off the
    /// runtime; do not call from async code.
    ///
    /// Errors: as [`hash`](Self::hash), but never [`PasswordError::Busy`] (no permit is taken).
    pub fn hash_blocking(&self, password: &str) -> Result<String, PasswordError> {
        check_length(password)?;
        self.inner.hash(password)
    }

    /// [`verify`](Self::verify) on the calling thread, without a permit. For CLIs and code already off the
    /// runtime; do not call from async code.
    ///
    /// Errors: as [`verify`](Self::verify), but never [`PasswordError::Busy`] (no permit is taken).
    pub fn verify_blocking(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<Verified, PasswordError> {
        self.inner.verify(password, stored)
    }

    /// Whether `stored` should be replaced by a hash at this hasher's parameters (checked without a
    /// password; [`verify`](Self::verify) already reports this on success). Malformed hashes answer `true`.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        match classify(stored, &self.inner.params) {
            Ok(s) => !s.is_current(),
            Err(_) => true,
        }
    }

    /// Run `f` on the blocking pool once a permit of `lane` is free. The permit moves into the blocking
    /// task, so a cancelled call (client gone) still counts until its hash actually finishes.
    async fn run<T: Send + 'static>(
        &self,
        lane: Lane,
        f: impl FnOnce(&Inner) -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let limit = match lane {
            Lane::Verify => &self.inner.limit,
            Lane::Hash => &self.inner.hash_limit,
        };
        let permit = limit.permit().await?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let out = f(&inner);
            drop(permit);
            out
        })
        .await
        .map_err(|e| PasswordError::Task(e.to_string()))?
    }

    #[cfg(test)]
    fn try_take_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.limit.try_take()
    }

    #[cfg(test)]
    fn try_take_hash_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.hash_limit.try_take()
    }

    #[cfg(test)]
    pub(super) fn dummy_hash(&self) -> Option<&str> {
        self.inner.dummy_hash()
    }
}

/// Which limit a call takes its permit from.
#[derive(Debug, Clone, Copy)]
enum Lane {
    /// [`PasswordHasher::verify`].
    Verify,
    /// [`PasswordHasher::hash`].
    Hash,
}

fn check_length(password: &str) -> Result<(), PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES,
        });
    }
    Ok(())
}

impl Inner {
    fn hash(&self, password: &str) -> Result<String, PasswordError> {
        check_length(password)?;
        let mut salt = [0u8; SALT_LEN];
        getrandom::getrandom(&mut salt)
            .map_err(|e| PasswordError::Hashing(format!("no random salt: {e}")))?;
        let salt =
            SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hashing(e.to_string()))?;
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordError::Hashing(e.to_string()))
    }

    fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verified, PasswordError> {
        let Some(stored) = stored else {
            self.dummy_verify(password);
            return Ok(Verified::Invalid);
        };
        let scheme = match classify(stored, &self.params) {
            Ok(scheme) => scheme,
            Err(e) => {
                // Unusable stored hash: same cost as a wrong password (no timing tell for this account),
                // none of the absurd work it may ask for, then the error.
                self.dummy_verify(password);
                return Err(e);
            }
        };
        if password.len() > MAX_PASSWORD_BYTES {
            // Never hashed, so never valid; still pay the usual price.
            self.dummy_verify(password);
            return Ok(Verified::Invalid);
        }
        if !scheme.verify(password)? {
            return Ok(Verified::Invalid);
        }
        let rehash = if scheme.is_current() {
            None
        } else {
            Some(self.hash(password)?)
        };
        Ok(Verified::Valid { rehash })
    }

    fn dummy_hash(&self) -> Option<&str> {
        self.dummy
            .get_or_init(|| {
                let mut pw = [0u8; 32];
                getrandom::getrandom(&mut pw).ok()?;
                self.hash(&hex::encode(pw)).ok()
            })
            .as_deref()
    }

    /// Verify `password` against the dummy hash and throw the answer away.
    fn dummy_verify(&self, password: &str) {
        match self.dummy_hash().map(PasswordHash::new) {
            Some(Ok(hash)) => {
                // Bound the work like a real verification: an over-long password is cut here only because
                // the answer is discarded anyway.
                let pw = &password.as_bytes()[..password.len().min(MAX_PASSWORD_BYTES)];
                let _ = Argon2::default().verify_password(pw, &hash);
            }
            _ => {
                // Could not build the dummy (no randomness): spend the same work on a fixed salt instead.
                let mut out = [0u8; ARGON2_OUTPUT_LEN];
                let _ = self.argon2.hash_password_into(
                    b"keycard-dummy",
                    b"keycard-dummy-salt",
                    &mut out,
                );
            }
        }
    }
}

#[cfg(test)]
#[path = "hasher_tests.rs"]
mod tests;
