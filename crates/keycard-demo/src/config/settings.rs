//! The settings as given: flags with environment fallbacks, unchecked (every value is text, checked by
//! [`super::Config::from_settings`]).

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

    /// Where a request's client address comes from, for the sign-in throttle and the session list:
    /// `connect-info` (the TCP peer), `rightmost-forwarded-for` (the last `X-Forwarded-For` entry; only
    /// behind exactly one trusted reverse proxy that appends it) or `none`.
    #[arg(
        long,
        env = "CLIENT_IP_SOURCE",
        default_value = "connect-info",
        global = true
    )]
    pub client_ip_source: String,

    /// Mark cookies `Secure` and use the `__Host-` prefix: `auto` (unless bound to a loopback address),
    /// `true`, or `false` (only on a loopback address). Secure cookies need HTTPS in front of the demo.
    #[arg(long, env = "COOKIE_SECURE", default_value = "auto", global = true)]
    pub cookie_secure: String,

    /// The origin browsers reach the app at through an HTTPS proxy (`https://HOST[:PORT]`); required
    /// with Secure cookies. Forms posted from any other origin are refused.
    #[arg(long, env = "PUBLIC_ORIGIN", global = true)]
    pub public_origin: Option<String>,

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
