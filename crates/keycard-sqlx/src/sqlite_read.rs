//! The SQLite read path: `fetch` without the round trip to a worker thread.
//!
//! sqlx runs every SQLite statement on a worker thread of the connection and hands the rows back over a
//! channel: for the one `SELECT` of a signed-in request that hop costs about ten times the query itself
//! (24 µs against 2 µs for the same query, BENCHMARKS.md "SQLite store"). So the store resolves tokens on
//! connections of its own ([rusqlite](https://docs.rs/rusqlite), the same bundled SQLite library sqlx
//! links), read-only, where [`SqliteReads`](crate::SqliteReads) says:
//!
//! - **in place** (the default): on the calling task's thread, like any other short computation of the
//!   request. In WAL mode a reader never waits for the writer, so a read is a few page lookups in SQLite's
//!   cache; the signed-in `GET /me` of the benchmarks runs at 2.3× axum-login's with the user in SQLite.
//!   The cost of that choice: a page neither SQLite nor the OS holds in memory makes that thread wait for
//!   the disk, and so does the rare busy wait of a WAL reset (bounded by
//!   [`SqlConfig::operation_timeout`](crate::SqlConfig::operation_timeout));
//! - **block in place**: the same, under [`tokio::task::block_in_place`] on a multi-thread runtime (the
//!   runtime moves the thread's other tasks away first): for a sessions table larger than memory, at about
//!   6 µs more per read and a longer tail under load (measured: p99 ×6);
//! - **pool**: through sqlx like every other statement.
//!
//! Every write goes through sqlx, with its lock waits off the runtime's threads. The reader needs the
//! database file's path: a store over an in-memory database reads through sqlx whatever the setting.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use crate::backend::{Arg, Row};

/// How many idle read connections are kept (one per concurrent read is opened, at most this many stay).
const MAX_IDLE: usize = 16;

/// Read-only connections to the store's file, reused.
#[derive(Debug)]
pub struct FastReader {
    path: PathBuf,
    busy_timeout: Duration,
    off_worker: bool,
    idle: Mutex<Vec<Connection>>,
    reads: AtomicU64,
}

/// A row read by the [`FastReader`], owned.
#[derive(Debug)]
pub struct OwnedRow(Vec<Value>);

fn decode_err(i: usize, what: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: i.to_string(),
        source: format!("expected {what}").into(),
    }
}

impl Row for OwnedRow {
    fn int(&self, i: usize) -> Result<i64, sqlx::Error> {
        match self.0.get(i) {
            Some(Value::Integer(v)) => Ok(*v),
            _ => Err(decode_err(i, "an integer")),
        }
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, sqlx::Error> {
        match self.0.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
    fn bytes(&self, i: usize) -> Result<&[u8], sqlx::Error> {
        match self.0.get(i) {
            Some(Value::Blob(v)) => Ok(v),
            _ => Err(decode_err(i, "bytes")),
        }
    }
    fn opt_bytes(&self, i: usize) -> Result<Option<&[u8]>, sqlx::Error> {
        match self.0.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.bytes(i).map(Some),
        }
    }
    fn text(&self, i: usize) -> Result<&str, sqlx::Error> {
        match self.0.get(i) {
            Some(Value::Text(v)) => Ok(v),
            _ => Err(decode_err(i, "text")),
        }
    }
    fn opt_text(&self, i: usize) -> Result<Option<&str>, sqlx::Error> {
        match self.0.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
}

fn read_err(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Protocol(format!("sqlite read connection: {e}"))
}

fn to_sql(arg: &Arg<'_>) -> Value {
    match *arg {
        Arg::Int(v) => Value::Integer(v),
        Arg::OptInt(v) => v.map_or(Value::Null, Value::Integer),
        Arg::Bytes(b) => Value::Blob(b.to_vec()),
        Arg::OptBytes(b) => b.map_or(Value::Null, |b| Value::Blob(b.to_vec())),
        Arg::Text(t) => Value::Text(t.to_owned()),
    }
}

impl FastReader {
    /// A reader of the file at `path`, if it is one (not an in-memory database) and opens read-only;
    /// `off_worker`: reads under `block_in_place` on a multi-thread runtime.
    pub fn open(path: &Path, busy_timeout: Duration, off_worker: bool) -> Option<FastReader> {
        if !path.is_file() {
            return None;
        }
        let reader = FastReader {
            path: path.to_owned(),
            busy_timeout,
            off_worker,
            idle: Mutex::new(Vec::new()),
            reads: AtomicU64::new(0),
        };
        match reader.connect() {
            Ok(c) => {
                reader.give_back(c);
                Some(reader)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot open a read connection to the SQLite file; reading through sqlx");
                None
            }
        }
    }

    fn connect(&self) -> Result<Connection, rusqlite::Error> {
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(self.busy_timeout)?;
        Ok(c)
    }

    fn take(&self) -> Result<Connection, rusqlite::Error> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        match idle {
            Some(c) => Ok(c),
            None => self.connect(),
        }
    }

    fn give_back(&self, c: Connection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(c);
        }
    }

    /// How many statements this reader has run.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// The first row of `sql` with `args`, read on this thread, or under `block_in_place` when the reader
    /// was opened for that (see the [module docs](self)).
    ///
    /// Errors: a `sqlx::Error` carrying SQLite's (no read connection, a statement that fails).
    pub fn fetch_optional(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> Result<Option<OwnedRow>, sqlx::Error> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let read = || {
            let c = self.take().map_err(read_err)?;
            let row = query(&c, sql, args).map_err(read_err);
            // A connection that failed is dropped rather than reused.
            if row.is_ok() {
                self.give_back(c);
            }
            row
        };
        let multi_thread = || {
            tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
        };
        if self.off_worker && multi_thread() {
            tokio::task::block_in_place(read)
        } else {
            read()
        }
    }
}

fn query(c: &Connection, sql: &str, args: &[Arg<'_>]) -> Result<Option<OwnedRow>, rusqlite::Error> {
    let mut stmt = c.prepare_cached(sql)?;
    let params: Vec<Value> = args.iter().map(to_sql).collect();
    let width = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    match rows.next()? {
        Some(row) => {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(row.get::<_, Value>(i)?);
            }
            Ok(Some(OwnedRow(values)))
        }
        None => Ok(None),
    }
}
