//! axum-login 0.18 on tower-sessions 0.14: the session names a user id; `get_user` reads SQLite per request.
//! The sessions live in memory (`axum-login-sqlite`), in SQLite (`axum-login-sqlx`) or in Redis.

use axum::extract::Form;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId};
use sqlx::SqlitePool;
use tower_sessions::{MemoryStore, SessionManagerLayer, SessionStore};
use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};
use tower_sessions_redis_store::RedisStore;

use crate::common::{self, UserRow, SELECT_BY_ID};
use crate::serving::{find_by_email, me_response, LoginForm, PasswordCheck};

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
pub async fn redis(pool: SqlitePool, check: PasswordCheck, url: &str) -> Result<Router, String> {
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
