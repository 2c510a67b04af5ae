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
//! **Routing tags.** A store that shards by user (the Redis store, on Redis Cluster or not) must find a
//! token's and a session id's user slot without knowing the user. Such a store answers
//! [`Store::route_tag`](crate::Store::route_tag) with a 16-bit [`RouteTag`] derived from the user key, and
//! the cache then builds that user's tokens and session ids with it:
//! - a tagged token's cookie value is `base64url(tag ‖ token ‖ HMAC-SHA256(key, tag ‖ token))`,
//!   [`TAGGED_COOKIE_VALUE_LEN`] (88) characters, so the tag is covered by the signature;
//! - its hash is `SHA-256(tag ‖ token)` with the first two bytes replaced by the tag
//!   ([`TokenHash::route_tag`]): still 240 bits of preimage resistance;
//! - a tagged session id's first two bytes are the tag ([`SessionId::route_tag`]), the other 112 bits random.
//!
//! The tag says nothing about the user beyond the 16 bits the store derives from the user key (which slot
//! their records live in). Stores that do not route (memory, SQL) answer `None`: their tokens, cookies,
//! hashes and session ids are exactly what they were before tags existed.
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

mod ids;

pub use ids::{SeriesId, SessionId};

/// The shortest app secret accepted, in bytes (the same bar as Phoenix's `secret_key_base`).
pub const MIN_SECRET_LEN: usize = 64;
/// Length of a token in bytes.
pub const TOKEN_LEN: usize = 32;
const MAC_LEN: usize = 32;
/// Length of an encoded cookie value in characters (an untagged token).
pub const COOKIE_VALUE_LEN: usize = 86; // base64url, no padding, of 64 bytes
/// Length of the cookie value of a token with a [`RouteTag`], in characters.
pub const TAGGED_COOKIE_VALUE_LEN: usize = 88; // base64url, no padding, of 66 bytes
const TAG_LEN: usize = 2;

/// A 16-bit routing tag: which user slot a token or session id belongs to, for stores that shard by
/// user (see the [module docs](self)). Carried in the signed cookie, the token hash and the session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteTag(pub u16);

/// A session token: 256 bits from the operating system's CSPRNG.
///
/// Its `Debug` output never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    bytes: [u8; TOKEN_LEN],
    tag: Option<RouteTag>,
}

impl Token {
    /// A fresh token from the OS CSPRNG, with no routing tag.
    ///
    /// # Panics
    /// If the operating system cannot provide random bytes; there is no safe way to continue issuing
    /// sessions then.
    pub fn generate() -> Token {
        Token::generate_tagged(None)
    }

    /// A fresh token carrying `tag` (none: the same as [`Token::generate`]).
    ///
    /// # Panics
    /// As [`Token::generate`].
    pub fn generate_tagged(tag: Option<RouteTag>) -> Token {
        let mut bytes = [0u8; TOKEN_LEN];
        getrandom::getrandom(&mut bytes).expect("the OS random number generator failed");
        Token { bytes, tag }
    }

    /// The routing tag this token carries, if any.
    pub fn tag(&self) -> Option<RouteTag> {
        self.tag
    }

    /// A token with these bytes, for the fuzz checks (never a way to issue sessions).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn from_bytes(bytes: [u8; TOKEN_LEN], tag: Option<RouteTag>) -> Token {
        Token { bytes, tag }
    }

    /// The value the store keys on: `SHA-256(token)`, or for a tagged token `SHA-256(tag ‖ token)` with
    /// its first two bytes replaced by the tag.
    pub fn hash(&self) -> TokenHash {
        match self.tag {
            None => TokenHash(Sha256::digest(self.bytes).into()),
            Some(tag) => {
                let t = tag.0.to_be_bytes();
                let mut h: [u8; 32] = Sha256::new()
                    .chain_update(t)
                    .chain_update(self.bytes)
                    .finalize()
                    .into();
                h[..TAG_LEN].copy_from_slice(&t);
                TokenHash(h)
            }
        }
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
    /// Whether `other` is the same hash, compared in constant time (for a secret such as a code's
    /// keyed hash).
    pub fn matches(&self, other: &TokenHash) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }

    /// Lower-case hex, 64 characters (the form the Redis store uses in keys).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 8 hex characters, for logs.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }

    /// The routing tag in the first two bytes. Meaningful only for the hash of a tagged token (of an
    /// untagged one it is two bytes of hash, which a routing store treats as a slot it never uses or
    /// finds empty).
    pub fn route_tag(&self) -> RouteTag {
        RouteTag(u16::from_be_bytes([self.0[0], self.0[1]]))
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
    /// A value made by one of this crate's signers (the session cookie's, remember-me's).
    pub(crate) fn from_signed(value: String) -> CookieValue {
        CookieValue(value)
    }

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
    labeled_key(secret, KEY_DERIVATION_LABEL)
}

/// A key of its own for one use of the app secret: `HMAC(secret, label)`, ready as an HMAC key. Refuses
/// a secret shorter than [`MIN_SECRET_LEN`] bytes. Every key keycard derives from the app secret (cookie
/// signing, audit account ids, throttle counter names, remember-me cookies) goes through here.
pub(crate) fn labeled_key(secret: &[u8], label: &[u8]) -> Result<Hmac<Sha256>, SecretError> {
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
    kdf.update(label);
    let key = kdf.finalize().into_bytes();
    Ok(<Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC accepts keys of any length"))
}

impl CookieSigner {
    /// A signer for `secret` (at least [`MIN_SECRET_LEN`] bytes).
    ///
    /// Errors: [`SecretError::TooShort`] for a secret shorter than [`MIN_SECRET_LEN`].
    pub fn new(secret: &[u8]) -> Result<Self, SecretError> {
        Ok(CookieSigner {
            keys: vec![derive_key(secret)?],
        })
    }

    /// A signer whose key is derived from `secret` under `label` (another use of the same format: the
    /// one-time links of [`crate::onetime`]), so its values are never valid session cookies.
    pub(crate) fn labeled(secret: &[u8], label: &[u8]) -> Result<Self, SecretError> {
        Ok(CookieSigner {
            keys: vec![labeled_key(secret, label)?],
        })
    }

    /// Also accept cookies signed with `fallback` (an older secret being rotated out).
    ///
    /// Errors: [`SecretError::TooShort`] for a fallback shorter than [`MIN_SECRET_LEN`].
    pub fn with_fallback(mut self, fallback: &[u8]) -> Result<Self, SecretError> {
        self.keys.push(derive_key(fallback)?);
        Ok(self)
    }

    /// The cookie value for `token`, signed with the primary secret: [`COOKIE_VALUE_LEN`] characters, or
    /// [`TAGGED_COOKIE_VALUE_LEN`] for a tagged token (the tag is signed with the token).
    pub fn encode(&self, token: &Token) -> CookieValue {
        let mut raw = [0u8; TAG_LEN + TOKEN_LEN + MAC_LEN];
        let start = match token.tag {
            None => TAG_LEN,
            Some(tag) => {
                raw[..TAG_LEN].copy_from_slice(&tag.0.to_be_bytes());
                0
            }
        };
        raw[TAG_LEN..TAG_LEN + TOKEN_LEN].copy_from_slice(&token.bytes);
        let mut mac = self.keys[0].clone();
        mac.update(&raw[start..TAG_LEN + TOKEN_LEN]);
        raw[TAG_LEN + TOKEN_LEN..].copy_from_slice(&mac.finalize().into_bytes());
        CookieValue(URL_SAFE_NO_PAD.encode(&raw[start..]))
    }

    /// The token inside `value`, if `value` is well-formed and signed by a configured secret.
    ///
    /// Length is checked first (so a 1 MiB header costs nothing), then the alphabet, then the signature in
    /// constant time. Both shapes are accepted: untagged ([`COOKIE_VALUE_LEN`]) and tagged
    /// ([`TAGGED_COOKIE_VALUE_LEN`]); the signed message differs in length, so one shape can never be
    /// turned into the other.
    ///
    /// Errors: [`CookieError::Length`], [`CookieError::Alphabet`] or [`CookieError::Signature`]: the value is not
    /// a cookie this signer (or one of its fallbacks) issued.
    pub fn decode(&self, value: &str) -> Result<Token, CookieError> {
        let bytes = value.as_bytes();
        let start = match bytes.len() {
            COOKIE_VALUE_LEN => TAG_LEN,
            TAGGED_COOKIE_VALUE_LEN => 0,
            _ => return Err(CookieError::Length),
        };
        let mut raw = [0u8; TAG_LEN + TOKEN_LEN + MAC_LEN];
        match URL_SAFE_NO_PAD.decode_slice(bytes, &mut raw[start..]) {
            Ok(n) if n == raw.len() - start => {}
            _ => return Err(CookieError::Alphabet),
        }
        let (message, sig) = raw.split_at(TAG_LEN + TOKEN_LEN);
        let message = &message[start..];
        let mut ok = subtle::Choice::from(0);
        for key in &self.keys {
            let mut mac = key.clone();
            mac.update(message);
            let expected = mac.finalize().into_bytes();
            ok |= words(&expected)[..].ct_eq(&words(sig)[..]);
        }
        if bool::from(ok) {
            let mut t = [0u8; TOKEN_LEN];
            t.copy_from_slice(&raw[TAG_LEN..TAG_LEN + TOKEN_LEN]);
            let tag = (start == 0).then(|| RouteTag(u16::from_be_bytes([raw[0], raw[1]])));
            Ok(Token { bytes: t, tag })
        } else {
            Err(CookieError::Signature)
        }
    }
}

/// The 32 bytes of a MAC as four words, so [`ConstantTimeEq`] compares 4 words instead of 32 bytes (each
/// one behind `subtle`'s optimization barrier); the conversion itself does not depend on the values.
fn words(mac: &[u8]) -> [u64; MAC_LEN / 8] {
    let mut w = [0u64; MAC_LEN / 8];
    for (w, bytes) in w.iter_mut().zip(mac.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(bytes);
        *w = u64::from_ne_bytes(b);
    }
    w
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
        assert_eq!(s.decode(&format!("{v}AA")[..87]), Err(CookieError::Length));
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
        assert_ne!(h.0, t.bytes);
        assert!(!s.encode(&t).as_str().contains(&h.to_hex()));
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }

    #[test]
    fn tagged_tokens_carry_their_tag_through_cookie_hash_and_session_id() {
        let s = signer();
        let tag = RouteTag(0x00a7);
        let t = Token::generate_tagged(Some(tag));
        let v = s.encode(&t);
        assert_eq!(v.as_str().len(), TAGGED_COOKIE_VALUE_LEN);
        let back = s.decode(v.as_str()).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.tag(), Some(tag));
        assert_eq!(t.hash().route_tag(), tag);
        assert_eq!(back.hash(), t.hash());
        assert_eq!(SessionId::generate_tagged(Some(tag)).route_tag(), tag);
        // The tag is signed: changing it (the first characters) breaks the signature.
        let mut chars: Vec<char> = v.as_str().chars().collect();
        chars[1] = if chars[1] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(s.decode(&tampered), Err(CookieError::Signature));
    }

    #[test]
    fn untagged_tokens_keep_the_old_cookie_and_hash() {
        let s = signer();
        let t = Token::generate();
        assert_eq!(t.tag(), None);
        assert_eq!(s.encode(&t).as_str().len(), COOKIE_VALUE_LEN);
        assert_eq!(t.hash().0, <[u8; 32]>::from(Sha256::digest(t.bytes)));
        // The old encoding, written out: base64url(token ‖ HMAC(key, token)).
        let mut mac = s.keys[0].clone();
        mac.update(&t.bytes);
        let mut raw = t.bytes.to_vec();
        raw.extend_from_slice(&mac.finalize().into_bytes());
        assert_eq!(s.encode(&t).as_str(), URL_SAFE_NO_PAD.encode(raw));
        // A tagged and an untagged token of the same bytes hash differently.
        let tagged = Token {
            bytes: t.bytes,
            tag: Some(RouteTag(0)),
        };
        assert_ne!(tagged.hash(), t.hash());
    }

    #[test]
    fn session_id_hex_round_trip() {
        let id = SessionId::generate();
        assert_eq!(SessionId::parse(&id.to_hex()), Some(id));
        assert_eq!(SessionId::parse("zz"), None);
        assert_eq!(SessionId::parse(&"g".repeat(32)), None);
    }
}
