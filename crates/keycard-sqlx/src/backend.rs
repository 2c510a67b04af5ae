//! The thin layer between the store's logic and sqlx: bind values, run a statement, read a row.
//!
//! The store's logic ([`SqlStore`](crate::SqlStore)) is written once against the [`Backend`] trait; SQLite and
//! PostgreSQL each implement it in a few lines (the crate's `sqlite` and `postgres` modules). What differs between the two
//! dialects is kept in [`Dialect`]: a handful of SQL fragments, nothing else.
//!
//! These items are public only because the public store type is generic over them; they are not part of
//! the supported API.
#![doc(hidden)]

use std::future::Future;

/// One statement parameter.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// A 64-bit integer (timestamps, versions, counts).
    Int(i64),
    /// A nullable 64-bit integer.
    OptInt(Option<i64>),
    /// Bytes (ids, token hashes, fingerprints).
    Bytes(&'a [u8]),
    /// Nullable bytes.
    OptBytes(Option<&'a [u8]>),
    /// Text (user keys, JSON).
    Text(&'a str),
}

/// A result row, read by column position.
pub trait Row: Send + Sync {
    /// A non-null integer column.
    fn int(&self, i: usize) -> Result<i64, sqlx::Error>;
    /// A nullable integer column.
    fn opt_int(&self, i: usize) -> Result<Option<i64>, sqlx::Error>;
    /// A non-null bytes column.
    fn bytes(&self, i: usize) -> Result<&[u8], sqlx::Error>;
    /// A nullable bytes column.
    fn opt_bytes(&self, i: usize) -> Result<Option<&[u8]>, sqlx::Error>;
    /// A non-null text column.
    fn text(&self, i: usize) -> Result<&str, sqlx::Error>;
    /// A nullable text column.
    fn opt_text(&self, i: usize) -> Result<Option<&str>, sqlx::Error>;
}

/// Where statements run: the pool (each statement on its own, autocommit) or an open transaction.
pub trait Exec: Send {
    /// The row type.
    type Row: Row;

    /// Run `sql` and return its first row, if any.
    fn fetch_optional<'e>(
        &'e mut self,
        sql: &'e str,
        args: &'e [Arg<'e>],
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'e;

    /// Run `sql` and return every row.
    fn fetch_all<'e>(
        &'e mut self,
        sql: &'e str,
        args: &'e [Arg<'e>],
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'e;

    /// Run `sql` and return how many rows it changed.
    fn execute<'e>(
        &'e mut self,
        sql: &'e str,
        args: &'e [Arg<'e>],
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'e;
}

/// The SQL that differs between the dialects.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// Column type for bytes (`BLOB` / `BYTEA`).
    pub bytes: &'static str,
    /// Column type for 64-bit integers (`INTEGER` / `BIGINT`).
    pub int: &'static str,
    /// The two-argument minimum (`min` / `LEAST`).
    pub least: &'static str,
    /// How a write transaction starts (`BEGIN IMMEDIATE`: SQLite takes the write lock up front, so a
    /// transaction that reads before it writes never fails to upgrade; `BEGIN` for PostgreSQL).
    pub begin_write: &'static str,
    /// Appended to a `SELECT` that must lock the user's row for the rest of the transaction (PostgreSQL:
    /// ` FOR UPDATE`; SQLite: empty, its write transaction already excludes every other writer).
    pub lock_row: &'static str,
    /// Like `lock_row`, skipping rows another transaction holds (sweeps).
    pub lock_skip: &'static str,
    /// A subquery whose rows are the strings of the JSON array `$1` (one column): the user keys a sweep
    /// batch re-checks (`jsonb_array_elements_text` / `json_each`).
    pub text_list: &'static str,
    /// Statements that serialize concurrent migrations (PostgreSQL: an advisory lock keyed by `$1`, the
    /// prefix; SQLite: none).
    pub migration_lock: Option<&'static str>,
    /// A query answering 1 when the table named `$1` exists, 0 otherwise.
    pub table_exists: &'static str,
    /// Whether writes can notify listeners inside their transaction (PostgreSQL's `pg_notify`; SQLite:
    /// no).
    pub notify: bool,
}

/// A database keycard-sqlx can keep sessions in. Implemented for [`Sqlite`](crate::Sqlite) and
/// [`Postgres`](crate::Postgres) only.
pub trait Backend: Send + Sync + 'static {
    /// The pool type (`SqlitePool` / `PgPool`).
    type Pool: Clone + Send + Sync + std::fmt::Debug + 'static;
    /// A row.
    type Row: Row;
    /// An open write transaction.
    type Tx: Exec<Row = Self::Row>;
    /// Statements on the pool.
    type PoolExec<'p>: Exec<Row = Self::Row>;

    /// `"sqlite"` or `"postgres"`: the `backend` of every [`StoreError`](keycard::StoreError).
    const NAME: &'static str;
    /// The dialect's SQL fragments.
    const DIALECT: Dialect;

    /// A way to resolve tokens without the pool, if the backend has one ([`crate::sqlite_read`] for
    /// SQLite; nothing for PostgreSQL, whose round trip is the network's anyway).
    type Fast: Send + Sync + std::fmt::Debug + 'static;
    /// The rows it reads.
    type FastRow: Row;

    /// Run statements directly on the pool.
    fn on_pool(pool: &Self::Pool) -> Self::PoolExec<'_>;

    /// The fast reader for the database `pool` opens.
    fn fast(pool: &Self::Pool, config: &crate::SqlConfig) -> Self::Fast;

    /// The first row of `sql` with `args` through the fast reader; `None` when there is none (then the
    /// store reads through the pool).
    fn fast_fetch(
        fast: &Self::Fast,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Option<Result<Option<Self::FastRow>, sqlx::Error>>;

    /// Open a write transaction (`Dialect::begin_write`).
    fn begin(pool: &Self::Pool) -> impl Future<Output = Result<Self::Tx, sqlx::Error>> + Send + '_;

    /// Commit it. Dropping a transaction without committing rolls it back.
    fn commit(tx: Self::Tx) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

/// Implements [`Row`] for a sqlx row type.
macro_rules! impl_row {
    ($row:ty) => {
        impl $crate::backend::Row for $row {
            fn int(&self, i: usize) -> Result<i64, sqlx::Error> {
                sqlx::Row::try_get(self, i)
            }
            fn opt_int(&self, i: usize) -> Result<Option<i64>, sqlx::Error> {
                sqlx::Row::try_get(self, i)
            }
            fn bytes(&self, i: usize) -> Result<&[u8], sqlx::Error> {
                sqlx::Row::try_get(self, i)
            }
            fn opt_bytes(&self, i: usize) -> Result<Option<&[u8]>, sqlx::Error> {
                sqlx::Row::try_get(self, i)
            }
            fn text(&self, i: usize) -> Result<&str, sqlx::Error> {
                sqlx::Row::try_get(self, i)
            }
            fn opt_text(&self, i: usize) -> Result<Option<&str>, sqlx::Error> {
                sqlx::Row::try_get(self, i)
            }
        }
    };
}

/// Binds `args` to a sqlx query, in order.
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for a in $args {
            q = match *a {
                $crate::backend::Arg::Int(v) => q.bind(v),
                $crate::backend::Arg::OptInt(v) => q.bind(v),
                $crate::backend::Arg::Bytes(v) => q.bind(v),
                $crate::backend::Arg::OptBytes(v) => q.bind(v),
                $crate::backend::Arg::Text(v) => q.bind(v),
            };
        }
        q
    }};
}

/// Implements [`Exec`] for a type that derefs (`$conn`) to something sqlx can execute on.
macro_rules! impl_exec {
    ($ty:ty, $row:ty, |$this:ident| $conn:expr) => {
        impl $crate::backend::Exec for $ty {
            type Row = $row;

            fn fetch_optional<'e>(
                &'e mut self,
                sql: &'e str,
                args: &'e [$crate::backend::Arg<'e>],
            ) -> impl std::future::Future<Output = Result<Option<$row>, sqlx::Error>> + Send + 'e
            {
                let $this = self;
                async move {
                    $crate::backend::bind_args!(sqlx::query(sql), args)
                        .fetch_optional($conn)
                        .await
                }
            }

            fn fetch_all<'e>(
                &'e mut self,
                sql: &'e str,
                args: &'e [$crate::backend::Arg<'e>],
            ) -> impl std::future::Future<Output = Result<Vec<$row>, sqlx::Error>> + Send + 'e {
                let $this = self;
                async move {
                    $crate::backend::bind_args!(sqlx::query(sql), args)
                        .fetch_all($conn)
                        .await
                }
            }

            fn execute<'e>(
                &'e mut self,
                sql: &'e str,
                args: &'e [$crate::backend::Arg<'e>],
            ) -> impl std::future::Future<Output = Result<u64, sqlx::Error>> + Send + 'e {
                let $this = self;
                async move {
                    $crate::backend::bind_args!(sqlx::query(sql), args)
                        .execute($conn)
                        .await
                        .map(|r| r.rows_affected())
                }
            }
        }
    };
}

pub(crate) use {bind_args, impl_exec, impl_row};
