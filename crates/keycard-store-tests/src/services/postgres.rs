//! The shared PostgreSQL: does it answer, the skip rule for it, and a scratch database per test.

use std::io::Write as _;
use std::time::Duration;

use sqlx::Connection as _;

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
        let (base, query) = match admin_url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (admin_url, String::new()),
        };
        let server = base
            .rsplit_once('/')
            .map(|(s, _)| s)
            .filter(|s| s.contains("://") && !s.ends_with('/'))
            .unwrap_or_else(|| panic!("the PostgreSQL URL must name a database: {}", redact(base)));
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
            url: format!("{server}/{name}{query}"),
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
