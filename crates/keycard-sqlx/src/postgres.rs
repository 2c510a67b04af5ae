//! PostgreSQL: one database shared by every app node.
//!
//! Reads are single statements. A write primitive that touches more than one row runs in one short
//! transaction that first locks the user's row (`SELECT … FOR UPDATE`): every primitive that adds or
//! removes a session of a user, or the user's cached record, takes that lock first, so they serialize per
//! user (and only per user), and a user record is removed exactly when its last session is. A renewal is
//! one conditional `UPDATE` of the session row: PostgreSQL re-checks its `WHERE` on the row a concurrent
//! renewal just committed, so exactly one request across every node wins each rotation.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres as Db, Transaction};

use crate::backend::{impl_exec, impl_row, Backend, Dialect};
use crate::{SqlConfig, SqlStore};

/// The PostgreSQL dialect. Use the store as [`PostgresStore`].
#[derive(Debug, Clone, Copy)]
pub struct Postgres;

/// The credentials store on PostgreSQL.
pub type PostgresStore = SqlStore<Postgres>;

/// Statements on the pool.
#[derive(Debug)]
pub struct PoolExec<'p>(&'p PgPool);

impl_row!(PgRow);
impl_exec!(PoolExec<'_>, PgRow, |this| this.0);
impl_exec!(Transaction<'static, Db>, PgRow, |this| &mut **this);

impl Backend for Postgres {
    type Pool = PgPool;
    type Row = PgRow;
    type Tx = Transaction<'static, Db>;
    type PoolExec<'p> = PoolExec<'p>;
    type Fast = ();
    type FastRow = PgRow;

    const NAME: &'static str = "postgres";
    const DIALECT: Dialect = Dialect {
        bytes: "BYTEA",
        int: "BIGINT",
        least: "LEAST",
        begin_write: "BEGIN",
        lock_row: " FOR UPDATE",
        lock_skip: " FOR UPDATE SKIP LOCKED",
        text_list: "SELECT jsonb_array_elements_text(CAST($1 AS JSONB))",
        migration_lock: Some("SELECT pg_advisory_xact_lock(hashtext($1))"),
        table_exists: "SELECT CAST(COUNT(*) AS BIGINT) FROM information_schema.tables \
                       WHERE table_schema = current_schema() AND table_name = $1",
        notify: true,
    };

    fn on_pool(pool: &PgPool) -> PoolExec<'_> {
        PoolExec(pool)
    }

    fn fast(_: &PgPool, _: &SqlConfig) {}

    fn fast_fetch(
        _: &(),
        _: &str,
        _: &[crate::backend::Arg<'_>],
    ) -> Option<Result<Option<PgRow>, sqlx::Error>> {
        None
    }

    async fn begin(pool: &PgPool) -> Result<Self::Tx, sqlx::Error> {
        pool.begin_with(Self::DIALECT.begin_write).await
    }

    async fn commit(tx: Self::Tx) -> Result<(), sqlx::Error> {
        tx.commit().await
    }
}

impl SqlStore<Postgres> {
    /// Connect to the PostgreSQL database at `url` (`postgres://user[:password]@host[:port]/database`)
    /// with a pool of [`SqlConfig::max_connections`] whose acquire timeout is the operation timeout.
    /// Does not migrate: call [`migrate`](SqlStore::migrate) (or
    /// [`connect_and_migrate`](SqlStore::connect_and_migrate)).
    ///
    /// Errors: [`ConnectError::Url`](crate::ConnectError::Url), [`ConnectError::Database`](crate::ConnectError::Database)
    /// (unreachable, refused), [`ConnectError::Config`](crate::ConnectError::Config).
    pub async fn connect(url: &str, config: SqlConfig) -> Result<Self, crate::ConnectError> {
        config.validate()?;
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| crate::ConnectError::Url(e.to_string()))?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections())
            .acquire_timeout(config.operation_timeout())
            .connect_with(options)
            .await
            .map_err(crate::ConnectError::Database)?;
        Ok(Self::from_pool(pool, config)?)
    }

    /// [`connect`](Self::connect), then [`migrate`](SqlStore::migrate): what an app calls at start-up.
    ///
    /// Errors: those of [`connect`](Self::connect), and [`ConnectError::Migrate`](crate::ConnectError::Migrate).
    pub async fn connect_and_migrate(
        url: &str,
        config: SqlConfig,
    ) -> Result<Self, crate::ConnectError> {
        let store = Self::connect(url, config).await?;
        store.migrate().await?;
        Ok(store)
    }
}
