//! `keycard-bench server --kind K --port P --db PATH`: one of the servers under test.
//!
//! Every kind answers the same two routes on 127.0.0.1:
//! - `GET /me`: `{"email":…,"plan":…}` of the signed-in user (401 when not signed in);
//! - `POST /login` (form `email`, `password`): signs in and sets the session cookie.
//!
//! All kinds open the same users table with the same SQLite settings (`common::open_db`), even `bare`, which
//! never reads it. Sign-in checks the password with a cheap comparison unless `--argon2` is given, in which
//! case it verifies the stored argon2id hash with `keycard::password::PasswordHasher::verify` (the real path).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::Form;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sqlx::SqlitePool;

use clap::builder::PossibleValuesParser;

use crate::common::{self, Me, UserRow, PASSWORD, SELECT_BY_EMAIL};

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

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub email: String,
    pub password: String,
}

/// The server's password hasher, with the library's defaults (its bounded hashing queue included).
static HASHER: std::sync::LazyLock<keycard::password::PasswordHasher> =
    std::sync::LazyLock::new(keycard::password::PasswordHasher::new);

/// How a server checks a password at sign-in.
#[derive(Debug, Clone)]
pub enum PasswordCheck {
    /// Compare with the fixed bench password: sign-in is not what the `/me` benches measure.
    Cheap,
    /// `keycard::password::PasswordHasher::verify` against the stored argon2id hash (spawn_blocking inside):
    /// keycard's own path (its library-wide limit on concurrent hashes applies).
    Argon2,
    /// A stricter variant, built here with the public blocking function: at most
    /// `permits` verifications at once (the others wait, off the workers, in a queue), each on a blocking
    /// thread lowered to nice `nice` while it hashes, so request work always runs first.
    Argon2Bounded {
        permits: Arc<tokio::sync::Semaphore>,
        nice: i32,
    },
}

impl PasswordCheck {
    pub async fn check(&self, row: &UserRow, password: &str) -> bool {
        use keycard::password::Verified;
        match self {
            PasswordCheck::Cheap => password == PASSWORD,
            PasswordCheck::Argon2 => matches!(
                HASHER.verify(password, Some(&row.password_hash)).await,
                Ok(Verified::Valid { .. })
            ),
            PasswordCheck::Argon2Bounded { permits, nice } => {
                let Ok(_permit) = permits.acquire().await else {
                    return false;
                };
                let (pw, hash, nice) = (password.to_owned(), row.password_hash.clone(), *nice);
                let verified = tokio::task::spawn_blocking(move || {
                    let _lowered = Niceness::lower(nice);
                    HASHER.verify_blocking(&pw, Some(&hash))
                })
                .await;
                matches!(verified, Ok(Ok(Verified::Valid { .. })))
            }
        }
    }
}

/// This thread at another nice value until dropped (Linux: nice is per thread).
struct Niceness(Option<i32>);

impl Niceness {
    fn lower(to: i32) -> Niceness {
        if to == 0 {
            return Niceness(None);
        }
        // SAFETY: plain syscalls on the calling thread.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            let before = libc::getpriority(libc::PRIO_PROCESS, tid);
            if libc::setpriority(libc::PRIO_PROCESS, tid, to) == 0 {
                return Niceness(Some(before));
            }
        }
        Niceness(None)
    }
}

impl Drop for Niceness {
    fn drop(&mut self) {
        if let Some(before) = self.0 {
            // Raising priority back needs CAP_SYS_NICE; as root (this machine) it works. If it fails, the
            // thread stays lowered, which only ever hurts later blocking work of the bench server.
            // SAFETY: as above.
            unsafe {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::setpriority(libc::PRIO_PROCESS, tid, before);
            }
        }
    }
}

/// The sign-in lookup every server runs.
pub async fn find_by_email(pool: &SqlitePool, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as::<_, UserRow>(SELECT_BY_EMAIL)
        .bind(email)
        .fetch_optional(pool)
        .await
}

pub fn me_response(email: &str, plan: &str) -> Response {
    Json(Me { email, plan }).into_response()
}

pub struct ServerConfig {
    pub kind: String,
    pub port: u16,
    pub db: PathBuf,
    pub redis_url: String,
    pub redis_prefix: String,
    pub postgres_url: String,
    pub check: PasswordCheck,
}

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

/// axum-login 0.18 on tower-sessions 0.14: the session names a user id; `get_user` reads SQLite per request.
/// The sessions live in memory (`axum-login-sqlite`), in SQLite (`axum-login-sqlx`) or in Redis.
mod axum_login_srv {
    use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId};
    use tower_sessions::{MemoryStore, SessionManagerLayer, SessionStore};
    use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};
    use tower_sessions_redis_store::RedisStore;

    use super::*;
    use crate::common::SELECT_BY_ID;

    #[derive(Clone)]
    pub struct AlUser {
        row: UserRow,
    }

    impl std::fmt::Debug for AlUser {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("AlUser").field("id", &self.row.id).finish()
        }
    }

    impl AuthUser for AlUser {
        type Id = i64;
        fn id(&self) -> i64 {
            self.row.id
        }
        /// As axum-login's examples do: the password hash, so a password change ends every session.
        fn session_auth_hash(&self) -> &[u8] {
            self.row.password_hash.as_bytes()
        }
    }

    #[derive(Clone)]
    pub struct Backend {
        pool: SqlitePool,
        check: PasswordCheck,
    }

    impl AuthnBackend for Backend {
        type User = AlUser;
        type Credentials = LoginForm;
        type Error = sqlx::Error;

        async fn authenticate(&self, creds: LoginForm) -> Result<Option<AlUser>, sqlx::Error> {
            let Some(row) = find_by_email(&self.pool, &creds.email).await? else {
                return Ok(None);
            };
            Ok(self
                .check
                .check(&row, &creds.password)
                .await
                .then_some(AlUser { row }))
        }

        async fn get_user(&self, id: &UserId<Self>) -> Result<Option<AlUser>, sqlx::Error> {
            Ok(sqlx::query_as::<_, UserRow>(SELECT_BY_ID)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(|row| AlUser { row }))
        }
    }

    async fn me(auth: AuthSession<Backend>) -> Response {
        match &auth.user {
            Some(u) => me_response(&u.row.email, &u.row.plan),
            None => StatusCode::UNAUTHORIZED.into_response(),
        }
    }

    async fn login(mut auth: AuthSession<Backend>, Form(form): Form<LoginForm>) -> Response {
        match auth.authenticate(form).await {
            Ok(Some(user)) => match auth.login(&user).await {
                Ok(()) => StatusCode::OK.into_response(),
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            },
            Ok(None) => StatusCode::UNAUTHORIZED.into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }

    fn app<S: SessionStore + Clone>(store: S, pool: SqlitePool, check: PasswordCheck) -> Router {
        let sessions = SessionManagerLayer::new(store).with_secure(false);
        let auth = AuthManagerLayerBuilder::new(Backend { pool, check }, sessions).build();
        Router::new()
            .route("/me", get(me))
            .route("/login", post(login))
            .layer(auth)
    }

    pub fn memory(pool: SqlitePool, check: PasswordCheck) -> Router {
        app(MemoryStore::default(), pool, check)
    }

    /// tower-sessions-sqlx-store 0.15's `SqliteStore`: the sessions in a SQLite file beside the users
    /// table (`axum-login-sessions.db`, recreated), WAL, the same pool settings as the users table.
    pub async fn sqlx_sqlite(
        pool: SqlitePool,
        check: PasswordCheck,
        users_db: &std::path::Path,
    ) -> Result<Router, String> {
        let path = users_db.with_file_name("axum-login-sessions.db");
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
        let sessions_pool = common::open_db(&path, true)
            .await
            .map_err(|e| format!("open {}: {e}", path.display()))?;
        let store = tower_sessions_sqlx_store::SqliteStore::new(sessions_pool);
        store
            .migrate()
            .await
            .map_err(|e| format!("tower-sessions sqlx store migrate: {e}"))?;
        Ok(app(store, pool, check))
    }

    /// tower-sessions-redis-store 0.16 (fred 10) with a pool of the same size as the SQLite pool. Its keys
    /// are bare session ids (no prefix option): the driver deletes the one it created when it is done.
    pub async fn redis(
        pool: SqlitePool,
        check: PasswordCheck,
        url: &str,
    ) -> Result<Router, String> {
        let config = Config::from_url(url).map_err(|e| format!("redis url {url}: {e}"))?;
        let redis = Pool::new(config, None, None, None, common::POOL_SIZE as usize)
            .map_err(|e| format!("redis pool: {e}"))?;
        // The returned handle drives the connections; dropping it detaches the task, which keeps running.
        let _driver = redis
            .init()
            .await
            .map_err(|e| format!("redis connect {url}: {e}"))?;
        Ok(app(RedisStore::new(redis), pool, check))
    }
}
