//! [`PasskeyConfig`]: who the relying party is (the site's domain and its public origin), checked once at
//! start-up and turned into a webauthn-rs [`Webauthn`].

use std::time::Duration;

use webauthn_rs::prelude::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::error::PasskeyError;

/// How long a ceremony waits for the browser's answer: 5 minutes (the WebAuthn default timeout).
pub const CEREMONY_TTL: Duration = Duration::from_secs(5 * 60);

/// The relying party: the site passkeys are bound to.
///
/// ```
/// use keycard_passkey::{PasskeyConfig, Url};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = PasskeyConfig::new("example.com", "Example", Url::parse("https://example.com")?);
/// # let _ = config; Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PasskeyConfig {
    /// The relying party id: the domain every passkey is bound to, the `origin`'s host or a parent of it
    /// (`example.com` for `https://app.example.com`). **Changing it later breaks every registered
    /// passkey**: choose the widest domain the app will live under. An IP address is no relying party id
    /// (browsers refuse one); develop on `http://localhost`.
    pub rp_id: String,
    /// The name a browser shows in its passkey dialogs ("Example"). May change at any time.
    pub rp_name: String,
    /// The app's public origin (`https://example.com`, or `http://localhost:4000` in development): the
    /// only origin whose ceremonies are accepted. Scheme, host and port; no path. `https` except for
    /// `localhost`.
    pub origin: Url,
    /// How long a ceremony lives, from its start to the browser's answer ([`CEREMONY_TTL`], 5 minutes);
    /// also the timeout the browser is given.
    pub ceremony_ttl: Duration,
    /// Ask authenticators for a **discoverable** credential (`residentKey: "required"`), the kind that
    /// signs in with no username typed (default `true`). `false` asks for one only where the
    /// authenticator can (`"preferred"`): a security key with no room left for discoverable credentials
    /// can then still register, but its passkey serves only as a second step.
    pub require_discoverable: bool,
}

impl PasskeyConfig {
    /// A relying party `rp_id` named `rp_name`, at `origin`; ceremonies of [`CEREMONY_TTL`], discoverable
    /// credentials required.
    pub fn new(rp_id: impl Into<String>, rp_name: impl Into<String>, origin: Url) -> Self {
        PasskeyConfig {
            rp_id: rp_id.into(),
            rp_name: rp_name.into(),
            origin,
            ceremony_ttl: CEREMONY_TTL,
            require_discoverable: true,
        }
    }

    /// Another ceremony lifetime (at least 30 seconds, at most 10 minutes).
    pub fn with_ceremony_ttl(mut self, ttl: Duration) -> Self {
        self.ceremony_ttl = ttl;
        self
    }

    /// Whether registrations require a discoverable credential (see
    /// [`require_discoverable`](Self::require_discoverable)).
    pub fn with_require_discoverable(mut self, require: bool) -> Self {
        self.require_discoverable = require;
        self
    }

    /// Checks the configuration and builds the webauthn-rs relying party.
    pub(crate) fn build(&self) -> Result<Webauthn, PasskeyError> {
        let err = |reason: String| PasskeyError::Config { reason };
        let fail = |reason: String| Err(err(reason));
        let origin = &self.origin;
        let Some(host) = origin.host_str() else {
            return fail(format!("the origin {origin} has no host"));
        };
        let local = host == "localhost" || host.ends_with(".localhost");
        match origin.scheme() {
            "https" => {}
            "http" if local => {}
            scheme => {
                return fail(format!(
                "the origin {origin} is {scheme}: browsers offer passkeys on https origins only \
                     (and http://localhost)"
            ))
            }
        }
        if origin.path() != "/"
            || origin.query().is_some()
            || origin.fragment().is_some()
            || !origin.username().is_empty()
            || origin.password().is_some()
        {
            return fail(format!(
                "the origin {origin} has more than a scheme, host and port (give the site's origin, \
                 like https://example.com)"
            ));
        }
        if origin.domain().is_none() {
            return fail(format!(
                "the origin {origin} is an IP address: browsers refuse passkeys there (use a domain, \
                 or localhost in development)"
            ));
        }
        if self.rp_id.is_empty() || self.rp_id != self.rp_id.to_ascii_lowercase() {
            return fail(format!(
                "the relying party id {:?} must be a lowercase domain",
                self.rp_id
            ));
        }
        if self.rp_name.trim().is_empty() {
            return fail("the relying party name is empty".into());
        }
        if self.ceremony_ttl < Duration::from_secs(30)
            || self.ceremony_ttl > Duration::from_secs(600)
        {
            return fail(format!(
                "a ceremony lifetime of {:?} is outside 30 s to 10 min",
                self.ceremony_ttl
            ));
        }
        let builder = WebauthnBuilder::new(&self.rp_id, origin).map_err(|_| {
            err(format!(
                "the relying party id {:?} is not the origin's host ({host}) or a parent domain of it",
                self.rp_id
            ))
        })?;
        builder
            .rp_name(&self.rp_name)
            .timeout(self.ceremony_ttl)
            .build()
            .map_err(|e| err(format!("webauthn-rs refused the configuration: {e}")))
    }
}
