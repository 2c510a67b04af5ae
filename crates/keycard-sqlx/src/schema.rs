//! The tables, their migrations, and the migration runner.
//!
//! Migrations are embedded in the crate and applied by [`SqlStore::migrate`](crate::SqlStore::migrate), in
//! one transaction, recorded in `{prefix}schema_migrations` (this crate's own table, so it never mixes with
//! the app's own migration history, sqlx's `_sqlx_migrations` included). Concurrent start-ups are safe:
//! PostgreSQL takes an advisory lock keyed by the prefix, SQLite's write transaction excludes every other
//! writer. A database that already holds a newer schema than this version of the crate knows is refused
//! with [`MigrateError::NewerSchema`] instead of being used half-understood.

use crate::backend::{Arg, Backend, Exec, Row};

/// One migration: a version and the statements it runs (`{p}`: table prefix, `{bytes}` / `{int}`: the
/// dialect's column types).
struct Migration {
    version: i64,
    description: &'static str,
    statements: &'static [&'static str],
}

/// Every migration, oldest first.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "users and sessions",
        statements: &[
            "CREATE TABLE {p}users (
            user_key TEXT PRIMARY KEY,
            data TEXT NOT NULL,
            version {int},
            auth_fingerprint {bytes}
        )",
            "CREATE TABLE {p}sessions (
            session_id {bytes} PRIMARY KEY,
            user_key TEXT NOT NULL,
            created_at {int} NOT NULL,
            renewed_at {int} NOT NULL,
            idle_deadline {int} NOT NULL,
            absolute_deadline {int} NOT NULL,
            expires_at {int} NOT NULL,
            current_token {bytes} NOT NULL,
            previous_token {bytes},
            previous_until {int},
            metadata TEXT NOT NULL,
            auth_fingerprint {bytes},
            authenticated_at {int},
            series_id {bytes}
        )",
            "CREATE UNIQUE INDEX {p}sessions_current_token ON {p}sessions (current_token)",
            "CREATE UNIQUE INDEX {p}sessions_previous_token ON {p}sessions (previous_token)
            WHERE previous_token IS NOT NULL",
            "CREATE INDEX {p}sessions_user ON {p}sessions (user_key, expires_at)",
            "CREATE INDEX {p}sessions_expires ON {p}sessions (expires_at)",
            "CREATE INDEX {p}sessions_grace ON {p}sessions (previous_until)
            WHERE previous_until IS NOT NULL",
        ],
    },
    Migration {
        version: 2,
        description: "login throttle counters",
        statements: &[
            "CREATE TABLE {p}throttle (
            counter {bytes} PRIMARY KEY,
            attempts {int} NOT NULL,
            window_ends_at {int} NOT NULL
        )",
            "CREATE INDEX {p}throttle_ends ON {p}throttle (window_ends_at)",
        ],
    },
    Migration {
        version: 3,
        description: "remember-me series",
        statements: &[
            "CREATE TABLE {p}remember (
            series_id {bytes} PRIMARY KEY,
            user_key TEXT NOT NULL,
            created_at {int} NOT NULL,
            used_at {int} NOT NULL,
            expires_at {int} NOT NULL,
            current_token {bytes} NOT NULL,
            previous_token {bytes},
            previous_until {int},
            auth_fingerprint {bytes}
        )",
            "CREATE INDEX {p}remember_user ON {p}remember (user_key, expires_at)",
            "CREATE INDEX {p}remember_expires ON {p}remember (expires_at)",
        ],
    },
    Migration {
        version: 4,
        description: "one-time tokens",
        statements: &[
            "CREATE TABLE {p}one_time (
            token {bytes} PRIMARY KEY,
            purpose TEXT NOT NULL,
            subject TEXT NOT NULL,
            code {bytes},
            created_at {int} NOT NULL,
            expires_at {int} NOT NULL,
            attempts_left {int} NOT NULL,
            payload {bytes} NOT NULL
        )",
            "CREATE INDEX {p}one_time_subject ON {p}one_time (purpose, subject)",
            "CREATE INDEX {p}one_time_expires ON {p}one_time (expires_at)",
        ],
    },
    Migration {
        version: 5,
        description: "second factors",
        statements: &[
            "CREATE TABLE {p}totp (
            user_key TEXT PRIMARY KEY,
            sealed_secret {bytes} NOT NULL,
            enabled_at {int} NOT NULL,
            last_step {int}
        )",
            "CREATE TABLE {p}recovery_codes (
            user_key TEXT NOT NULL,
            code {bytes} NOT NULL,
            PRIMARY KEY (user_key, code)
        )",
            "CREATE TABLE {p}passkeys (
            id {bytes} PRIMARY KEY,
            user_key TEXT NOT NULL,
            name TEXT NOT NULL,
            data {bytes} NOT NULL,
            created_at {int} NOT NULL,
            last_used_at {int}
        )",
            "CREATE INDEX {p}passkeys_user ON {p}passkeys (user_key, created_at)",
        ],
    },
    Migration {
        version: 6,
        description: "keycard_identities: linked identities",
        statements: &[
            "CREATE TABLE {p}identities (
            provider TEXT NOT NULL,
            subject TEXT NOT NULL,
            user_key TEXT NOT NULL,
            email TEXT NOT NULL,
            created_at {int} NOT NULL,
            last_used_at {int},
            PRIMARY KEY (provider, subject)
        )",
            "CREATE INDEX {p}identities_user ON {p}identities (user_key, created_at)",
        ],
    },
];

/// The schema version this crate writes and reads.
pub const SCHEMA_VERSION: i64 = 6;

/// The migrations could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The database failed.
    #[error("keycard-sqlx migration {version} failed: {source}")]
    Database {
        /// The migration that failed (0: reading the migration table).
        version: i64,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// The database holds a schema newer than this crate knows.
    #[error(
        "the database holds keycard-sqlx schema version {found}, newer than the {known} this version \
         knows: upgrade keycard-sqlx on every node (or use another table prefix)"
    )]
    NewerSchema {
        /// The newest version applied in the database.
        found: i64,
        /// The newest version this crate knows.
        known: i64,
    },
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] crate::SqlConfigError),
}

/// `template` with the prefix and the dialect's types filled in.
pub(crate) fn render<B: Backend>(template: &str, prefix: &str) -> String {
    let d = B::DIALECT;
    template
        .replace("{p}", prefix)
        .replace("{bytes}", d.bytes)
        .replace("{int}", d.int)
        .replace("{least}", d.least)
        .replace("{lock}", d.lock_row)
        .replace("{lock_skip}", d.lock_skip)
        .replace("{text_list}", d.text_list)
}

/// Apply every migration the database lacks. Returns the versions applied now.
pub(crate) async fn migrate<B: Backend>(
    pool: &B::Pool,
    prefix: &str,
) -> Result<Vec<i64>, MigrateError> {
    let db = |version: i64| move |source| MigrateError::Database { version, source };
    let mut tx = B::begin(pool).await.map_err(db(0))?;
    if let Some(lock) = B::DIALECT.migration_lock {
        tx.execute(lock, &[Arg::Text(prefix)])
            .await
            .map_err(db(0))?;
    }
    let table = render::<B>(
        "CREATE TABLE IF NOT EXISTS {p}schema_migrations (
            version {int} PRIMARY KEY,
            description TEXT NOT NULL,
            applied_at {int} NOT NULL
        )",
        prefix,
    );
    tx.execute(&table, &[]).await.map_err(db(0))?;
    let applied = current_version_in::<B, _>(&mut tx, prefix)
        .await
        .map_err(db(0))?;
    if applied > SCHEMA_VERSION {
        return Err(MigrateError::NewerSchema {
            found: applied,
            known: SCHEMA_VERSION,
        });
    }
    let record = render::<B>(
        "INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)",
        prefix,
    );
    let now = keycard::Clock::now(&keycard::SystemClock).as_millis() as i64;
    let mut done = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| m.version > applied) {
        for statement in m.statements {
            tx.execute(&render::<B>(statement, prefix), &[])
                .await
                .map_err(db(m.version))?;
        }
        tx.execute(
            &record,
            &[Arg::Int(m.version), Arg::Text(m.description), Arg::Int(now)],
        )
        .await
        .map_err(db(m.version))?;
        done.push(m.version);
    }
    B::commit(tx).await.map_err(db(0))?;
    if !done.is_empty() {
        tracing::info!(prefix, versions = ?done, "keycard-sqlx schema migrated");
    }
    Ok(done)
}

/// The newest migration recorded (0 when the migration table is empty).
async fn current_version_in<B: Backend, E: Exec<Row = B::Row>>(
    exec: &mut E,
    prefix: &str,
) -> Result<i64, sqlx::Error> {
    let sql = render::<B>(
        "SELECT CAST(COALESCE(MAX(version), 0) AS {int}) FROM {p}schema_migrations",
        prefix,
    );
    match exec.fetch_optional(&sql, &[]).await? {
        Some(row) => row.int(0),
        None => Ok(0),
    }
}

/// The schema version the database holds: `Ok(None)` when keycard-sqlx was never migrated there.
pub(crate) async fn installed_version<B: Backend>(
    pool: &B::Pool,
    prefix: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let mut exec = B::on_pool(pool);
    let probe = B::DIALECT.table_exists;
    let exists = exec
        .fetch_optional(probe, &[Arg::Text(&format!("{prefix}schema_migrations"))])
        .await?
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0);
    if exists == 0 {
        return Ok(None);
    }
    current_version_in::<B, _>(&mut exec, prefix)
        .await
        .map(Some)
}
