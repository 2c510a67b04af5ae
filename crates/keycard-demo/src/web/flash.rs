//! Flash messages ("Plan updated successfully."): a short-lived signed cookie set by a redirect and shown,
//! then cleared, by the next page.
//!
//! Signed by the `cookie` crate's signed jar ([`CookieJar::signed`], HMAC-SHA256: the value is the MAC in
//! base64 followed by the message, percent-encoded on the wire) under a [`Key`] of the flash's own, 64
//! bytes derived from the app secret under its label ([`Secret::derive_key`]), so nobody can make the site
//! display text of their choosing and no other use of the secret shares the key. It lives 60 seconds.
//!
//! Why the `cookie` crate's jar and not a helper of our own or axum-extra's `SignedCookieJar`: the demo
//! already parses and builds its cookies with the `cookie` crate, and its `signed` feature adds only the
//! RustCrypto crates the tree has anyway; axum-extra's jar is that same signed jar behind an extractor that
//! reads every `Cookie` header into one jar, where of two cookies with one name the last wins. The flash is
//! read only when the request carries it exactly once (a planted duplicate means "none"), so the reading
//! stays here either way, and axum-extra would add a crate for nothing else.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use cookie::{Cookie, CookieJar, Key, SameSite};

use crate::config::secret::Secret;
use crate::web::respond;

const KEY_LABEL: &str = "keycard-demo flash message key v1";
/// The cookie's name over plain HTTP.
pub const COOKIE_NAME: &str = "keycard_flash";
/// The cookie's name when cookies are secure.
pub const SECURE_COOKIE_NAME: &str = "__Host-keycard_flash";
/// How long a flash survives if no page shows it.
const MAX_AGE_SECS: i64 = 60;
/// Longest message carried.
const MAX_MESSAGE: usize = 256;
/// Request cookies larger than this are ignored (a browser sends at most ~4 KiB per cookie).
const MAX_COOKIE_HEADER: usize = 16 * 1024;

/// Signs and reads flash cookies.
#[derive(Debug, Clone)]
pub struct Flash {
    /// Its `Debug` shows no key material (`Key`).
    key: Key,
    name: &'static str,
    secure: bool,
}

impl Flash {
    /// Keys derived from `secret`; secure cookies when `secure`.
    pub fn new(secret: &Secret, secure: bool) -> Self {
        Self::with_label(secret, KEY_LABEL, secure)
    }

    /// Signed under the key `secret` derives for `label`, named for `secure`.
    fn with_label(secret: &Secret, label: &str, secure: bool) -> Self {
        Flash {
            key: Key::from(&secret.derive_key(label)),
            name: if secure {
                SECURE_COOKIE_NAME
            } else {
                COOKIE_NAME
            },
            secure,
        }
    }

    /// The `Set-Cookie` that carries `message` to the next page.
    pub fn set(&self, message: &str) -> HeaderValue {
        let message = truncate(message, MAX_MESSAGE);
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key)
            .add(Cookie::new(self.name, message.to_owned()));
        let signed = jar.get(self.name).map(Cookie::value).unwrap_or_default();
        set_cookie(self.name, signed, self.secure, Some(MAX_AGE_SECS))
    }

    /// 303 to `to`, carrying `message` to that page.
    pub fn redirect(&self, to: &str, message: &str) -> Response {
        respond::redirect_setting(to, self.set(message))
    }

    /// The `Set-Cookie` that removes the flash.
    pub fn clear(&self) -> HeaderValue {
        set_cookie(self.name, "", self.secure, Some(0))
    }

    /// The message of a flash cookie's value as it came (percent-encoded), if its signature holds.
    fn read(&self, value: &str) -> Option<String> {
        let cookie = Cookie::parse_encoded(format!("{}={value}", self.name)).ok()?;
        let verified = CookieJar::new()
            .signed(&self.key)
            .verify(cookie.into_owned())?;
        Some(verified.value().to_owned())
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The value of the cookie `name`, if the request carries it exactly once. Two cookies of this name (a
/// planted duplicate) or a malformed header mean "none": the caller starts afresh rather than guess.
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

/// A `Set-Cookie` for `value`: `HttpOnly; SameSite=Lax; Path=/`, `Secure` when secure, `Max-Age` when
/// given; name and value percent-encoded.
fn set_cookie(name: &str, value: &str, secure: bool, max_age_secs: Option<i64>) -> HeaderValue {
    let mut c = Cookie::build((name.to_owned(), value.to_owned()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure);
    if let Some(secs) = max_age_secs {
        c = c.max_age(cookie::time::Duration::seconds(secs));
    }
    // Percent-encoded: only cookie-safe characters, always a valid header value.
    HeaderValue::from_str(&c.build().encoded().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The flash the request carries (if any). A page that renders it must also clear it
/// ([`IncomingFlash::clear_header`]).
#[derive(Debug, Clone, Default)]
pub struct IncomingFlash {
    /// The verified message.
    pub message: Option<String>,
    clear: Option<HeaderValue>,
}

impl IncomingFlash {
    /// The `Set-Cookie` that removes the flash, when the request had one.
    pub fn clear_header(&self) -> Option<HeaderValue> {
        self.clear.clone()
    }
}

impl<S> FromRequestParts<S> for IncomingFlash
where
    S: Send + Sync,
    Arc<Flash>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let flash = Arc::<Flash>::from_ref(state);
        Ok(match single(&parts.headers, flash.name) {
            Some(v) => IncomingFlash {
                message: flash.read(&v),
                clear: Some(flash.clear()),
            },
            None => IncomingFlash::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    #[test]
    fn round_trip_and_tamper() {
        let f = Flash::new(&Secret::new(vec![3; 64]), false);
        let h = f.set("Plan updated successfully.");
        let s = h.to_str().unwrap();
        let value = s
            .split(';')
            .next()
            .unwrap()
            .strip_prefix("keycard_flash=")
            .unwrap();
        assert_eq!(f.read(value).as_deref(), Some("Plan updated successfully."));
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode("Hacked"),
            value.split_once('.').unwrap().1
        );
        assert_eq!(f.read(&forged), None);
        assert_eq!(truncate("ééé", 3), "é");
    }

    // Moved from the hand-written helper this module was built on (`web/signed_cookie.rs`).

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
        let c = Flash::new(&Secret::new(vec![1; 64]), true);
        let v = c.set("v");
        let s = v.to_str().unwrap();
        assert!(s.starts_with("__Host-keycard_flash="));
        assert!(s.contains("HttpOnly") && s.contains("SameSite=Lax") && s.contains("Path=/"));
        assert!(s.contains("Secure"));
        let plain = Flash::new(&Secret::new(vec![1; 64]), false);
        assert!(plain.clear().to_str().unwrap().contains("Max-Age=0"));
        assert_eq!(plain.name, "keycard_flash");
    }

    #[test]
    fn macs_and_seals_hold_only_under_their_own_key() {
        let secret = Secret::new(vec![1; 64]);
        let a = Flash::with_label(&secret, "label a", false);
        let b = Flash::with_label(&secret, "label b", false);
        let sealed = |f: &Flash, message: &str| {
            let h = f.set(message);
            let s = h.to_str().unwrap();
            let v = s.split(';').next().unwrap();
            v.strip_prefix("keycard_flash=").unwrap().to_owned()
        };
        let data = sealed(&a, "data");
        assert_eq!(a.read(&data).as_deref(), Some("data"));
        assert_eq!(b.read(&data), None);
        assert_eq!(a.read(&data.replace("data", "other")), None);
        assert_eq!(a.read("!!!"), None);
        let hello = sealed(&a, "hello");
        assert_eq!(a.read(&hello).as_deref(), Some("hello"));
        assert_eq!(b.read(&hello), None);
        assert_eq!(a.read("no-dot"), None);
    }

    #[test]
    fn debug_shows_no_key_material() {
        let f = Flash::new(&Secret::new(vec![1; 64]), false);
        let shown = format!("{f:?}");
        assert!(shown.contains("key: Key,"), "{shown}");
        assert!(!shown.contains('['), "no bytes: {shown}");
    }
}
