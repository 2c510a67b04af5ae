//! `DATABASE_URL`: which kind of database it names.

use std::path::PathBuf;

use super::error::ConfigError;

/// Which kind of database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    /// A SQLite file at this path.
    SqliteFile(PathBuf),
    /// An in-memory SQLite database.
    SqliteMemory,
    /// PostgreSQL.
    Postgres,
}

impl DatabaseKind {
    /// Classify `DATABASE_URL`.
    pub fn of(url: &str) -> Result<DatabaseKind, ConfigError> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(DatabaseKind::Postgres);
        }
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            if path.is_empty()
                || path == ":memory:"
                || query.split('&').any(|kv| kv == "mode=memory")
            {
                return Ok(DatabaseKind::SqliteMemory);
            }
            return Ok(DatabaseKind::SqliteFile(PathBuf::from(path)));
        }
        Err(ConfigError::new(
            "DATABASE_URL",
            "expected sqlite:PATH (e.g. sqlite://data/keycard-demo.db?mode=rwc) or postgres://USER@HOST/DB",
        ))
    }
}
