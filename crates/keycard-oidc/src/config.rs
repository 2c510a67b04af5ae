//! [`ProviderConfig`]: one identity provider as the app names and registers it.

use std::fmt;
use std::time::Duration;

/// How long a sign-in may take between its start (the redirect to the provider) and the provider's
/// redirect back: the life of the flow's one-time record (10 minutes).
pub const FLOW_TTL: Duration = Duration::from_secs(10 * 60);

/// The scopes asked for when the app names none: `openid email profile`.
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "email", "profile"];

/// One OpenID Connect provider: where it is (its issuer URL: discovery reads
/// `{issuer}/.well-known/openid-configuration`), the client the app registered there, and the app's
/// policy for it.
#[derive(Clone)]
#[non_exhaustive]
pub struct ProviderConfig {
    /// The name the app shows ("Sign in with {name}"); its lowercase form is the provider's key in URLs
    /// and in linked identities ([`ProviderConfig::key`]).
    pub name: String,
    /// The issuer URL, exactly as the provider states it in its discovery document and ID tokens.
    pub issuer: String,
    /// The client id the provider gave the app.
    pub client_id: String,
    /// The client secret (`None` for a public client: PKCE alone).
    pub client_secret: Option<String>,
    /// Where the provider sends the browser back: registered with the provider, exactly
    /// (`{origin}/auth/oidc/{key}/callback` in the demo).
    pub redirect_uri: String,
    /// The scopes asked for ([`DEFAULT_SCOPES`] unless set; `openid` is always asked).
    pub scopes: Vec<String>,
    /// Whether the app trusts this provider's `email_verified: true`: only then may a first sign-in
    /// create an account with the provider's email, or link to an existing account that has it (see
    /// the [crate docs](crate#the-linking-policy)). Off by default.
    pub trust_email: bool,
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("trust_email", &self.trust_email)
            .finish()
    }
}

impl ProviderConfig {
    /// A provider named `name` at `issuer`, with the client `client_id` whose redirect URI is
    /// `redirect_uri`; no secret, the default scopes, emails not trusted.
    pub fn new(
        name: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> ProviderConfig {
        ProviderConfig {
            name: name.into(),
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: None,
            redirect_uri: redirect_uri.into(),
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            trust_email: false,
        }
    }

    /// With the client secret.
    pub fn with_secret(mut self, secret: impl Into<String>) -> ProviderConfig {
        self.client_secret = Some(secret.into());
        self
    }

    /// Trust (or not) the provider's `email_verified`.
    pub fn trust_email(mut self, trust: bool) -> ProviderConfig {
        self.trust_email = trust;
        self
    }

    /// Other scopes (`openid` is added when missing).
    pub fn with_scopes(mut self, scopes: &[&str]) -> ProviderConfig {
        self.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// The provider's key: the name, lowercased (`Keycloak` → `keycloak`).
    pub fn key(&self) -> String {
        key_of(&self.name)
    }
}

/// The key of a provider name: trimmed and lowercased.
pub(crate) fn key_of(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Whether a key is usable in a URL path and a purpose-bound record: 1 to 32 of `a-z0-9_-`.
pub(crate) fn key_is_valid(key: &str) -> bool {
    (1..=32).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}
