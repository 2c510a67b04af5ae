//! The [`Store`] primitives in SQL, written once for both dialects.
//!
//! | primitive | statements | guard |
//! |---|---|---|
//! | `fetch` (no renewal due) | 1 `SELECT` (session ⋈ user) | — |
//! | `fetch` (renewal due) | + 1 conditional `UPDATE … WHERE current_token = $presented AND renewed_at <= $due` | one winner: the loser's `UPDATE` matches no row and it re-reads the token as a grace token |
//! | `create` | upsert user (version-guarded), insert session | one write transaction |
//! | `rotate` | lock user, `UPDATE … WHERE expires_at > now RETURNING`, upsert user | one write transaction; nothing written for a dead session |
//! | `put_user` | 1 `UPDATE users … WHERE version ok AND EXISTS (live session)` | one statement; writes nothing without a live session |
//! | deletes | lock user, `DELETE` sessions, `DELETE` the user once unused | one write transaction |
//! | `sessions` | 1 `SELECT`; dead rows met are deleted in a write transaction | — |
//! | `sweep` | batches of `DELETE … LIMIT n`, each its own short transaction that also deletes the batch's users left without a session; then one window of `n` users in key order | re-checks the expiry on the row it deletes, and that no session refers to a user it deletes |
//!
//! "Lock user" is `SELECT … FOR UPDATE` on PostgreSQL and nothing on SQLite (whose `BEGIN IMMEDIATE`
//! already excludes every other writer). Every call is bounded by [`SqlConfig::operation_timeout`].

mod access;
mod factors;
mod identities;
mod notify;
mod one_time;
mod primitives;
mod remember;
mod sweep;
mod throttle;

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use crate::backend::Backend;
use crate::queries::Queries;
use crate::schema::{self, MigrateError, SCHEMA_VERSION};
use crate::SqlConfig;

/// A credentials store in SQL: [`SqliteStore`](crate::SqliteStore) or
/// [`PostgresStore`](crate::PostgresStore). See the [crate docs](crate) for the schema and the model.
pub struct SqlStore<B: Backend> {
    pool: B::Pool,
    fast: Arc<B::Fast>,
    q: Arc<Queries>,
    config: SqlConfig,
    /// The channel writes notify, when they do ([`SqlConfig::with_notify`] on a backend that can).
    notify: Option<Arc<str>>,
    /// Where the sweep's pass over the users resumes: the last user key it checked (`None`: the start).
    /// Shared by the store's clones; each node has its own.
    user_cursor: Arc<Mutex<Option<String>>>,
    _backend: PhantomData<fn() -> B>,
}

impl<B: Backend> Clone for SqlStore<B> {
    fn clone(&self) -> Self {
        SqlStore {
            pool: self.pool.clone(),
            fast: self.fast.clone(),
            q: self.q.clone(),
            config: self.config.clone(),
            notify: self.notify.clone(),
            user_cursor: self.user_cursor.clone(),
            _backend: PhantomData,
        }
    }
}

impl<B: Backend> std::fmt::Debug for SqlStore<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &B::NAME)
            .field("table_prefix", &self.config.table_prefix())
            .finish_non_exhaustive()
    }
}

impl<B: Backend> SqlStore<B> {
    /// A store over an existing pool (the app's own, say). Does not migrate: call
    /// [`migrate`](Self::migrate) once at start-up.
    ///
    /// Errors: [`SqlConfigError`](crate::SqlConfigError) for a configuration that cannot work
    /// ([`SqlConfig::validate`](crate::SqlConfig::validate)).
    pub fn from_pool(pool: B::Pool, config: SqlConfig) -> Result<Self, crate::SqlConfigError> {
        config.validate()?;
        Ok(SqlStore {
            q: Arc::new(Queries::new::<B>(config.table_prefix())),
            fast: Arc::new(B::fast(&pool, &config)),
            pool,
            notify: (config.notify() && B::DIALECT.notify).then(|| config.notify_channel().into()),
            config,
            user_cursor: Arc::default(),
            _backend: PhantomData,
        })
    }

    /// Create or upgrade this store's tables (see [`schema`](crate#schema)). Safe to call on every
    /// start-up, from several processes at once. Returns the migration versions applied now.
    ///
    /// Errors: [`MigrateError::Database`] (nothing of the failed migration applied: it runs in one transaction),
    /// [`MigrateError::NewerSchema`] when the database holds a schema newer than this crate knows.
    pub async fn migrate(&self) -> Result<Vec<i64>, MigrateError> {
        schema::migrate::<B>(&self.pool, self.config.table_prefix()).await
    }

    /// Whether the database holds exactly the schema this version of the crate uses: `Ok(false)` when
    /// [`migrate`](Self::migrate) has not been run (or a newer crate migrated it).
    ///
    /// Errors: the database's error when it cannot be read.
    pub async fn is_migrated(&self) -> Result<bool, sqlx::Error> {
        Ok(
            schema::installed_version::<B>(&self.pool, self.config.table_prefix()).await?
                == Some(SCHEMA_VERSION),
        )
    }

    /// The pool this store runs on.
    pub fn pool(&self) -> &B::Pool {
        &self.pool
    }

    /// The backend's fast reader state.
    pub(crate) fn fast_reader(&self) -> Option<&B::Fast> {
        Some(&self.fast)
    }

    /// The settings.
    pub fn config(&self) -> &SqlConfig {
        &self.config
    }
}
