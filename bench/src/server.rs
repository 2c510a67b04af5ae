//! `keycard-bench server --kind K --port P --db PATH`: one of the servers under test.
//!
//! Every kind answers the same two routes on 127.0.0.1:
//! - `GET /me`: `{"email":…,"plan":…}` of the signed-in user (401 when not signed in);
//! - `POST /login` (form `email`, `password`): signs in and sets the session cookie.
//!
//! All kinds open the same users table with the same SQLite settings (`common::open_db`), even `bare`, which
//! never reads it. Sign-in checks the password with a cheap comparison unless `--argon2` is given, in which
//! case it verifies the stored argon2id hash with `keycard::password::PasswordHasher::verify` (the real path).
//!
//! `bare` is here; the axum-login servers are in `axum_login_srv`, keycard's in `keycard_srv`, and what
//! they all share (the sign-in form and password check, the `/me` answer, the settings) in `serving`, so
//! the servers depend on it and never on each other.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::routing::{get, post};
use axum::Router;

use clap::builder::PossibleValuesParser;

use crate::axum_login_srv;
use crate::common;
use crate::serving::{me_response, PasswordCheck, ServerConfig};

pub const KINDS: &[&str] = &[
    "bare",
    "keycard-memory",
    "keycard-reload",
    "keycard-redis",
    "keycard-redis-near",
    "keycard-sqlite",
    "keycard-postgres",
    "keycard-postgres-near",
    "axum-login-sqlite",
    "axum-login-sqlx",
    "axum-login-redis",
];

/// The flags of `keycard-bench server`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Which server.
    #[arg(long, value_parser = PossibleValuesParser::new(KINDS.iter().copied()))]
    pub kind: String,
    /// Port on 127.0.0.1 (0: any free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The users table (made by `init-db`).
    #[arg(long)]
    pub db: PathBuf,
    /// Redis for the `*-redis` kinds.
    #[arg(long, default_value = "redis://127.0.0.1:6379/13")]
    pub redis_url: String,
    /// Prefix of keycard's Redis keys.
    #[arg(long, default_value = "keycard-bench:")]
    pub redis_prefix: String,
    /// PostgreSQL for `keycard-postgres` and `keycard-postgres-near` (its tables: `kcbench_*`, emptied at
    /// start).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub postgres_url: String,
    /// Verify the stored argon2id hash at sign-in (the real path) instead of a cheap comparison.
    #[arg(long)]
    pub argon2: bool,
    /// With --argon2: at most this many verifications at once, on lowered-priority threads (a stricter
    /// variant than keycard's own limit).
    #[arg(long)]
    pub hash_permits: Option<usize>,
    /// With --hash-permits: the nice value of the hashing threads.
    #[arg(long, default_value_t = 0)]
    pub hash_nice: i32,
}

pub fn main(args: &ServerArgs) -> Result<(), String> {
    let cfg = ServerConfig {
        kind: args.kind.clone(),
        port: args.port,
        db: args.db.clone(),
        redis_url: args.redis_url.clone(),
        redis_prefix: args.redis_prefix.clone(),
        postgres_url: args.postgres_url.clone(),
        check: match (args.argon2, args.hash_permits) {
            (false, _) => PasswordCheck::Cheap,
            (true, None) => PasswordCheck::Argon2,
            (true, Some(permits)) => PasswordCheck::Argon2Bounded {
                permits: Arc::new(tokio::sync::Semaphore::new(permits)),
                nice: args.hash_nice,
            },
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(serve(cfg))
}

async fn serve(cfg: ServerConfig) -> Result<(), String> {
    let pool = common::open_db(&cfg.db, false)
        .await
        .map_err(|e| format!("open {}: {e}", cfg.db.display()))?;
    let app: Router = match cfg.kind.as_str() {
        "bare" => bare(),
        "axum-login-sqlite" => axum_login_srv::memory(pool, cfg.check.clone()),
        "axum-login-sqlx" => axum_login_srv::sqlx_sqlite(pool, cfg.check.clone(), &cfg.db).await?,
        "axum-login-redis" => {
            axum_login_srv::redis(pool, cfg.check.clone(), &cfg.redis_url).await?
        }
        other => crate::keycard_srv::router(other, pool, &cfg).await?,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, cfg.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("bind {addr}: {e}"))?;
    axum::serve(listener, app)
        .await
        .map_err(|e| format!("serve: {e}"))
}

/// The ceiling: no auth, a fixed user (bench user 1, whom the driver signs in as everywhere else).
pub fn bare() -> Router {
    let email = common::email_of(1);
    let plan = common::plan_of(1);
    Router::new()
        .route("/me", get(move || async move { me_response(&email, plan) }))
        .route(
            "/login",
            post(|| async {
                (
                    StatusCode::OK,
                    [(header::SET_COOKIE, "bare=dummy; Path=/; HttpOnly")],
                )
            }),
        )
}
