//! [`Sealer`]: the TOTP secret at rest, encrypted (XChaCha20-Poly1305) under a key derived from the app
//! secret, bound to its user.
//!
//! A dump of the factor table alone yields no secret, and a sealed secret copied to another user's row
//! does not open (the user key is the associated data). Format: `1 ‖ nonce (24) ‖ ciphertext ‖ tag (16)`.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;

const INFO: &[u8] = b"keycard totp secret sealing key v1";
const VERSION: u8 = 1;
const NONCE: usize = 24;
const TAG: usize = 16;

/// Seals and opens TOTP secrets (see the [module docs](self)): seals with the primary key, opens with it
/// or a previous one (an app secret being rotated out).
#[derive(Clone)]
pub(crate) struct Sealer {
    cipher: XChaCha20Poly1305,
    previous: Vec<XChaCha20Poly1305>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

fn cipher(secret: &[u8]) -> XChaCha20Poly1305 {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(None, secret)
        .expand(INFO, &mut key)
        .expect("32 bytes is a valid HKDF-SHA-256 output length");
    XChaCha20Poly1305::new(&key.into())
}

fn aad(user_key: &str) -> Vec<u8> {
    let mut out = b"keycard-totp\0".to_vec();
    out.extend_from_slice(user_key.as_bytes());
    out
}

impl Sealer {
    /// The key is HKDF-SHA-256(`secret`, info = a label of its own): the app secret can be shared with
    /// every other keycard key.
    pub(crate) fn new(secret: &[u8]) -> Sealer {
        Sealer {
            cipher: cipher(secret),
            previous: Vec::new(),
        }
    }

    /// Also open secrets sealed under `secret` (an older app secret).
    pub(crate) fn with_previous(mut self, secret: &[u8]) -> Sealer {
        self.previous.push(cipher(secret));
        self
    }

    pub(crate) fn seal(&self, user_key: &str, secret: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE];
        getrandom::getrandom(&mut nonce).expect("the OS random number generator failed");
        let aad = aad(user_key);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any message of this size");
        let mut out = Vec::with_capacity(1 + NONCE + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// `None` when it does not open: another key, another user, a changed byte, another format.
    pub(crate) fn open(&self, user_key: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        let (&version, rest) = sealed.split_first()?;
        if version != VERSION || rest.len() < NONCE + TAG {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(NONCE);
        let aad = aad(user_key);
        std::iter::once(&self.cipher)
            .chain(&self.previous)
            .find_map(|c| {
                c.decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: &aad,
                    },
                )
                .ok()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_user_under_its_key() {
        let s = Sealer::new(&[7u8; 64]);
        let sealed = s.seal("u1", b"0123456789abcdefghij");
        assert!(!sealed.windows(20).any(|w| w == b"0123456789abcdefghij"));
        assert_eq!(s.open("u1", &sealed).unwrap(), b"0123456789abcdefghij");
        assert!(s.open("u2", &sealed).is_none(), "copied to another user");
        assert!(Sealer::new(&[8u8; 64]).open("u1", &sealed).is_none());
        let rotated = Sealer::new(&[8u8; 64]).with_previous(&[7u8; 64]);
        assert_eq!(
            rotated.open("u1", &sealed).unwrap(),
            b"0123456789abcdefghij",
            "a previous secret still opens"
        );
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(s.open("u1", &bad).is_none(), "byte {i} changed");
        }
        assert!(s.open("u1", &sealed[..10]).is_none());
        assert!(s.open("u1", &[]).is_none());
    }
}
