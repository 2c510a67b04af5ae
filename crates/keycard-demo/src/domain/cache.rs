//! The credentials cache the configuration asks for: the memory store (this process only), the SQLite
//! store (a file: survives restarts, shared with the CLI), the PostgreSQL store or the Redis store (shared
//! by every node and the CLI). Adding a backend is one arm here (and one in [`CacheBackend`]).
//!
//! With PostgreSQL every process (node or CLI) makes its writes notify the store's channel, and with
//! Redis every write script publishes what it changed (`RedisConfig::publish_invalidations`, on by
//! default: on one Redis on the store's channel, on a Redis Cluster with `SPUBLISH` on the user's shard
//! channel), whatever the process's own `CACHE_NEAR` says, so every node that runs a near cache hears
//! every write; a server with `CACHE_NEAR=on` (the default) puts a near cache in front of the store, on
//! one Redis and on a Redis Cluster alike (there it subscribes on every master).

use std::sync::Arc;

use keycard::onetime::{MemoryOneTime, OneTimeStore};
use keycard::remember::{MemoryRemember, RememberPolicy, RememberStore};
use keycard::store::near::{NearChannel, NearConfig, NearStats};
use keycard::throttle::ThrottleStore;
use keycard::{CredentialsCache, MemoryStore};
use keycard_sqlx::SqlConfig;

use crate::clock::AppClock;
use crate::config::secret::Secret;
use crate::config::{CacheBackend, Config};
use crate::domain::users::User;

/// The credentials cache could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CacheInitError {
    /// The credentials cache refused its settings.
    #[error("cannot set up the credentials cache: {0}")]
    Config(#[from] keycard::ConfigError),
    /// The credentials store could not be reached (Redis down, wrong URL or password).
    #[error("cannot connect to the credentials cache at {url}: {source}; check CACHE_URL and that Redis is running")]
    Connect {
        /// The cache URL without credentials.
        url: String,
        /// Why.
        source: keycard::StoreError,
    },
    /// The SQL store could not be opened or migrated.
    #[error("cannot open the credentials cache at {url}: {source}; check CACHE_URL (and DATABASE_URL when CACHE_URL=database)")]
    Sql {
        /// The cache URL without credentials.
        url: String,
        /// Why.
        source: keycard_sqlx::ConnectError,
    },
    /// The cache backend is not compiled into this binary.
    #[error("the {0} credentials cache is not available in this build")]
    Unavailable(&'static str),
}

/// The credentials cache `config` asks for, and its store's login-throttle counters (`None` for the
/// memory store: the throttle then counts in this process).
pub struct Stores {
    /// The credentials cache.
    pub cache: CredentialsCache<User>,
    /// The store's [`ThrottleStore`], when it has one shared with other nodes.
    pub throttle: Option<Arc<dyn ThrottleStore>>,
    /// The near cache in front of the store, when there is one.
    pub near: Option<NearView>,
    /// Where one-time tokens (links by email) live: the same store as the sessions.
    pub one_time: Arc<dyn OneTimeStore>,
}

/// What can be read of a running near cache: its counters and whether its channel is confirmed
/// (`GET /healthz/near`).
#[derive(Clone)]
pub struct NearView {
    channel: NearChannel,
    stats: Arc<dyn Fn() -> NearStats + Send + Sync>,
}

impl NearView {
    fn of<S: Send + Sync + 'static>(near: &keycard::store::near::NearCache<User, S>) -> Self {
        let reader = near.clone();
        NearView {
            channel: near.channel(),
            stats: Arc::new(move || reader.stats()),
        }
    }

    /// Hit, miss and invalidation counters.
    pub fn stats(&self) -> NearStats {
        (self.stats)()
    }

    /// Whether the near cache would answer from memory right now.
    pub fn confirmed(&self) -> bool {
        self.channel.is_confirmed()
    }
}

impl std::fmt::Debug for NearView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NearView")
            .field("confirmed", &self.confirmed())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("shared_throttle", &self.throttle.is_some())
            .field("near", &self.near)
            .finish_non_exhaustive()
    }
}

/// A backend's cache builder, its shared throttle counters, its remember-me series and its one-time
/// tokens.
type Parts = (
    keycard::Builder<User>,
    Option<Arc<dyn ThrottleStore>>,
    Option<Arc<dyn RememberStore>>,
    Arc<dyn OneTimeStore>,
);

/// The credentials cache `config` asks for (see [`build_stores`]).
pub async fn build_cache(
    config: &Config,
    secret: &Secret,
    clock: AppClock,
) -> Result<CredentialsCache<User>, CacheInitError> {
    // A one-shot command gains nothing from a near cache (and must not wait for a subscription).
    let config = Config {
        cache_near: false,
        ..config.clone()
    };
    Ok(build_stores(&config, secret, clock).await?.cache)
}

/// The credentials cache `config` asks for, signing with `secret` and reading time from `clock`.
///
/// For Redis this connects (one attempt, bounded by the store's connect timeout) and loads the store's
/// scripts; [`keycard_redis::RedisStore::connect`] also reads Redis' `maxmemory-policy` and logs a
/// warning unless it is `noeviction` (or when it cannot be read), so every node and every CLI run says so
/// at start-up.
pub async fn build_stores(
    config: &Config,
    secret: &Secret,
    clock: AppClock,
) -> Result<Stores, CacheInitError> {
    let mut near = None;
    let (builder, throttle, remember, one_time): Parts = match &config.cache {
        CacheBackend::Memory => (
            CredentialsCache::builder(MemoryStore::<User>::new()),
            None,
            Some(Arc::new(MemoryRemember::new())),
            Arc::new(MemoryOneTime::new()),
        ),
        CacheBackend::Sqlite { url } => {
            let store = keycard_sqlx::SqliteStore::connect_and_migrate(url, SqlConfig::default())
                .await
                .map_err(|source| sql_error(config, source))?;
            tracing::info!(cache = %config.cache.display_url(), "credentials cache: sqlite (sessions survive restarts)");
            let store = Arc::new(store);
            (
                CredentialsCache::builder_arc(store.clone()),
                Some(store.clone()),
                Some(store.clone()),
                store,
            )
        }
        CacheBackend::Postgres { url } => {
            let sql = SqlConfig::default().with_notify(true);
            let store = keycard_sqlx::PostgresStore::connect_and_migrate(url, sql)
                .await
                .map_err(|source| sql_error(config, source))?;
            tracing::info!(cache = %config.cache.display_url(), near = config.cache_near, "credentials cache: postgres connected");
            let builder = if config.cache_near {
                let cache = store.near_cache::<User>(NearConfig::default());
                near = Some(NearView::of(&cache));
                CredentialsCache::builder(cache)
            } else {
                CredentialsCache::builder(store.clone())
            };
            let store = Arc::new(store);
            (builder, Some(store.clone()), Some(store.clone()), store)
        }
        #[cfg(feature = "redis")]
        CacheBackend::Redis { url, key_prefix } => {
            use keycard_redis::{RedisConfig, RedisStore};
            let store = RedisStore::connect(url, RedisConfig::with_prefix(key_prefix.as_str()))
                .await
                .map_err(|source| CacheInitError::Connect {
                    url: config.cache.display_url(),
                    source,
                })?;
            let near_cache = if !config.cache_near {
                None
            } else {
                let cache = store
                    .near_cache::<User>(NearConfig::default())
                    .map_err(|source| CacheInitError::Connect {
                        url: config.cache.display_url(),
                        source,
                    })?;
                near = Some(NearView::of(&cache));
                Some(cache)
            };
            tracing::info!(
                cache = %config.cache.display_url(),
                key_prefix = %store.key_prefix(),
                cluster = store.is_cluster(),
                near = near_cache.is_some(),
                "credentials cache: redis connected"
            );
            let store = Arc::new(store);
            let builder = match near_cache {
                Some(cache) => CredentialsCache::builder(cache),
                None => CredentialsCache::builder_arc(store.clone()),
            };
            (builder, Some(store.clone()), Some(store.clone()), store)
        }
        #[cfg(not(feature = "redis"))]
        CacheBackend::Redis { .. } => return Err(CacheInitError::Unavailable("redis")),
    };
    let builder = match remember {
        Some(store) => builder.remember_arc(store).remember_policy(RememberPolicy {
            ttl: config.remember,
            grace: config.remember_grace,
            ..RememberPolicy::default()
        }),
        None => builder,
    };
    // Grace answers are counted where every node counts them (see `Policy::grace_uses`).
    let builder = match &throttle {
        Some(store) => builder.grace_counter(store.clone()),
        None => builder,
    };
    let cache = builder
        .secret(secret.as_bytes())
        .policy(config.policy)
        .clock(clock)
        .build()?;
    Ok(Stores {
        cache,
        throttle,
        near,
        one_time,
    })
}

fn sql_error(config: &Config, source: keycard_sqlx::ConnectError) -> CacheInitError {
    CacheInitError::Sql {
        url: config.cache.display_url(),
        source,
    }
}
