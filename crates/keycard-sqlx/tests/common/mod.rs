//! Fresh, isolated SQL stores for the suites: a temporary SQLite file, or a table prefix of its own in the
//! PostgreSQL database of this test run (`keycard_store_tests::services::run_database_or_skip`).
#![allow(dead_code)]

use std::time::Duration;

use keycard_sqlx::{PostgresStore, SqlConfig, SqliteStore};
use keycard_store_tests::services::{random_hex, run_database_or_skip};

/// Settings for tests: a generous timeout (many tests run in parallel on a small machine).
pub fn test_config() -> SqlConfig {
    SqlConfig::default()
        .with_operation_timeout(Duration::from_secs(20))
        .with_max_connections(4)
}

/// A migrated SQLite store on a fresh temporary file (WAL). SQLite is always there: never a skip.
pub async fn sqlite_store(test: &str) -> Result<SqliteStore, String> {
    Ok(sqlite_store_with(test, test_config()).await)
}

/// [`sqlite_store`] reading `fetch` the way `reads` says.
pub async fn sqlite_store_reading(
    test: &str,
    reads: keycard_sqlx::SqliteReads,
) -> Result<SqliteStore, String> {
    Ok(sqlite_store_with(test, test_config().with_sqlite_reads(reads)).await)
}

/// [`sqlite_store`] with `config`.
pub async fn sqlite_store_with(test: &str, config: SqlConfig) -> SqliteStore {
    let dir = std::env::temp_dir().join("keycard-sqlx-tests");
    std::fs::create_dir_all(&dir).expect("temp dir");
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| sweep_old_files(&dir));
    let path = dir.join(format!("{test}-{}.db", random_hex(6)));
    SqliteStore::connect_and_migrate(&format!("sqlite://{}", path.display()), config)
        .await
        .expect("sqlite store")
}

/// Removes the databases earlier runs left (older than ten minutes), so repeated runs do not fill the
/// disk: a test's file outlives its process, as a failed test's file should for a look afterwards.
fn sweep_old_files(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(600));
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A migrated PostgreSQL store with a table prefix of its own, or why PostgreSQL cannot be reached.
pub async fn postgres_store(test: &'static str) -> Result<PostgresStore, String> {
    postgres_store_with(test, test_config())
        .await
        .ok_or_else(|| "PostgreSQL not reachable".to_owned())
}

/// [`postgres_store`] with `config` (its table prefix replaced by a fresh one); `None` after the skip
/// rule.
pub async fn postgres_store_with(test: &str, config: SqlConfig) -> Option<PostgresStore> {
    let url = run_database_or_skip(test, "sqlx").await?;
    let config = config.with_table_prefix(format!("t{}_", random_hex(6)));
    Some(
        PostgresStore::connect_and_migrate(&url, config)
            .await
            .expect("postgres answers, so the store must open"),
    )
}
