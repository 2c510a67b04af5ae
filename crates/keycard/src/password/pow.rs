//! Pow's PBKDF2 hashes: `$pbkdf2-sha512$<iterations>$<base64 salt>$<base64 hash>`, parsed with bounds.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::Sha512;
use subtle::ConstantTimeEq;

use super::{
    PasswordError, PBKDF2_MAX_ITERATIONS, PBKDF2_MAX_OUTPUT_LEN, PBKDF2_MAX_SALT_LEN,
    PBKDF2_MIN_OUTPUT_LEN,
};

/// The scheme prefix of Pow's hashes.
pub(super) const POW_PREFIX: &str = "$pbkdf2-sha512$";

/// A parsed Pow hash (standard base64 with padding, as Pow writes it).
pub(super) struct PowHash {
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl PowHash {
    /// Parse `stored`, refusing absurd parameters before any work.
    pub(super) fn parse(stored: &str) -> Result<PowHash, PasswordError> {
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

    /// Whether `password` derives this hash (constant-time compare).
    pub(super) fn verify(&self, password: &[u8]) -> bool {
        let mut out = [0u8; PBKDF2_MAX_OUTPUT_LEN];
        let out = &mut out[..self.hash.len()];
        pbkdf2::pbkdf2_hmac::<Sha512>(password, &self.salt, self.iterations, out);
        bool::from(out.ct_eq(&self.hash))
    }
}
