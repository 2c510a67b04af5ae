//! [`Builder`]: the cache's settings, checked once, and [`ConfigError`] when they do not fit.

use std::sync::Arc;

use super::{CredentialsCache, Inner};
use crate::audit::AuditLog;
use crate::clock::{Clock, SystemClock};
use crate::events::Events;
use crate::policy::{Policy, PolicyError};
use crate::remember::{RememberMe, RememberPolicy, RememberStore};
use crate::store::Store;
use crate::throttle::{MemoryThrottle, ThrottleStore};
use crate::token::{CookieSigner, SecretError};
use crate::user::CachedUser;

/// The cache could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No secret was given.
    #[error("no secret key was given: call .secret(...) with at least 64 bytes")]
    MissingSecret,
    /// A secret was refused.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The policy does not fit together.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// Builds a [`CredentialsCache`].
pub struct Builder<U: CachedUser> {
    pub(super) store: Arc<dyn Store<U>>,
    pub(super) secret: Option<Vec<u8>>,
    pub(super) fallbacks: Vec<Vec<u8>>,
    pub(super) policy: Policy,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) remember: Option<(Arc<dyn RememberStore>, RememberPolicy)>,
    pub(super) grace_counter: Option<Arc<dyn ThrottleStore>>,
}

impl<U: CachedUser> std::fmt::Debug for Builder<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets themselves.
        f.debug_struct("Builder")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("fallbacks", &self.fallbacks.len())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<U: CachedUser> CredentialsCache<U> {
    /// Start building a cache over `store`.
    pub fn builder(store: impl Store<U>) -> Builder<U> {
        Self::builder_arc(Arc::new(store))
    }

    /// Start building a cache over a shared store.
    pub fn builder_arc(store: Arc<dyn Store<U>>) -> Builder<U> {
        Builder {
            store,
            secret: None,
            fallbacks: Vec::new(),
            policy: Policy::default(),
            clock: Arc::new(SystemClock),
            remember: None,
            grace_counter: None,
        }
    }
}

impl<U: CachedUser> Builder<U> {
    /// The app secret the cookie signing key is derived from (at least 64 bytes).
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secret = Some(secret.as_ref().to_vec());
        self
    }

    /// An older secret whose cookies are still accepted (secret rotation). May be called several times.
    pub fn fallback_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.fallbacks.push(secret.as_ref().to_vec());
        self
    }

    /// The session lifetime policy (default: [`Policy::default`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The clock (default: [`SystemClock`]). Tests pass a [`ManualClock`](crate::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Where grace answers are counted ([`Policy::grace_uses`], [`RememberPolicy::grace_uses`]): give a fleet its shared store's counters (the SQL and Redis stores are
    /// [`ThrottleStore`]s) so the bound holds across nodes. Default: a [`MemoryThrottle`] of this cache's
    /// own, which bounds each node separately.
    pub fn grace_counter(mut self, store: Arc<dyn ThrottleStore>) -> Self {
        self.grace_counter = Some(store);
        self
    }

    /// Turn on remember-me ([`crate::remember`]): series kept in `store` (for the stores of this
    /// workspace, the same store as the sessions), with the default [`RememberPolicy`] (30 days, 10 s
    /// grace). The cookie key is derived from the app secret under its own label.
    pub fn remember(self, store: impl RememberStore) -> Self {
        self.remember_arc(Arc::new(store))
    }

    /// [`remember`](Self::remember) over a shared store.
    pub fn remember_arc(mut self, store: Arc<dyn RememberStore>) -> Self {
        let policy = self.remember.take().map(|(_, p)| p).unwrap_or_default();
        self.remember = Some((store, policy));
        self
    }

    /// Other remember-me lifetimes (after [`remember`](Self::remember); ignored without it).
    pub fn remember_policy(mut self, policy: RememberPolicy) -> Self {
        if let Some((_, p)) = &mut self.remember {
            *p = policy;
        }
        self
    }

    /// Check the configuration and build the cache.
    ///
    /// Errors: [`ConfigError::MissingSecret`] without [`secret`](Self::secret); [`ConfigError::Secret`] for a secret
    /// (or fallback) shorter than 64 bytes; [`ConfigError::Policy`] for a [`Policy`] that cannot work
    /// ([`Policy::validate`]).
    pub fn build(self) -> Result<CredentialsCache<U>, ConfigError> {
        self.policy.validate()?;
        let secret = self.secret.ok_or(ConfigError::MissingSecret)?;
        let mut signer = CookieSigner::new(&secret)?;
        let audit = AuditLog::new(&secret)?;
        for f in &self.fallbacks {
            signer = signer.with_fallback(f)?;
        }
        let remember = match self.remember {
            Some((store, policy)) => Some(
                RememberMe::new(store, &secret)?
                    .with_policy(policy)
                    .with_clock(self.clock.clone()),
            ),
            None => None,
        };
        let events = Events::new();
        self.store.attach_events(events.sender());
        Ok(CredentialsCache {
            inner: Arc::new(Inner {
                store: self.store,
                signer,
                audit,
                events,
                policy: self.policy,
                clock: self.clock,
                remember,
                grace: super::grace::GraceCounter {
                    store: self
                        .grace_counter
                        .unwrap_or_else(|| Arc::new(MemoryThrottle::new())),
                },
            }),
        })
    }
}
