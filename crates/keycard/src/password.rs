//! Password hashing: argon2id for new hashes, verification of Pow's PBKDF2 hashes, rehash on sign-in.
//!
//! # The model
//!
//! - **New hashes are argon2id** ([`hash_password`]) with m = 19 MiB, t = 2, p = 1 ([`ARGON2_M_COST_KIB`],
//!   [`ARGON2_T_COST`], [`ARGON2_P_COST`]: OWASP's password storage floor), a 16-byte random salt and a
//!   32-byte output, stored as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) that carries
//!   its own parameters.
//! - **Old hashes keep working.** [`verify_password`] also verifies the hashes Pow wrote,
//!   `$pbkdf2-sha512$<iterations>$<base64 salt>$<base64 hash>` (standard base64 with padding), and argon2
//!   hashes made with other parameters, so an app migrating from Pow (or raising its parameters later)
//!   changes nothing in its users table up front.
//! - **Rehash on sign-in.** When a password verifies against a hash that is not current (a Pow hash, an
//!   argon2 hash with weaker parameters, argon2i/argon2d) the answer is
//!   [`Verified::Valid { rehash: Some(new_hash) }`](Verified::Valid): the app stores `new_hash` for that user.
//!   The plaintext is only ever available at that moment, so this is the one chance to upgrade.
//! - **Off the async workers.** Hashing costs tens of milliseconds of CPU and 19 MiB of memory on purpose.
//!   Both async functions run it on [`tokio::task::spawn_blocking`], so a burst of sign-ins never stalls
//!   the requests that share the runtime's worker threads, and at most one hash per CPU runs at a time
//!   (the others wait without holding a thread), so a flood of sign-ins cannot take 19 MiB × hundreds of
//!   blocking threads. The `*_blocking` variants are for CLIs and code already off the runtime.
//! - **Unknown users cost the same as a wrong password.** `verify_password(pw, None)` (no such account)
//!   verifies `pw` against a dummy argon2id hash made once per process with the same parameters and
//!   answers [`Verified::Invalid`], so response timing does not reveal which emails have accounts. (The very
//!   first call in a process also makes the dummy hash; every call after that costs one verification.)
//!   A user whose stored hash is still a Pow hash costs whatever its PBKDF2 iteration count costs until
//!   their next sign-in rehashes it.
//!
//! # Errors, not panics, and bounded work
//!
//! Everything here handles attacker-chosen passwords and whatever the users table holds without panicking:
//!
//! - A stored hash that cannot be parsed (unknown scheme, bad base64, missing fields) is
//!   [`PasswordError::MalformedHash`], **not** `Invalid`: it is corrupt data in the app's database, not a
//!   wrong password, and saying "wrong password" would hide it. The app should log it and answer the
//!   sign-in with its usual generic failure. Before answering, [`verify_password`] spends the same work
//!   as for a wrong password, so the response time does not single out that account.
//! - A stored hash whose parameters would make one verification absurdly expensive is
//!   [`PasswordError::UnsupportedParams`] (after the same dummy work, never the absurd work): PBKDF2
//!   iterations above
//!   [`PBKDF2_MAX_ITERATIONS`] (1,000,000: ten times Pow's default of 100,000 and above OWASP's 210,000 for
//!   PBKDF2-HMAC-SHA512; roughly half a second of one core in release builds), a PBKDF2 output longer than
//!   one SHA-512 block (64 bytes; each extra block repeats every iteration), or argon2 memory above
//!   [`ARGON2_MAX_M_COST_KIB`] (256 MiB), time cost above [`ARGON2_MAX_T_COST`] or lanes above
//!   [`ARGON2_MAX_P_COST`].
//! - A password longer than [`MAX_PASSWORD_BYTES`] (16 KiB) is refused by [`hash_password`] with
//!   [`PasswordError::TooLong`]; [`verify_password`] answers `Invalid` for it after the usual dummy work
//!   (no such password was ever hashed). The limit is generous on purpose: passwords are never truncated.
//!
//! Nothing in this module logs a password or a hash.
//!
//! # Example
//! ```
//! use keycard::password::{hash_password, verify_password, Verified};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), keycard::password::PasswordError> {
//! let stored = hash_password("correct horse battery staple").await?;
//! assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
//!
//! match verify_password("correct horse battery staple", Some(&stored)).await? {
//!     Verified::Valid { rehash: Some(new_hash) } => { /* store new_hash for this user */ let _ = new_hash; }
//!     Verified::Valid { rehash: None } => { /* signed in */ }
//!     Verified::Invalid => unreachable!(),
//! }
//! // No such user: same cost as a wrong password, and always Invalid.
//! assert_eq!(verify_password("anything", None).await?, Verified::Invalid);
//! # Ok(()) }
//! ```

use std::sync::{Arc, LazyLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::Sha512;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// Argon2id memory cost for new hashes, in KiB (19 MiB, OWASP's minimum).
pub const ARGON2_M_COST_KIB: u32 = 19_456;
/// Argon2id iterations for new hashes (OWASP's minimum at 19 MiB).
pub const ARGON2_T_COST: u32 = 2;
/// Argon2id lanes for new hashes.
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

/// The scheme prefix of Pow's hashes.
const POW_PREFIX: &str = "$pbkdf2-sha512$";

/// Why hashing or verification could not give an answer. A wrong password is not an error: it is
/// [`Verified::Invalid`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// The password is longer than [`MAX_PASSWORD_BYTES`] (only [`hash_password`] says this).
    #[error("password is longer than {max} bytes")]
    TooLong {
        /// The limit.
        max: usize,
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

/// The answer of [`verify_password`].
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

/// Hash `password` with argon2id at the current parameters, off the async worker threads.
///
/// Returns a PHC string. Errors: [`PasswordError::TooLong`], or a failed hashing task.
pub async fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES,
        });
    }
    let password = password.to_owned();
    run_blocking(move || hash_password_blocking(&password)).await
}

/// Check `password` against the stored hash of the user signing in, off the async worker threads.
///
/// `stored` is `None` when no account matches the login: the password is then verified against a dummy
/// hash with the current parameters (same cost as a wrong password) and the answer is
/// [`Verified::Invalid`]. See the [module docs](self) for the errors and the rehash signal.
pub async fn verify_password(
    password: &str,
    stored: Option<&str>,
) -> Result<Verified, PasswordError> {
    let stored = stored.map(str::to_owned);
    let password = password.to_owned();
    run_blocking(move || verify_password_blocking(&password, stored.as_deref())).await
}

/// [`hash_password`] on the calling thread. Do not call from async code: use [`hash_password`].
pub fn hash_password_blocking(password: &str) -> Result<String, PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES,
        });
    }
    let mut salt = [0u8; SALT_LEN];
    getrandom::getrandom(&mut salt)
        .map_err(|e| PasswordError::Hashing(format!("no random salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    current_hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// [`verify_password`] on the calling thread. Do not call from async code: use [`verify_password`].
pub fn verify_password_blocking(
    password: &str,
    stored: Option<&str>,
) -> Result<Verified, PasswordError> {
    let Some(stored) = stored else {
        dummy_verify(password);
        return Ok(Verified::Invalid);
    };
    let scheme = match classify(stored) {
        Ok(scheme) => scheme,
        Err(e) => {
            // Unusable stored hash: same cost as a wrong password (no timing tell for this account),
            // none of the absurd work it may ask for, then the error.
            dummy_verify(password);
            return Err(e);
        }
    };
    if password.len() > MAX_PASSWORD_BYTES {
        // Never hashed, so never valid; still pay the usual price.
        dummy_verify(password);
        return Ok(Verified::Invalid);
    }
    let ok = match &scheme {
        Scheme::Pow(pow) => pow.verify(password.as_bytes()),
        Scheme::Argon2 { hash, .. } => verify_argon2(password, hash)?,
    };
    if !ok {
        return Ok(Verified::Invalid);
    }
    let rehash = if scheme.is_current() {
        None
    } else {
        Some(hash_password_blocking(password)?)
    };
    Ok(Verified::Valid { rehash })
}

/// Whether `stored` should be replaced by a hash at the current parameters (checked without a password;
/// [`verify_password`] already reports this on success). Malformed hashes answer `true`.
pub fn needs_rehash(stored: &str) -> bool {
    match classify(stored) {
        Ok(s) => !s.is_current(),
        Err(_) => true,
    }
}

/// How many hashes may run at once in this process. Default: half the CPUs (at least one).
///
/// Each argon2id hash holds 19 MiB and a core for a few hundred milliseconds. Without a limit, tokio's
/// blocking pool starts up to 512 threads under a flood of sign-ins (about 10 GiB), and even one hash per core
/// leaves the async workers no CPU: every signed-in request waits behind the hashes (measured in
/// BENCHMARKS.md, "sign-in under load"). With half the cores, requests keep the other half; extra sign-ins
/// wait here, asynchronously.
static HASH_LIMIT: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let configured = CONFIGURED_HASH_LIMIT.load(std::sync::atomic::Ordering::SeqCst);
    let n = if configured > 0 {
        configured
    } else {
        default_hash_limit()
    };
    HASH_LIMIT_IN_FORCE.store(n, std::sync::atomic::Ordering::SeqCst);
    Arc::new(Semaphore::new(n))
});
static CONFIGURED_HASH_LIMIT: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);
static HASH_LIMIT_IN_FORCE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn default_hash_limit() -> usize {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cpus / 2).max(1)
}

/// Set how many password hashes may run at once in this process (default: half the CPUs, at least one).
///
/// Call it at start-up, before the first hash. Returns `false` (and changes nothing) if hashing has already
/// started with the limit in force, or if `n` is zero.
pub fn set_max_concurrent_hashes(n: usize) -> bool {
    if n == 0 || HASH_LIMIT_IN_FORCE.load(std::sync::atomic::Ordering::SeqCst) != 0 {
        return false;
    }
    CONFIGURED_HASH_LIMIT.store(n, std::sync::atomic::Ordering::SeqCst);
    true
}

/// The limit on concurrent hashes that is (or will be) in force.
pub fn max_concurrent_hashes() -> usize {
    match HASH_LIMIT_IN_FORCE.load(std::sync::atomic::Ordering::SeqCst) {
        0 => match CONFIGURED_HASH_LIMIT.load(std::sync::atomic::Ordering::SeqCst) {
            0 => default_hash_limit(),
            n => n,
        },
        n => n,
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
) -> Result<T, PasswordError> {
    // The permit moves into the blocking task, so a cancelled sign-in (client gone) still counts until
    // its hash actually finishes.
    let permit = HASH_LIMIT
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| PasswordError::Task(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let out = f();
        drop(permit);
        out
    })
    .await
    .map_err(|e| PasswordError::Task(e.to_string()))?
}

fn current_params() -> Result<Params, PasswordError> {
    Params::new(
        ARGON2_M_COST_KIB,
        ARGON2_T_COST,
        ARGON2_P_COST,
        Some(ARGON2_OUTPUT_LEN),
    )
    .map_err(|e| PasswordError::Hashing(e.to_string()))
}

fn current_hasher() -> Result<Argon2<'static>, PasswordError> {
    Ok(Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        current_params()?,
    ))
}

/// A hash of a random password at the current parameters, made once per process.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let mut pw = [0u8; 32];
    if getrandom::getrandom(&mut pw).is_err() {
        return None;
    }
    hash_password_blocking(&hex::encode(pw)).ok()
});

/// Verify `password` against the dummy hash and throw the answer away.
fn dummy_verify(password: &str) {
    match DUMMY_HASH.as_deref().map(PasswordHash::new) {
        Some(Ok(hash)) => {
            // Bound the work like a real verification: an over-long password is cut here only because
            // the answer is discarded anyway.
            let pw = &password.as_bytes()[..password.len().min(MAX_PASSWORD_BYTES)];
            let _ = Argon2::default().verify_password(pw, &hash);
        }
        _ => {
            // Could not build the dummy (no randomness): spend the same work on a fixed salt instead.
            if let Ok(h) = current_hasher() {
                let mut out = [0u8; ARGON2_OUTPUT_LEN];
                let _ = h.hash_password_into(b"keycard-dummy", b"keycard-dummy-salt", &mut out);
            }
        }
    }
}

fn verify_argon2(password: &str, hash: &PasswordHash<'_>) -> Result<bool, PasswordError> {
    match Argon2::default().verify_password(password.as_bytes(), hash) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(PasswordError::Hashing(e.to_string())),
    }
}

/// A parsed stored hash.
enum Scheme<'a> {
    Pow(PowHash),
    Argon2 {
        hash: PasswordHash<'a>,
        current: bool,
    },
}

impl Scheme<'_> {
    fn is_current(&self) -> bool {
        match self {
            Scheme::Pow(_) => false,
            Scheme::Argon2 { current, .. } => *current,
        }
    }
}

fn classify(stored: &str) -> Result<Scheme<'_>, PasswordError> {
    if stored.starts_with(POW_PREFIX) {
        return PowHash::parse(stored).map(Scheme::Pow);
    }
    if !stored.starts_with("$argon2") {
        return Err(PasswordError::MalformedHash("unknown scheme"));
    }
    let hash =
        PasswordHash::new(stored).map_err(|_| PasswordError::MalformedHash("not a PHC string"))?;
    let algorithm = Algorithm::try_from(hash.algorithm)
        .map_err(|_| PasswordError::MalformedHash("unknown argon2 variant"))?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(PasswordError::MalformedHash(
            "argon2 hash without salt or output",
        ));
    }
    let params = Params::try_from(&hash)
        .map_err(|_| PasswordError::MalformedHash("bad argon2 parameters"))?;
    if params.m_cost() > ARGON2_MAX_M_COST_KIB
        || params.t_cost() > ARGON2_MAX_T_COST
        || params.p_cost() > ARGON2_MAX_P_COST
    {
        return Err(PasswordError::UnsupportedParams(format!(
            "argon2 m={} t={} p={} exceeds m<={ARGON2_MAX_M_COST_KIB} t<={ARGON2_MAX_T_COST} p<={ARGON2_MAX_P_COST}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        )));
    }
    let version_current = match hash.version {
        None => false,
        Some(v) => v == u32::from(Version::V0x13),
    };
    let current = algorithm == Algorithm::Argon2id
        && version_current
        && params.m_cost() >= ARGON2_M_COST_KIB
        && params.t_cost() >= ARGON2_T_COST
        && params.p_cost() >= ARGON2_P_COST
        && hash.hash.map_or(0, |h| h.len()) >= ARGON2_OUTPUT_LEN;
    Ok(Scheme::Argon2 { hash, current })
}

/// Pow's `$pbkdf2-sha512$<iterations>$<base64 salt>$<base64 hash>`.
struct PowHash {
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl PowHash {
    fn parse(stored: &str) -> Result<PowHash, PasswordError> {
        let rest = stored
            .strip_prefix(POW_PREFIX)
            .ok_or(PasswordError::MalformedHash("not a Pow hash"))?;
        let mut fields = rest.split('$');
        let (Some(iter), Some(salt), Some(hash), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(PasswordError::MalformedHash(
                "Pow hash needs exactly iterations, salt and hash",
            ));
        };
        if iter.is_empty() || iter.len() > 10 || !iter.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PasswordError::MalformedHash(
                "Pow iteration count is not a number",
            ));
        }
        let iterations: u64 = iter
            .parse()
            .map_err(|_| PasswordError::MalformedHash("Pow iteration count is not a number"))?;
        if iterations == 0 {
            return Err(PasswordError::MalformedHash("Pow iteration count is zero"));
        }
        if iterations > u64::from(PBKDF2_MAX_ITERATIONS) {
            return Err(PasswordError::UnsupportedParams(format!(
                "{iterations} PBKDF2 iterations exceeds the limit of {PBKDF2_MAX_ITERATIONS}"
            )));
        }
        // Length checks before decoding: base64 of n bytes is 4*ceil(n/3) characters.
        if salt.is_empty() || salt.len() > PBKDF2_MAX_SALT_LEN.div_ceil(3) * 4 {
            return Err(PasswordError::MalformedHash("Pow salt has a bad length"));
        }
        if hash.len() > PBKDF2_MAX_OUTPUT_LEN.div_ceil(3) * 4 {
            return Err(PasswordError::UnsupportedParams(format!(
                "PBKDF2 output longer than {PBKDF2_MAX_OUTPUT_LEN} bytes"
            )));
        }
        let salt = STANDARD
            .decode(salt)
            .map_err(|_| PasswordError::MalformedHash("Pow salt is not standard base64"))?;
        let hash = STANDARD
            .decode(hash)
            .map_err(|_| PasswordError::MalformedHash("Pow hash is not standard base64"))?;
        if hash.len() > PBKDF2_MAX_OUTPUT_LEN {
            return Err(PasswordError::UnsupportedParams(format!(
                "PBKDF2 output longer than {PBKDF2_MAX_OUTPUT_LEN} bytes"
            )));
        }
        if hash.len() < PBKDF2_MIN_OUTPUT_LEN {
            return Err(PasswordError::MalformedHash("Pow hash output is too short"));
        }
        Ok(PowHash {
            // Checked against PBKDF2_MAX_ITERATIONS (a u32) above.
            iterations: iterations as u32,
            salt,
            hash,
        })
    }

    fn verify(&self, password: &[u8]) -> bool {
        let mut out = [0u8; PBKDF2_MAX_OUTPUT_LEN];
        let out = &mut out[..self.hash.len()];
        pbkdf2::pbkdf2_hmac::<Sha512>(password, &self.salt, self.iterations, out);
        bool::from(out.ct_eq(&self.hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // python3 -c "import hashlib,base64;print(base64.b64encode(hashlib.pbkdf2_hmac('sha512', b'secret1234', b'0123456789abcdef', 100000)).decode())"
    // (salt: base64.b64encode(b'0123456789abcdef') = MDEyMzQ1Njc4OWFiY2RlZg==). Pow's defaults: 100,000
    // iterations, 16-byte salt, 64-byte output.
    const POW_100K: &str = "$pbkdf2-sha512$100000$MDEyMzQ1Njc4OWFiY2RlZg==$1lMupKyfiiMVmQMSurej/NX2p7s16zIyLtlUv0vlGU6w+G8bgrj/YBpmKJKcgfeMniZPyGPD413fOdlpsSf0rg==";

    // python3 -c "import hashlib,base64;print(base64.b64encode(hashlib.pbkdf2_hmac('sha512', 'pässwörd ✓'.encode(), bytes(range(16)), 1000)).decode(), base64.b64encode(bytes(range(16))).decode())"
    const POW_UNICODE_1K: &str = "$pbkdf2-sha512$1000$AAECAwQFBgcICQoLDA0ODw==$8wdAPRY0tqYtf2WLR1IVnRsQhxevulMX/QqzzmM+bayJWVUaQdMSA1VfHZ2BDFuJ7AcPXmBluyWScJALuOYNuQ==";

    // python3 -c "import hashlib,base64;print(base64.b64encode(hashlib.pbkdf2_hmac('sha512', b'', b'saltsaltsaltsalt', 1)).decode())"
    // (salt: base64.b64encode(b'saltsaltsaltsalt') = c2FsdHNhbHRzYWx0c2FsdA==)
    const POW_EMPTY_1: &str = "$pbkdf2-sha512$1$c2FsdHNhbHRzYWx0c2FsdA==$lRSWwuE1XgE8zEKStWhYXB3zHA4KxA706xnMRc4gYDIzEPu8lqxrYMni0ju+k2zBL2pQ529BMJyNJjWyfNXCDA==";

    // A 32-byte output (dklen=32):
    // python3 -c "import hashlib,base64;print(base64.b64encode(hashlib.pbkdf2_hmac('sha512', b'hunter2hunter2', b'0123456789abcdef', 2000, 32)).decode())"
    const POW_DKLEN32: &str =
        "$pbkdf2-sha512$2000$MDEyMzQ1Njc4OWFiY2RlZg==$+XeuVF2JzClX52KrLFX9L/qsmcLnbR8810g5SCB7NGc=";

    fn assert_valid_with_current_rehash(v: Verified, password: &str) {
        let Verified::Valid { rehash: Some(new) } = v else {
            panic!("expected Valid with a rehash, got {v:?}");
        };
        assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{new}");
        assert!(!needs_rehash(&new));
        assert_eq!(
            verify_password_blocking(password, Some(&new)).unwrap(),
            Verified::Valid { rehash: None }
        );
    }

    #[tokio::test]
    async fn pow_hash_verifies_and_asks_for_a_rehash() {
        let v = verify_password("secret1234", Some(POW_100K)).await.unwrap();
        assert_valid_with_current_rehash(v, "secret1234");
        assert!(needs_rehash(POW_100K));
    }

    #[test]
    fn pow_vectors_from_python() {
        assert_valid_with_current_rehash(
            verify_password_blocking("pässwörd ✓", Some(POW_UNICODE_1K)).unwrap(),
            "pässwörd ✓",
        );
        assert_valid_with_current_rehash(
            verify_password_blocking("", Some(POW_EMPTY_1)).unwrap(),
            "",
        );
        assert_valid_with_current_rehash(
            verify_password_blocking("hunter2hunter2", Some(POW_DKLEN32)).unwrap(),
            "hunter2hunter2",
        );
    }

    #[tokio::test]
    async fn pow_hash_wrong_password_is_invalid() {
        assert_eq!(
            verify_password("secret1235", Some(POW_100K)).await.unwrap(),
            Verified::Invalid
        );
        assert_eq!(
            verify_password_blocking("passwörd ✓", Some(POW_UNICODE_1K)).unwrap(),
            Verified::Invalid
        );
        assert_eq!(
            verify_password_blocking(" ", Some(POW_EMPTY_1)).unwrap(),
            Verified::Invalid
        );
    }

    #[test]
    fn pow_hash_with_one_bit_flipped_is_invalid() {
        // Last hash character 'g' -> 'h' changes the decoded bytes, still valid base64.
        let tampered = POW_100K.replace("sSf0rg==", "sSf0rw==");
        assert_ne!(tampered, POW_100K);
        assert_eq!(
            verify_password_blocking("secret1234", Some(&tampered)).unwrap(),
            Verified::Invalid
        );
    }

    #[test]
    fn malformed_hashes_are_errors_not_panics() {
        let cases = [
            "",
            "$",
            "plaintext",
            "$pbkdf2-sha512$",
            "$pbkdf2-sha512$100000",
            "$pbkdf2-sha512$100000$MDEyMzQ1Njc4OWFiY2RlZg==",
            "$pbkdf2-sha512$100000$MDEyMzQ1Njc4OWFiY2RlZg==$",
            "$pbkdf2-sha512$abc$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
            "$pbkdf2-sha512$-1$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
            "$pbkdf2-sha512$+5$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
            "$pbkdf2-sha512$0$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
            "$pbkdf2-sha512$1000$$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
            "$pbkdf2-sha512$1000$not*base64$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
            // URL-safe alphabet / missing padding are not what Pow writes.
            "$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
            "$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt-JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
            // Too short an output.
            "$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
            // Extra field.
            "$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=$x",
            "$pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$argon2x$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=1,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA",
            "$2b$12$abcdefghijklmnopqrstuv",
        ];
        for case in cases {
            let err = verify_password_blocking("secret1234", Some(case))
                .expect_err(&format!("{case:?} should be an error"));
            assert!(
                matches!(err, PasswordError::MalformedHash(_)),
                "{case:?}: {err:?}"
            );
            assert!(needs_rehash(case));
        }
        let non_utf8_like = "$pbkdf2-sha512$1000$\u{fffd}\u{fffd}$\u{0}";
        assert!(verify_password_blocking("x", Some(non_utf8_like)).is_err());
    }

    #[tokio::test]
    async fn absurd_parameters_are_refused_without_work() {
        // Refused at parse time: had any of these run, the test would take hours (4 billion PBKDF2
        // iterations) or gigabytes (4 GiB of argon2 memory) instead of returning the error.
        for case in [
            "$pbkdf2-sha512$1000001$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
            "$pbkdf2-sha512$4294967295$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI=",
            // 128-byte output (two SHA-512 blocks).
            "$pbkdf2-sha512$1000$MDEyMzQ1Njc4OWFiY2RlZg==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=19456,t=1000,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "$argon2id$v=19$m=19456,t=2,p=64$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            let err = verify_password_blocking("secret1234", Some(case)).expect_err(case);
            assert!(
                matches!(err, PasswordError::UnsupportedParams(_)),
                "{case}: {err:?}"
            );
        }
        // Same answer through the async API.
        assert!(matches!(
            verify_password(
                "x",
                Some("$pbkdf2-sha512$4294967295$MDEyMzQ1Njc4OWFiY2RlZg==$+XeuVF2JzClX52KrLFX9L/qsmcLnbR8810g5SCB7NGc=")
            )
            .await,
            Err(PasswordError::UnsupportedParams(_))
        ));
        // The bound itself is accepted (parse only; not run here).
        assert!(PowHash::parse(
            "$pbkdf2-sha512$1000000$MDEyMzQ1Njc4OWFiY2RlZg==$E0pNlnHrpdt+JVwPEdtOKUE0dlP7PGoeUhpRR9VlaWI="
        )
        .is_ok());
    }

    #[tokio::test]
    async fn argon2id_round_trip_without_rehash() {
        let h = hash_password("correct horse battery staple").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(!needs_rehash(&h));
        assert_eq!(
            verify_password("correct horse battery staple", Some(&h))
                .await
                .unwrap(),
            Verified::Valid { rehash: None }
        );
        assert_eq!(
            verify_password("correct horse battery stapler", Some(&h))
                .await
                .unwrap(),
            Verified::Invalid
        );
        // Fresh salt every time.
        let h2 = hash_password("correct horse battery staple").await.unwrap();
        assert_ne!(h, h2);
    }

    #[test]
    fn weaker_argon2_asks_for_a_rehash() {
        let mut salt = [0u8; SALT_LEN];
        getrandom::getrandom(&mut salt).unwrap();
        let salt = SaltString::encode_b64(&salt).unwrap();
        for (alg, params) in [
            (
                Algorithm::Argon2id,
                Params::new(4096, 3, 1, Some(32)).unwrap(),
            ),
            (
                Algorithm::Argon2id,
                Params::new(19456, 1, 1, Some(32)).unwrap(),
            ),
            (
                Algorithm::Argon2i,
                Params::new(19456, 2, 1, Some(32)).unwrap(),
            ),
        ] {
            let weak = Argon2::new(alg, Version::V0x13, params)
                .hash_password(b"pw-weak-1", &salt)
                .unwrap()
                .to_string();
            assert!(needs_rehash(&weak), "{weak}");
            assert_valid_with_current_rehash(
                verify_password_blocking("pw-weak-1", Some(&weak)).unwrap(),
                "pw-weak-1",
            );
            assert_eq!(
                verify_password_blocking("pw-weak-2", Some(&weak)).unwrap(),
                Verified::Invalid
            );
        }
        // Stronger than current is fine as it is.
        let strong = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(19456, 3, 1, Some(32)).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(!needs_rehash(&strong));
    }

    #[tokio::test]
    async fn unknown_user_is_invalid_and_costs_a_verification() {
        assert_eq!(verify_password("x", None).await.unwrap(), Verified::Invalid);
        // The cost is pinned structurally, not by a stopwatch: an unknown user is verified against a real
        // argon2id hash made at exactly the parameters of a stored one, so it runs the same work as a wrong
        // password. (Timing it here would make a flaky test on a busy machine; BENCHMARKS measures time.)
        let dummy = DUMMY_HASH.as_deref().expect("dummy hash is built");
        assert!(
            !needs_rehash(dummy),
            "dummy hash must use the current parameters"
        );
        let stored = hash_password("the real one").await.unwrap();
        let (d, s) = (
            PasswordHash::new(dummy).unwrap(),
            PasswordHash::new(&stored).unwrap(),
        );
        assert_eq!(d.algorithm, s.algorithm);
        assert_eq!(d.version, s.version);
        assert_eq!(
            Params::try_from(&d).unwrap(),
            Params::try_from(&s).unwrap(),
            "same argon2 parameters"
        );
        assert_eq!(
            verify_password_blocking("guess", None).unwrap(),
            Verified::Invalid
        );
        assert_eq!(
            verify_password_blocking("guess", Some(&stored)).unwrap(),
            Verified::Invalid
        );
        // The async API answers the same.
        assert_eq!(
            verify_password("guess", None).await.unwrap(),
            Verified::Invalid
        );
    }

    #[tokio::test]
    async fn overlong_passwords() {
        let long = "a".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(
            hash_password(&long).await,
            Err(PasswordError::TooLong {
                max: MAX_PASSWORD_BYTES
            })
        );
        assert_eq!(
            verify_password(&long, Some(POW_EMPTY_1)).await.unwrap(),
            Verified::Invalid
        );
        assert_eq!(
            verify_password(&long, None).await.unwrap(),
            Verified::Invalid
        );
        // At the limit: accepted, and not truncated (one more byte differs).
        let at = "b".repeat(MAX_PASSWORD_BYTES);
        let h = hash_password(&at).await.unwrap();
        assert!(verify_password(&at, Some(&h)).await.unwrap().is_valid());
        let mut almost = at.clone();
        almost.pop();
        assert!(!verify_password(&almost, Some(&h)).await.unwrap().is_valid());
    }

    #[test]
    fn debug_never_shows_the_new_hash() {
        let v = Verified::Valid {
            rehash: Some("$argon2id$secret".into()),
        };
        assert_eq!(format!("{v:?}"), "Valid { rehash: Some(\"<new hash>\") }");
        assert_eq!(v.rehash(), Some("$argon2id$secret"));
    }
}
