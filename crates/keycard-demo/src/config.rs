//! The demo's settings: flags with environment fallbacks, checked into a [`Config`] before anything starts.
//!
//! | flag | env | default | meaning |
//! |---|---|---|---|
//! | `--addr` | `KEYCARD_ADDR` | `127.0.0.1:4000` | where the server listens (`IP:PORT`) |
//! | `--database-url` | `DATABASE_URL` | `sqlite://data/keycard-demo.db?mode=rwc` | the users database: `sqlite:…` or `postgres://…` |
//! | `--cache-url` | `CACHE_URL` | `memory` | the credentials cache: `memory` (in this process) or `redis://[:PASSWORD@]HOST:PORT[/DB]` (shared by every node) |
//! | `--cache-key-prefix` | `CACHE_KEY_PREFIX` | `keycard-demo:` | prefix of every Redis key (one per app sharing a Redis) |
//! | `--secret-key` | `SECRET_KEY` | generated, kept beside the SQLite file | app secret, at least 64 bytes; required with PostgreSQL or Redis |
//! | `--session-idle-secs` | `SESSION_IDLE_SECS` | `1800` | a session not renewed for this long dies |
//! | `--session-renewal-secs` | `SESSION_RENEWAL_SECS` | `900` | the first request after this long rotates the token |
//! | `--session-grace-secs` | `SESSION_GRACE_SECS` | `60` | a replaced token keeps working this long |
//! | `--session-absolute-secs` | `SESSION_ABSOLUTE_SECS` | `28800` | a session dies this long after sign-in |
//! | `--cookie-secure` | `COOKIE_SECURE` | `false` | `Secure` + `__Host-` cookies (serve over HTTPS) |
//! | `--trial-secs` | `TRIAL_SECS` | `1209600` (14 days) | length of a `pro-trial` |
//! | `--plan-job-interval-secs` | `PLAN_JOB_INTERVAL_SECS` | `60` | how often expired trials are downgraded |
//!
//! Every setting is read as text and checked here, so a bad value is one line that names the setting
//! (see [`ConfigError`]); `main` prints it and exits with status 2.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use keycard::Policy;

use crate::secret::{Secret, SecretSource};

/// Default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:4000";
/// Default database: a SQLite file in `data/` under the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/keycard-demo.db?mode=rwc";
/// Default credentials cache.
pub const DEFAULT_CACHE_URL: &str = "memory";
/// Default prefix of the demo's Redis keys.
pub const DEFAULT_CACHE_KEY_PREFIX: &str = "keycard-demo:";
/// Longest accepted `CACHE_KEY_PREFIX`, in bytes.
pub const MAX_CACHE_KEY_PREFIX_LEN: usize = 64;
/// Default trial length: 14 days.
pub const DEFAULT_TRIAL_SECS: u64 = 14 * 24 * 60 * 60;
/// Default interval of the plan job.
pub const DEFAULT_PLAN_JOB_INTERVAL_SECS: u64 = 60;

/// The settings as given (flags, else environment, else defaults), unchecked.
#[derive(clap::Args, Debug, Clone)]
pub struct Settings {
    /// Address to listen on (IP:PORT).
    #[arg(long, env = "KEYCARD_ADDR", default_value = DEFAULT_ADDR, global = true)]
    pub addr: String,

    /// Users database: sqlite:PATH[?mode=rwc] or postgres://USER@HOST/DB.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, hide_env_values = true)]
    pub database_url: String,

    /// Credentials cache: `memory` (sessions live in this process) or `redis://[:PASSWORD@]HOST:PORT[/DB]`
    /// (shared by every process that uses the same Redis and key prefix).
    #[arg(long, env = "CACHE_URL", default_value = DEFAULT_CACHE_URL, global = true, hide_env_values = true)]
    pub cache_url: String,

    /// Prefix of every Redis key of this app (give each app sharing a Redis its own).
    #[arg(
        long,
        env = "CACHE_KEY_PREFIX",
        default_value = DEFAULT_CACHE_KEY_PREFIX,
        global = true
    )]
    pub cache_key_prefix: String,

    /// App secret, at least 64 bytes (e.g. `openssl rand -base64 64`). Without it a development secret is
    /// generated and kept beside the SQLite database.
    #[arg(long, env = "SECRET_KEY", global = true, hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Idle lifetime of a session, in seconds.
    #[arg(long, env = "SESSION_IDLE_SECS", default_value = "1800", global = true)]
    pub session_idle_secs: String,

    /// Seconds after a token rotation when the next request rotates it again.
    #[arg(
        long,
        env = "SESSION_RENEWAL_SECS",
        default_value = "900",
        global = true
    )]
    pub session_renewal_secs: String,

    /// Seconds a replaced token keeps working after a renewal (0 allowed).
    #[arg(long, env = "SESSION_GRACE_SECS", default_value = "60", global = true)]
    pub session_grace_secs: String,

    /// Absolute lifetime of a session from sign-in, in seconds.
    #[arg(
        long,
        env = "SESSION_ABSOLUTE_SECS",
        default_value = "28800",
        global = true
    )]
    pub session_absolute_secs: String,

    /// Mark cookies `Secure` and use the `__Host-` prefix (true/false). Needs HTTPS.
    #[arg(long, env = "COOKIE_SECURE", default_value = "false", global = true)]
    pub cookie_secure: String,

    /// Length of a pro-trial, in seconds.
    #[arg(long, env = "TRIAL_SECS", default_value = "1209600", global = true)]
    pub trial_secs: String,

    /// How often the background job downgrades expired trials, in seconds.
    #[arg(
        long,
        env = "PLAN_JOB_INTERVAL_SECS",
        default_value = "60",
        global = true
    )]
    pub plan_job_interval_secs: String,
}

/// Where the credentials cache lives.
///
/// Adding a backend is one variant here, one arm in [`CacheBackend::parse`] and one arm in
/// [`crate::app::build_cache`].
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

/// The checked configuration. Tests build one directly (see [`Config::for_tests`]).
#[derive(Clone)]
pub struct Config {
    /// Listen address.
    pub addr: SocketAddr,
    /// Users database URL (`sqlite:` or `postgres://`).
    pub database_url: String,
    /// Credentials cache backend.
    pub cache: CacheBackend,
    /// Where the app secret comes from.
    pub secret: SecretSource,
    /// Session lifetimes (validated).
    pub policy: Policy,
    /// `Secure` + `__Host-` cookies.
    pub cookie_secure: bool,
    /// Length of a pro-trial.
    pub trial: Duration,
    /// Interval of the plan job.
    pub plan_job_interval: Duration,
    /// Interval of the expired-session sweeper.
    pub sweep_interval: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("database", &redact_url(&self.database_url))
            .field("cache", &self.cache)
            .field("secret", &self.secret)
            .field("policy", &self.policy)
            .field("cookie_secure", &self.cookie_secure)
            .field("trial", &self.trial)
            .field("plan_job_interval", &self.plan_job_interval)
            .finish()
    }
}

/// A setting that cannot work: which one, and why. Displayed as one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    /// The environment variable name of the setting.
    pub setting: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl ConfigError {
    /// A new error about `setting`.
    pub fn new(setting: &'static str, message: impl Into<String>) -> Self {
        ConfigError {
            setting,
            message: message.into(),
        }
    }
}

impl Config {
    /// Check `settings` into a configuration.
    pub fn from_settings(s: &Settings) -> Result<Config, ConfigError> {
        let addr: SocketAddr = s.addr.trim().parse().map_err(|_| {
            ConfigError::new(
                "KEYCARD_ADDR",
                format!(
                    "{:?} is not an IP:PORT address (e.g. 127.0.0.1:4000)",
                    s.addr
                ),
            )
        })?;
        let database_url = s.database_url.trim().to_string();
        let db_kind = DatabaseKind::of(&database_url)?;
        let cache = CacheBackend::parse(&s.cache_url, &s.cache_key_prefix)?;

        let secret = match s.secret_key.as_deref() {
            Some(key) if !key.is_empty() => {
                let len = key.len();
                if len < keycard::token::MIN_SECRET_LEN {
                    return Err(ConfigError::new(
                        "SECRET_KEY",
                        format!(
                            "is {len} bytes long; it must be at least {} bytes (generate one with `openssl rand -base64 64`)",
                            keycard::token::MIN_SECRET_LEN
                        ),
                    ));
                }
                SecretSource::Given(Secret::new(key.as_bytes().to_vec()))
            }
            _ => match db_kind {
                DatabaseKind::SqliteFile(path) => SecretSource::File(secret_path_beside(&path)),
                DatabaseKind::SqliteMemory => SecretSource::Ephemeral,
                DatabaseKind::Postgres => {
                    return Err(ConfigError::new(
                        "SECRET_KEY",
                        "is required with a PostgreSQL DATABASE_URL (generate one with `openssl rand -base64 64`)",
                    ))
                }
            },
        };
        if cache.is_shared() && !matches!(secret, SecretSource::Given(_)) {
            return Err(ConfigError::new(
                "SECRET_KEY",
                "is required with a shared CACHE_URL: every process must sign cookies with the same key",
            ));
        }

        let idle = secs("SESSION_IDLE_SECS", &s.session_idle_secs, false)?;
        let renewal = secs("SESSION_RENEWAL_SECS", &s.session_renewal_secs, false)?;
        let grace = secs("SESSION_GRACE_SECS", &s.session_grace_secs, true)?;
        let absolute = secs("SESSION_ABSOLUTE_SECS", &s.session_absolute_secs, false)?;
        let policy = policy(idle, renewal, grace, absolute)?;

        let cookie_secure = parse_bool("COOKIE_SECURE", &s.cookie_secure)?;
        let trial = secs("TRIAL_SECS", &s.trial_secs, false)?;
        let plan_job_interval = secs("PLAN_JOB_INTERVAL_SECS", &s.plan_job_interval_secs, false)?;

        Ok(Config {
            addr,
            database_url,
            cache,
            secret,
            policy,
            cookie_secure,
            trial,
            plan_job_interval,
            sweep_interval: sweep_interval_for(&policy),
        })
    }

    /// A configuration for tests: the given SQLite file, memory store, a fixed secret, default policy.
    pub fn for_tests(database_url: impl Into<String>) -> Config {
        let policy = Policy::default();
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: database_url.into(),
            cache: CacheBackend::Memory,
            secret: SecretSource::Given(Secret::new(vec![0x5a; 64])),
            policy,
            cookie_secure: false,
            trial: Duration::from_secs(DEFAULT_TRIAL_SECS),
            plan_job_interval: Duration::from_secs(DEFAULT_PLAN_JOB_INTERVAL_SECS),
            sweep_interval: sweep_interval_for(&policy),
        }
    }
}

/// Sweep about four times per idle lifetime, at most once a minute, at least once a second.
fn sweep_interval_for(policy: &Policy) -> Duration {
    (policy.idle_ttl / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Which kind of database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    /// A SQLite file at this path.
    SqliteFile(PathBuf),
    /// An in-memory SQLite database.
    SqliteMemory,
    /// PostgreSQL.
    Postgres,
}

impl DatabaseKind {
    /// Classify `DATABASE_URL`.
    pub fn of(url: &str) -> Result<DatabaseKind, ConfigError> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(DatabaseKind::Postgres);
        }
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            if path.is_empty()
                || path == ":memory:"
                || query.split('&').any(|kv| kv == "mode=memory")
            {
                return Ok(DatabaseKind::SqliteMemory);
            }
            return Ok(DatabaseKind::SqliteFile(PathBuf::from(path)));
        }
        Err(ConfigError::new(
            "DATABASE_URL",
            "expected sqlite:PATH (e.g. sqlite://data/keycard-demo.db?mode=rwc) or postgres://USER@HOST/DB",
        ))
    }
}

/// `data/keycard-demo.db` -> `data/keycard-demo.secret_key`.
fn secret_path_beside(db: &std::path::Path) -> PathBuf {
    let stem = db
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keycard-demo".to_string());
    db.with_file_name(format!("{stem}.secret_key"))
}

/// `postgres://user:pass@host/db` -> `postgres://…@host/db`, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

fn secs(setting: &'static str, value: &str, zero_ok: bool) -> Result<Duration, ConfigError> {
    let n: u64 = value.trim().parse().map_err(|_| {
        ConfigError::new(
            setting,
            format!("{value:?} is not a whole number of seconds"),
        )
    })?;
    if n == 0 && !zero_ok {
        return Err(ConfigError::new(setting, "must be greater than 0"));
    }
    // Keep every deadline computation far from overflow: at most 10 years.
    if n > 10 * 366 * 24 * 60 * 60 {
        return Err(ConfigError::new(setting, "is longer than 10 years"));
    }
    Ok(Duration::from_secs(n))
}

fn parse_bool(setting: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::new(
            setting,
            format!("{value:?} is not true or false"),
        )),
    }
}

/// The session policy, with errors that name the settings (the core's own check is the backstop).
fn policy(
    idle: Duration,
    renewal: Duration,
    grace: Duration,
    absolute: Duration,
) -> Result<Policy, ConfigError> {
    let (i, r, g, a) = (
        idle.as_secs(),
        renewal.as_secs(),
        grace.as_secs(),
        absolute.as_secs(),
    );
    if renewal >= idle {
        return Err(ConfigError::new(
            "SESSION_RENEWAL_SECS",
            format!("{r} must be shorter than SESSION_IDLE_SECS ({i}), or sessions die before they renew"),
        ));
    }
    if grace >= renewal {
        return Err(ConfigError::new(
            "SESSION_GRACE_SECS",
            format!("{g} must be shorter than SESSION_RENEWAL_SECS ({r})"),
        ));
    }
    if idle > absolute {
        return Err(ConfigError::new(
            "SESSION_IDLE_SECS",
            format!("{i} must not be longer than SESSION_ABSOLUTE_SECS ({a})"),
        ));
    }
    let p = Policy::default()
        .with_idle_ttl(idle)
        .with_renewal_interval(renewal)
        .with_grace(grace)
        .with_absolute_ttl(absolute);
    p.validate()
        .map_err(|e| ConfigError::new("SESSION_IDLE_SECS", e.to_string()))?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser)]
    struct T {
        #[command(flatten)]
        s: Settings,
    }

    fn settings(args: &[&str]) -> Settings {
        let mut v = vec!["t"];
        v.extend_from_slice(args);
        T::try_parse_from(v).expect("flags parse").s
    }

    #[test]
    fn defaults_are_valid_and_generate_a_secret_beside_the_database() {
        let c = Config::from_settings(&settings(&[])).expect("defaults are valid");
        assert_eq!(c.addr.to_string(), "127.0.0.1:4000");
        assert_eq!(c.cache, CacheBackend::Memory);
        assert_eq!(c.policy, Policy::default());
        assert!(!c.cookie_secure);
        match c.secret {
            SecretSource::File(p) => assert_eq!(p, PathBuf::from("data/keycard-demo.secret_key")),
            other => panic!("expected a secret file, got {other:?}"),
        }
    }

    #[test]
    fn short_secret_names_the_setting() {
        let e = Config::from_settings(&settings(&["--secret-key", "short"])).unwrap_err();
        assert_eq!(e.setting, "SECRET_KEY");
        assert!(e.to_string().starts_with("SECRET_KEY: is 5 bytes long"));
    }

    #[test]
    fn bad_numbers_and_policies_name_the_setting() {
        let e = Config::from_settings(&settings(&["--session-idle-secs", "abc"])).unwrap_err();
        assert_eq!(e.setting, "SESSION_IDLE_SECS");
        let e = Config::from_settings(&settings(&["--session-renewal-secs", "1800"])).unwrap_err();
        assert_eq!(e.setting, "SESSION_RENEWAL_SECS");
        let e = Config::from_settings(&settings(&["--session-grace-secs", "900"])).unwrap_err();
        assert_eq!(e.setting, "SESSION_GRACE_SECS");
        let e = Config::from_settings(&settings(&["--session-absolute-secs", "60"])).unwrap_err();
        assert_eq!(e.setting, "SESSION_IDLE_SECS");
        let e = Config::from_settings(&settings(&["--trial-secs", "0"])).unwrap_err();
        assert_eq!(e.setting, "TRIAL_SECS");
        let e = Config::from_settings(&settings(&["--cookie-secure", "maybe"])).unwrap_err();
        assert_eq!(e.setting, "COOKIE_SECURE");
        let e = Config::from_settings(&settings(&["--addr", "localhost"])).unwrap_err();
        assert_eq!(e.setting, "KEYCARD_ADDR");
    }

    #[test]
    fn redis_needs_a_secret_key_and_never_echoes_the_url() {
        let e = Config::from_settings(&settings(&["--cache-url", "redis://:hunter2@h:6379"]))
            .unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
        if cfg!(feature = "redis") {
            // Every node must sign cookies with the same key: a per-machine development secret cannot work.
            assert_eq!(e.setting, "SECRET_KEY");
            assert!(e.to_string().contains("shared CACHE_URL"), "{e}");
        } else {
            assert_eq!(e.setting, "CACHE_URL");
        }
        for bad in [
            "rediss://:hunter2@h:6379",
            "memcached://:hunter2@h",
            "redis://:hunter2@",
        ] {
            let e = Config::from_settings(&settings(&["--cache-url", bad])).unwrap_err();
            assert_eq!(e.setting, "CACHE_URL", "{bad}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[cfg(feature = "redis")]
    #[test]
    fn redis_with_a_secret_key_parses_with_the_default_or_given_prefix() {
        let key = "k".repeat(64);
        let c = Config::from_settings(&settings(&[
            "--cache-url",
            "redis://:hunter2@127.0.0.1:6379/2",
            "--secret-key",
            &key,
        ]))
        .expect("valid");
        assert_eq!(
            c.cache,
            CacheBackend::Redis {
                url: "redis://:hunter2@127.0.0.1:6379/2".into(),
                key_prefix: DEFAULT_CACHE_KEY_PREFIX.into(),
            }
        );
        assert!(c.cache.is_shared());
        assert_eq!(c.cache.name(), "redis");
        assert_eq!(c.cache.display_url(), "redis://…@127.0.0.1:6379/2");
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains(&key), "{debug}");

        let c = Config::from_settings(&settings(&[
            "--cache-url",
            "redis://127.0.0.1",
            "--secret-key",
            &key,
            "--cache-key-prefix",
            "shop:sess:",
        ]))
        .expect("valid");
        assert!(
            matches!(c.cache, CacheBackend::Redis { ref key_prefix, .. } if key_prefix == "shop:sess:")
        );
        for bad in ["", "has space:", &"p".repeat(65)] {
            let e = Config::from_settings(&settings(&[
                "--cache-url",
                "redis://127.0.0.1",
                "--secret-key",
                &key,
                "--cache-key-prefix",
                bad,
            ]))
            .unwrap_err();
            assert_eq!(e.setting, "CACHE_KEY_PREFIX", "{bad:?}");
        }
        // The memory store ignores the prefix, whatever it is.
        let c = Config::from_settings(&settings(&["--cache-key-prefix", ""])).expect("valid");
        assert_eq!(c.cache, CacheBackend::Memory);
    }

    #[test]
    fn database_urls_are_classified() {
        assert_eq!(
            DatabaseKind::of("sqlite::memory:").unwrap(),
            DatabaseKind::SqliteMemory
        );
        assert_eq!(
            DatabaseKind::of("sqlite:x.db").unwrap(),
            DatabaseKind::SqliteFile("x.db".into())
        );
        assert_eq!(
            DatabaseKind::of("postgres://u@h/db").unwrap(),
            DatabaseKind::Postgres
        );
        assert_eq!(
            DatabaseKind::of("mysql://x").unwrap_err().setting,
            "DATABASE_URL"
        );
        let e =
            Config::from_settings(&settings(&["--database-url", "postgres://u@h/db"])).unwrap_err();
        assert_eq!(e.setting, "SECRET_KEY");
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://…@h/db");
    }
}
