//! Second factors: where they live, and the summary the cached user carries.
//!
//! The factor records (the sealed TOTP secret and its last step, the recovery-code hashes, the passkeys)
//! live **with the users**, in keycard-sqlx's tables in the users database (`DATABASE_URL`), whatever
//! the session store is; an in-memory database gets memory factors. The `users.factors` column is a
//! summary ("totp,passkey") so the cached user shows the factors without a query: the web layer rewrites
//! it (and bumps the row version) after every change and syncs the user
//! ([`crate::web::second_factor::refresh_summary`]).

use std::sync::Arc;

use keycard::factor::{FactorStore, MemoryFactors};
use keycard::identity::{IdentityStore, MemoryIdentities};
use keycard_sqlx::SqlConfig;

use crate::config::{redact_url, DatabaseKind};
use crate::domain::db::DbInitError;

/// What lives with the users besides their row: second factors and linked identities (keycard-sqlx's
/// tables in the users database, or memory for an in-memory database).
#[derive(Clone)]
pub struct UserRecords {
    /// Second factors.
    pub factors: Arc<dyn FactorStore>,
    /// Linked identities (identity providers).
    pub identities: Arc<dyn IdentityStore>,
}

impl std::fmt::Debug for UserRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecords").finish_non_exhaustive()
    }
}

/// The factor and identity stores over the users database at `url` (their tables migrated).
pub async fn open_records(url: &str) -> Result<UserRecords, DbInitError> {
    let failed = |e: keycard_sqlx::ConnectError| DbInitError::Connect {
        url: redact_url(url),
        source: sqlx::Error::Configuration(e.to_string().into()),
    };
    let kind = DatabaseKind::of(url).map_err(|e| DbInitError::Connect {
        url: redact_url(url),
        source: sqlx::Error::Configuration(e.to_string().into()),
    })?;
    Ok(match kind {
        DatabaseKind::SqliteMemory => UserRecords {
            factors: Arc::new(MemoryFactors::new()),
            identities: Arc::new(MemoryIdentities::new()),
        },
        DatabaseKind::SqliteFile(_) => {
            let store = Arc::new(
                keycard_sqlx::SqliteStore::connect_and_migrate(url, SqlConfig::default())
                    .await
                    .map_err(failed)?,
            );
            UserRecords {
                factors: store.clone(),
                identities: store,
            }
        }
        DatabaseKind::Postgres => {
            let store = Arc::new(
                keycard_sqlx::PostgresStore::connect_and_migrate(url, SqlConfig::default())
                    .await
                    .map_err(failed)?,
            );
            UserRecords {
                factors: store.clone(),
                identities: store,
            }
        }
    })
}
