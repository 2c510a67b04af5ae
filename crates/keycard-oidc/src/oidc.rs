//! [`Oidc`]: the service, and the code flow (start, finish).

use std::sync::Arc;
use std::time::Duration;

use keycard::audit::AuditLog;
use keycard::identity::IdentityStore;
use keycard::onetime::{IssueRequest, OneTimeStore, OneTimeTokens};
use keycard::Clock;
use openidconnect::core::{CoreAuthenticationFlow, CoreErrorResponseType};
use openidconnect::reqwest;
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse as _, PkceCodeChallenge,
    PkceCodeVerifier, RequestTokenError, Scope, TokenResponse as _,
};

use crate::audit::Events;
use crate::config::{key_of, ProviderConfig, FLOW_TTL};
use crate::error::{clean_code, OidcError};
use crate::flow::{binding_matches, binding_subject, random_value, FlowState, FLOW};
use crate::provider::{error_chain, Provider};
use crate::types::{Callback, Intent, ProviderInfo, Started, Verified};
use crate::verify;

/// Sign-in with OpenID Connect providers (see the [crate docs](crate)). Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Oidc {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Clone)]
pub(crate) struct Inner {
    pub(crate) providers: Arc<Vec<Provider>>,
    pub(crate) tokens: OneTimeTokens,
    pub(crate) identities: Arc<dyn IdentityStore>,
    pub(crate) http: reqwest::Client,
    /// How long a provider's discovery document is kept.
    pub(crate) discovery_ttl: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) events: Events,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field(
                "providers",
                &self
                    .inner
                    .providers
                    .iter()
                    .map(|p| p.key.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// How long one request to a provider may take, by default ([`Oidc::with_http_timeout`]).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client for the providers: no redirects followed (openidconnect's advice: a redirect could
/// send a request with the client secret elsewhere), each request bounded by `timeout` (connecting
/// included).
fn http_client(timeout: Duration) -> Result<reqwest::Client, OidcError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .build()
        .map_err(|e| OidcError::Config {
            reason: format!("the HTTP client: {}", error_chain(&e)),
        })
}

impl Oidc {
    /// Sign-in with `providers` (any number, each key unique), keeping flows in `one_time` (the session
    /// store's one-time records: every node of a fleet sees them) and linked identities in `identities`
    /// (with the users). `secret` is the app secret (at least 64 bytes; keys of their own are derived
    /// from it: the `state` signing key, the audit log's account hashes). No provider is contacted
    /// here: each one's discovery document is fetched at its first sign-in.
    ///
    /// Errors: [`OidcError::Config`] for a provider name, issuer or redirect URI that cannot be used, two
    /// providers with one key, or a secret too short.
    pub fn new(
        providers: Vec<ProviderConfig>,
        one_time: Arc<dyn OneTimeStore>,
        identities: Arc<dyn IdentityStore>,
        secret: &[u8],
    ) -> Result<Oidc, OidcError> {
        let secret_error = |e: keycard::SecretError| OidcError::Config {
            reason: e.to_string(),
        };
        let mut built: Vec<Provider> = Vec::with_capacity(providers.len());
        for config in providers {
            let p = Provider::new(config)?;
            if built.iter().any(|b| b.key == p.key) {
                return Err(OidcError::Config {
                    reason: format!("two identity providers named {:?}", p.key),
                });
            }
            built.push(p);
        }
        Ok(Oidc {
            inner: Arc::new(Inner {
                providers: Arc::new(built),
                tokens: OneTimeTokens::new(one_time, secret).map_err(secret_error)?,
                identities,
                http: http_client(HTTP_TIMEOUT)?,
                discovery_ttl: crate::provider::METADATA_TTL,
                clock: Arc::new(keycard::SystemClock),
                events: Events {
                    log: AuditLog::new(secret).map_err(secret_error)?,
                },
            }),
        })
    }

    /// Another clock (tests; the app's): the flows' lifetimes and the identities' times. (ID tokens'
    /// `exp` is checked against the system clock, as openidconnect does.)
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        let inner = Arc::make_mut(&mut self.inner);
        inner.tokens = inner.tokens.clone().with_clock(clock.clone());
        inner.clock = clock;
        self
    }

    /// How long one request to a provider (discovery, its keys, the code exchange) may take before the
    /// sign-in fails with [`OidcError::ProviderUnavailable`]: [`HTTP_TIMEOUT`] (10 s) unless set. The
    /// person is waiting on the other end of each. A failed discovery is remembered for 5 s: the sign-ins
    /// behind it fail at once rather than each waiting this long in turn.
    ///
    /// Errors: [`OidcError::Config`] when the HTTP client cannot be built.
    pub fn with_http_timeout(mut self, timeout: Duration) -> Result<Self, OidcError> {
        Arc::make_mut(&mut self.inner).http = http_client(timeout)?;
        Ok(self)
    }

    /// How long a provider's discovery document (with its keys) is kept before it is fetched again: an
    /// hour unless set. Past it, while the provider cannot be reached, the kept document goes on serving
    /// for up to a day (with a warning in the log), so a provider's short outage does not stop sign-ins.
    pub fn with_discovery_ttl(mut self, ttl: Duration) -> Self {
        Arc::make_mut(&mut self.inner).discovery_ttl = ttl;
        self
    }

    /// The configured providers, in configuration order (the sign-in page's buttons).
    pub fn providers(&self) -> Vec<ProviderInfo> {
        self.inner
            .providers
            .iter()
            .map(|p| ProviderInfo {
                key: p.key.clone(),
                name: p.config.name.clone(),
            })
            .collect()
    }

    /// The provider of `key` (case-insensitive), if configured.
    pub fn provider(&self, key: &str) -> Option<ProviderInfo> {
        let key = key_of(key);
        self.providers().into_iter().find(|p| p.key == key)
    }

    pub(crate) fn find(&self, key: &str) -> Result<&Provider, OidcError> {
        let key = key_of(key);
        self.inner
            .providers
            .iter()
            .find(|p| p.key == key)
            .ok_or(OidcError::UnknownProvider)
    }

    /// Begin a sign-in (or a link) with the provider `key`: a new flow (PKCE verifier, nonce) in a
    /// one-time record whose signed token is the `state`, and the URL to send the browser to. Put
    /// [`Started::browser_binding`] in a cookie.
    ///
    /// Errors: [`OidcError::UnknownProvider`], [`OidcError::ProviderUnavailable`] and
    /// [`OidcError::IssuerMismatch`] (the first discovery), [`OidcError::Store`].
    pub async fn start(&self, key: &str, intent: Intent) -> Result<Started, OidcError> {
        let provider = self.find(key)?;
        let result = self.start_inner(provider, intent.clone()).await;
        if let Err(e) = &result {
            let user = match &intent {
                Intent::Link { user_key } => Some(user_key.as_str()),
                _ => None,
            };
            self.inner.events.refused(&provider.key, user, e);
        }
        result
    }

    async fn start_inner(&self, provider: &Provider, intent: Intent) -> Result<Started, OidcError> {
        let metadata = provider
            .metadata(&self.inner.http, self.inner.discovery_ttl)
            .await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = random_value();
        let binding = random_value();
        let state = FlowState {
            provider: provider.key.clone(),
            intent,
            pkce_verifier: verifier.secret().clone(),
            nonce: nonce.clone(),
        };
        let payload = state.encode().map_err(|e| OidcError::Config {
            reason: format!("the flow state did not encode: {e}"),
        })?;
        let subject = binding_subject(&binding);
        let issued = self
            .inner
            .tokens
            .issue(IssueRequest {
                purpose: FLOW,
                subject: &subject,
                ttl: FLOW_TTL,
                code_attempts: None,
                payload,
                supersede: false,
            })
            .await?;
        let link = issued.link.into_string();
        let client = provider.client(metadata);
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(link),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for scope in provider.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = request.url();
        Ok(Started {
            authorize_url: url.into(),
            browser_binding: binding,
            expires_at: issued.expires_at,
        })
    }

    /// Finish a flow at the provider `key`'s callback: consume the flow named by `state` (single use,
    /// whatever comes next), check it was started by this browser for this provider, then take the
    /// provider's error, or exchange the code (with the PKCE verifier) and verify the ID token.
    ///
    /// Errors: every [`OidcError`] of the flow (see its table). Each is an audit event.
    pub async fn finish(&self, key: &str, callback: Callback<'_>) -> Result<Verified, OidcError> {
        let provider = self.find(key)?;
        let mut intent_user = None;
        let result = self
            .finish_inner(provider, callback, &mut intent_user)
            .await;
        if let Err(e) = &result {
            self.inner
                .events
                .refused(&provider.key, intent_user.as_deref(), e);
        }
        result
    }

    async fn finish_inner(
        &self,
        provider: &Provider,
        callback: Callback<'_>,
        intent_user: &mut Option<String>,
    ) -> Result<Verified, OidcError> {
        let state = callback.state.ok_or(OidcError::FlowExpired)?;
        let record = self
            .inner
            .tokens
            .redeem(FLOW, state)
            .await?
            .ok_or(OidcError::FlowExpired)?;
        let Some(flow) = FlowState::decode(&record.payload) else {
            tracing::warn!("an identity provider flow record did not decode");
            return Err(OidcError::FlowExpired);
        };
        if let Intent::Link { user_key } = &flow.intent {
            *intent_user = Some(user_key.clone());
        }
        if !binding_matches(&record.subject, callback.browser_binding) {
            return Err(OidcError::BrowserMismatch);
        }
        if flow.provider != provider.key {
            return Err(OidcError::WrongProvider);
        }
        if let Some(error) = callback.error {
            return Err(match clean_code(error).as_str() {
                "access_denied" => OidcError::Denied,
                code => OidcError::ProviderError {
                    code: code.to_owned(),
                },
            });
        }
        let code = callback.code.ok_or(OidcError::MissingCode)?;
        let metadata = provider
            .metadata(&self.inner.http, self.inner.discovery_ttl)
            .await?;
        let client = provider.client(metadata.clone());
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| OidcError::ProviderUnavailable {
                reason: "the provider announces no token endpoint".to_owned(),
            })?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier));
        let response = request
            .request_async(&self.inner.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => OidcError::ProviderError {
                    code: clean_code(error_code(r.error())),
                },
                RequestTokenError::Request(e) => OidcError::ProviderUnavailable {
                    reason: format!("token endpoint: {}", error_chain(&e)),
                },
                RequestTokenError::Parse(_, _) => OidcError::ProviderUnavailable {
                    reason: "token endpoint: an answer that is not a token response".to_owned(),
                },
                RequestTokenError::Other(m) => OidcError::ProviderUnavailable {
                    reason: format!("token endpoint: {m}"),
                },
            })?;
        // The access token is not used: the ID token is the proof of identity.
        let _ = response.access_token();
        let id_token = response.id_token().ok_or(OidcError::NoIdToken)?;
        let claims = verify::verify(
            provider,
            &self.inner.http,
            metadata,
            id_token,
            &Nonce::new(flow.nonce),
        )
        .await?;
        Ok(claims.into_verified(provider, flow.intent))
    }
}

fn error_code(e: &CoreErrorResponseType) -> &str {
    e.as_ref()
}
