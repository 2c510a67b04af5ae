//! [`CsrfConfig`]: which origins are the app's own, how strict the checks are, the anonymous CSRF cookie.

use crate::config::{CookieConfig, CookieConfigError};
use crate::csrf::origin::Origin;

/// The form field a state-changing form carries its token in.
pub const CSRF_FORM_FIELD: &str = "_csrf_token";

/// The request header an API client (or a page's script) may carry the token in instead.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The default name of the anonymous CSRF cookie (before the `__Host-` prefix).
pub const DEFAULT_CSRF_COOKIE_NAME: &str = "keycard_csrf";

/// The largest `application/x-www-form-urlencoded` body the layer reads to find the token (64 KiB by
/// default); a larger form is refused with `413` before the handler runs.
pub const DEFAULT_MAX_FORM_BYTES: usize = 64 * 1024;

/// Where the app's own origin comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origins {
    /// These, exactly.
    Listed(Vec<String>),
    /// `https://` (or, with the plain-http opt-out, `http://`) plus the request's `Host`.
    HostHeader,
}

/// How [`CsrfLayer`](crate::CsrfLayer) decides that a state-changing request comes from the app itself.
///
/// ```
/// use keycard_axum::CsrfConfig;
/// let config = CsrfConfig::new("https://app.example")
///     .with_allowed_origin("https://www.app.example"); // a second host serving the same app
/// assert_eq!(config.cookie_name(), "__Host-keycard_csrf");
/// ```
///
/// | setting | default | |
/// |---|---|---|
/// | the app's origin | none: [`new`](Self::new) names it, or [`from_host_header`](Self::from_host_header) opts in to trusting `Host` | `Origin` (or, without it, `Referer`) must be one of them |
/// | `Sec-Fetch-Site` | `same-origin` and `none` pass | `same-site` only with [`with_same_site_allowed`](Self::with_same_site_allowed)`(true)`; `cross-site` never |
/// | no `Origin` and no `Referer` | passes (the token still decides) | [`with_origin_required`](Self::with_origin_required)`(true)` refuses it |
/// | cookie | `__Host-keycard_csrf`, `HttpOnly; Secure; SameSite=Lax; Path=/` | [`insecure_for_localhost`](Self::insecure_for_localhost): `keycard_csrf`, no `Secure` |
/// | form body read | [`DEFAULT_MAX_FORM_BYTES`] | [`with_max_form_bytes`](Self::with_max_form_bytes) |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfConfig {
    origins: Origins,
    same_site: bool,
    origin_required: bool,
    cookie: CookieConfig,
    max_form_bytes: usize,
}

/// A [`CsrfConfig`] (or secret) that cannot work, found at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CSRF configuration: {0}")]
#[non_exhaustive]
pub struct CsrfConfigError(pub String);

impl From<CookieConfigError> for CsrfConfigError {
    fn from(e: CookieConfigError) -> Self {
        CsrfConfigError(format!("the CSRF cookie: {}", e.0))
    }
}

impl CsrfConfig {
    /// The app is served at `origin` (`https://host[:port]`, no path): a state-changing request whose
    /// `Origin` (or `Referer`) names anything else is refused.
    pub fn new(origin: impl Into<String>) -> Self {
        Self::with_origins(Origins::Listed(vec![origin.into()]))
    }

    /// The explicit opt-in to deriving the app's origin from each request's `Host` header (or HTTP/2
    /// `:authority`): `https://{Host}`. For apps served under several names you cannot list. Browsers set
    /// both `Host` and `Origin` themselves, so this still stops cross-site forms; but behind a proxy that
    /// rewrites `Host` every state-changing request is refused, and any name that reaches the app counts
    /// as its own.
    pub fn from_host_header() -> Self {
        Self::with_origins(Origins::HostHeader)
    }

    fn with_origins(origins: Origins) -> Self {
        CsrfConfig {
            origins,
            same_site: false,
            origin_required: false,
            cookie: CookieConfig::default().with_name(DEFAULT_CSRF_COOKIE_NAME),
            max_form_bytes: DEFAULT_MAX_FORM_BYTES,
        }
    }

    /// Trust one more origin (another name of the same app). Ignored with
    /// [`from_host_header`](Self::from_host_header).
    pub fn with_allowed_origin(mut self, origin: impl Into<String>) -> Self {
        if let Origins::Listed(list) = &mut self.origins {
            list.push(origin.into());
        }
        self
    }

    /// The opt-out for plain `http://` development on a loopback address: the anonymous CSRF cookie is
    /// neither `Secure` nor `__Host-` prefixed (`keycard_csrf`), and `http://` origins are accepted.
    ///
    /// **What it risks:** over plain http a network attacker, or a sibling subdomain, can plant an
    /// anonymous CSRF cookie of their own, which together with their token passes the token check before
    /// sign-in; only the `Origin` check then stands between them and a login CSRF. Never beyond
    /// `127.0.0.1` / `localhost`.
    pub fn insecure_for_localhost(mut self) -> Self {
        self.cookie = self.cookie.with_secure(false);
        self
    }

    /// Accept `Sec-Fetch-Site: same-site` (a sibling subdomain of the same site) as well as `same-origin`
    /// (default `false`). The `Origin` must still be an allowed one.
    pub fn with_same_site_allowed(mut self, allowed: bool) -> Self {
        self.same_site = allowed;
        self
    }

    /// Refuse a state-changing request that carries neither `Origin` nor `Referer` (default `false`:
    /// browsers send `Origin` on every cross-origin `POST`, so such a request is a non-browser client, and
    /// the token still has to match).
    pub fn with_origin_required(mut self, required: bool) -> Self {
        self.origin_required = required;
        self
    }

    /// The anonymous CSRF cookie's name without prefix (default [`DEFAULT_CSRF_COOKIE_NAME`]).
    pub fn with_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie = self.cookie.with_name(name);
        self
    }

    /// The largest form body read to find the token (default [`DEFAULT_MAX_FORM_BYTES`]).
    pub fn with_max_form_bytes(mut self, max: usize) -> Self {
        self.max_form_bytes = max;
        self
    }

    /// The name the anonymous CSRF cookie is sent under.
    pub fn cookie_name(&self) -> String {
        self.cookie.cookie_name()
    }

    /// Check that the origins are origins and the settings fit together.
    ///
    /// Errors: a [`CsrfConfigError`] naming what cannot work (no origin, an origin that does not parse, a
    /// plain `http://` origin with `Secure` cookies, a zero form limit, the cookie's name).
    pub fn validate(&self) -> Result<(), CsrfConfigError> {
        self.checked().map(drop)
    }

    pub(crate) fn checked(&self) -> Result<Checked, CsrfConfigError> {
        self.cookie.validate()?;
        if self.max_form_bytes == 0 {
            return Err(CsrfConfigError("max_form_bytes must be at least 1".into()));
        }
        let allowed = match &self.origins {
            Origins::HostHeader => Allowed::HostHeader {
                http: !self.cookie.secure,
            },
            Origins::Listed(list) => {
                let mut parsed = Vec::with_capacity(list.len());
                for o in list {
                    let origin = Origin::parse(o).ok_or_else(|| {
                        CsrfConfigError(format!(
                            "{o:?} is not an origin: scheme://host[:port], without a path"
                        ))
                    })?;
                    if !origin.is_https() && self.cookie.secure {
                        return Err(CsrfConfigError(format!(
                            "{o:?} is plain http, where a Secure cookie cannot be set: serve the app \
                             over https, or call `insecure_for_localhost()` for local development"
                        )));
                    }
                    parsed.push(origin);
                }
                if parsed.is_empty() {
                    return Err(CsrfConfigError("no allowed origin".into()));
                }
                Allowed::Listed(parsed)
            }
        };
        Ok(Checked {
            allowed,
            same_site: self.same_site,
            origin_required: self.origin_required,
            cookie: self.cookie.clone(),
            max_form_bytes: self.max_form_bytes,
        })
    }
}

/// The app's own origins, parsed.
#[derive(Debug, Clone)]
pub(crate) enum Allowed {
    Listed(Vec<Origin>),
    /// Any origin matching the request's `Host`; `http` too when `http`.
    HostHeader {
        http: bool,
    },
}

impl Allowed {
    /// Whether `origin` is the app's own for a request to `host` (its `Host` header or authority).
    pub(crate) fn allows(&self, origin: &Origin, host: Option<&str>) -> bool {
        match self {
            Allowed::Listed(list) => list.contains(origin),
            Allowed::HostHeader { http } => {
                (origin.is_https() || *http) && host.is_some_and(|h| origin.matches_host(h))
            }
        }
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub(crate) allowed: Allowed,
    pub(crate) same_site: bool,
    pub(crate) origin_required: bool,
    pub(crate) cookie: CookieConfig,
    pub(crate) max_form_bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_by_default_and_checked_at_start_up() {
        let c = CsrfConfig::new("https://app.example");
        assert_eq!(c.cookie_name(), "__Host-keycard_csrf");
        assert!(c.validate().is_ok());
        let e = CsrfConfig::new("http://127.0.0.1:3000")
            .validate()
            .unwrap_err();
        assert!(e.0.contains("insecure_for_localhost"), "{e}");
        let local = CsrfConfig::new("http://127.0.0.1:3000").insecure_for_localhost();
        assert!(local.validate().is_ok());
        assert_eq!(local.cookie_name(), "keycard_csrf");
        for bad in ["app.example", "https://app.example/", "null", ""] {
            assert!(CsrfConfig::new(bad).validate().is_err(), "{bad:?}");
        }
        assert!(CsrfConfig::new("https://a.example")
            .with_allowed_origin("nope")
            .validate()
            .is_err());
        assert!(CsrfConfig::new("https://a.example")
            .with_max_form_bytes(0)
            .validate()
            .is_err());
        assert!(CsrfConfig::new("https://a.example")
            .with_cookie_name("bad name")
            .validate()
            .is_err());
        assert!(CsrfConfig::from_host_header().validate().is_ok());
    }

    #[test]
    fn host_header_mode_wants_https_unless_told_otherwise() {
        let strict = CsrfConfig::from_host_header().checked().unwrap().allowed;
        let https = Origin::parse("https://app.example").unwrap();
        let http = Origin::parse("http://app.example").unwrap();
        assert!(strict.allows(&https, Some("app.example")));
        assert!(!strict.allows(&http, Some("app.example")));
        assert!(!strict.allows(&https, Some("evil.example")));
        assert!(!strict.allows(&https, None));
        let local = CsrfConfig::from_host_header()
            .insecure_for_localhost()
            .checked()
            .unwrap()
            .allowed;
        assert!(local.allows(&http, Some("app.example")));
    }
}
