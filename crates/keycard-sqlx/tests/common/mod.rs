//! Fresh, isolated SQL stores for the suites: a temporary SQLite file, or a table prefix of its own in a
//! PostgreSQL database made for this test run.
#![allow(dead_code)]

pub mod own_postgres;

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use keycard_sqlx::{PostgresStore, SqlConfig, SqliteStore};
use sqlx::Connection as _;
use tokio::sync::OnceCell;

/// A random hex string of `n` bytes.
pub fn random_hex(n: usize) -> String {
    (0..n)
        .map(|_| format!("{:02x}", keycard::SessionId::generate().0[0]))
        .collect()
}

/// Settings for tests: generous timeout (many tests run in parallel on a small machine).
pub fn test_config() -> SqlConfig {
    SqlConfig::default()
        .with_operation_timeout(Duration::from_secs(20))
        .with_max_connections(4)
}

/// A migrated SQLite store on a fresh temporary file (WAL).
pub async fn sqlite_store(test: &str) -> SqliteStore {
    sqlite_store_with(test, test_config()).await
}

/// [`sqlite_store`] with `config`.
pub async fn sqlite_store_with(test: &str, config: SqlConfig) -> SqliteStore {
    let dir = std::env::temp_dir().join("keycard-sqlx-tests");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{test}-{}.db", random_hex(6)));
    SqliteStore::connect_and_migrate(&format!("sqlite://{}", path.display()), config)
        .await
        .expect("sqlite store")
}

pub fn required() -> bool {
    std::env::var("KEYCARD_REQUIRE_SERVICES").is_ok_and(|v| v.trim() == "1")
}

pub fn postgres_admin_url() -> String {
    std::env::var("KEYCARD_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match base.rsplit_once('/') {
        Some((head, _)) if head.contains("//") && head.len() > "postgres://".len() => head,
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// The database of this test run: created on first use, named `keycard_sqlx_test_<time>_<random>`.
static RUN_DB: OnceCell<Result<String, String>> = OnceCell::const_new();

async fn run_database() -> Result<String, String> {
    RUN_DB
        .get_or_init(|| async {
            let admin = postgres_admin_url();
            let connect =
                tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&admin));
            let mut c = match connect.await {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => return Err(format!("postgres not reachable at {admin} ({e})")),
                Err(_) => {
                    return Err(format!(
                        "postgres not reachable at {admin} (no answer in 5 s)"
                    ))
                }
            };
            let secs = keycard::Clock::now(&keycard::SystemClock).as_unix_secs();
            // Runs that ended more than an hour ago left their databases: drop them.
            let stale: Vec<(String,)> = sqlx::query_as(
                "SELECT datname FROM pg_database WHERE datname LIKE 'keycard_sqlx_test_%'",
            )
            .fetch_all(&mut c)
            .await
            .map_err(|e| e.to_string())?;
            for (name,) in stale {
                let born: Option<u64> = name
                    .strip_prefix("keycard_sqlx_test_")
                    .and_then(|r| r.split('_').next())
                    .and_then(|t| t.parse().ok());
                if born.is_some_and(|b| b + 3600 < secs) {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut c)
                        .await;
                }
            }
            let name = format!("keycard_sqlx_test_{secs}_{}", random_hex(4));
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .await
                .map_err(|e| format!("cannot create the test database: {e}"))?;
            Ok(with_database(&admin, &name))
        })
        .await
        .clone()
}

/// A migrated PostgreSQL store with its own table prefix in this run's database, or the skip reason.
pub async fn postgres_store(test: &str) -> Result<PostgresStore, String> {
    postgres_store_with(test, test_config()).await
}

/// [`postgres_store`] with `config` (its table prefix replaced by a fresh one).
pub async fn postgres_store_with(test: &str, config: SqlConfig) -> Result<PostgresStore, String> {
    let url = match run_database().await {
        Ok(url) => url,
        Err(why) => {
            if required() {
                panic!("{test}: {why}, and KEYCARD_REQUIRE_SERVICES=1 makes that a failure");
            }
            let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {why}");
            return Err(why);
        }
    };
    let prefix = format!("t{}_", random_hex(6));
    let config = config.with_table_prefix(prefix);
    Ok(PostgresStore::connect_and_migrate(&url, config)
        .await
        .expect("postgres store"))
}

/// Silence "unused" for the helpers a test binary does not use.
pub fn _keep(_: Arc<()>) {}
