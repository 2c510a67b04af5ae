//! How a SQL store names its tables and how long it waits.

use std::time::Duration;

/// The table prefix used when none is configured.
pub const DEFAULT_TABLE_PREFIX: &str = "keycard_";

/// Where a SQLite store runs the one `SELECT` of a signed-in request (see
/// [`sqlite_read`](crate::sqlite_read) for the measurements behind the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SqliteReads {
    /// On the store's own read connections, on the calling task's thread (the default): a read of
    /// cached pages costs about 2 µs. A page SQLite and the OS do not have in memory blocks that thread
    /// for the disk read.
    #[default]
    InPlace,
    /// On the store's own read connections, under `tokio::task::block_in_place` (multi-thread runtime):
    /// the runtime moves the thread's other tasks away first. Safe with a database larger than memory;
    /// costs about 6 µs more per read and a longer tail under load.
    BlockInPlace,
    /// Through the sqlx pool like every other statement (a worker-thread round trip, about 25 µs).
    Pool,
}

/// How a [`SqlStore`](crate::SqlStore) names its tables and bounds its calls.
///
/// ```
/// use std::time::Duration;
/// use keycard_sqlx::SqlConfig;
/// let config = SqlConfig::default()
///     .with_table_prefix("auth_")
///     .with_operation_timeout(Duration::from_secs(1));
/// assert_eq!(config.table_prefix(), "auth_");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqlConfig {
    table_prefix: String,
    operation_timeout: Duration,
    max_connections: u32,
    sweep_batch: u32,
    sqlite_reads: SqliteReads,
    notify: bool,
}

impl Default for SqlConfig {
    fn default() -> Self {
        SqlConfig {
            table_prefix: DEFAULT_TABLE_PREFIX.to_owned(),
            operation_timeout: Duration::from_secs(2),
            max_connections: 8,
            sweep_batch: 500,
            sqlite_reads: SqliteReads::default(),
            notify: false,
        }
    }
}

/// A [`SqlConfig`] that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid keycard-sqlx configuration: {0}")]
pub struct SqlConfigError(pub(crate) String);

impl SqlConfig {
    /// Prefix of every table and index this store creates (default [`DEFAULT_TABLE_PREFIX`],
    /// `keycard_`): ASCII lower-case letters, digits and `_`, starting with a letter, at most 32
    /// characters. Give each app sharing one database its own.
    pub fn with_table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.table_prefix = prefix.into();
        self
    }

    /// The longest one store call may take, waiting for a connection or a lock included (default 2 s).
    /// Past it the call is an error ([`StoreError`](keycard::StoreError), a 503 at the HTTP layer): a
    /// database that hangs fails requests fast instead of holding them.
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Pool size when the store opens its own pool (`connect`; default 8). Ignored by `from_pool`.
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// How many rows one sweep transaction deletes at most (default 500), so a sweep never holds a lock
    /// for long.
    pub fn with_sweep_batch(mut self, n: u32) -> Self {
        self.sweep_batch = n;
        self
    }

    /// Where a SQLite store runs the `SELECT` of `fetch` (default [`SqliteReads::InPlace`]). Ignored by
    /// PostgreSQL.
    pub fn with_sqlite_reads(mut self, reads: SqliteReads) -> Self {
        self.sqlite_reads = reads;
        self
    }

    /// Whether every write that changes what a near cache may hold also notifies the store's
    /// invalidation channel ([`notify_channel`](Self::notify_channel)), inside the writing transaction,
    /// so a notification is delivered exactly when the write committed (default `false`). PostgreSQL
    /// only (`pg_notify`); ignored by SQLite.
    ///
    /// Turn it on in **every** process that writes to the store (app nodes, CLIs, jobs) as soon as any
    /// node runs a [`NearCache`](keycard::store::near::NearCache): a write that does not notify is seen
    /// by other nodes' near caches only when their entries are refilled. It costs one `pg_notify` per
    /// write (reads never notify), and PostgreSQL serializes the commits of notifying transactions, so
    /// it stays off where nobody listens.
    pub fn with_notify(mut self, on: bool) -> Self {
        self.notify = on;
        self
    }

    /// Whether writes notify ([`with_notify`](Self::with_notify)).
    pub fn notify(&self) -> bool {
        self.notify
    }

    /// The channel writes notify and near caches listen on: the table prefix followed by `near`
    /// (`keycard_near` by default).
    pub fn notify_channel(&self) -> String {
        format!("{}near", self.table_prefix)
    }

    /// Where a SQLite store runs the `SELECT` of `fetch`.
    pub fn sqlite_reads(&self) -> SqliteReads {
        self.sqlite_reads
    }

    /// The table prefix.
    pub fn table_prefix(&self) -> &str {
        &self.table_prefix
    }

    /// The bound on one store call.
    pub fn operation_timeout(&self) -> Duration {
        self.operation_timeout
    }

    /// The pool size `connect` uses.
    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }

    /// Rows per sweep transaction.
    pub fn sweep_batch(&self) -> u32 {
        self.sweep_batch
    }

    /// Check the settings.
    ///
    /// Errors: a [`SqlConfigError`] naming the setting that cannot work (the table prefix's shape, a zero
    /// timeout, pool size or batch).
    pub fn validate(&self) -> Result<(), SqlConfigError> {
        let p = &self.table_prefix;
        let ok_chars = p
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if p.is_empty() || p.len() > 32 || !ok_chars || !p.as_bytes()[0].is_ascii_lowercase() {
            return Err(SqlConfigError(format!(
                "table prefix {p:?} must be 1 to 32 characters of a-z, 0-9 and _, starting with a letter"
            )));
        }
        if self.operation_timeout.is_zero() {
            return Err(SqlConfigError(
                "operation timeout must be greater than zero".into(),
            ));
        }
        if self.max_connections == 0 {
            return Err(SqlConfigError("max_connections must be at least 1".into()));
        }
        if self.sweep_batch == 0 {
            return Err(SqlConfigError("sweep_batch must be at least 1".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert!(SqlConfig::default().validate().is_ok());
    }

    #[test]
    fn prefixes_that_could_break_sql_are_refused() {
        for p in [
            "",
            "Keycard_",
            "1abc",
            "a-b",
            "a;drop",
            "a b",
            &"a".repeat(33),
            "é",
        ] {
            assert!(
                SqlConfig::default()
                    .with_table_prefix(p)
                    .validate()
                    .is_err(),
                "{p:?}"
            );
        }
        assert!(SqlConfig::default()
            .with_table_prefix("app2_auth_")
            .validate()
            .is_ok());
    }
}
