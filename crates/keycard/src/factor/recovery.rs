//! [`RecoveryCodes`]: ten single-use codes that stand in for a lost second factor, shown once, stored as
//! keyed hashes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::token::{labeled_key, SecretError, TokenHash};

const LABEL: &[u8] = b"keycard recovery code key v1";
/// How many codes a set has.
pub const RECOVERY_CODES: usize = 10;
/// The alphabet: lowercase letters and digits without the look-alikes (`0 o 1 l i`).
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
/// Characters per code, written as two groups of five (`xxxxx-xxxxx`): about 50 bits each.
const CODE_CHARS: usize = 10;

/// Makes and recognizes recovery codes (see the [module docs](super)).
#[derive(Clone)]
pub struct RecoveryCodes {
    key: Hmac<Sha256>,
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCodes(<keyed>)")
    }
}

fn random_code() -> String {
    let mut out = String::with_capacity(CODE_CHARS + 1);
    let mut buf = [0u8; 1];
    while out.len() < CODE_CHARS + 1 {
        if out.len() == CODE_CHARS / 2 {
            out.push('-');
            continue;
        }
        getrandom::getrandom(&mut buf).expect("the OS random number generator failed");
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - (256 % ALPHABET.len());
        if usize::from(buf[0]) < limit {
            out.push(char::from(ALPHABET[usize::from(buf[0]) % ALPHABET.len()]));
        }
    }
    out
}

impl RecoveryCodes {
    /// Keyed by `secret` (the app secret is fine: a label of its own).
    ///
    /// Errors: [`SecretError::TooShort`].
    pub fn new(secret: &[u8]) -> Result<Self, SecretError> {
        Ok(RecoveryCodes {
            key: labeled_key(secret, LABEL)?,
        })
    }

    /// A new set for `user_key`: the codes to show **once**, and their hashes to store
    /// (`FactorStore::set_recovery_codes`).
    pub fn generate(&self, user_key: &str) -> (Vec<String>, Vec<TokenHash>) {
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| random_code()).collect();
        let hashes = codes.iter().map(|c| self.hash(user_key, c)).collect();
        (codes, hashes)
    }

    /// The stored form of `code` as typed by `user_key`'s owner: spaces, dashes and case do not count.
    pub fn hash(&self, user_key: &str, code: &str) -> TokenHash {
        let normal: String = code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let mut m = self.key.clone();
        m.update(&(user_key.len() as u64).to_be_bytes());
        m.update(user_key.as_bytes());
        m.update(normal.as_bytes());
        TokenHash(m.finalize().into_bytes().into())
    }

    /// Whether `typed` looks like a recovery code (ten characters of the alphabet, with or without its
    /// dash): a second-factor form that takes both a TOTP code and a recovery code tells them apart.
    pub fn looks_like_one(typed: &str) -> bool {
        let normal: Vec<u8> = typed
            .bytes()
            .filter(|b| b.is_ascii_alphanumeric())
            .map(|b| b.to_ascii_lowercase())
            .collect();
        normal.len() == CODE_CHARS && normal.iter().all(|b| ALPHABET.contains(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_distinct_hashes_that_ignore_case_and_dashes() {
        let r = RecoveryCodes::new(&[3u8; 64]).unwrap();
        let (codes, hashes) = r.generate("u1");
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = hashes.clone();
        unique.sort_by_key(|h| h.0);
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for (c, h) in codes.iter().zip(&hashes) {
            assert_eq!(c.len(), 11);
            assert!(RecoveryCodes::looks_like_one(c));
            assert_eq!(&r.hash("u1", &c.to_uppercase().replace('-', " ")), h);
            assert_ne!(&r.hash("u2", c), h, "bound to the user");
        }
        assert!(!RecoveryCodes::looks_like_one("123456"));
    }
}
