//! The CSRF cookie and the token derived from it; the token as an extractor for the pages.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::config::secret::Secret;
use crate::web::respond;
use crate::web::signed_cookie::SignedCookie;

/// The form field the token travels in.
pub const FORM_FIELD: &str = "_csrf_token";
/// The header an API client may use instead.
pub const HEADER: &str = "x-csrf-token";
/// Random bytes in a CSRF cookie value.
const COOKIE_BYTES: usize = 32;
/// base64url length of [`COOKIE_BYTES`].
const COOKIE_LEN: usize = 43;
const KEY_LABEL: &str = "keycard-demo csrf token key v1";
/// The cookie's name over plain HTTP.
pub const COOKIE_NAME: &str = "keycard_csrf";
/// The cookie's name when cookies are secure: browsers refuse a `__Host-` cookie unless it is `Secure`,
/// `Path=/` and host-only, so a sibling subdomain cannot plant one.
pub const SECURE_COOKIE_NAME: &str = "__Host-keycard_csrf";

/// The token the current page must put into its forms.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// The CSRF token the guard computed for this request (empty outside the guard: forms then fail closed).
impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .unwrap_or(CsrfToken(String::new())))
    }
}

/// Issues and checks CSRF tokens.
#[derive(Debug, Clone)]
pub struct Csrf {
    cookie: SignedCookie,
}

impl Csrf {
    /// Keys derived from `secret`; secure cookies when `secure`.
    pub fn new(secret: &Secret, secure: bool) -> Self {
        Csrf {
            cookie: SignedCookie::new(secret, KEY_LABEL, COOKIE_NAME, SECURE_COOKIE_NAME, secure),
        }
    }

    /// The CSRF cookie's name.
    pub fn cookie_name(&self) -> &'static str {
        self.cookie.name()
    }

    pub(super) fn token_for(&self, cookie_value: &str) -> String {
        self.cookie.mac(cookie_value.as_bytes())
    }

    pub(super) fn verify(&self, cookie_value: &str, token: &str) -> bool {
        self.cookie.verify(cookie_value.as_bytes(), token.trim())
    }

    /// A new cookie value and the token that goes with it.
    pub(super) fn fresh(&self) -> Option<(String, String)> {
        let mut b = [0u8; COOKIE_BYTES];
        getrandom::getrandom(&mut b).ok()?;
        let value = URL_SAFE_NO_PAD.encode(b);
        let token = self.token_for(&value);
        Some((value, token))
    }

    /// The request's CSRF cookie value, if it has exactly one of the right shape.
    pub(super) fn cookie_value(&self, headers: &HeaderMap) -> Option<String> {
        self.cookie.read(headers).filter(|v| {
            v.len() == COOKIE_LEN
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    }

    /// A `Set-Cookie` that gives the browser this CSRF cookie value.
    pub(super) fn set_cookie(&self, value: &str) -> HeaderValue {
        self.cookie.set(value, None)
    }

    /// A `Set-Cookie` for a brand-new CSRF cookie, and its token: for sign-in responses, so no value known
    /// before sign-in survives it.
    pub fn rotate(&self) -> Option<(HeaderValue, CsrfToken)> {
        let (value, token) = self.fresh()?;
        Some((self.set_cookie(&value), CsrfToken(token)))
    }

    /// `res` with a brand-new CSRF cookie (after a sign-in); unchanged if the random generator failed.
    pub fn rotated(&self, res: Response) -> Response {
        match self.rotate() {
            Some((cookie, _)) => respond::with_cookie(res, cookie),
            None => res,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_matches_only_its_cookie_and_key() {
        let a = Csrf::new(&Secret::new(vec![1; 64]), false);
        let b = Csrf::new(&Secret::new(vec![2; 64]), false);
        let (cookie, token) = a.fresh().unwrap();
        assert_eq!(cookie.len(), COOKIE_LEN);
        assert!(a.verify(&cookie, &token));
        assert!(!b.verify(&cookie, &token));
        let (other_cookie, _) = a.fresh().unwrap();
        assert_eq!(a.cookie_name(), "keycard_csrf");
        let secure = Csrf::new(&Secret::new(vec![1; 64]), true);
        assert_eq!(secure.cookie_name(), "__Host-keycard_csrf");
        let (set, _) = secure.rotate().unwrap();
        let set = set.to_str().unwrap();
        assert!(set.starts_with("__Host-keycard_csrf=") && set.contains("Secure"));
        assert!(!a.verify(&other_cookie, &token));
        assert!(!a.verify(&cookie, ""));
        assert!(!a.verify(&cookie, "!!!"));
    }
}
