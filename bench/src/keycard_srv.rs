//! The keycard servers: `SessionLayer` over a `CredentialsCache` with the memory, Redis, SQLite or
//! PostgreSQL store, and `ReloadUser` over a SQLite `UserLoader` for `keycard-reload`.

use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use keycard::{CredentialsCache, MemoryStore, Store};
use keycard_axum::{Auth, BoxError, CurrentUser, ReloadUser, SessionLayer, UserLoader};
use sqlx::SqlitePool;

use crate::common::{BenchUser, UserRow, SELECT_BY_ID};
use crate::serving::{find_by_email, me_response, LoginForm, PasswordCheck, ServerConfig};

/// A fixed signing secret: the bench servers are throwaway processes on loopback.
const SECRET: [u8; 64] = [42u8; 64];

#[derive(Clone)]
struct LkState {
    pool: SqlitePool,
    check: PasswordCheck,
}

/// `GET /me`: the cached user (or, under `ReloadUser`, the row just read from SQLite).
async fn me(user: CurrentUser<BenchUser>) -> Response {
    me_response(&user.email, &user.plan)
}

/// `POST /login`: find the row, check the password, `Auth::create` (new session, Set-Cookie).
async fn login(
    State(st): State<LkState>,
    auth: Auth<BenchUser>,
    Form(form): Form<LoginForm>,
) -> Response {
    let row = match find_by_email(&st.pool, &form.email).await {
        Ok(Some(row)) => row,
        Ok(None) => return StatusCode::UNAUTHORIZED.into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if !st.check.check(&row, &form.password).await {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match auth.create(row.to_user()).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}

/// The guide's `Repo.get!`: the same query axum-login's `get_user` runs.
struct SqliteLoader {
    pool: SqlitePool,
}

impl UserLoader<BenchUser> for SqliteLoader {
    async fn load(&self, cached: &BenchUser) -> Result<Option<BenchUser>, BoxError> {
        Ok(sqlx::query_as::<_, UserRow>(SELECT_BY_ID)
            .bind(cached.id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.to_user()))
    }
}

pub async fn router(kind: &str, pool: SqlitePool, cfg: &ServerConfig) -> Result<Router, String> {
    let store: Arc<dyn Store<BenchUser>> = match kind {
        "keycard-memory" | "keycard-reload" => Arc::new(MemoryStore::<BenchUser>::new()),
        "keycard-redis" => redis_store(&cfg.redis_url, &cfg.redis_prefix, false).await?,
        "keycard-redis-near" => redis_store(&cfg.redis_url, &cfg.redis_prefix, true).await?,
        "keycard-sqlite" => sqlite_store(&cfg.db).await?,
        "keycard-postgres" => postgres_store(&cfg.postgres_url, false).await?,
        "keycard-postgres-near" => postgres_store(&cfg.postgres_url, true).await?,
        other => return Err(format!("not a keycard kind: {other}")),
    };
    let cache = CredentialsCache::builder_arc(store)
        .secret(SECRET)
        .build()
        .map_err(|e| format!("credentials cache: {e}"))?;
    let mut me_route = Router::new().route("/me", get(me));
    if kind == "keycard-reload" {
        me_route = me_route.route_layer(ReloadUser::new(SqliteLoader { pool: pool.clone() }));
    }
    let state = LkState {
        pool,
        check: cfg.check.clone(),
    };
    Ok(me_route
        .merge(Router::new().route("/login", post(login)).with_state(state))
        .layer(SessionLayer::new(cache)))
}

/// Sessions in Redis under `prefix`; with `near`, behind a near cache fed by the store's `PUBLISH`es
/// (`keycard-redis-near`).
#[cfg(feature = "redis")]
pub async fn redis_store(
    url: &str,
    prefix: &str,
    near: bool,
) -> Result<Arc<dyn Store<BenchUser>>, String> {
    use keycard_redis::{RedisConfig, RedisStore};
    let store = RedisStore::connect(url, RedisConfig::with_prefix(prefix))
        .await
        .map_err(|e| format!("keycard redis store at {url}: {e}"))?;
    if near {
        let near = store
            .near_cache::<BenchUser>(keycard::store::near::NearConfig::default())
            .map_err(|e| format!("keycard redis near cache: {e}"))?;
        if !near
            .wait_confirmed(std::time::Duration::from_secs(10))
            .await
        {
            return Err("the near cache's channel was not confirmed within 10 s".to_owned());
        }
        return Ok(Arc::new(near));
    }
    Ok(Arc::new(store))
}

#[cfg(not(feature = "redis"))]
pub async fn redis_store(
    _url: &str,
    _prefix: &str,
    _near: bool,
) -> Result<Arc<dyn Store<BenchUser>>, String> {
    Err("built without the `redis` feature".to_owned())
}

/// Sessions in a SQLite file beside the users table (`keycard-sessions.db`, recreated), WAL.
async fn sqlite_store(users_db: &std::path::Path) -> Result<Arc<dyn Store<BenchUser>>, String> {
    let path = users_db.with_file_name("keycard-sessions.db");
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let url = format!("sqlite://{}", path.display());
    let store =
        keycard_sqlx::SqliteStore::connect_and_migrate(&url, keycard_sqlx::SqlConfig::default())
            .await
            .map_err(|e| format!("keycard sqlite store at {url}: {e}"))?;
    Ok(Arc::new(store))
}

/// Sessions in PostgreSQL under the table prefix `kcbench_`, emptied first; with `near`, behind a near
/// cache fed by `LISTEN`/`NOTIFY` (`keycard-postgres-near`).
async fn postgres_store(url: &str, near: bool) -> Result<Arc<dyn Store<BenchUser>>, String> {
    let config = keycard_sqlx::SqlConfig::default()
        .with_table_prefix("kcbench_")
        .with_max_connections(16)
        .with_notify(near);
    let store = keycard_sqlx::PostgresStore::connect_and_migrate(url, config)
        .await
        .map_err(|e| format!("keycard postgres store: {e}"))?;
    sqlx::query("TRUNCATE kcbench_sessions, kcbench_users")
        .execute(store.pool())
        .await
        .map_err(|e| format!("empty the bench tables: {e}"))?;
    if near {
        let near = store.near_cache::<BenchUser>(keycard::store::near::NearConfig::default());
        if !near
            .wait_confirmed(std::time::Duration::from_secs(10))
            .await
        {
            return Err("the near cache's channel was not confirmed within 10 s".to_owned());
        }
        return Ok(Arc::new(near));
    }
    Ok(Arc::new(store))
}
