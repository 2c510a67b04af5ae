//! A scratch database of the run's own on the shared PostgreSQL, and the backend-termination fault on
//! its connections only (never anybody else's).

use sqlx::{Connection, PgConnection};

/// The run's database.
#[derive(Debug)]
pub struct ScratchDb {
    /// The server (`postgres://…/test`, the admin database).
    admin_url: String,
    /// The database's name.
    pub name: String,
}

impl ScratchDb {
    /// Create `name` on the server `admin_url` names.
    pub async fn create(admin_url: &str, name: &str) -> Result<ScratchDb, sqlx::Error> {
        let mut conn = PgConnection::connect(admin_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(ScratchDb {
            admin_url: admin_url.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The URL of the database at `host:port` (the server itself, or a proxy in front of it).
    pub fn url_at(&self, host_port: &str) -> String {
        let user = self
            .admin_url
            .strip_prefix("postgres://")
            .and_then(|rest| rest.split_once('@'))
            .map(|(u, _)| format!("{u}@"))
            .unwrap_or_default();
        format!("postgres://{user}{host_port}/{}", self.name)
    }

    /// Terminate every backend connected to this database; how many.
    pub async fn terminate_backends(&self) -> Result<i64, sqlx::Error> {
        let mut conn = PgConnection::connect(&self.admin_url).await?;
        let n: i64 = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&self.name)
        .fetch_one(&mut conn)
        .await?;
        conn.close().await?;
        Ok(n)
    }

    /// Drop it (every connection to it closed by force).
    pub async fn drop_db(&self) -> Result<(), sqlx::Error> {
        let mut conn = PgConnection::connect(&self.admin_url).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await?;
        conn.close().await
    }
}
