//! The shared PostgreSQL: does it answer, the skip rule for it, and a scratch database per test.

use std::io::Write as _;
use std::time::Duration;

use sqlx::Connection as _;

use tokio::sync::OnceCell;

use super::{postgres_url, random_hex, redact};
use crate::skip;

/// One connection and `SELECT 1`, bounded (5 s).
pub async fn postgres_reachable(url: &str) -> Result<(), String> {
    let probe = async {
        let mut c = sqlx::PgConnection::connect(url).await?;
        sqlx::query("SELECT 1").execute(&mut c).await?;
        c.close().await
    };
    match tokio::time::timeout(Duration::from_secs(5), probe).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 5 s".to_owned()),
    }
}

/// The administrative PostgreSQL URL if it answers; else the [skip rule](crate::skip) for `suite`, and
/// `None`.
///
/// # Panics
/// When PostgreSQL does not answer and `KEYCARD_REQUIRE_SERVICES=1`.
pub async fn postgres_or_skip(suite: &str) -> Option<String> {
    let url = postgres_url();
    let reachable = postgres_reachable(&url).await.map_err(|e| {
        format!(
            "PostgreSQL not reachable at {} ({e}); set KEYCARD_TEST_POSTGRES_URL",
            redact(&url)
        )
    });
    skip::or_skip(suite, reachable.map(|()| url))
}

/// A PostgreSQL database of one test's own, beside the admin URL's database: created by
/// [`ScratchDb::create`], dropped (`WITH (FORCE)`, so open pools do not block it) on drop.
#[derive(Debug)]
pub struct ScratchDb {
    admin_url: String,
    /// The database name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl ScratchDb {
    /// Create `keycard_<tag>_<random>` on the server of `admin_url`.
    ///
    /// # Panics
    /// If the URL names no database, the name is too long, or the database cannot be created.
    pub async fn create(admin_url: &str, tag: &str) -> ScratchDb {
        let name = format!("keycard_{tag}_{}", random_hex(6));
        assert!(name.len() <= 63, "database name too long: {name}");
        let url = with_database(admin_url, &name);
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("create a scratch database");
        let _ = admin.close().await;
        ScratchDb {
            admin_url: admin_url.to_owned(),
            url,
            name,
        }
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        // Drop may run inside a runtime (and while panicking): do the async work on a thread of its own.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let work = async {
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut admin)
                        .await?;
                    admin.close().await
                };
                tokio::time::timeout(Duration::from_secs(15), work)
                    .await
                    .ok()?
                    .ok()
            })
        })
        .join();
        if !matches!(done, Ok(Some(()))) {
            let _ = writeln!(
                std::io::stderr(),
                "warning: could not drop the scratch database {}",
                self.name
            );
        }
    }
}

/// The database of this test binary's run, created on first use beside the admin URL's database and
/// named `keycard_run_<tag>_<unix secs>_<random>`; tests isolate themselves inside it (a table prefix or
/// key prefix of their own). Databases that earlier runs left behind more than an hour ago are dropped
/// when it is created. `None` after the [skip rule](crate::skip) when PostgreSQL does not answer.
///
/// # Panics
/// When PostgreSQL does not answer and `KEYCARD_REQUIRE_SERVICES=1`, or it answers but refuses to create
/// the database.
pub async fn run_database_or_skip(suite: &str, tag: &str) -> Option<String> {
    static RUN: OnceCell<Option<String>> = OnceCell::const_new();
    let url = RUN
        .get_or_init(|| async {
            let admin = postgres_url();
            postgres_reachable(&admin).await.ok()?;
            Some(create_run_database(&admin, tag).await)
        })
        .await
        .clone();
    let reachable = url.ok_or_else(|| {
        format!(
            "PostgreSQL not reachable at {}; set KEYCARD_TEST_POSTGRES_URL",
            redact(&postgres_url())
        )
    });
    skip::or_skip(suite, reachable)
}

async fn create_run_database(admin_url: &str, tag: &str) -> String {
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    let secs = keycard::Clock::now(&keycard::SystemClock).as_unix_secs();
    let earlier: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'keycard\\_run\\_%'")
            .fetch_all(&mut admin)
            .await
            .expect("list earlier run databases");
    for (name,) in earlier {
        let born = name.rsplit('_').nth(1).and_then(|t| t.parse::<u64>().ok());
        if born.is_some_and(|b| b + 3600 < secs) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
    let name = format!("keycard_run_{tag}_{secs}_{}", random_hex(4));
    assert!(name.len() <= 63, "database name too long: {name}");
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .expect("create the run's database");
    let _ = admin.close().await;
    with_database(admin_url, &name)
}

/// `url` with its database replaced by `db`.
///
/// # Panics
/// If `url` names no database.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let server = base
        .rsplit_once('/')
        .map(|(s, _)| s)
        .filter(|s| s.contains("://") && !s.ends_with('/'))
        .unwrap_or_else(|| panic!("the PostgreSQL URL must name a database: {}", redact(base)));
    format!("{server}/{db}{query}")
}
