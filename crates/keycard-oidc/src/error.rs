//! [`OidcError`]: every way a sign-in with a provider fails, and what to answer.

use keycard::StoreError;

/// Why a provider sign-in (or a link, or an unlink) failed. Nothing is created and nobody is signed in
/// on any of these; the flow's record is used up whatever the outcome.
///
/// | variant | the browser sees (demo) | typical cause |
/// |---|---|---|
/// | `UnknownProvider` | 404 | a URL naming no configured provider |
/// | `ProviderUnavailable` | 502 "try again later" | discovery, the JWKS or the token endpoint unreachable or answering garbage |
/// | `IssuerMismatch` | 400 | the discovery document or the ID token names another issuer |
/// | `Denied` | 400 "you declined" | the user said no at the provider (`error=access_denied`) |
/// | `ProviderError` | 400 | the provider redirected back with another `error`, or its token endpoint refused the code |
/// | `FlowExpired` | 400 "start again" | no live flow for that `state`: replayed, forged, older than [`FLOW_TTL`](crate::FLOW_TTL) |
/// | `BrowserMismatch` | 400 "start again" | the callback came to a browser other than the one that started the flow |
/// | `NoIdToken`, `InvalidIdToken`, `WrongAudience`, `Expired`, `NonceMismatch`, `UnknownKey` | 400 | an ID token that fails verification |
/// | `IdentityTaken` | 409 | linking an identity that signs in as another user |
/// | `LastSignInMethod` | 409 | unlinking the account's last way to sign in |
/// | `Store` | 503 | the session store or the identity store failed |
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// No provider of that key is configured.
    #[error("no identity provider of that name")]
    UnknownProvider,
    /// The provider could not be reached, or answered what is not OpenID Connect.
    #[error("the identity provider could not be reached: {reason}")]
    ProviderUnavailable {
        /// What failed (no secret, no token).
        reason: String,
    },
    /// The discovery document or the ID token names an issuer other than the configured one.
    #[error("the identity provider's issuer is not the one configured")]
    IssuerMismatch,
    /// The user declined at the provider (`error=access_denied`).
    #[error("the sign-in was declined at the identity provider")]
    Denied,
    /// The provider answered with an OAuth error (its `error` code: `server_error`, `invalid_grant`…).
    #[error("the identity provider answered with an error: {code}")]
    ProviderError {
        /// The OAuth error code, reduced to `[a-z_]` (at most 64 characters).
        code: String,
    },
    /// No live flow for that `state` (replayed, forged, expired), or a callback with no `state`.
    #[error("the sign-in expired or was already used: start again")]
    FlowExpired,
    /// The flow was started by another browser (its binding cookie is missing or different).
    #[error("the sign-in was started in another browser: start again")]
    BrowserMismatch,
    /// The flow was started for another provider than the callback's.
    #[error("the sign-in was started with another identity provider")]
    WrongProvider,
    /// The callback has no `code`.
    #[error("the identity provider sent no authorization code")]
    MissingCode,
    /// The token response holds no ID token.
    #[error("the identity provider sent no ID token")]
    NoIdToken,
    /// The ID token's audience is not this client (a token issued for another application).
    #[error("the ID token was issued for another application")]
    WrongAudience,
    /// The ID token has expired.
    #[error("the ID token has expired")]
    Expired,
    /// The ID token's `nonce` is not the flow's.
    #[error("the ID token does not belong to this sign-in (nonce)")]
    NonceMismatch,
    /// The ID token is signed by a key the provider does not publish (even after refetching its JWKS).
    #[error("the ID token is signed by a key the identity provider does not publish")]
    UnknownKey,
    /// The ID token fails verification otherwise (signature, algorithm, format).
    #[error("the ID token is invalid: {reason}")]
    InvalidIdToken {
        /// What failed.
        reason: String,
    },
    /// The identity signs in as another user already.
    #[error("this identity is linked to another account")]
    IdentityTaken,
    /// The identity is the account's last way to sign in.
    #[error("this is the account's last way to sign in")]
    LastSignInMethod,
    /// The user has no such identity.
    #[error("no such linked identity")]
    UnknownIdentity,
    /// The configuration was refused (a provider key, the secret).
    #[error("invalid identity provider configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The session store or the identity store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OidcError {
    /// A stable, short name for logs, audit events and metrics (`denied`, `flow_expired`,
    /// `wrong_audience`…).
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::UnknownProvider => "unknown_provider",
            OidcError::ProviderUnavailable { .. } => "provider_unavailable",
            OidcError::IssuerMismatch => "issuer_mismatch",
            OidcError::Denied => "denied",
            OidcError::ProviderError { .. } => "provider_error",
            OidcError::FlowExpired => "flow_expired",
            OidcError::BrowserMismatch => "browser_mismatch",
            OidcError::WrongProvider => "wrong_provider",
            OidcError::MissingCode => "missing_code",
            OidcError::NoIdToken => "no_id_token",
            OidcError::WrongAudience => "wrong_audience",
            OidcError::Expired => "expired",
            OidcError::NonceMismatch => "nonce_mismatch",
            OidcError::UnknownKey => "unknown_key",
            OidcError::InvalidIdToken { .. } => "invalid_id_token",
            OidcError::IdentityTaken => "identity_taken",
            OidcError::LastSignInMethod => "last_sign_in_method",
            OidcError::UnknownIdentity => "unknown_identity",
            OidcError::Config { .. } => "config",
            OidcError::Store(_) => "store",
        }
    }

    /// The HTTP status an app answers with (see the table above).
    pub fn status(&self) -> u16 {
        match self {
            OidcError::UnknownProvider | OidcError::UnknownIdentity => 404,
            OidcError::ProviderUnavailable { .. } => 502,
            OidcError::IdentityTaken | OidcError::LastSignInMethod => 409,
            OidcError::Store(_) | OidcError::Config { .. } => 503,
            _ => 400,
        }
    }
}

/// An OAuth error code as kept: `[a-z_]` only, at most 64 characters (it comes from a URL anyone can
/// forge: never echo more).
pub(crate) fn clean_code(code: &str) -> String {
    let c: String = code
        .chars()
        .filter(|c| c.is_ascii_lowercase() || *c == '_')
        .take(64)
        .collect();
    if c.is_empty() {
        "unknown".to_owned()
    } else {
        c
    }
}
