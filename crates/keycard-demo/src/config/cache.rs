//! `CACHE_URL` and `CACHE_KEY_PREFIX`: where the credentials cache lives.

use std::fmt;

use super::database::DatabaseKind;
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
    /// A SQLite file (keycard-sqlx): sessions survive a restart; the CLI on the same machine shares them.
    Sqlite {
        /// `sqlite:…` as given.
        url: String,
    },
    /// PostgreSQL (keycard-sqlx): shared by every node (and the CLI) that uses the same database.
    Postgres {
        /// `postgres://…` as given (may hold a password: never logged).
        url: String,
    },
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
            CacheBackend::Sqlite { url } => f.debug_struct("Sqlite").field("url", url).finish(),
            CacheBackend::Postgres { url } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .finish(),
            CacheBackend::Redis { url, key_prefix } => f
                .debug_struct("Redis")
                .field("url", &redact_url(url))
                .field("key_prefix", key_prefix)
                .finish(),
        }
    }
}

impl CacheBackend {
    /// Parse `CACHE_URL` (and, for Redis, `CACHE_KEY_PREFIX`). `database` (the default) keeps the
    /// sessions in the users database `database_url` names: its SQLite file, or its PostgreSQL.
    pub fn parse(url: &str, key_prefix: &str, database_url: &str) -> Result<Self, ConfigError> {
        let url = url.trim();
        if url.eq_ignore_ascii_case("memory") {
            return Ok(CacheBackend::Memory);
        }
        if url.eq_ignore_ascii_case("database") {
            return Ok(match DatabaseKind::of(database_url)? {
                DatabaseKind::SqliteFile(_) => CacheBackend::Sqlite {
                    url: database_url.to_owned(),
                },
                // Nothing outlives the process in an in-memory database: the memory store is the same.
                DatabaseKind::SqliteMemory => CacheBackend::Memory,
                DatabaseKind::Postgres => CacheBackend::Postgres {
                    url: database_url.to_owned(),
                },
            });
        }
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("sqlite:") {
            return match DatabaseKind::of(url) {
                Ok(DatabaseKind::SqliteFile(_)) => Ok(CacheBackend::Sqlite { url: url.to_owned() }),
                _ => Err(ConfigError::new(
                    "CACHE_URL",
                    "a SQLite cache needs a file: sqlite:PATH (e.g. sqlite://data/sessions.db); for sessions in memory use CACHE_URL=memory",
                )),
            };
        }
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("postgres" | "postgresql") => Ok(CacheBackend::Postgres { url: url.to_owned() }),
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
            Some("redis+cluster") => {
                if !cfg!(feature = "redis") {
                    return Err(ConfigError::new(
                        "CACHE_URL",
                        "this build has no Redis support; rebuild keycard-demo with `--features redis`, or use CACHE_URL=memory",
                    ));
                }
                let hosts = url
                    .split_once("://")
                    .map(|(_, rest)| rest)
                    .unwrap_or_default();
                let hosts = hosts.rsplit_once('@').map_or(hosts, |(_, h)| h);
                if hosts
                    .split(',')
                    .any(|h| h.trim().is_empty() || h.contains('/') || h.starts_with(':'))
                {
                    return Err(ConfigError::new(
                        "CACHE_URL",
                        "a Redis Cluster URL lists its nodes: redis+cluster://[:PASSWORD@]HOST:PORT[,HOST:PORT…] (e.g. redis+cluster://127.0.0.1:7000,127.0.0.1:7001)",
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
                "unknown cache; expected `database` (the users database), `memory`, sqlite:PATH, postgres://USER@HOST/DB, redis://HOST:PORT or redis+cluster://HOST:PORT[,HOST:PORT…]",
            )),
        }
    }

    /// Whether other processes (a CLI, other app nodes) share this cache.
    pub fn is_shared(&self) -> bool {
        !matches!(self, CacheBackend::Memory)
    }

    /// Whether processes on other machines share this cache (they must then all be given the same
    /// `SECRET_KEY`; a SQLite file's processes share the generated one beside it).
    pub fn is_networked(&self) -> bool {
        matches!(
            self,
            CacheBackend::Postgres { .. } | CacheBackend::Redis { .. }
        )
    }

    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            CacheBackend::Memory => "memory",
            CacheBackend::Sqlite { .. } => "sqlite",
            CacheBackend::Postgres { .. } => "postgres",
            CacheBackend::Redis { .. } => "redis",
        }
    }

    /// Where the cache is, for logs: `memory`, or the URL without its password.
    pub fn display_url(&self) -> String {
        match self {
            CacheBackend::Memory => "memory".to_owned(),
            CacheBackend::Sqlite { url }
            | CacheBackend::Postgres { url }
            | CacheBackend::Redis { url, .. } => redact_url(url),
        }
    }
}

/// `CACHE_KEY_PREFIX`: 1 to [`MAX_CACHE_KEY_PREFIX_LEN`] bytes of printable ASCII without spaces or braces
/// (it is part of every key, and shows up in `redis-cli` and `MONITOR`).
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
    if prefix.contains(['{', '}']) {
        return Err(ConfigError::new(
            "CACHE_KEY_PREFIX",
            format!("{prefix:?} must not hold `{{` or `}}`: the Redis store puts each user's hash tag after the prefix"),
        ));
    }
    Ok(prefix.to_owned())
}
