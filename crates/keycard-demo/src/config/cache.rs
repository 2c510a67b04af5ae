//! `CACHE_URL` and `CACHE_KEY_PREFIX`: where the credentials cache lives.

use std::fmt;

use super::error::ConfigError;
use super::redact::redact_url;
use super::settings::{DEFAULT_CACHE_KEY_PREFIX, MAX_CACHE_KEY_PREFIX_LEN};

/// Where the credentials cache lives.
///
/// Adding a backend is one variant here, one arm in [`CacheBackend::parse`] and one arm in
/// [`crate::domain::cache::build_cache`].
#[derive(Clone, PartialEq, Eq)]
pub enum CacheBackend {
    /// In this process: sessions are lost on restart and no other process can reach them.
    Memory,
    /// A Redis shared by every node (and the CLI) that uses the same URL and key prefix.
    Redis {
        /// `redis://…` as given (may hold a password: never logged; see [`CacheBackend::display_url`]).
        url: String,
        /// Prefix of every key (`CACHE_KEY_PREFIX`).
        key_prefix: String,
    },
}

impl fmt::Debug for CacheBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheBackend::Memory => f.write_str("Memory"),
            CacheBackend::Redis { url, key_prefix } => f
                .debug_struct("Redis")
                .field("url", &redact_url(url))
                .field("key_prefix", key_prefix)
                .finish(),
        }
    }
}

impl CacheBackend {
    /// Parse `CACHE_URL` (and, for Redis, `CACHE_KEY_PREFIX`).
    pub fn parse(url: &str, key_prefix: &str) -> Result<Self, ConfigError> {
        let url = url.trim();
        if url.eq_ignore_ascii_case("memory") {
            return Ok(CacheBackend::Memory);
        }
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("redis") => {
                if !cfg!(feature = "redis") {
                    return Err(ConfigError::new(
                        "CACHE_URL",
                        "this build has no Redis support; rebuild keycard-demo with `--features redis`, or use CACHE_URL=memory",
                    ));
                }
                let host = url
                    .split_once("://")
                    .map(|(_, rest)| rest)
                    .unwrap_or_default();
                let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
                if host.is_empty() || host.starts_with('/') || host.starts_with(':') {
                    return Err(ConfigError::new(
                        "CACHE_URL",
                        "a Redis URL needs a host: redis://[:PASSWORD@]HOST:PORT[/DB] (e.g. redis://127.0.0.1:6379)",
                    ));
                }
                Ok(CacheBackend::Redis {
                    url: url.to_owned(),
                    key_prefix: check_key_prefix(key_prefix)?,
                })
            }
            Some("rediss") => Err(ConfigError::new(
                "CACHE_URL",
                "TLS (rediss://) is not supported by this build; use redis:// on a trusted network or a TLS tunnel",
            )),
            // Never echo the value: it may hold a password.
            _ => Err(ConfigError::new(
                "CACHE_URL",
                "unknown cache; expected `memory` or `redis://HOST:PORT`",
            )),
        }
    }

    /// Whether other processes (a CLI, other app nodes) share this cache.
    pub fn is_shared(&self) -> bool {
        match self {
            CacheBackend::Memory => false,
            CacheBackend::Redis { .. } => true,
        }
    }

    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            CacheBackend::Memory => "memory",
            CacheBackend::Redis { .. } => "redis",
        }
    }

    /// Where the cache is, for logs: `memory`, or the Redis URL without its password.
    pub fn display_url(&self) -> String {
        match self {
            CacheBackend::Memory => "memory".to_owned(),
            CacheBackend::Redis { url, .. } => redact_url(url),
        }
    }
}

/// `CACHE_KEY_PREFIX`: 1 to [`MAX_CACHE_KEY_PREFIX_LEN`] bytes of printable ASCII without spaces (it is
/// part of every key, and shows up in `redis-cli` and `MONITOR`).
fn check_key_prefix(prefix: &str) -> Result<String, ConfigError> {
    if prefix.is_empty() {
        return Err(ConfigError::new(
            "CACHE_KEY_PREFIX",
            format!("must not be empty (the default is {DEFAULT_CACHE_KEY_PREFIX:?})"),
        ));
    }
    if prefix.len() > MAX_CACHE_KEY_PREFIX_LEN {
        return Err(ConfigError::new(
            "CACHE_KEY_PREFIX",
            format!(
                "is {} bytes long; at most {MAX_CACHE_KEY_PREFIX_LEN} bytes",
                prefix.len()
            ),
        ));
    }
    if !prefix.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::new(
            "CACHE_KEY_PREFIX",
            format!(
                "{prefix:?} may only hold printable ASCII without spaces (e.g. `myapp:sessions:`)"
            ),
        ));
    }
    Ok(prefix.to_owned())
}
