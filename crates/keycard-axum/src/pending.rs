//! [`PendingLoginCookie`]: the short cookie that carries a pending login (a right password, the second
//! factor still to come) from the password form to the second-step page.
//!
//! The value is the challenge [`keycard::factor::PendingLogins::begin`] returns: signed, single use,
//! alive [`keycard::factor::PENDING_TTL`] (5 minutes) in the session store. The cookie lives as long,
//! `HttpOnly`, `SameSite=Strict`, `Secure` and `__Host-` like the session cookie. It names no session:
//! while it is pending nobody is signed in, so every extractor that needs a user refuses the request.

use axum::http::{HeaderMap, HeaderValue};

use crate::config::{CookieConfig, CookieConfigError};
use crate::cookie::{lookup, CookieWriter, Lookup};

/// The pending-login cookie's name without prefix (`__Host-keycard_pending` when `Secure`).
pub const PENDING_COOKIE_NAME: &str = "keycard_pending";

/// Writes and reads the pending-login cookie: the short cookie that carries a pending login (a right
/// password, the second factor still to come) from the password form to the second-step page.
///
/// The value is the challenge [`keycard::factor::PendingLogins::begin`] returns: signed, single use,
/// alive [`keycard::factor::PENDING_TTL`] (5 minutes) in the session store. The cookie lives as long,
/// `HttpOnly`, `SameSite=Strict`, `Secure` and `__Host-` like the session cookie. It names no session:
/// while it is pending nobody is signed in, so every extractor that needs a user refuses the request.
#[derive(Debug, Clone)]
pub struct PendingLoginCookie {
    writer: CookieWriter,
}

impl PendingLoginCookie {
    /// A cookie `Secure` (and `__Host-`) when `session` is: build it from the session cookie's
    /// configuration.
    ///
    /// Errors: never for a configuration the session layer accepted.
    pub fn new(session: &CookieConfig) -> Result<Self, CookieConfigError> {
        let config = CookieConfig::default()
            .with_name(PENDING_COOKIE_NAME)
            .with_secure(session.secure)
            .with_max_age(Some(keycard::factor::PENDING_TTL));
        Ok(PendingLoginCookie {
            writer: CookieWriter::new(&config)?.strict(),
        })
    }

    /// The cookie's name as browsers send it.
    pub fn name(&self) -> &str {
        self.writer.name()
    }

    /// `Set-Cookie` for `challenge` (a value from `PendingLogins::begin`). `None` if `challenge` is not
    /// a valid header value, which such a value always is.
    pub fn set(&self, challenge: &str) -> Option<HeaderValue> {
        self.writer.set(challenge)
    }

    /// `Set-Cookie` that removes it (the second step finished, or the user went back).
    pub fn clear(&self) -> HeaderValue {
        self.writer.clear()
    }

    /// The challenge the request carries, if it carries one of the right shape (a malformed or
    /// duplicated cookie is no challenge).
    pub fn read(&self, headers: &HeaderMap) -> Option<String> {
        match lookup(headers, self.writer.name()) {
            Lookup::Found(v) => Some(v.to_owned()),
            Lookup::Refused(why) => {
                tracing::debug!(reason = why.as_str(), "pending-login cookie refused");
                None
            }
            Lookup::Absent => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_is_short_lived_strict_and_prefixed_like_the_session_cookie() {
        let c = PendingLoginCookie::new(&CookieConfig::default()).unwrap();
        let set = c.set(&"a".repeat(86)).unwrap();
        let set = set.to_str().unwrap();
        assert!(set.starts_with("__Host-keycard_pending="), "{set}");
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=300",
        ] {
            assert!(set.contains(part), "{part} in {set}");
        }
        assert!(c.clear().to_str().unwrap().contains("Max-Age=0"));
        let local = PendingLoginCookie::new(&CookieConfig::insecure_for_localhost()).unwrap();
        assert_eq!(local.name(), "keycard_pending");
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_str(&format!("keycard_pending={}", "b".repeat(86))).unwrap(),
        );
        assert_eq!(
            local.read(&headers).as_deref(),
            Some("b".repeat(86).as_str())
        );
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_static("keycard_pending=short"),
        );
        assert_eq!(local.read(&headers), None);
    }
}
