//! The settings as given: flags with environment fallbacks, unchecked (every value is text, checked by
//! [`super::Config::from_settings`]).
//!
//! Two groups, so each command takes only what it uses: [`StoreSettings`] (where the users and the
//! credentials cache are, the app secret, the trial length: what `users set-plan` needs) and
//! [`ServerSettings`] (the listener, the session lifetimes, cookies, the plan job: the server's alone).
//! [`Settings`] is both, plus where each value came from ([`Origins`]), so an error names the flag the user
//! typed or the environment variable that held the value.

use super::origin::Origins;

/// Default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:4000";
/// Default header-read timeout: 10 seconds (`crate::server::DEFAULT_HEADER_READ_TIMEOUT`).
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
const DEFAULT_HEADER_READ_TIMEOUT: &str = "10";
/// Default connection limit (`crate::server::DEFAULT_MAX_CONNECTIONS`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
const DEFAULT_MAX_CONNECTIONS_TEXT: &str = "1024";
/// Default database: a SQLite file in `data/` under the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/keycard-demo.db?mode=rwc";
/// Default credentials cache: the users database (the SQLite file by default), so sessions survive a
/// restart.
pub const DEFAULT_CACHE_URL: &str = "database";
/// Default prefix of the demo's Redis keys.
pub const DEFAULT_CACHE_KEY_PREFIX: &str = "keycard-demo:";
/// Default `CACHE_NEAR`: a near cache wherever the credentials cache has one (PostgreSQL, Redis, Redis Cluster).
pub const DEFAULT_CACHE_NEAR: &str = "on";
/// Longest accepted `CACHE_KEY_PREFIX`, in bytes.
pub const MAX_CACHE_KEY_PREFIX_LEN: usize = 64;
/// Default trial length: 14 days.
pub const DEFAULT_TRIAL_SECS: u64 = 14 * 24 * 60 * 60;
/// Default interval of the plan job.
pub const DEFAULT_PLAN_JOB_INTERVAL_SECS: u64 = 60;
const DEFAULT_SESSION_IDLE_SECS: &str = "1800";
const DEFAULT_SESSION_RENEWAL_SECS: &str = "900";
const DEFAULT_SESSION_GRACE_SECS: &str = "60";
const DEFAULT_SESSION_ABSOLUTE_SECS: &str = "28800";
const DEFAULT_CLIENT_IP_SOURCE: &str = "connect-info";
const DEFAULT_COOKIE_SECURE: &str = "auto";
const DEFAULT_TRIAL: &str = "1209600";
const DEFAULT_PLAN_JOB_INTERVAL: &str = "60";
/// Default sudo window: 10 minutes.
pub const DEFAULT_SUDO_SECS: u64 = 600;
const DEFAULT_SUDO: &str = "600";
/// Default remember-me lifetime: 30 days (Pow's).
pub const DEFAULT_REMEMBER_SECS: u64 = 30 * 24 * 3600;
const DEFAULT_REMEMBER: &str = "2592000";
const DEFAULT_REMEMBER_GRACE: &str = "10";
/// The sender of the demo's mail when `MAIL_FROM` is not given.
pub const DEFAULT_MAIL_FROM: &str = "keycard demo <no-reply@keycard-demo.invalid>";

/// Every setting, as given (flags, else environment, else defaults), unchecked.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Settings {
    /// The server's own settings.
    #[command(flatten)]
    pub server: ServerSettings,
    /// Where the data is, and the secret.
    #[command(flatten)]
    pub store: StoreSettings,
    /// Where each value came from (filled in by [`super::cli::parse`]; all defaults otherwise).
    #[arg(skip)]
    pub origins: Origins,
    /// The `OIDC_*` environment variables (identity providers: [`super::oidc`]), read by
    /// [`super::cli::parse`]; none otherwise.
    #[arg(skip)]
    pub oidc_env: Vec<(String, String)>,
}

/// What every command that touches the data needs: the users database, the credentials cache, the app
/// secret, the trial length.
#[derive(clap::Args, Debug, Clone)]
pub struct StoreSettings {
    /// Users database: sqlite:PATH[?mode=rwc] or postgres://USER@HOST/DB.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,

    /// Credentials cache: `database` (in the users database: sessions survive restarts), `memory` (in this
    /// process), `sqlite:PATH`, `postgres://USER@HOST/DB`, `redis://[:PASSWORD@]HOST:PORT[/DB]` or
    /// `redis+cluster://[:PASSWORD@]HOST:PORT[,HOST:PORT…]` (a Redis Cluster).
    #[arg(long, env = "CACHE_URL", default_value = DEFAULT_CACHE_URL, hide_env_values = true)]
    pub cache_url: String,

    /// Prefix of every Redis key of this app (give each app sharing a Redis its own).
    #[arg(long, env = "CACHE_KEY_PREFIX", default_value = DEFAULT_CACHE_KEY_PREFIX)]
    pub cache_key_prefix: String,

    /// App secret, at least 64 bytes (e.g. `openssl rand -base64 64`). Without it a development secret is
    /// generated and kept beside the SQLite database.
    #[arg(long, env = "SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Length of a pro-trial, in seconds.
    #[arg(long, env = "TRIAL_SECS", default_value = DEFAULT_TRIAL)]
    pub trial_secs: String,
}

/// The server's own settings: where it listens, session lifetimes, cookies, the plan job.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerSettings {
    /// Address to listen on (IP:PORT).
    #[arg(long, env = "KEYCARD_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: String,

    /// Seconds a client may take to send a request's headers (also how long a kept-alive connection may
    /// stay idle); then the connection is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value = DEFAULT_HEADER_READ_TIMEOUT)]
    pub header_read_timeout_secs: String,

    /// Connections served at once; the next ones wait in the kernel's listen backlog until one closes.
    #[arg(long, env = "MAX_CONNECTIONS", default_value = DEFAULT_MAX_CONNECTIONS_TEXT)]
    pub max_connections: String,

    /// A near cache in front of a PostgreSQL or (one) Redis credentials cache (`on`, the default, or
    /// `off`): hot sessions answered from this process's memory, invalidated by PostgreSQL `NOTIFY` or
    /// Redis `PUBLISH` from every node's writes. Ignored on a Redis Cluster.
    #[arg(long, env = "CACHE_NEAR", default_value = DEFAULT_CACHE_NEAR)]
    pub cache_near: String,

    /// Idle lifetime of a session, in seconds.
    #[arg(long, env = "SESSION_IDLE_SECS", default_value = DEFAULT_SESSION_IDLE_SECS)]
    pub session_idle_secs: String,

    /// Seconds after a token rotation when the next request rotates it again.
    #[arg(long, env = "SESSION_RENEWAL_SECS", default_value = DEFAULT_SESSION_RENEWAL_SECS)]
    pub session_renewal_secs: String,

    /// Seconds a replaced token keeps working after a renewal (0 allowed).
    #[arg(long, env = "SESSION_GRACE_SECS", default_value = DEFAULT_SESSION_GRACE_SECS)]
    pub session_grace_secs: String,

    /// Absolute lifetime of a session from sign-in, in seconds.
    #[arg(long, env = "SESSION_ABSOLUTE_SECS", default_value = DEFAULT_SESSION_ABSOLUTE_SECS)]
    pub session_absolute_secs: String,

    /// Where a request's client address comes from, for the sign-in throttle and the session list:
    /// `connect-info` (the TCP peer), `rightmost-forwarded-for` (the last `X-Forwarded-For` entry; only
    /// behind exactly one trusted reverse proxy that appends it) or `none`.
    #[arg(long, env = "CLIENT_IP_SOURCE", default_value = DEFAULT_CLIENT_IP_SOURCE)]
    pub client_ip_source: String,

    /// Mark cookies `Secure` and use the `__Host-` prefix: `auto` (unless bound to a loopback address),
    /// `true`, or `false` (only on a loopback address). Secure cookies need HTTPS in front of the demo.
    #[arg(long, env = "COOKIE_SECURE", default_value = DEFAULT_COOKIE_SECURE)]
    pub cookie_secure: String,

    /// The origin browsers reach the app at through an HTTPS proxy (`https://HOST[:PORT]`); required
    /// with Secure cookies. Forms posted from any other origin are refused.
    #[arg(long, env = "PUBLIC_ORIGIN")]
    pub public_origin: Option<String>,

    /// How often the background job downgrades expired trials, in seconds.
    #[arg(long, env = "PLAN_JOB_INTERVAL_SECS", default_value = DEFAULT_PLAN_JOB_INTERVAL)]
    pub plan_job_interval_secs: String,

    /// Sudo mode: how recent a sign-in (or password confirmation) must be for a password change or
    /// "sign out all other sessions", in seconds.
    #[arg(long, env = "SUDO_SECS", default_value = DEFAULT_SUDO)]
    pub sudo_secs: String,

    /// "Remember me": how long a remembered browser is signed back in after its last visit, in seconds.
    #[arg(long, env = "REMEMBER_SECS", default_value = DEFAULT_REMEMBER)]
    pub remember_secs: String,

    /// "Remember me": how long a just-redeemed remember-me cookie still serves the browser's other tabs
    /// (read-only, a bounded number of requests), in seconds; 0: never.
    #[arg(long, env = "REMEMBER_GRACE_SECS", default_value = DEFAULT_REMEMBER_GRACE)]
    pub remember_grace_secs: String,

    /// The SMTP server mail goes through: `smtp://HOST:PORT` (plain), `smtp+starttls://HOST:PORT`,
    /// `smtps://HOST:PORT`, with `USER:PASSWORD@` before the host when it asks. Without it, mail stays in
    /// a development mailbox (`GET /dev/mailbox` on a loopback address) and each message is logged.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of the demo's mail (`Name <address>` or an address).
    #[arg(long, env = "MAIL_FROM", default_value = DEFAULT_MAIL_FROM)]
    pub mail_from: String,
}

/// The defaults, for commands that do not serve (`users set-plan` builds its [`super::Config`] on them).
impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            addr: DEFAULT_ADDR.to_owned(),
            header_read_timeout_secs: DEFAULT_HEADER_READ_TIMEOUT.to_owned(),
            max_connections: DEFAULT_MAX_CONNECTIONS_TEXT.to_owned(),
            cache_near: DEFAULT_CACHE_NEAR.to_owned(),
            session_idle_secs: DEFAULT_SESSION_IDLE_SECS.to_owned(),
            session_renewal_secs: DEFAULT_SESSION_RENEWAL_SECS.to_owned(),
            session_grace_secs: DEFAULT_SESSION_GRACE_SECS.to_owned(),
            session_absolute_secs: DEFAULT_SESSION_ABSOLUTE_SECS.to_owned(),
            client_ip_source: DEFAULT_CLIENT_IP_SOURCE.to_owned(),
            cookie_secure: DEFAULT_COOKIE_SECURE.to_owned(),
            public_origin: None,
            plan_job_interval_secs: DEFAULT_PLAN_JOB_INTERVAL.to_owned(),
            sudo_secs: DEFAULT_SUDO.to_owned(),
            remember_secs: DEFAULT_REMEMBER.to_owned(),
            remember_grace_secs: DEFAULT_REMEMBER_GRACE.to_owned(),
            smtp_url: None,
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
        }
    }
}

/// The defaults (the same as clap's).
impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            cache_url: DEFAULT_CACHE_URL.to_owned(),
            cache_key_prefix: DEFAULT_CACHE_KEY_PREFIX.to_owned(),
            secret_key: None,
            trial_secs: DEFAULT_TRIAL.to_owned(),
        }
    }
}
