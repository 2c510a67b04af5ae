//! The session cookie's settings and where the client address comes from.

use std::net::IpAddr;
use std::time::Duration;

/// The default cookie name (before the `__Host-` prefix).
pub const DEFAULT_COOKIE_NAME: &str = "keycard_session";

/// The prefix added to the cookie name when [`CookieConfig::secure`] is set (the default).
pub const HOST_PREFIX: &str = "__Host-";

/// The longest `User-Agent` kept with a session, in characters. Longer values are cut.
pub const USER_AGENT_MAX_CHARS: usize = 256;

/// The session cookie's settings.
///
/// The cookie carries only a signed token (see `keycard::token`); everything else about the session lives
/// on the server. Its attributes follow OWASP's session management guidance:
///
/// | attribute | value | why |
/// |---|---|---|
/// | name | `__Host-keycard_session` (`keycard_session` without `secure`) | the `__Host-` prefix makes browsers refuse the cookie unless it is `Secure`, `Path=/` and has no `Domain`, so a sibling subdomain cannot plant or overwrite it |
/// | `HttpOnly` | always | page scripts cannot read the token |
/// | `SameSite=Lax` | always | defence in depth against cross-site requests (not a CSRF defence on its own) |
/// | `Path=/` | always | one cookie for the whole app |
/// | `Domain` | never | the cookie goes back only to the host that set it |
/// | `Secure` | by default | never sent over plain HTTP; only [`insecure_for_localhost`](CookieConfig::insecure_for_localhost) turns it off |
/// | `Max-Age` | none by default | a browser-session cookie; the server's idle and absolute deadlines decide how long the session lives either way |
///
/// **Secure by default.** A deployment that forgets a setting gets `Secure` and the `__Host-` prefix, so
/// browsers keep and send the cookie over HTTPS only. Plain `http://` development needs
/// the explicit, named opt-out [`CookieConfig::insecure_for_localhost`]: the cookie then travels in clear
/// and anybody on the network path can read or replace it, so never use it beyond a loopback address.
///
/// ```
/// use keycard_axum::CookieConfig;
/// let production = CookieConfig::default();
/// assert_eq!(production.cookie_name(), "__Host-keycard_session");
/// assert!(production.secure);
///
/// // `cargo run` on http://127.0.0.1:3000 only:
/// let development = CookieConfig::insecure_for_localhost();
/// assert_eq!(development.cookie_name(), "keycard_session");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookieConfig {
    /// The cookie name without prefix (default [`DEFAULT_COOKIE_NAME`]). An RFC 6265 token: letters, digits
    /// and ``!#$%&'*+-.^_`|~``.
    pub name: String,
    /// Mark the cookie `Secure` and prefix its name with `__Host-` (default `true`). `false` only for plain
    /// `http://` on a loopback address: see [`insecure_for_localhost`](Self::insecure_for_localhost).
    pub secure: bool,
    /// Make the cookie persistent for this long (default `None`: gone when the browser closes). This never
    /// extends a session: the server's deadlines apply regardless.
    pub max_age: Option<Duration>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: DEFAULT_COOKIE_NAME.to_owned(),
            secure: true,
            max_age: None,
        }
    }
}

/// A [`CookieConfig`] that cannot produce a valid cookie.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid session cookie configuration: {0}")]
#[non_exhaustive]
pub struct CookieConfigError(pub String);

impl CookieConfig {
    /// The opt-out for plain `http://` development on a loopback address (`127.0.0.1`, `localhost`): the
    /// default settings without `Secure` and without the `__Host-` prefix (the cookie is `keycard_session`).
    ///
    /// **What it risks:** the session cookie is sent over unencrypted connections, where anybody on the
    /// network path can read it (and so take over the session) or plant one; and without the prefix a
    /// sibling subdomain can set a cookie of the same name. Use it only where the traffic never leaves the
    /// machine; behind HTTPS use [`CookieConfig::default`].
    pub fn insecure_for_localhost() -> Self {
        CookieConfig::default().with_secure(false)
    }

    /// The cookie name without prefix ([`name`](Self::name)).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Mark the cookie `Secure` and prefix its name with `__Host-` ([`secure`](Self::secure); the default).
    /// `with_secure(false)` is [`insecure_for_localhost`](Self::insecure_for_localhost)'s opt-out, with
    /// the same risks.
    pub fn with_secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Make the cookie persistent for this long, or not ([`max_age`](Self::max_age)).
    pub fn with_max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// The name the cookie is actually sent under (with `__Host-` when `secure`).
    pub fn cookie_name(&self) -> String {
        if self.secure && !self.name.starts_with(HOST_PREFIX) {
            format!("{HOST_PREFIX}{}", self.name)
        } else {
            self.name.clone()
        }
    }

    /// Check that the name is a valid cookie name and the settings fit together.
    ///
    /// Errors: a [`CookieConfigError`] naming what cannot work (an empty name, a character a cookie name
    /// cannot hold, a `__Host-` or `__Secure-` name without `Secure`).
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
                "a __Host- cookie must be Secure: use `with_secure(true)`".into(),
            ));
        }
        if !self.secure && self.name.starts_with("__Secure-") {
            return Err(CookieConfigError(
                "a __Secure- cookie must be Secure: use `with_secure(true)`".into(),
            ));
        }
        Ok(())
    }
}

/// Where the client address comes from: the one recorded with a new session, and the one an app's own
/// per-address logic (a sign-in throttle) should key on, through [`resolve`](Self::resolve).
///
/// The default is axum's `ConnectInfo<SocketAddr>` (serve the app with
/// `into_make_service_with_connect_info::<SocketAddr>()`). `X-Forwarded-For` is ignored unless the app says
/// it runs behind exactly one trusted reverse proxy ([`ClientIpSource::RightmostForwardedFor`]): anybody can
/// send that header. Set it on the layer with [`SessionLayer::client_ip`](crate::SessionLayer::client_ip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
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
    /// The client address of a request, as this source sees it: `None` when the source is
    /// [`None`](Self::None), or when the app is served without connect info and no usable
    /// `X-Forwarded-For` applies.
    ///
    /// ```
    /// use keycard_axum::ClientIpSource;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-forwarded-for", "203.0.113.7, 198.51.100.2".parse()?);
    /// let none = http::Extensions::new();
    /// assert_eq!(
    ///     ClientIpSource::RightmostForwardedFor.resolve(&headers, &none),
    ///     Some("198.51.100.2".parse()?),
    /// );
    /// assert_eq!(ClientIpSource::ConnectInfo.resolve(&headers, &none), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve(
        &self,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Option<IpAddr> {
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
        assert!(c.secure, "Secure by default");
        assert_eq!(c.cookie_name(), "__Host-keycard_session");
        assert!(c.validate().is_ok());
        let plain = CookieConfig::insecure_for_localhost();
        assert!(!plain.secure);
        assert_eq!(plain.cookie_name(), "keycard_session");
        assert!(plain.validate().is_ok());
        let s = CookieConfig::default().with_secure(true);
        assert_eq!(s.cookie_name(), "__Host-keycard_session");
        let already = CookieConfig::default()
            .with_name("__Host-x")
            .with_secure(true)
            .with_max_age(None);
        assert_eq!(already.cookie_name(), "__Host-x");
    }

    #[test]
    fn bad_names_are_refused() {
        for name in ["", "a b", "a;b", "a=b", "é", "__Host-x"] {
            let c = CookieConfig::insecure_for_localhost().with_name(name);
            assert!(c.validate().is_err(), "{name:?}");
        }
    }

    #[test]
    fn client_ip_sources() {
        use std::net::SocketAddr;
        let peer: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let mut with_peer = http::Extensions::new();
        with_peer.insert(axum::extract::ConnectInfo(peer));
        let none = http::Extensions::new();
        let mut forwarded = http::HeaderMap::new();
        forwarded.append("x-forwarded-for", "10.0.0.1".parse().unwrap());
        forwarded.append(
            "x-forwarded-for",
            "203.0.113.7, 198.51.100.2 ".parse().unwrap(),
        );
        let empty = http::HeaderMap::new();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());

        assert_eq!(
            ClientIpSource::ConnectInfo.resolve(&forwarded, &with_peer),
            ip("192.0.2.1")
        );
        assert_eq!(ClientIpSource::ConnectInfo.resolve(&forwarded, &none), None);
        let rightmost = ClientIpSource::RightmostForwardedFor;
        assert_eq!(
            rightmost.resolve(&forwarded, &with_peer),
            ip("198.51.100.2")
        );
        assert_eq!(rightmost.resolve(&empty, &with_peer), ip("192.0.2.1"));
        let mut junk = http::HeaderMap::new();
        junk.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(rightmost.resolve(&junk, &with_peer), ip("192.0.2.1"));
        assert_eq!(rightmost.resolve(&junk, &none), None);
        assert_eq!(ClientIpSource::None.resolve(&forwarded, &with_peer), None);
    }
}
