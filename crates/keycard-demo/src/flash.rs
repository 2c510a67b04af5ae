//! Flash messages ("Plan updated successfully."): a short-lived signed cookie set by a redirect and shown,
//! then cleared, by the next page.
//!
//! The value is `base64url(message).base64url(HMAC-SHA256(K, message))` with `K` derived from the app secret
//! under its own label, so nobody can make the site display text of their choosing. It lives 60 seconds.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::secret::Secret;
use crate::cookies;
use crate::state::AppState;

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
#[derive(Clone)]
pub struct Flash {
    key: Hmac<Sha256>,
    cookie_name: &'static str,
    secure: bool,
}

impl std::fmt::Debug for Flash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flash")
            .field("cookie_name", &self.cookie_name)
            .finish_non_exhaustive()
    }
}

impl Flash {
    /// Keys derived from `secret`; secure cookies when `secure`.
    pub fn new(secret: &Secret, secure: bool) -> Self {
        Flash {
            key: secret.derive_mac(KEY_LABEL),
            cookie_name: if secure {
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
        let mut mac = self.key.clone();
        mac.update(message.as_bytes());
        let value = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(message),
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        cookies::set_cookie(self.cookie_name, &value, self.secure, Some(MAX_AGE_SECS))
    }

    /// The `Set-Cookie` that removes the flash.
    pub fn clear(&self) -> HeaderValue {
        cookies::clear_cookie(self.cookie_name, self.secure)
    }

    fn read(&self, value: &str) -> Option<String> {
        let (msg, sig) = value.split_once('.')?;
        let msg = URL_SAFE_NO_PAD.decode(msg).ok()?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        let mut mac = self.key.clone();
        mac.update(&msg);
        mac.verify_slice(&sig).ok()?;
        String::from_utf8(msg).ok()
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

impl FromRequestParts<AppState> for IncomingFlash {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let flash = &state.flash;
        Ok(match cookies::single(&parts.headers, flash.cookie_name) {
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
