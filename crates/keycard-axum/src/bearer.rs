//! Bearer sessions (see the crate docs, "Bearer sessions"): the `Authorization` lookup, `Auth::create_bearer`, `BearerRejection`.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use keycard::{CachedUser, SessionMetadata, SessionRecord};

use crate::auth::Auth;
use crate::cookie::{well_shaped, Lookup, Refusal};
use crate::rejection::{AuthError, AuthRejection};
use crate::state::{CookieChange, Transport};

/// The response header that carries a bearer session's renewed value.
pub const SET_AUTH_TOKEN: &str = "set-auth-token";

/// The bearer value of a request: `None` without an `Authorization` header (the request is a cookie
/// request then); `Some(Refused)` for one that is not `Bearer <a keycard value>` or is sent twice.
pub(crate) fn lookup(headers: &HeaderMap) -> Option<Lookup<'_>> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return Some(Lookup::Refused(Refusal::Duplicate));
    }
    let Ok(text) = first.to_str() else {
        return Some(Lookup::Refused(Refusal::NotUtf8));
    };
    let Some((scheme, value)) = text.trim().split_once(' ') else {
        return Some(Lookup::Refused(Refusal::Malformed));
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Some(Lookup::Refused(Refusal::Malformed));
    }
    let value = value.trim();
    let inner = keycard::personal_token_value(value).unwrap_or(value);
    Some(if well_shaped(inner) {
        Lookup::Found(value)
    } else {
        Lookup::Refused(Refusal::Malformed)
    })
}

/// A bearer session just made ([`Auth::create_bearer`]): give `token` to the client (once; the store
/// keeps its hash).
#[derive(Debug)]
#[non_exhaustive]
pub struct BearerToken {
    /// What the client sends as `Authorization: Bearer <token>`.
    pub token: String,
    /// The session.
    pub session: Arc<SessionRecord>,
}

impl<U: CachedUser> Auth<U> {
    /// Whether this request presented its session as `Authorization: Bearer` (or asked for a bearer
    /// session with [`create_bearer`](Self::create_bearer)).
    pub fn is_bearer(&self) -> bool {
        self.state_mut(|s| s.transport == Transport::Bearer)
    }

    /// Sign `user` in for an API client: a new session, its value returned for the response body
    /// (nothing is set on the response: no cookie, no header). As [`create`](Self::create) on an
    /// anonymous request: check the password (and second factor) and the sign-in throttle first; the
    /// session is fresh for sudo mode.
    ///
    /// Errors: as [`create`](Self::create).
    pub async fn create_bearer(&self, user: impl Into<Arc<U>>) -> Result<BearerToken, AuthError> {
        self.state_mut(|s| s.transport = Transport::Bearer);
        let session = self.create_with(user, SessionMetadata::default()).await?;
        let token = self.state_mut(|s| match s.cookie.take() {
            Some(CookieChange::Set(v)) => Some(v.as_str().to_owned()),
            other => {
                s.cookie = other;
                None
            }
        });
        match token {
            Some(token) => Ok(BearerToken { token, session }),
            None => Err(AuthError::Store(keycard::StoreError::new(
                "keycard-axum",
                "create_bearer",
                "the sign-in produced no token",
            ))),
        }
    }
}

/// The rejection for API routes: `401` JSON `{"error": "…"}` with `WWW-Authenticate: Bearer`, `503`
/// JSON with `Retry-After` when the store failed, `500` for a missing layer. Use it as
/// `CurrentUser<User, BearerRejection>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BearerRejection(pub AuthRejection);

impl From<AuthRejection> for BearerRejection {
    fn from(r: AuthRejection) -> Self {
        BearerRejection(r)
    }
}

impl IntoResponse for BearerRejection {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let message = match self.0 {
            AuthRejection::Unauthenticated => "not signed in",
            AuthRejection::StoreUnavailable => "session store unavailable, try again shortly",
            AuthRejection::StaleToken => "this token was just replaced; use the new one",
            _ => "internal server error",
        };
        let mut res = (status, axum::Json(serde_json::json!({ "error": message }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"api\""),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(
                http::header::RETRY_AFTER,
                HeaderValue::from(crate::RETRY_AFTER_SECS),
            );
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_one_bearer_header_with_a_keycard_value_is_looked_at() {
        let v = "A".repeat(keycard::token::COOKIE_VALUE_LEN);
        assert!(
            lookup(&HeaderMap::new()).is_none(),
            "no header: a cookie request"
        );
        assert!(matches!(
            lookup(&headers(&[&format!("Bearer {v}")])),
            Some(Lookup::Found(_))
        ));
        assert!(matches!(
            lookup(&headers(&[&format!("bearer kcpat_{v}")])),
            Some(Lookup::Found(found)) if found.starts_with("kcpat_")
        ));
        for refused in [
            vec![format!("Basic {v}")],
            vec!["Bearer short".to_owned()],
            vec![format!("Bearer {v}"), format!("Bearer {v}")],
            vec![v.clone()],
        ] {
            let refs: Vec<&str> = refused.iter().map(String::as_str).collect();
            assert!(
                matches!(lookup(&headers(&refs)), Some(Lookup::Refused(_))),
                "{refused:?}"
            );
        }
    }
}
