//! The token itself: a secret per session (or per anonymous CSRF cookie) derived with a key of its own,
//! masked afresh for every page (BREACH), checked in constant time.
//!
//! - key `K = HMAC-SHA256(app secret, "keycard-axum csrf token key v1")`: the app may pass the secret it
//!   gives the credentials cache, the two never share a key;
//! - signed in: `raw = HMAC(K, "session\0" ‖ session id ‖ created_at)`: no store write, the same on every
//!   node, a new one at every sign-in (a new session), dead when the session ends;
//! - anonymous: `raw = HMAC(K, "anonymous\0" ‖ CSRF cookie value)`;
//! - on the page: `base64url(mask ‖ raw ⊕ mask)` with a fresh random 32-byte mask, so the bytes of the
//!   token differ on every response and a compression side channel learns nothing across responses.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use keycard::{SessionId, Timestamp};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::csrf::config::CsrfConfigError;

const KEY_LABEL: &[u8] = b"keycard-axum csrf token key v1";
const RAW_LEN: usize = 32;
/// Length of a masked token on the page: base64url of 64 bytes.
pub(crate) const MASKED_LEN: usize = 86;
/// Random bytes of an anonymous CSRF cookie value (base64url: 86 characters, the shape of a session cookie).
const ANON_BYTES: usize = 64;

/// The secret a token is bound to, before masking.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Raw([u8; RAW_LEN]);

/// The CSRF key.
#[derive(Clone)]
pub(crate) struct CsrfKey(Hmac<Sha256>);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(<redacted>)")
    }
}

impl CsrfKey {
    /// The key for `secret` (at least [`keycard::token::MIN_SECRET_LEN`] bytes).
    pub(crate) fn new(secret: &[u8]) -> Result<Self, CsrfConfigError> {
        let min = keycard::token::MIN_SECRET_LEN;
        if secret.len() < min {
            return Err(CsrfConfigError(format!(
                "the secret is {} bytes long; it must be at least {min} bytes",
                secret.len()
            )));
        }
        let mut kdf = mac(secret);
        kdf.update(KEY_LABEL);
        Ok(CsrfKey(mac(&kdf.finalize().into_bytes())))
    }

    /// The secret of a signed-in session's tokens.
    pub(crate) fn for_session(&self, session_id: &SessionId, created_at: Timestamp) -> Raw {
        let mut m = self.0.clone();
        m.update(b"session\0");
        m.update(&session_id.0);
        m.update(&created_at.0.to_be_bytes());
        Raw(m.finalize().into_bytes().into())
    }

    /// The secret of the tokens that go with an anonymous CSRF cookie value.
    pub(crate) fn for_anonymous(&self, cookie_value: &str) -> Raw {
        let mut m = self.0.clone();
        m.update(b"anonymous\0");
        m.update(cookie_value.as_bytes());
        Raw(m.finalize().into_bytes().into())
    }
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC-SHA256 accepts keys of any length"),
    }
}

/// The OS random generator failed.
#[derive(Debug)]
pub(crate) struct NoRandomness;

/// A fresh anonymous CSRF cookie value.
pub(crate) fn new_cookie_value() -> Result<String, NoRandomness> {
    let mut b = [0u8; ANON_BYTES];
    getrandom::getrandom(&mut b).map_err(|_| NoRandomness)?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

/// `raw`, masked for one page.
pub(crate) fn mask(raw: &Raw) -> Result<String, NoRandomness> {
    let mut m = [0u8; RAW_LEN];
    getrandom::getrandom(&mut m).map_err(|_| NoRandomness)?;
    Ok(mask_with(raw, &m))
}

/// `raw` masked with `m` (fresh random bytes in [`mask`]; any bytes in the fuzz check).
pub(crate) fn mask_with(raw: &Raw, m: &[u8; RAW_LEN]) -> String {
    let mut out = [0u8; 2 * RAW_LEN];
    for i in 0..RAW_LEN {
        out[i] = m[i];
        out[RAW_LEN + i] = raw.0[i] ^ m[i];
    }
    URL_SAFE_NO_PAD.encode(out)
}

/// Whether `presented` (a masked token from a form or header) unmasks to `expected`. Anything of the wrong
/// length or alphabet is `false`; the comparison itself is constant-time.
pub(crate) fn verify(expected: &Raw, presented: &str) -> bool {
    let presented = presented.trim_matches([' ', '\t']);
    if presented.len() != MASKED_LEN {
        return false;
    }
    let mut b = [0u8; 2 * RAW_LEN];
    match URL_SAFE_NO_PAD.decode_slice(presented.as_bytes(), &mut b) {
        Ok(n) if n == b.len() => {}
        _ => return false,
    }
    let mut raw = [0u8; RAW_LEN];
    for i in 0..RAW_LEN {
        raw[i] = b[RAW_LEN + i] ^ b[i];
    }
    bool::from(raw.ct_eq(&expected.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: u8, created: u64) -> (SessionId, Timestamp) {
        (SessionId([id; 16]), Timestamp(created))
    }

    fn raw_for(k: &CsrfKey, (id, created): (SessionId, Timestamp)) -> Raw {
        k.for_session(&id, created)
    }

    #[test]
    fn tokens_are_masked_afresh_and_bound_to_their_secret() {
        let k = CsrfKey::new(&[1; 64]).unwrap();
        let raw = raw_for(&k, session(1, 10));
        let (a, b) = (mask(&raw).unwrap(), mask(&raw).unwrap());
        assert_ne!(a, b, "a new mask every time");
        assert_eq!(a.len(), MASKED_LEN);
        assert!(verify(&raw, &a) && verify(&raw, &b));
        // Another session, another creation time, another key, an anonymous secret: all different.
        assert!(!verify(&raw_for(&k, session(2, 10)), &a));
        assert!(!verify(&raw_for(&k, session(1, 11)), &a));
        let other_key = CsrfKey::new(&[2; 64]).unwrap();
        assert!(!verify(&raw_for(&other_key, session(1, 10)), &a));
        assert!(!verify(&k.for_anonymous("x"), &a));
        // Malformed input is simply false.
        for bad in [
            "",
            "!!!",
            &a[1..],
            &format!("{a}A"),
            &"A".repeat(MASKED_LEN),
        ] {
            assert!(!verify(&raw, bad), "{bad:?}");
        }
        assert!(CsrfKey::new(&[1; 63]).is_err());
        let v = new_cookie_value().unwrap();
        assert_eq!(v.len(), keycard::token::COOKIE_VALUE_LEN);
        assert_ne!(v, new_cookie_value().unwrap());
    }
}
