//! CSRF protection for every state-changing request, sign-in and registration included.
//!
//! - Each browser gets a random **CSRF cookie** (`keycard_csrf`, or `__Host-keycard_csrf` when cookies are
//!   secure): 256 bits, `HttpOnly`, `SameSite=Lax`. It is set by the first response that lacks it and
//!   replaced at every sign-in (so a value planted before sign-in is useless after).
//! - Each form carries `_csrf_token = base64url(HMAC-SHA256(K, cookie value))`, where `K` is derived from the
//!   app secret under its own label: an attacker who cannot read the cookie cannot compute the token, and
//!   one who plants a cookie (a sibling subdomain) cannot either, without the secret.
//! - A request with any method other than GET, HEAD, OPTIONS or TRACE gets **403** unless it carries the
//!   token (form field `_csrf_token`, or header `X-CSRF-Token`) matching its cookie (compared in constant
//!   time), and gets 403 whatever it carries when the browser marks it `Sec-Fetch-Site: cross-site`.
//!
//! The middleware puts a [`CsrfToken`] into the request's extensions for the pages to render.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::secret::Secret;
use crate::cookies;

/// The form field the token travels in.
pub const FORM_FIELD: &str = "_csrf_token";
/// The header an API client may use instead.
pub const HEADER: &str = "x-csrf-token";
/// Largest form body the guard buffers to find the token.
const MAX_FORM_BYTES: usize = 64 * 1024;
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

/// Issues and checks CSRF tokens.
#[derive(Clone)]
pub struct Csrf {
    key: Hmac<Sha256>,
    cookie_name: &'static str,
    secure: bool,
}

impl std::fmt::Debug for Csrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Csrf")
            .field("cookie_name", &self.cookie_name)
            .finish_non_exhaustive()
    }
}

impl Csrf {
    /// Keys derived from `secret`; secure cookies when `secure`.
    pub fn new(secret: &Secret, secure: bool) -> Self {
        Csrf {
            key: secret.derive_mac(KEY_LABEL),
            cookie_name: if secure {
                SECURE_COOKIE_NAME
            } else {
                COOKIE_NAME
            },
            secure,
        }
    }

    /// The CSRF cookie's name.
    pub fn cookie_name(&self) -> &'static str {
        self.cookie_name
    }

    fn token_for(&self, cookie_value: &str) -> String {
        let mut mac = self.key.clone();
        mac.update(cookie_value.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    fn verify(&self, cookie_value: &str, token: &str) -> bool {
        let Ok(sig) = URL_SAFE_NO_PAD.decode(token.trim()) else {
            return false;
        };
        let mut mac = self.key.clone();
        mac.update(cookie_value.as_bytes());
        mac.verify_slice(&sig).is_ok()
    }

    /// A new cookie value and the token that goes with it.
    fn fresh(&self) -> Option<(String, String)> {
        let mut b = [0u8; COOKIE_BYTES];
        getrandom::getrandom(&mut b).ok()?;
        let value = URL_SAFE_NO_PAD.encode(b);
        let token = self.token_for(&value);
        Some((value, token))
    }

    /// The request's CSRF cookie value, if it has exactly one of the right shape.
    fn cookie_value(&self, headers: &HeaderMap) -> Option<String> {
        cookies::single(headers, self.cookie_name).filter(|v| {
            v.len() == COOKIE_LEN
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    }

    /// A `Set-Cookie` for a brand-new CSRF cookie, and its token: for sign-in responses, so no value known
    /// before sign-in survives it.
    pub fn rotate(&self) -> Option<(HeaderValue, CsrfToken)> {
        let (value, token) = self.fresh()?;
        Some((
            cookies::set_cookie(self.cookie_name, &value, self.secure, None),
            CsrfToken(token),
        ))
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfFailure {
    /// `Sec-Fetch-Site: cross-site`.
    CrossSite,
    /// No token, or one that does not match the cookie.
    BadToken,
    /// The form body is larger than the guard reads.
    TooLarge,
    /// The random generator failed.
    Random,
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

#[derive(serde::Deserialize)]
struct TokenField {
    #[serde(rename = "_csrf_token")]
    token: Option<String>,
}

/// The middleware: check unsafe requests, hand every request its token, set the cookie when missing.
pub async fn guard(State(csrf): State<Arc<Csrf>>, req: Request, next: Next) -> Response {
    let cookie = csrf.cookie_value(req.headers());
    let (req, token, new_cookie) = if is_safe(req.method()) {
        match cookie {
            Some(v) => {
                let token = csrf.token_for(&v);
                (req, token, None)
            }
            None => match csrf.fresh() {
                Some((value, token)) => (req, token, Some(value)),
                None => return refuse(CsrfFailure::Random),
            },
        }
    } else {
        match check(&csrf, cookie, req).await {
            Ok((req, token)) => (req, token, None),
            Err(f) => return refuse(f),
        }
    };
    let mut req = req;
    req.extensions_mut().insert(CsrfToken(token));
    let mut res = next.run(req).await;
    if let Some(value) = new_cookie {
        res.headers_mut().append(
            header::SET_COOKIE,
            cookies::set_cookie(csrf.cookie_name, &value, csrf.secure, None),
        );
    }
    res
}

async fn check(
    csrf: &Csrf,
    cookie: Option<String>,
    req: Request,
) -> Result<(Request, String), CsrfFailure> {
    let cross_site = req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site {
        return Err(CsrfFailure::CrossSite);
    }
    let cookie = cookie.ok_or(CsrfFailure::BadToken)?;
    if let Some(t) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if csrf.verify(&cookie, t) {
            Ok((req, csrf.token_for(&cookie)))
        } else {
            Err(CsrfFailure::BadToken)
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(CsrfFailure::BadToken);
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| CsrfFailure::TooLarge)?;
    let field: TokenField =
        serde_urlencoded::from_bytes(&bytes).map_err(|_| CsrfFailure::BadToken)?;
    match field.token {
        Some(t) if csrf.verify(&cookie, &t) => Ok((
            Request::from_parts(parts, Body::from(bytes)),
            csrf.token_for(&cookie),
        )),
        _ => Err(CsrfFailure::BadToken),
    }
}

fn refuse(f: CsrfFailure) -> Response {
    let (status, message) = match f {
        CsrfFailure::CrossSite => (
            StatusCode::FORBIDDEN,
            "This request came from another site and was refused.",
        ),
        CsrfFailure::BadToken => (
            StatusCode::FORBIDDEN,
            "The form's security token is missing or out of date. Go back, reload the page and try again.",
        ),
        CsrfFailure::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form is too large.",
        ),
        CsrfFailure::Random => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server could not generate a security token. Try again.",
        ),
    };
    tracing::info!(reason = ?f, "state-changing request refused by the CSRF guard");
    crate::views::error_page(status, "Request refused", message).into_response()
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
