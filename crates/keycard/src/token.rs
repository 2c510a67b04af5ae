//! Tokens, signed cookie values and token hashes.
//!
//! A session is named by three different values, and keeping them apart is what makes a stolen store
//! dump or a guessed cookie useless:
//!
//! | value | where it lives | what it is |
//! |---|---|---|
//! | [`Token`] | only inside the cookie | 256 random bits from the OS CSPRNG; rotates on renewal and on privilege changes |
//! | [`CookieValue`] | the `Set-Cookie` header | `base64url(token ‖ HMAC-SHA256(key, token))`, 86 characters |
//! | [`TokenHash`] | the store | `SHA-256(token)`: the store never sees a token or a cookie value (DESIGN invariant 5) |
//!
//! [`CookieSigner::decode`] checks length, alphabet and signature (in constant time) **before** anything
//! touches a store, so a forged or malformed cookie costs one HMAC and no I/O. The signing key is derived
//! from an app secret of at least [`MIN_SECRET_LEN`] bytes; older secrets can be kept as fallbacks so a
//! secret rotation does not sign everybody out (cookies signed with a fallback are accepted, new cookies are
//! always signed with the primary secret).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shortest app secret accepted, in bytes (the same bar as Phoenix's `secret_key_base`).
pub const MIN_SECRET_LEN: usize = 64;
/// Length of a token in bytes.
pub const TOKEN_LEN: usize = 32;
const MAC_LEN: usize = 32;
/// Length of an encoded cookie value in characters.
pub const COOKIE_VALUE_LEN: usize = 86; // base64url, no padding, of 64 bytes

/// A session token: 256 bits from the operating system's CSPRNG.
///
/// Its `Debug` output never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Token([u8; TOKEN_LEN]);

impl Token {
    /// A fresh token from the OS CSPRNG.
    ///
    /// # Panics
    /// If the operating system cannot provide random bytes; there is no safe way to continue issuing
    /// sessions then.
    pub fn generate() -> Token {
        let mut bytes = [0u8; TOKEN_LEN];
        getrandom::getrandom(&mut bytes).expect("the OS random number generator failed");
        Token(bytes)
    }

    /// A token with these bytes, for the fuzz checks (never a way to issue sessions).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn from_bytes(bytes: [u8; TOKEN_LEN]) -> Token {
        Token(bytes)
    }

    /// The value the store keys on.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0).into())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// `SHA-256(token)`: how a store names a token. Safe to log in its short form ([`TokenHash::short`]).
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Lower-case hex, 64 characters (the form the Redis store uses in keys).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 8 hex characters, for logs.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", self.short())
    }
}

/// A signed cookie value ready for `Set-Cookie`. A secret: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct CookieValue(String);

impl CookieValue {
    /// The value to put in the cookie.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value to put in the cookie.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for CookieValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieValue(<redacted>)")
    }
}

/// Why a cookie value was refused. None of these reached a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieError {
    /// The value is not exactly [`COOKIE_VALUE_LEN`] characters long (this includes oversized input).
    #[error("session cookie has the wrong length")]
    Length,
    /// The value holds characters outside base64url.
    #[error("session cookie is not base64url")]
    Alphabet,
    /// No configured secret produced this signature.
    #[error("session cookie signature does not verify")]
    Signature,
}

/// An app secret was refused at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret is shorter than [`MIN_SECRET_LEN`] bytes.
    #[error("the secret key is {len} bytes long; it must be at least {min} bytes (generate one with `openssl rand -base64 64`)")]
    TooShort {
        /// Length given.
        len: usize,
        /// Length required.
        min: usize,
    },
}

/// Signs tokens into cookie values and checks cookie values back into tokens.
#[derive(Clone)]
pub struct CookieSigner {
    /// Pre-keyed MACs: the primary first, then fallbacks. Cloning a keyed `Hmac` skips the key schedule.
    keys: Vec<Hmac<Sha256>>,
}

impl fmt::Debug for CookieSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieSigner")
            .field("keys", &self.keys.len())
            .finish()
    }
}

const KEY_DERIVATION_LABEL: &[u8] = b"keycard session cookie signing key v1";

fn derive_key(secret: &[u8]) -> Result<Hmac<Sha256>, SecretError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(SecretError::TooShort {
            len: secret.len(),
            min: MIN_SECRET_LEN,
        });
    }
    // Key separation: the cookie key is HMAC(secret, label), so the app may use the same secret elsewhere
    // (CSRF tokens, say) under a different label without the two ever sharing a key.
    let mut kdf =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    kdf.update(KEY_DERIVATION_LABEL);
    let key = kdf.finalize().into_bytes();
    Ok(<Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC accepts keys of any length"))
}

impl CookieSigner {
    /// A signer for `secret` (at least [`MIN_SECRET_LEN`] bytes).
    pub fn new(secret: &[u8]) -> Result<Self, SecretError> {
        Ok(CookieSigner {
            keys: vec![derive_key(secret)?],
        })
    }

    /// Also accept cookies signed with `fallback` (an older secret being rotated out).
    pub fn with_fallback(mut self, fallback: &[u8]) -> Result<Self, SecretError> {
        self.keys.push(derive_key(fallback)?);
        Ok(self)
    }

    /// The cookie value for `token`, signed with the primary secret.
    pub fn encode(&self, token: &Token) -> CookieValue {
        let mut mac = self.keys[0].clone();
        mac.update(&token.0);
        let sig = mac.finalize().into_bytes();
        let mut raw = [0u8; TOKEN_LEN + MAC_LEN];
        raw[..TOKEN_LEN].copy_from_slice(&token.0);
        raw[TOKEN_LEN..].copy_from_slice(&sig);
        CookieValue(URL_SAFE_NO_PAD.encode(raw))
    }

    /// The token inside `value`, if `value` is well-formed and signed by a configured secret.
    ///
    /// Length is checked first (so a 1 MiB header costs nothing), then the alphabet, then the signature in
    /// constant time.
    pub fn decode(&self, value: &str) -> Result<Token, CookieError> {
        let bytes = value.as_bytes();
        if bytes.len() != COOKIE_VALUE_LEN {
            return Err(CookieError::Length);
        }
        let mut raw = [0u8; TOKEN_LEN + MAC_LEN];
        match URL_SAFE_NO_PAD.decode_slice(bytes, &mut raw) {
            Ok(n) if n == raw.len() => {}
            _ => return Err(CookieError::Alphabet),
        }
        let (token, sig) = raw.split_at(TOKEN_LEN);
        let mut ok = subtle::Choice::from(0);
        for key in &self.keys {
            let mut mac = key.clone();
            mac.update(token);
            let expected = mac.finalize().into_bytes();
            ok |= expected.as_slice().ct_eq(sig);
        }
        if bool::from(ok) {
            let mut t = [0u8; TOKEN_LEN];
            t.copy_from_slice(token);
            Ok(Token(t))
        } else {
            Err(CookieError::Signature)
        }
    }
}

/// A 128-bit random session id: the stable, public handle of one sign-in (listing, revoking).
///
/// Unlike the token it survives renewals and `sync`; knowing it does not let anybody use the session.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct SessionId(pub [u8; 16]);

impl SessionId {
    /// A fresh random id from the OS CSPRNG.
    pub fn generate() -> SessionId {
        let mut b = [0u8; 16];
        getrandom::getrandom(&mut b).expect("the OS random number generator failed");
        SessionId(b)
    }

    /// Lower-case hex, 32 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parse the 32-character hex form.
    pub fn parse(s: &str) -> Option<SessionId> {
        if s.len() != 32 {
            return None;
        }
        let mut b = [0u8; 16];
        hex::decode_to_slice(s, &mut b).ok()?;
        Some(SessionId(b))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> CookieSigner {
        CookieSigner::new(&[7u8; 64]).unwrap()
    }

    #[test]
    fn round_trips_a_token() {
        let s = signer();
        let t = Token::generate();
        let v = s.encode(&t);
        assert_eq!(v.as_str().len(), COOKIE_VALUE_LEN);
        assert_eq!(s.decode(v.as_str()).unwrap(), t);
    }

    #[test]
    fn short_secret_is_an_error_not_a_panic() {
        assert_eq!(
            CookieSigner::new(&[1u8; 63]).unwrap_err(),
            SecretError::TooShort { len: 63, min: 64 }
        );
    }

    #[test]
    fn rejects_wrong_length_alphabet_and_signature() {
        let s = signer();
        let v = s.encode(&Token::generate()).into_string();
        assert_eq!(s.decode(&v[..85]), Err(CookieError::Length));
        assert_eq!(s.decode(&"A".repeat(1 << 20)), Err(CookieError::Length));
        assert_eq!(s.decode(""), Err(CookieError::Length));
        let bad_alpha = format!("{}*", &v[..85]);
        assert_eq!(s.decode(&bad_alpha), Err(CookieError::Alphabet));
        // Flip one character of the token part.
        let mut chars: Vec<char> = v.chars().collect();
        chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(s.decode(&tampered), Err(CookieError::Signature));
        // Signed by somebody else.
        let other = CookieSigner::new(&[8u8; 64]).unwrap();
        assert_eq!(
            s.decode(other.encode(&Token::generate()).as_str()),
            Err(CookieError::Signature)
        );
    }

    #[test]
    fn fallback_secret_verifies_old_cookies_and_new_ones_use_the_primary() {
        let old = CookieSigner::new(&[1u8; 64]).unwrap();
        let t = Token::generate();
        let old_cookie = old.encode(&t);
        let rotated = CookieSigner::new(&[2u8; 64])
            .unwrap()
            .with_fallback(&[1u8; 64])
            .unwrap();
        assert_eq!(rotated.decode(old_cookie.as_str()).unwrap(), t);
        let new_cookie = rotated.encode(&t);
        assert_ne!(new_cookie, old_cookie);
        assert!(old.decode(new_cookie.as_str()).is_err());
    }

    #[test]
    fn hash_is_not_the_cookie_value_nor_the_token() {
        let s = signer();
        let t = Token::generate();
        let h = t.hash();
        assert_ne!(h.0, t.0);
        assert!(!s.encode(&t).as_str().contains(&h.to_hex()));
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }

    #[test]
    fn session_id_hex_round_trip() {
        let id = SessionId::generate();
        assert_eq!(SessionId::parse(&id.to_hex()), Some(id));
        assert_eq!(SessionId::parse("zz"), None);
        assert_eq!(SessionId::parse(&"g".repeat(32)), None);
    }
}
