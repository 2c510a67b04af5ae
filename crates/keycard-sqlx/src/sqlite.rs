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

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use crate::backend::{impl_exec, impl_row, Arg, Backend, Dialect};
use crate::sqlite_read::{FastReader, OwnedRow};
use crate::{SqlConfig, SqlStore, SqliteReads};

/// The SQLite dialect. Use the store as [`SqliteStore`].
#[derive(Debug, Clone, Copy)]
pub struct Sqlite;

/// The credentials store on SQLite.
pub type SqliteStore = SqlStore<Sqlite>;

/// Statements on the pool.
#[derive(Debug)]
pub struct PoolExec<'p>(&'p SqlitePool);

/// The read connections of a store over a database file, opened on first use (once the file exists).
#[derive(Debug)]
pub struct Fast {
    /// The file (`None`: an in-memory database, or `SqliteReads::Pool`: read through sqlx).
    path: Option<PathBuf>,
    busy_timeout: Duration,
    off_worker: bool,
    reader: OnceLock<Option<FastReader>>,
}

impl_row!(SqliteRow);
impl_exec!(PoolExec<'_>, SqliteRow, |this| this.0);
impl_exec!(Transaction<'static, Db>, SqliteRow, |this| &mut **this);

impl Backend for Sqlite {
    type Pool = SqlitePool;
    type Row = SqliteRow;
    type Tx = Transaction<'static, Db>;
    type PoolExec<'p> = PoolExec<'p>;
    type Fast = Fast;
    type FastRow = OwnedRow;

    const NAME: &'static str = "sqlite";
    const DIALECT: Dialect = Dialect {
        bytes: "BLOB",
        int: "INTEGER",
        least: "min",
        begin_write: "BEGIN IMMEDIATE",
        lock_row: "",
        lock_skip: "",
        text_list: "SELECT value FROM json_each($1)",
        migration_lock: None,
        table_exists:
            "SELECT CAST(COUNT(*) AS INTEGER) FROM sqlite_master WHERE type = 'table' AND name = $1",
        notify: false,
    };

    fn on_pool(pool: &SqlitePool) -> PoolExec<'_> {
        PoolExec(pool)
    }

    fn fast(pool: &SqlitePool, config: &SqlConfig) -> Fast {
        let options = pool.connect_options();
        let file = options.get_filename();
        // sqlx names in-memory databases `file:sqlx-in-memory-N`, which is no file on disk.
        let on_disk = !file.as_os_str().is_empty() && !file.starts_with("file:");
        let wanted = config.sqlite_reads() != SqliteReads::Pool;
        Fast {
            path: (wanted && on_disk).then(|| file.to_owned()),
            busy_timeout: config.operation_timeout(),
            off_worker: config.sqlite_reads() == SqliteReads::BlockInPlace,
            reader: OnceLock::new(),
        }
    }

    fn fast_fetch(
        fast: &Fast,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Option<Result<Option<OwnedRow>, sqlx::Error>> {
        let path = fast.path.as_deref()?;
        let reader = match fast.reader.get() {
            Some(r) => r.as_ref(),
            // Not yet opened: only once the file exists (a pool opens it lazily), then for good.
            None if path.is_file() => fast
                .reader
                .get_or_init(|| FastReader::open(path, fast.busy_timeout, fast.off_worker))
                .as_ref(),
            None => None,
        }?;
        Some(reader.fetch_optional(sql, args))
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
    ///
    /// Errors: [`ConnectError::Url`](crate::ConnectError::Url), [`ConnectError::Database`](crate::ConnectError::Database)
    /// (the file cannot be opened or created), [`ConnectError::Config`](crate::ConnectError::Config).
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

    /// How many `fetch` reads ran on the store's own read connections ([`crate::sqlite_read`]) instead of
    /// through the pool; `None` while there are none (an in-memory database, or no read yet).
    pub fn fast_reads(&self) -> Option<u64> {
        self.fast_reader()?
            .reader
            .get()?
            .as_ref()
            .map(FastReader::reads)
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
