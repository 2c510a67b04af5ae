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
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            key_prefix: DEFAULT_KEY_PREFIX.to_string(),
            response_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            reconnect_max_delay: Duration::from_secs(1),
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
}
