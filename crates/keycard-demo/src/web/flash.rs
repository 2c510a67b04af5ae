//! Flash messages ("Plan updated successfully."): a short-lived signed cookie set by a redirect and shown,
//! then cleared, by the next page.
//!
//! The value is `base64url(message).base64url(HMAC-SHA256(K, message))` with `K` derived from the app secret
//! under its own label, so nobody can make the site display text of their choosing. It lives 60 seconds.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::response::Response;

use crate::config::secret::Secret;
use crate::web::respond;
use crate::web::signed_cookie::SignedCookie;

const KEY_LABEL: &str = "keycard-demo flash message key v1";
/// The cookie's name over plain HTTP.
pub const COOKIE_NAME: &str = "keycard_flash";
/// The cookie's name when cookies are secure.
pub const SECURE_COOKIE_NAME: &str = "__Host-keycard_flash";
/// How long a flash survives if no page shows it.
const MAX_AGE_SECS: i64 = 60;
/// Longest message carried.
const MAX_MESSAGE: usize = 256;

/// Signs and reads flash cookies.
#[derive(Debug, Clone)]
pub struct Flash {
    cookie: SignedCookie,
}

impl Flash {
    /// Keys derived from `secret`; secure cookies when `secure`.
    pub fn new(secret: &Secret, secure: bool) -> Self {
        Flash {
            cookie: SignedCookie::new(secret, KEY_LABEL, COOKIE_NAME, SECURE_COOKIE_NAME, secure),
        }
    }

    /// The `Set-Cookie` that carries `message` to the next page.
    pub fn set(&self, message: &str) -> HeaderValue {
        let message = truncate(message, MAX_MESSAGE);
        self.cookie
            .set(&self.cookie.seal(message.as_bytes()), Some(MAX_AGE_SECS))
    }

    /// 303 to `to`, carrying `message` to that page.
    pub fn redirect(&self, to: &str, message: &str) -> Response {
        respond::redirect_setting(to, self.set(message))
    }

    /// The `Set-Cookie` that removes the flash.
    pub fn clear(&self) -> HeaderValue {
        self.cookie.clear()
    }

    fn read(&self, value: &str) -> Option<String> {
        String::from_utf8(self.cookie.open(value)?).ok()
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
        Ok(match flash.cookie.read(&parts.headers) {
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
}
