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

/// Hashes and verifies passwords off the async worker threads, a bounded number at a time.
///
/// Owned by the app (put it in the router state); cheap to clone (one `Arc`): clones share one limit.
/// See the [module docs](super) for the model.
///
/// | setting | default | |
/// |---|---|---|
/// | [`params`](PasswordHasherBuilder::params) | m = 19 MiB, t = 2, p = 1 | argon2id cost of new hashes ([`Argon2Params`]) |
/// | [`max_concurrent`](PasswordHasherBuilder::max_concurrent) | half the CPUs, at least 1 | hashes running at once |
/// | [`max_wait`](PasswordHasherBuilder::max_wait) | [`DEFAULT_MAX_WAIT`] (2 s) | how long a call waits for its turn |
/// | [`max_queue`](PasswordHasherBuilder::max_queue) | [`DEFAULT_QUEUE_PER_PERMIT`] × `max_concurrent` | calls waiting at once |
///
/// A call that would wait longer than `max_wait`, or find `max_queue` calls already waiting, fails with
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
/// # Ok::<(), keycard::password::HasherConfigError>(())
/// ```
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Argon2Params,
    argon2: Argon2<'static>,
    limit: HashLimit,
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
}

impl PasswordHasherBuilder {
    /// The argon2id cost of new hashes (default [`Argon2Params::default`]).
    pub fn params(mut self, params: Argon2Params) -> Self {
        self.params = params;
        self
    }

    /// How many hashes may run at once (default: half the CPUs, at least one; zero is refused).
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

    /// How many calls may wait for a permit at once; the next answers [`PasswordError::Busy`] without
    /// waiting (default [`DEFAULT_QUEUE_PER_PERMIT`] × `max_concurrent`). Zero: never wait.
    pub fn max_queue(mut self, n: usize) -> Self {
        self.max_queue = Some(n);
        self
    }

    /// Check the settings and build the hasher.
    ///
    /// Errors: [`HasherConfigError`] when `max_concurrent` is zero or beyond what a semaphore can hold.
    pub fn build(self) -> Result<PasswordHasher, HasherConfigError> {
        let max_concurrent = self.max_concurrent.unwrap_or_else(default_max_concurrent);
        if max_concurrent == 0 || max_concurrent > Semaphore::MAX_PERMITS {
            return Err(HasherConfigError(format!(
                "max_concurrent must be between 1 and {}, not {max_concurrent}",
                Semaphore::MAX_PERMITS
            )));
        }
        let max_queue = self
            .max_queue
            .unwrap_or_else(|| max_concurrent.saturating_mul(DEFAULT_QUEUE_PER_PERMIT));
        Ok(PasswordHasher {
            inner: Arc::new(Inner {
                params: self.params,
                argon2: self.params.argon2()?,
                limit: HashLimit::new(max_concurrent, self.max_wait, max_queue),
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
        }
    }

    /// The argon2id cost of new hashes.
    pub fn params(&self) -> Argon2Params {
        self.inner.params
    }

    /// How many hashes run at once at most.
    pub fn max_concurrent(&self) -> usize {
        self.inner.limit.max_concurrent()
    }

    /// How long a call waits for a permit at most.
    pub fn max_wait(&self) -> Duration {
        self.inner.limit.max_wait()
    }

    /// How many calls wait for a permit at once at most.
    pub fn max_queue(&self) -> usize {
        self.inner.limit.max_queue()
    }

    /// Hash `password` with argon2id at this hasher's parameters, off the async worker threads.
    ///
    /// Returns a PHC string. Errors: [`PasswordError::TooLong`], [`PasswordError::Busy`], or a failed
    /// hashing task.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        check_length(password)?;
        let password = password.to_owned();
        self.run(move |inner| inner.hash(&password)).await
    }

    /// Check `password` against the stored hash of the user signing in, off the async worker threads.
    ///
    /// `stored` is `None` when no account matches the login: the password is then verified against a dummy
    /// hash at this hasher's parameters (same cost as a wrong password) and the answer is
    /// [`Verified::Invalid`]. See the [module docs](super) for the errors and the rehash signal.
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<Verified, PasswordError> {
        let stored = stored.map(str::to_owned);
        let password = password.to_owned();
        self.run(move |inner| inner.verify(&password, stored.as_deref()))
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

    /// Run `f` on the blocking pool once a permit is free. The permit moves into the blocking task, so a
    /// cancelled call (client gone) still counts until its hash actually finishes.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let permit = self.inner.limit.permit().await?;
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
    pub(super) fn dummy_hash(&self) -> Option<&str> {
        self.inner.dummy_hash()
    }
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
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refused_settings() {
        let h = PasswordHasher::new();
        assert_eq!(h.max_concurrent(), default_max_concurrent());
        assert!(h.max_concurrent() >= 1);
        assert_eq!(h.max_wait(), DEFAULT_MAX_WAIT);
        assert_eq!(h.max_queue(), h.max_concurrent() * DEFAULT_QUEUE_PER_PERMIT);
        assert_eq!(h.params(), Argon2Params::default());
        assert!(PasswordHasher::builder().max_concurrent(0).build().is_err());
        let h = PasswordHasher::builder()
            .max_concurrent(3)
            .max_queue(0)
            .max_wait(Duration::from_secs(9))
            .build()
            .unwrap();
        assert_eq!((h.max_concurrent(), h.max_queue()), (3, 0));
        assert_eq!(h.max_wait(), Duration::from_secs(9));
    }

    #[tokio::test]
    async fn each_hasher_has_its_own_limit() {
        // What the process-wide limit could not do: two apps (or tests) in one process, two limits.
        let one_at_a_time = || {
            PasswordHasher::builder()
                .max_concurrent(1)
                .max_queue(0)
                .build()
                .unwrap()
        };
        let (a, b) = (one_at_a_time(), one_at_a_time());
        let _held = a.try_take_permit().expect("a's only permit");
        assert!(matches!(
            a.verify("x", None).await,
            Err(PasswordError::Busy { .. })
        ));
        assert!(matches!(a.hash("x").await, Err(PasswordError::Busy { .. })));
        assert_eq!(b.verify("x", None).await.unwrap(), Verified::Invalid);
        // A clone shares its original's limit.
        assert!(matches!(
            a.clone().verify("x", None).await,
            Err(PasswordError::Busy { .. })
        ));
        // The blocking variants take no permit.
        assert_eq!(a.verify_blocking("x", None).unwrap(), Verified::Invalid);
    }
}
