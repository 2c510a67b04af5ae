//! The helper the demo's own cookie (the flash) is built on: a MAC key of its own, derived from
//! the app secret under a label; a name that gets the `__Host-` prefix when cookies are secure; reading a
//! cookie only when the request carries it exactly once; `Set-Cookie` values with the same attributes
//! every time. The session and CSRF cookies are keycard-axum's business, not this module's.
//!
//! Two ways to sign: [`SignedCookie::mac`] / [`SignedCookie::verify`] for a MAC that travels apart from the
//! value, [`SignedCookie::seal`] / [`SignedCookie::open`] for a value that carries its own MAC
//! (`base64url(message).base64url(MAC)`, the flash).

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::secret::Secret;

/// Request cookies larger than this are ignored (a browser sends at most ~4 KiB per cookie).
const MAX_COOKIE_HEADER: usize = 16 * 1024;

/// One of the demo's signed cookies: its key, its name, whether it is `Secure`.
#[derive(Clone)]
pub struct SignedCookie {
    key: Hmac<Sha256>,
    name: &'static str,
    secure: bool,
}

impl std::fmt::Debug for SignedCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedCookie")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SignedCookie {
    /// A cookie keyed by `HMAC(secret, label)`, named `name`, or `secure_name` (a `__Host-` name) when
    /// `secure`.
    pub fn new(
        secret: &Secret,
        label: &str,
        name: &'static str,
        secure_name: &'static str,
        secure: bool,
    ) -> Self {
        SignedCookie {
            key: secret.derive_mac(label),
            name: if secure { secure_name } else { name },
            secure,
        }
    }

    /// The name the cookie is sent under.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `base64url(HMAC-SHA256(key, data))`.
    pub fn mac(&self, data: &[u8]) -> String {
        let mut mac = self.key.clone();
        mac.update(data);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `mac` is [`mac`](Self::mac) of `data` (compared in constant time).
    pub fn verify(&self, data: &[u8], mac: &str) -> bool {
        let Ok(sig) = URL_SAFE_NO_PAD.decode(mac) else {
            return false;
        };
        let mut m = self.key.clone();
        m.update(data);
        m.verify_slice(&sig).is_ok()
    }

    /// `base64url(message).base64url(MAC)`: a value that carries its own signature.
    pub fn seal(&self, message: &[u8]) -> String {
        format!("{}.{}", URL_SAFE_NO_PAD.encode(message), self.mac(message))
    }

    /// The message of a [`seal`](Self::seal)ed value, if its signature holds.
    pub fn open(&self, value: &str) -> Option<Vec<u8>> {
        let (msg, sig) = value.split_once('.')?;
        let msg = URL_SAFE_NO_PAD.decode(msg).ok()?;
        self.verify(&msg, sig).then_some(msg)
    }

    /// The cookie's value, if the request carries it exactly once. Two cookies of this name (a planted
    /// duplicate) or a malformed header mean "none": the caller starts afresh rather than guess.
    pub fn read(&self, headers: &HeaderMap) -> Option<String> {
        single(headers, self.name)
    }

    /// A `Set-Cookie` for `value`: `HttpOnly; SameSite=Lax; Path=/`, `Secure` when secure, `Max-Age` when
    /// given.
    pub fn set(&self, value: &str, max_age_secs: Option<i64>) -> HeaderValue {
        set_cookie(self.name, value, self.secure, max_age_secs)
    }

    /// A `Set-Cookie` that removes the cookie.
    pub fn clear(&self) -> HeaderValue {
        self.set("", Some(0))
    }
}

fn single(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for value in headers.get_all(header::COOKIE) {
        if value.len() > MAX_COOKIE_HEADER {
            return None;
        }
        let Ok(text) = value.to_str() else { continue };
        for c in Cookie::split_parse(text).flatten() {
            if c.name() == name {
                if found.is_some() {
                    return None;
                }
                found = Some(c.value().to_owned());
            }
        }
    }
    found
}

fn set_cookie(name: &str, value: &str, secure: bool, max_age_secs: Option<i64>) -> HeaderValue {
    let mut c = Cookie::build((name.to_owned(), value.to_owned()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure);
    if let Some(secs) = max_age_secs {
        c = c.max_age(cookie::time::Duration::seconds(secs));
    }
    // Names and values are ours (fixed names, base64url values): always a valid header value.
    HeaderValue::from_str(&c.build().to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_missing_are_none() {
        let mut h = HeaderMap::new();
        assert_eq!(single(&h, "a"), None);
        h.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        assert_eq!(single(&h, "a").as_deref(), Some("1"));
        h.append(header::COOKIE, HeaderValue::from_static("a=3"));
        assert_eq!(single(&h, "a"), None);
        assert_eq!(single(&h, "b").as_deref(), Some("2"));
    }

    #[test]
    fn set_cookie_has_the_attributes() {
        let c = SignedCookie::new(&Secret::new(vec![1; 64]), "l", "x", "__Host-x", true);
        let v = c.set("v", None);
        let s = v.to_str().unwrap();
        assert!(s.starts_with("__Host-x=v"));
        assert!(s.contains("HttpOnly") && s.contains("SameSite=Lax") && s.contains("Path=/"));
        assert!(s.contains("Secure"));
        let plain = SignedCookie::new(&Secret::new(vec![1; 64]), "l", "x", "__Host-x", false);
        assert!(plain.clear().to_str().unwrap().contains("Max-Age=0"));
        assert_eq!(plain.name(), "x");
    }

    #[test]
    fn macs_and_seals_hold_only_under_their_own_key() {
        let secret = Secret::new(vec![1; 64]);
        let a = SignedCookie::new(&secret, "label a", "a", "__Host-a", false);
        let b = SignedCookie::new(&secret, "label b", "b", "__Host-b", false);
        assert!(a.verify(b"data", &a.mac(b"data")));
        assert!(!b.verify(b"data", &a.mac(b"data")));
        assert!(!a.verify(b"other", &a.mac(b"data")));
        assert!(!a.verify(b"data", "!!!"));
        let sealed = a.seal(b"hello");
        assert_eq!(a.open(&sealed).as_deref(), Some(&b"hello"[..]));
        assert_eq!(b.open(&sealed), None);
        assert_eq!(a.open("no-dot"), None);
    }
}
