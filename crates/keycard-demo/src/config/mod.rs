//! The demo's settings: flags with environment fallbacks, checked into a [`Config`] before anything starts.
//!
//! | flag | env | default | meaning |
//! |---|---|---|---|
//! | `--addr` | `KEYCARD_ADDR` | `127.0.0.1:4000` | where the server listens (`IP:PORT`) |
//! | `--header-read-timeout-secs` | `HEADER_READ_TIMEOUT_SECS` | `10` | a request's headers must arrive within this (and a kept-alive connection may idle this long), or the connection is closed |
//! | `--max-connections` | `MAX_CONNECTIONS` | `1024` | connections served at once; the next ones wait in the kernel's listen backlog |
//! | `--database-url` | `DATABASE_URL` | `sqlite://data/keycard-demo.db?mode=rwc` | the users database: `sqlite:…` or `postgres://…` |
//! | `--cache-url` | `CACHE_URL` | `database` | the credentials cache: `database` (the users database: its SQLite file, or its PostgreSQL), `memory` (in this process, lost on restart), `sqlite:PATH`, `postgres://…` `redis://[:PASSWORD@]HOST:PORT[/DB]` or `redis+cluster://[:PASSWORD@]HOST:PORT[,HOST:PORT…]` (a Redis Cluster) (shared by every node) |
//! | `--cache-key-prefix` | `CACHE_KEY_PREFIX` | `keycard-demo:` | prefix of every Redis key (one per app sharing a Redis) |
//! | `--cache-near` | `CACHE_NEAR` | `on` | `on`: with a PostgreSQL or Redis cache, hot sessions are answered from this process's memory, invalidated by PostgreSQL `NOTIFY` or Redis `PUBLISH` (on a Redis Cluster `SPUBLISH`, one subscription per master) from every node's writes; `off`: every request asks the store |
//! | `--secret-key` | `SECRET_KEY` | generated, kept beside the SQLite file | app secret, at least 64 bytes; required with PostgreSQL or Redis |
//! | `--session-idle-secs` | `SESSION_IDLE_SECS` | `1800` | a session not renewed for this long dies |
//! | `--session-renewal-secs` | `SESSION_RENEWAL_SECS` | `900` | the first request after this long rotates the token |
//! | `--session-grace-secs` | `SESSION_GRACE_SECS` | `60` | a replaced token keeps working this long |
//! | `--session-absolute-secs` | `SESSION_ABSOLUTE_SECS` | `28800` | a session dies this long after sign-in |
//! | `--client-ip-source` | `CLIENT_IP_SOURCE` | `connect-info` | where the client address comes from (throttle, session list): `connect-info` (TCP peer), `rightmost-forwarded-for` (behind exactly one trusted proxy), `none` |
//! | `--cookie-secure` | `COOKIE_SECURE` | `auto` | `Secure` + `__Host-` cookies: `auto` = unless bound to a loopback address; `true`; `false` (refused on a non-loopback address) |
//! | `--public-origin` | `PUBLIC_ORIGIN` | none | the `https://HOST[:PORT]` browsers reach the app at (through an HTTPS proxy); required with `Secure` cookies; forms from any other origin are refused |
//! | `--trial-secs` | `TRIAL_SECS` | `1209600` (14 days) | length of a `pro-trial` |
//! | `--plan-job-interval-secs` | `PLAN_JOB_INTERVAL_SECS` | `60` | how often expired trials are downgraded |
//! | `--sudo-secs` | `SUDO_SECS` | `600` | sudo mode: a password change or "sign out all other sessions" needs a sign-in (or a password confirmation) this recent |
//! | `--remember-secs` | `REMEMBER_SECS` | `2592000` (30 days) | "Remember me": a remembered browser is signed back in this long after its last visit |
//! | `--smtp-url` | `SMTP_URL` | none | mail through this SMTP server (`smtp://`, `smtp+starttls://`, `smtps://`, user and password in the URL); without it mail stays in the development mailbox (`GET /dev/mailbox` on loopback) |
//! | `--mail-from` | `MAIL_FROM` | `keycard demo <no-reply@keycard-demo.invalid>` | the sender of the demo's mail |
//! | | `OIDC_ISSUER`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET`, `OIDC_NAME`, `OIDC_TRUST_EMAIL` (and `OIDC_2_…` to `OIDC_9_…`) | none | identity providers: "Sign in with {name}" ([`oidc`]) |
//! | `--remember-grace-secs` | `REMEMBER_GRACE_SECS` | `10` | a just-redeemed remember-me cookie still serves other tabs this long (read-only, at most 16 requests); `0`: never |
//!
//! Every setting is read as text and checked here, so a bad value is one line that names the setting as the
//! user gave it: the flag when it was typed (`--addr: "4001" is not an IP:PORT address …`), the environment
//! variable when it came from there or was not given (`KEYCARD_ADDR: …`) (see [`ConfigError`] and
//! [`Origins`]); `main` prints it and exits with status 2.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use keycard::Policy;
use keycard_axum::ClientIpSource;

use secret::{Secret, SecretSource};
use values::{client_ip_source, count, on_off, policy, secs};

mod cache;
pub mod cli;
mod database;
mod error;
pub mod oidc;
mod origin;
mod private_dir;
mod redact;
pub mod secret;
mod settings;
mod transport;
mod values;

#[cfg(test)]
mod tests;

pub use cache::CacheBackend;
pub use database::DatabaseKind;
pub use error::ConfigError;
pub use origin::{Origin, Origins};
pub use private_dir::create_private_dir;
pub use redact::redact_url;
pub use settings::{
    ServerSettings, Settings, StoreSettings, DEFAULT_ADDR, DEFAULT_CACHE_KEY_PREFIX,
    DEFAULT_CACHE_URL, DEFAULT_DATABASE_URL, DEFAULT_HEADER_READ_TIMEOUT_SECS, DEFAULT_MAIL_FROM,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_PLAN_JOB_INTERVAL_SECS, DEFAULT_REMEMBER_SECS,
    DEFAULT_SUDO_SECS, DEFAULT_TRIAL_SECS, MAX_CACHE_KEY_PREFIX_LEN,
};

/// The longest `HEADER_READ_TIMEOUT_SECS` accepted: 5 minutes.
pub const MAX_HEADER_READ_TIMEOUT_SECS: u64 = 300;
/// The most `MAX_CONNECTIONS` accepted.
pub const MAX_MAX_CONNECTIONS: usize = 1_000_000;

/// The checked configuration. Tests build one directly (see [`Config::for_tests`]).
#[derive(Clone)]
pub struct Config {
    /// Listen address.
    pub addr: SocketAddr,
    /// A request's headers must arrive within this, or its connection is closed
    /// (`HEADER_READ_TIMEOUT_SECS`; [`crate::server`]).
    pub header_read_timeout: Duration,
    /// Connections served at once (`MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Users database URL (`sqlite:` or `postgres://`).
    pub database_url: String,
    /// Credentials cache backend.
    pub cache: CacheBackend,
    /// A near cache in front of the credentials cache where it has one (PostgreSQL, one Redis)
    /// (`CACHE_NEAR`).
    pub cache_near: bool,
    /// Where the app secret comes from.
    pub secret: SecretSource,
    /// Session lifetimes (validated).
    pub policy: Policy,
    /// `Secure` + `__Host-` cookies and HSTS; `false` only on a loopback address (`COOKIE_SECURE`).
    pub cookie_secure: bool,
    /// The origin browsers reach the app at (`PUBLIC_ORIGIN`); `None` on a loopback address, where the
    /// app accepts `http://ADDR` and `http://localhost:PORT`.
    pub public_origin: Option<String>,
    /// Where a request's client address comes from: the session layer records it with a new session,
    /// the sign-in throttle counts failures by it.
    pub client_ip: ClientIpSource,
    /// Length of a pro-trial.
    pub trial: Duration,
    /// Interval of the plan job.
    pub plan_job_interval: Duration,
    /// Sudo mode's window ([`keycard_axum::SessionLayer::sudo_max_age`]).
    pub sudo: Duration,
    /// How long a remember-me series lives after its last use (`REMEMBER_SECS`).
    pub remember: Duration,
    /// How long a redeemed remember-me token still serves concurrent tabs (`REMEMBER_GRACE_SECS`).
    pub remember_grace: Duration,
    /// The SMTP server (`SMTP_URL`), checked by `keycard_mail::SmtpMailer` at start-up; `None`: the
    /// development mailbox.
    pub smtp_url: Option<String>,
    /// The sender of the demo's mail (`MAIL_FROM`), checked at start-up.
    pub mail_from: String,
    /// Interval of the expired-session sweeper.
    pub sweep_interval: Duration,
    /// Identity providers (`OIDC_*`, [`oidc`]); none by default.
    pub oidc: Vec<oidc::OidcProvider>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .field("database", &redact_url(&self.database_url))
            .field("cache", &self.cache)
            .field("cache_near", &self.cache_near)
            .field("secret", &self.secret)
            .field("policy", &self.policy)
            .field("cookie_secure", &self.cookie_secure)
            .field("public_origin", &self.public_origin)
            .field("client_ip", &self.client_ip)
            .field("trial", &self.trial)
            .field("plan_job_interval", &self.plan_job_interval)
            .field("sudo", &self.sudo)
            .field("remember", &self.remember)
            .field("remember_grace", &self.remember_grace)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("oidc", &self.oidc)
            .finish()
    }
}

impl Config {
    /// Check `settings` into a configuration. The error names the setting as it was given
    /// (`settings.origins`).
    pub fn from_settings(s: &Settings) -> Result<Config, ConfigError> {
        Self::check(s).map_err(|e| e.named(&s.origins))
    }

    fn check(s: &Settings) -> Result<Config, ConfigError> {
        let (server, store, name) = (&s.server, &s.store, |n| s.origins.name(n));
        let addr: SocketAddr = server.addr.trim().parse().map_err(|_| {
            ConfigError::new(
                "KEYCARD_ADDR",
                format!(
                    "{:?} is not an IP:PORT address (e.g. 127.0.0.1:4000)",
                    server.addr
                ),
            )
        })?;
        let header_read_timeout = secs(
            "HEADER_READ_TIMEOUT_SECS",
            &server.header_read_timeout_secs,
            false,
        )?;
        if header_read_timeout > Duration::from_secs(MAX_HEADER_READ_TIMEOUT_SECS) {
            return Err(ConfigError::new(
                "HEADER_READ_TIMEOUT_SECS",
                format!("must be at most {MAX_HEADER_READ_TIMEOUT_SECS} seconds: a slow client holds its connection this long"),
            ));
        }
        let max_connections = count(
            "MAX_CONNECTIONS",
            &server.max_connections,
            MAX_MAX_CONNECTIONS,
        )?;
        let database_url = store.database_url.trim().to_string();
        let db_kind = DatabaseKind::of(&database_url)?;
        let cache = CacheBackend::parse(&store.cache_url, &store.cache_key_prefix, &database_url)?;
        let cache_near = on_off("CACHE_NEAR", &server.cache_near)?;

        let secret = match store.secret_key.as_deref() {
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
                        format!(
                            "is required with a PostgreSQL {} (generate one with `openssl rand -base64 64`)",
                            name("DATABASE_URL")
                        ),
                    ))
                }
            },
        };
        if cache.is_networked() && !matches!(secret, SecretSource::Given(_)) {
            return Err(ConfigError::new(
                "SECRET_KEY",
                format!(
                    "is required with a shared {} (PostgreSQL or Redis): every node must sign cookies with the same key",
                    name("CACHE_URL")
                ),
            ));
        }

        let idle = secs("SESSION_IDLE_SECS", &server.session_idle_secs, false)?;
        let renewal = secs("SESSION_RENEWAL_SECS", &server.session_renewal_secs, false)?;
        let grace = secs("SESSION_GRACE_SECS", &server.session_grace_secs, true)?;
        let absolute = secs(
            "SESSION_ABSOLUTE_SECS",
            &server.session_absolute_secs,
            false,
        )?;
        let policy = policy(idle, renewal, grace, absolute, &s.origins)?;

        let (cookie_secure, public_origin) = transport::resolve(
            addr,
            &server.cookie_secure,
            server.public_origin.as_deref(),
            name,
        )?;
        let client_ip = client_ip_source("CLIENT_IP_SOURCE", &server.client_ip_source)?;
        let trial = secs("TRIAL_SECS", &store.trial_secs, false)?;
        let plan_job_interval = secs(
            "PLAN_JOB_INTERVAL_SECS",
            &server.plan_job_interval_secs,
            false,
        )?;
        let sudo = secs("SUDO_SECS", &server.sudo_secs, false)?;
        let remember = secs("REMEMBER_SECS", &server.remember_secs, false)?;
        let remember_grace = secs("REMEMBER_GRACE_SECS", &server.remember_grace_secs, true)?;

        Ok(Config {
            addr,
            header_read_timeout,
            max_connections,
            database_url,
            cache,
            cache_near,
            secret,
            policy,
            cookie_secure,
            public_origin,
            client_ip,
            trial,
            plan_job_interval,
            sudo,
            remember,
            remember_grace,
            smtp_url: server
                .smtp_url
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned),
            mail_from: server.mail_from.trim().to_owned(),
            sweep_interval: sweep_interval_for(&policy),
            oidc: oidc::providers(&s.oidc_env)?,
        })
    }

    /// A configuration for tests: the given SQLite file, memory store, a fixed secret, default policy.
    pub fn for_tests(database_url: impl Into<String>) -> Config {
        let policy = Policy::default();
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            database_url: database_url.into(),
            cache: CacheBackend::Memory,
            cache_near: true,
            secret: SecretSource::Given(Secret::new(vec![0x5a; 64])),
            policy,
            cookie_secure: false,
            public_origin: None,
            client_ip: ClientIpSource::ConnectInfo,
            trial: Duration::from_secs(DEFAULT_TRIAL_SECS),
            plan_job_interval: Duration::from_secs(DEFAULT_PLAN_JOB_INTERVAL_SECS),
            sudo: Duration::from_secs(DEFAULT_SUDO_SECS),
            remember: Duration::from_secs(DEFAULT_REMEMBER_SECS),
            remember_grace: keycard::remember::DEFAULT_REMEMBER_GRACE,
            smtp_url: None,
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
            sweep_interval: sweep_interval_for(&policy),
            oidc: Vec::new(),
        }
    }
}

impl Config {
    /// What every link in the app's mail starts with: `PUBLIC_ORIGIN`, or `http://ADDR` (the bound
    /// address; on a loopback address without TLS).
    pub fn link_origin(&self) -> String {
        match &self.public_origin {
            Some(origin) => origin.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.addr),
        }
    }

    /// The origin passkeys are bound to (their relying party): `PUBLIC_ORIGIN`, or `http://localhost:PORT`
    /// on a loopback address without it (browsers offer passkeys on `http://localhost`, never on an IP
    /// address; `http://localhost:PORT` is one of [`allowed_origins`](Self::allowed_origins) too).
    pub fn passkey_origin(&self) -> String {
        match &self.public_origin {
            Some(origin) => origin.trim_end_matches('/').to_owned(),
            None => format!("http://localhost:{}", self.addr.port()),
        }
    }

    /// The origins forms may come from (the CSRF check's `Origin`): `PUBLIC_ORIGIN`, or on a loopback
    /// address without it `http://ADDR` and `http://localhost:PORT`.
    pub fn allowed_origins(&self) -> Vec<String> {
        transport::allowed_origins(self.addr, self.public_origin.as_deref())
    }
}

impl Config {
    /// The redirect URI of the identity provider `key`: `{PUBLIC_ORIGIN}/auth/oidc/{key}/callback`
    /// (`http://ADDR/…` on a loopback address without it).
    pub fn oidc_redirect_uri(&self, key: &str) -> String {
        format!("{}/auth/oidc/{key}/callback", self.link_origin())
    }
}

/// Sweep about four times per idle lifetime, at most once a minute, at least once a second.
fn sweep_interval_for(policy: &Policy) -> Duration {
    (policy.idle_ttl / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// `data/keycard-demo.db` -> `data/keycard-demo.secret_key`.
fn secret_path_beside(db: &std::path::Path) -> PathBuf {
    let stem = db
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keycard-demo".to_string());
    db.with_file_name(format!("{stem}.secret_key"))
}
