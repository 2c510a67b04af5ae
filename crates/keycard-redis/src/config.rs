//! [`RedisConfig`]: how a [`RedisStore`](crate::RedisStore) connects and names its keys.

use std::time::Duration;

/// The key prefix used when none is configured.
pub const DEFAULT_KEY_PREFIX: &str = "keycard:";

/// How a [`RedisStore`](crate::RedisStore) connects and names its keys.
///
/// Start from [`RedisConfig::default`] or [`RedisConfig::with_prefix`] and change what you need with the
/// setters (or by assigning the public fields); new settings may be added in later versions, so the
/// struct cannot be written as a literal outside this crate.
///
/// ```
/// use std::time::Duration;
/// use keycard_redis::RedisConfig;
///
/// let config = RedisConfig::with_prefix("myapp:sess:").response_timeout(Duration::from_secs(1));
/// assert_eq!(config.key_prefix, "myapp:sess:");
/// assert_eq!(config.connect_timeout, Duration::from_secs(2)); // the default
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisConfig {
    /// Prepended to every key (default [`DEFAULT_KEY_PREFIX`], `keycard:`). Give each app sharing a Redis
    /// its own prefix.
    pub key_prefix: String,
    /// The longest any store call may take, including waiting for a reconnection (default 2 s). Past it the
    /// call fails with a [`StoreError`](keycard::StoreError): a hung Redis is an error, not a hang.
    pub response_timeout: Duration,
    /// The longest one attempt to open the TCP connection may take (default 2 s).
    pub connect_timeout: Duration,
    /// The longest pause between reconnection attempts after Redis went away (default 1 s, plus jitter).
    pub reconnect_max_delay: Duration,
    /// Whether every write names what it changed on the near-cache invalidation channel (`PUBLISH
    /// {prefix}near` from inside the write's script; default `true`), so that the near caches of every
    /// node ([`RedisStore::near_cache`](crate::RedisStore::near_cache)) hear it. Leave it on in every
    /// process that writes (app nodes, CLIs, jobs) as soon as one node runs a near cache: a write that
    /// does not publish is seen by other nodes' near caches only when their entries are refilled. It
    /// costs one `PUBLISH` per write inside the script (reads never publish; with no subscriber Redis
    /// does nothing more). On a Redis Cluster each write publishes with `SPUBLISH` on its user's shard
    /// channel, `{prefix}{tt}near`, in the script's own slot (the cluster near cache,
    /// [`near_cluster`](crate::near_cluster)).
    pub publish_invalidations: bool,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            key_prefix: DEFAULT_KEY_PREFIX.to_string(),
            response_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            reconnect_max_delay: Duration::from_secs(1),
            publish_invalidations: true,
        }
    }
}

impl RedisConfig {
    /// The default configuration with another key prefix.
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        RedisConfig::default().key_prefix(prefix)
    }

    /// Set the `key_prefix` field.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Set the `response_timeout` field.
    pub fn response_timeout(mut self, limit: Duration) -> Self {
        self.response_timeout = limit;
        self
    }

    /// Set the `connect_timeout` field.
    pub fn connect_timeout(mut self, limit: Duration) -> Self {
        self.connect_timeout = limit;
        self
    }

    /// Set the `reconnect_max_delay` field.
    pub fn reconnect_max_delay(mut self, limit: Duration) -> Self {
        self.reconnect_max_delay = limit;
        self
    }

    /// Set the `publish_invalidations` field.
    pub fn publish_invalidations(mut self, on: bool) -> Self {
        self.publish_invalidations = on;
        self
    }

    /// The near-cache invalidation channel of this configuration: the key prefix followed by `near`
    /// (`keycard:near` by default).
    pub fn near_channel(&self) -> String {
        format!("{}{NEAR_SUFFIX}", self.key_prefix)
    }
}

/// What follows the key prefix in the invalidation channel on one Redis (`{prefix}near`), and the key base
/// in a shard channel on a cluster (`{prefix}{tt}near`).
pub(crate) const NEAR_SUFFIX: &str = "near";
