//! One configured provider at run time: its discovery document, fetched on first use and kept (with
//! its JWKS, refetched when an ID token names a key it lacks), and the client built from it.
//!
//! A provider that cannot be reached costs one request's wait, not one per sign-in: the document is
//! fetched under a mutex (one fetch however many sign-ins wait for it), a failed fetch is remembered for
//! [`RETRY_AFTER`] (the sign-ins queued behind it, and those that follow, fail at once instead of each
//! waiting its own timeout in turn), and a kept document past its TTL ([`METADATA_TTL`] unless set)
//! that cannot be fetched again goes on serving for up to [`STALE_FOR`] (a provider's short outage does
//! not stop the sign-ins its kept keys can still verify).

use std::time::{Duration, Instant};

use openidconnect::core::{CoreClient, CoreJsonWebKeySet, CoreProviderMetadata};
use openidconnect::reqwest;
use openidconnect::{
    ClientId, ClientSecret, DiscoveryError, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, RedirectUrl,
};
use tokio::sync::Mutex;

use crate::config::ProviderConfig;
use crate::error::OidcError;

/// How long a discovery document is kept before it is fetched again, by default
/// ([`Oidc::with_discovery_ttl`](crate::Oidc::with_discovery_ttl)).
pub(crate) const METADATA_TTL: Duration = Duration::from_secs(3600);

/// How long a failed discovery is remembered: sign-ins in that window fail at once with the same error.
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(5);

/// How long past its TTL a kept document still serves when it cannot be fetched again.
pub(crate) const STALE_FOR: Duration = Duration::from_secs(24 * 3600);

/// What a provider's discovery has left: the document and when it was fetched, and the last failure.
#[derive(Default)]
struct Discovered {
    document: Option<(CoreProviderMetadata, Instant)>,
    failure: Option<Failure>,
}

/// A failed fetch, kept for [`RETRY_AFTER`].
struct Failure {
    at: Instant,
    /// The discovery document named another issuer (else: unreachable or not OpenID Connect).
    issuer_mismatch: bool,
    reason: String,
}

impl Failure {
    fn error(&self) -> OidcError {
        if self.issuer_mismatch {
            OidcError::IssuerMismatch
        } else {
            OidcError::ProviderUnavailable {
                reason: self.reason.clone(),
            }
        }
    }
}

/// The client type `from_provider_metadata` builds.
pub(crate) type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub(crate) struct Provider {
    pub(crate) config: ProviderConfig,
    pub(crate) key: String,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    /// The discovery document and the last failure. A mutex, not a lock for readers: a fetch is made
    /// once however many sign-ins wait for it.
    discovered: Mutex<Discovered>,
}

impl Provider {
    pub(crate) fn new(config: ProviderConfig) -> Result<Provider, OidcError> {
        let key = config.key();
        if !crate::config::key_is_valid(&key) {
            return Err(OidcError::Config {
                reason: format!(
                    "provider name {:?}: its lowercase form must be 1 to 32 of a-z 0-9 _ -",
                    config.name
                ),
            });
        }
        let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| OidcError::Config {
            reason: format!("provider {key}: issuer URL: {e}"),
        })?;
        let redirect =
            RedirectUrl::new(config.redirect_uri.clone()).map_err(|e| OidcError::Config {
                reason: format!("provider {key}: redirect URI: {e}"),
            })?;
        Ok(Provider {
            config,
            key,
            issuer,
            redirect,
            discovered: Mutex::new(Discovered::default()),
        })
    }

    /// The discovery document: the kept one while younger than `ttl`; else fetched (not when a fetch
    /// failed less than [`RETRY_AFTER`] ago: that failure again); a kept one past its TTL serves on for
    /// up to [`STALE_FOR`] while no fresh one can be fetched.
    pub(crate) async fn metadata(
        &self,
        http: &reqwest::Client,
        ttl: Duration,
    ) -> Result<CoreProviderMetadata, OidcError> {
        let mut slot = self.discovered.lock().await;
        if let Some((m, at)) = slot.document.as_ref() {
            if at.elapsed() < ttl {
                return Ok(m.clone());
            }
        }
        let stale = slot
            .document
            .as_ref()
            .filter(|(_, at)| at.elapsed() < ttl.saturating_add(STALE_FOR))
            .map(|(m, _)| m.clone());
        if let Some(failure) = slot
            .failure
            .as_ref()
            .filter(|f| f.at.elapsed() < RETRY_AFTER)
        {
            return stale.ok_or_else(|| failure.error());
        }
        match CoreProviderMetadata::discover_async(self.issuer.clone(), http).await {
            Ok(m) => {
                slot.document = Some((m.clone(), Instant::now()));
                slot.failure = None;
                Ok(m)
            }
            Err(e) => {
                let failure = self.discovery_failure(e, "discovery");
                let error = failure.error();
                slot.failure = Some(failure);
                match stale {
                    Some(m) => {
                        tracing::warn!(
                            provider = %self.key,
                            "identity provider discovery failed: signing in with the document kept past its time"
                        );
                        Ok(m)
                    }
                    None => Err(error),
                }
            }
        }
    }

    /// Fetch the JWKS again (an ID token named a key the kept one lacks): the document with the new
    /// keys, kept for the next sign-ins.
    pub(crate) async fn refresh_jwks(
        &self,
        http: &reqwest::Client,
        stale: CoreProviderMetadata,
    ) -> Result<CoreProviderMetadata, OidcError> {
        let jwks = CoreJsonWebKeySet::fetch_async(stale.jwks_uri(), http)
            .await
            .map_err(|e| self.discovery_failure(e, "JWKS").error())?;
        let fresh = stale.set_jwks(jwks);
        self.discovered.lock().await.document = Some((fresh.clone(), Instant::now()));
        tracing::info!(provider = %self.key, "identity provider keys refetched (unknown key id)");
        Ok(fresh)
    }

    pub(crate) fn client(&self, metadata: CoreProviderMetadata) -> Client {
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    fn discovery_failure<E: std::error::Error>(&self, e: DiscoveryError<E>, what: &str) -> Failure {
        match e {
            DiscoveryError::Validation(m) if m.contains("issuer") => {
                tracing::warn!(provider = %self.key, "the discovery document names another issuer");
                Failure {
                    at: Instant::now(),
                    issuer_mismatch: true,
                    reason: String::new(),
                }
            }
            other => {
                let reason = format!("{what}: {}", error_chain(&other));
                tracing::warn!(provider = %self.key, %reason, "identity provider unavailable");
                Failure {
                    at: Instant::now(),
                    issuer_mismatch: false,
                    reason,
                }
            }
        }
    }
}

/// An error and its sources, on one line (for logs and `ProviderUnavailable`; these errors carry URLs
/// and statuses, never a token or a secret).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
