//! `keycard-bench init-db --db PATH --users N`: the users table every server reads.

use std::path::{Path, PathBuf};

use crate::common::{self, PASSWORD};

/// The flags of `keycard-bench init-db`.
#[derive(Debug, Clone, clap::Args)]
pub struct InitDbArgs {
    /// The SQLite file to (re)create.
    #[arg(long)]
    pub db: PathBuf,
    /// How many users.
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
}

pub fn main(args: &InitDbArgs) -> Result<(), String> {
    init(&args.db, args.users)
}

/// (Re)create the users table with `users` users. Every user gets the same real argon2id hash of the bench
/// password (hashing each one would take minutes); the sign-in-under-load measurement verifies against it.
pub fn init(db: &Path, users: u64) -> Result<(), String> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("remove {}: {e}", Path::new(&p).display())),
        }
    }
    let hash = keycard::password::PasswordHasher::new()
        .hash_blocking(PASSWORD)
        .map_err(|e| format!("hash_password: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(async {
        let pool = common::open_db(db, true)
            .await
            .map_err(|e| format!("create {}: {e}", db.display()))?;
        sqlx::query(
            "CREATE TABLE users (
                 id INTEGER PRIMARY KEY,
                 email TEXT NOT NULL UNIQUE,
                 plan TEXT NOT NULL,
                 password_hash TEXT NOT NULL
             )",
        )
        .execute(&pool)
        .await
        .map_err(|e| format!("create table: {e}"))?;
        let mut tx = pool.begin().await.map_err(|e| format!("begin: {e}"))?;
        for i in 1..=users {
            sqlx::query(
                "INSERT INTO users (id, email, plan, password_hash) VALUES (?1, ?2, ?3, ?4)",
            )
            .bind(i as i64)
            .bind(common::email_of(i))
            .bind(common::plan_of(i))
            .bind(&hash)
            .execute(&mut *tx)
            .await
            .map_err(|e| format!("insert: {e}"))?;
        }
        tx.commit().await.map_err(|e| format!("commit: {e}"))?;
        pool.close().await;
        Ok(())
    })
}
