//! How the session cookie looks, and where the client address comes from.
//!
//! The cookie carries only a signed token (see `keycard::token`); everything else about the session lives
//! on the server. Its attributes follow OWASP's session management guidance:
//!
//! | attribute | value | why |
//! |---|---|---|
//! | name | `keycard_session`, or `__Host-keycard_session` when `secure` | the `__Host-` prefix makes browsers refuse the cookie unless it is `Secure`, `Path=/` and has no `Domain`, so a sibling subdomain cannot plant or overwrite it |
//! | `HttpOnly` | always | page scripts cannot read the token |
//! | `SameSite=Lax` | always | defence in depth against cross-site requests (not a CSRF defence on its own) |
//! | `Path=/` | always | one cookie for the whole app |
//! | `Domain` | never | the cookie goes back only to the host that set it |
//! | `Secure` | when `secure` | never sent over plain HTTP; turn it on everywhere except `http://localhost` |
//! | `Max-Age` | none by default | a browser-session cookie; the server's idle and absolute deadlines decide how long the session lives either way |
//!
//! The client address recorded with a new session comes from axum's `ConnectInfo<SocketAddr>` (serve the
//! app with `into_make_service_with_connect_info::<SocketAddr>()`). `X-Forwarded-For` is ignored unless
//! the app says it runs behind exactly one trusted reverse proxy ([`ClientIpSource::RightmostForwardedFor`]):
//! anybody can send that header.

use std::time::Duration;

/// The default cookie name (before the `__Host-` prefix).
pub const DEFAULT_COOKIE_NAME: &str = "keycard_session";

/// The prefix added to the cookie name when [`CookieConfig::secure`] is set.
pub const HOST_PREFIX: &str = "__Host-";

/// The longest `User-Agent` kept with a session, in characters. Longer values are cut.
pub const USER_AGENT_MAX_CHARS: usize = 256;

/// The session cookie's settings.
///
/// ```
/// use keycard_axum::CookieConfig;
/// let production = CookieConfig { secure: true, ..CookieConfig::default() };
/// assert_eq!(production.cookie_name(), "__Host-keycard_session");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieConfig {
    /// The cookie name without prefix (default [`DEFAULT_COOKIE_NAME`]). An RFC 6265 token: letters, digits
    /// and ``!#$%&'*+-.^_`|~``.
    pub name: String,
    /// Mark the cookie `Secure` and prefix its name with `__Host-` (default `false`, for `http://localhost`).
    /// Turn it on for every deployment served over HTTPS.
    pub secure: bool,
    /// Make the cookie persistent for this long (default `None`: gone when the browser closes). This never
    /// extends a session: the server's deadlines apply regardless.
    pub max_age: Option<Duration>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: DEFAULT_COOKIE_NAME.to_owned(),
            secure: false,
            max_age: None,
        }
    }
}

/// A [`CookieConfig`] that cannot produce a valid cookie.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid session cookie configuration: {0}")]
pub struct CookieConfigError(pub String);

impl CookieConfig {
    /// The name the cookie is actually sent under (with `__Host-` when `secure`).
    pub fn cookie_name(&self) -> String {
        if self.secure && !self.name.starts_with(HOST_PREFIX) {
            format!("{HOST_PREFIX}{}", self.name)
        } else {
            self.name.clone()
        }
    }

    /// Check that the name is a valid cookie name and the settings fit together.
    pub fn validate(&self) -> Result<(), CookieConfigError> {
        if self.name.is_empty() {
            return Err(CookieConfigError("the cookie name is empty".into()));
        }
        let is_tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if !self.name.bytes().all(is_tchar) {
            return Err(CookieConfigError(format!(
                "the cookie name {:?} holds characters not allowed in a cookie name",
                self.name
            )));
        }
        if !self.secure && self.name.starts_with(HOST_PREFIX) {
            return Err(CookieConfigError(
                "a __Host- cookie must be Secure: set `secure: true`".into(),
            ));
        }
        if !self.secure && self.name.starts_with("__Secure-") {
            return Err(CookieConfigError(
                "a __Secure- cookie must be Secure: set `secure: true`".into(),
            ));
        }
        Ok(())
    }
}

/// Where the client address recorded with a new session comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientIpSource {
    /// The TCP peer from `ConnectInfo<SocketAddr>`, if the app serves with connect info; otherwise none.
    #[default]
    ConnectInfo,
    /// The last address in the last `X-Forwarded-For` header (the one your single trusted reverse proxy
    /// appended), falling back to `ConnectInfo`. Only correct behind exactly one proxy that appends it.
    RightmostForwardedFor,
    /// Record no address.
    None,
}

impl ClientIpSource {
    /// The client address of a request with these `headers` and `extensions`, by this rule: what the
    /// session layer records with a new session, for an app that keys something else on the client (a
    /// sign-in throttle, a rate limit) and must agree with it.
    pub fn resolve(
        &self,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Option<std::net::IpAddr> {
        let connect = || {
            extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip())
        };
        match self {
            ClientIpSource::None => None,
            ClientIpSource::ConnectInfo => connect(),
            ClientIpSource::RightmostForwardedFor => headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok())
                .or_else(connect),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_prefix() {
        let c = CookieConfig::default();
        assert_eq!(c.cookie_name(), "keycard_session");
        assert!(c.validate().is_ok());
        let s = CookieConfig {
            secure: true,
            ..CookieConfig::default()
        };
        assert_eq!(s.cookie_name(), "__Host-keycard_session");
        let already = CookieConfig {
            name: "__Host-x".into(),
            secure: true,
            max_age: None,
        };
        assert_eq!(already.cookie_name(), "__Host-x");
    }

    #[test]
    fn bad_names_are_refused() {
        for name in ["", "a b", "a;b", "a=b", "é", "__Host-x"] {
            let c = CookieConfig {
                name: name.into(),
                ..CookieConfig::default()
            };
            assert!(c.validate().is_err(), "{name:?}");
        }
    }
}
