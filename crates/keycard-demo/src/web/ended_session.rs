//! Telling a visitor why they were signed out. A request that carries a session cookie
//! (`keycard_session`, or `__Host-keycard_session` with secure cookies) naming no live session, while the
//! session layer found it anonymous (not "unknown": a store outage is a 503, never this), had a session that
//! ended: it was revoked from another device, it expired, or a password change ended it. The sign-in page
//! says so once, and clears the dead cookie.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use keycard_axum::MaybeUser;

use crate::domain::users::User;

/// What the sign-in page says to a visitor whose session ended.
pub const SESSION_ENDED: &str =
    "Your session has ended: you were signed out on another device, it \
expired, or your password was changed. Please sign in again.";

/// The session cookie's names: over plain HTTP, and with secure cookies.
const SESSION_COOKIES: [&str; 2] = ["keycard_session", "__Host-keycard_session"];

/// Whether the request's session ended before it arrived (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndedSession(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for EndedSession {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if !carries_session_cookie(&parts.headers) {
            return Ok(EndedSession(false));
        }
        let anonymous = matches!(
            MaybeUser::<User>::from_request_parts(parts, state).await,
            Ok(MaybeUser(None))
        );
        Ok(EndedSession(anonymous))
    }
}

/// Whether any `Cookie` header holds a session cookie with a value.
fn carries_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|text| cookie::Cookie::split_parse(text).flatten())
        .any(|c| SESSION_COOKIES.contains(&c.name()) && !c.value().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn finds_either_session_cookie_name() {
        let mut h = HeaderMap::new();
        assert!(!carries_session_cookie(&h));
        h.append(header::COOKIE, HeaderValue::from_static("keycard_csrf=x"));
        assert!(!carries_session_cookie(&h));
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; keycard_session="),
        );
        assert!(!carries_session_cookie(&h), "an empty value is no cookie");
        h.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-keycard_session=abc"),
        );
        assert!(carries_session_cookie(&h));
        let mut plain = HeaderMap::new();
        plain.append(
            header::COOKIE,
            HeaderValue::from_static("b=2; keycard_session=abc"),
        );
        assert!(carries_session_cookie(&plain));
    }
}
