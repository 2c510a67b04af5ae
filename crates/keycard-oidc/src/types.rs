//! What the flow takes and gives: [`Intent`], [`Started`], [`Callback`], [`Verified`], [`ProviderInfo`].

use keycard::Timestamp;
use serde::{Deserialize, Serialize};

/// What a flow is for, fixed when it starts and given back when it finishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Intent {
    /// Sign in (or sign up): nobody is signed in yet.
    SignIn,
    /// Link the identity to the signed-in user `user_key` (the settings page, in sudo mode).
    Link {
        /// Who started it: the callback must come to this user's session.
        user_key: String,
    },
}

/// A flow just started: send the browser to `authorize_url`, and give it `browser_binding` in a cookie
/// (HttpOnly, `SameSite=Lax` so that it comes back with the provider's redirect, `Max-Age` the flow's
/// life): the callback is accepted only with it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Started {
    /// The provider's authorization URL, with `state`, `nonce` and the PKCE challenge.
    pub authorize_url: String,
    /// The cookie value that binds the flow to this browser (random; the store keeps its hash).
    pub browser_binding: String,
    /// When the flow dies.
    pub expires_at: Timestamp,
}

/// The provider's redirect back, as the callback route receives it (its query string), and the
/// browser's binding cookie.
#[derive(Debug, Clone, Copy, Default)]
pub struct Callback<'a> {
    /// `state`.
    pub state: Option<&'a str>,
    /// `code` (on success).
    pub code: Option<&'a str>,
    /// `error` (on failure: `access_denied`, `server_error`…).
    pub error: Option<&'a str>,
    /// The binding cookie's value ([`Started::browser_binding`]), if the browser sent it.
    pub browser_binding: Option<&'a str>,
}

/// An identity the provider vouched for: a verified ID token's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The provider's key (lowercase name).
    pub provider: String,
    /// The account at the provider (`sub`).
    pub subject: String,
    /// The email the provider gave, trimmed and lowercased, if any.
    pub email: Option<String>,
    /// Whether the provider says it verified that email (`email_verified: true`).
    pub email_verified: bool,
    /// Whether the app trusts this provider's verification ([`ProviderConfig::trust_email`](crate::ProviderConfig::trust_email)).
    pub provider_trusted_for_email: bool,
    /// The user's name, if the provider gave one.
    pub name: Option<String>,
    /// What the flow was started for.
    pub intent: Intent,
}

impl Verified {
    /// A verified identity made by hand, for tests of the code that acts on one (the linking policy,
    /// an app's callback handling): what [`Oidc::finish`](crate::Oidc::finish) returns after it
    /// verified an ID token. Behind the `testing` feature: nothing here was verified.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn for_tests(
        provider: &str,
        subject: &str,
        email: Option<&str>,
        email_verified: bool,
        provider_trusted_for_email: bool,
        intent: Intent,
    ) -> Verified {
        Verified {
            provider: provider.to_owned(),
            subject: subject.to_owned(),
            email: email.map(str::to_owned),
            email_verified,
            provider_trusted_for_email,
            name: None,
            intent,
        }
    }

    /// The email the app may act on: given, verified by the provider, and the provider trusted for it.
    pub fn trusted_email(&self) -> Option<&str> {
        match (
            &self.email,
            self.email_verified,
            self.provider_trusted_for_email,
        ) {
            (Some(e), true, true) => Some(e),
            _ => None,
        }
    }
}

/// A configured provider, for the sign-in page's buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderInfo {
    /// The key (the lowercase name: `/auth/oidc/{key}`).
    pub key: String,
    /// The name to show ("Sign in with {name}").
    pub name: String,
}
