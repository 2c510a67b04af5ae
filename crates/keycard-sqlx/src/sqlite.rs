//! SQLite: one file on one node, sessions that survive a restart.
//!
//! The store opens the file in WAL mode (readers never wait for the writer), with `synchronous = NORMAL`
//! (a committed sign-in survives the process being killed; an operating-system crash may lose the last
//! transactions, never corrupt the file) and a busy timeout equal to the operation timeout. Every write
//! primitive runs in one `BEGIN IMMEDIATE` transaction, which takes SQLite's single write lock up front, so
//! a primitive that reads before it writes can never fail to upgrade its lock half-way.

use std::str::FromStr as _;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Sqlite as Db, Transaction};

use crate::backend::{impl_exec, impl_row, Backend, Dialect};
use crate::{SqlConfig, SqlStore};

/// The SQLite dialect. Use the store as [`SqliteStore`].
#[derive(Debug, Clone, Copy)]
pub struct Sqlite;

/// The credentials store on SQLite.
pub type SqliteStore = SqlStore<Sqlite>;

/// Statements on the pool.
#[derive(Debug)]
pub struct PoolExec<'p>(&'p SqlitePool);

impl_row!(SqliteRow);
impl_exec!(PoolExec<'_>, SqliteRow, |this| this.0);
impl_exec!(Transaction<'static, Db>, SqliteRow, |this| &mut **this);

impl Backend for Sqlite {
    type Pool = SqlitePool;
    type Row = SqliteRow;
    type Tx = Transaction<'static, Db>;
    type PoolExec<'p> = PoolExec<'p>;

    const NAME: &'static str = "sqlite";
    const DIALECT: Dialect = Dialect {
        bytes: "BLOB",
        int: "INTEGER",
        least: "min",
        begin_write: "BEGIN IMMEDIATE",
        lock_row: "",
        lock_skip: "",
        migration_lock: None,
        table_exists:
            "SELECT CAST(COUNT(*) AS INTEGER) FROM sqlite_master WHERE type = 'table' AND name = $1",
    };

    fn on_pool(pool: &SqlitePool) -> PoolExec<'_> {
        PoolExec(pool)
    }

    async fn begin(pool: &SqlitePool) -> Result<Self::Tx, sqlx::Error> {
        pool.begin_with(Self::DIALECT.begin_write).await
    }

    async fn commit(tx: Self::Tx) -> Result<(), sqlx::Error> {
        tx.commit().await
    }
}

impl SqlStore<Sqlite> {
    /// Open (creating it when missing) the SQLite database at `url` (`sqlite://path/to/file.db`,
    /// `sqlite:relative.db`, or `sqlite::memory:` for tests) with this store's settings: WAL,
    /// `synchronous = NORMAL`, a busy timeout of [`SqlConfig::operation_timeout`]. Does not migrate: call
    /// [`migrate`](SqlStore::migrate) (or [`connect_and_migrate`](SqlStore::connect_and_migrate)).
    pub async fn connect(url: &str, config: SqlConfig) -> Result<Self, crate::ConnectError> {
        config.validate()?;
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| crate::ConnectError::Url(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(config.operation_timeout());
        let pool = SqlitePoolOptions::new()
            .max_connections(config.max_connections())
            .acquire_timeout(config.operation_timeout())
            .connect_with(options)
            .await
            .map_err(crate::ConnectError::Database)?;
        Ok(Self::from_pool(pool, config)?)
    }

    /// [`connect`](Self::connect), then [`migrate`](SqlStore::migrate): what an app calls at start-up.
    pub async fn connect_and_migrate(
        url: &str,
        config: SqlConfig,
    ) -> Result<Self, crate::ConnectError> {
        let store = Self::connect(url, config).await?;
        store.migrate().await?;
        Ok(store)
    }
}
