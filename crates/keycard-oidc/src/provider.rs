//! One configured provider at run time: its discovery document, fetched on first use and kept (with
//! its JWKS, refetched when an ID token names a key it lacks), and the client built from it.

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

/// How long a discovery document is kept before it is fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);

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
    /// The discovery document and when it was fetched. A mutex, not a lock for readers: a fetch is
    /// made once however many sign-ins wait for it.
    discovered: Mutex<Option<(CoreProviderMetadata, Instant)>>,
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
            discovered: Mutex::new(None),
        })
    }

    /// The discovery document (fetched when missing or older than an hour).
    pub(crate) async fn metadata(
        &self,
        http: &reqwest::Client,
    ) -> Result<CoreProviderMetadata, OidcError> {
        let mut slot = self.discovered.lock().await;
        if let Some((m, at)) = slot.as_ref() {
            if at.elapsed() < METADATA_TTL {
                return Ok(m.clone());
            }
        }
        let m = CoreProviderMetadata::discover_async(self.issuer.clone(), http)
            .await
            .map_err(|e| self.discovery_error(e, "discovery"))?;
        *slot = Some((m.clone(), Instant::now()));
        Ok(m)
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
            .map_err(|e| self.discovery_error(e, "JWKS"))?;
        let fresh = stale.set_jwks(jwks);
        *self.discovered.lock().await = Some((fresh.clone(), Instant::now()));
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

    fn discovery_error<E: std::error::Error>(&self, e: DiscoveryError<E>, what: &str) -> OidcError {
        match e {
            DiscoveryError::Validation(m) if m.contains("issuer") => {
                tracing::warn!(provider = %self.key, "the discovery document names another issuer");
                OidcError::IssuerMismatch
            }
            other => {
                let reason = format!("{what}: {}", error_chain(&other));
                tracing::warn!(provider = %self.key, %reason, "identity provider unavailable");
                OidcError::ProviderUnavailable { reason }
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
