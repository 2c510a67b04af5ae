//! The users table's side of the accounts-by-email flows: find a user by address, mark an address
//! confirmed, move an account to a new address. Each update bumps `version`, so the cached copy that
//! replaces the old one is never mistaken for an older one.

use sqlx::Row as _;

use crate::domain::db::Db;
use crate::domain::users::{from_row, User, COLUMNS};

/// The user with this (normalized) email.
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
    sqlx::query(&sql)
        .bind(email)
        .fetch_optional(db)
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// Mark `email` confirmed for the user `id`, if it is still their address (a link to an old address
/// confirms nothing). The user as it is now (unchanged when already confirmed); `None` if there is no
/// such user with that address.
pub async fn confirm(
    db: &Db,
    id: &str,
    email: &str,
    now_secs: i64,
) -> Result<Option<User>, sqlx::Error> {
    let sql = format!(
        "UPDATE users SET confirmed_at = $1, version = version + 1, updated_at = $1 \
         WHERE id = $2 AND email = $3 AND confirmed_at IS NULL RETURNING {COLUMNS}"
    );
    if let Some(row) = sqlx::query(&sql)
        .bind(now_secs)
        .bind(id)
        .bind(email)
        .fetch_optional(db)
        .await?
    {
        return Ok(Some(from_row(&row)?));
    }
    // Already confirmed (or gone, or another address now).
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1 AND email = $2");
    sqlx::query(&sql)
        .bind(id)
        .bind(email)
        .fetch_optional(db)
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// Why an email change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ChangeEmailError {
    /// Another account has the new address now.
    #[error("the address belongs to another account")]
    Taken,
    /// The user is gone, or their address is no longer the one the change was asked from.
    #[error("the account changed since the link was sent")]
    Stale,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Move the user `id` from `old` to `new` (confirmed: the link reached it). The updated user.
pub async fn change_email(
    db: &Db,
    id: &str,
    old: &str,
    new: &str,
    now_secs: i64,
) -> Result<User, ChangeEmailError> {
    let sql = format!(
        "UPDATE users SET email = $1, confirmed_at = $2, version = version + 1, updated_at = $2 \
         WHERE id = $3 AND email = $4 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new)
        .bind(now_secs)
        .bind(id)
        .bind(old)
        .fetch_optional(db)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => ChangeEmailError::Taken,
            _ => ChangeEmailError::Db(e),
        })?;
    match row {
        Some(r) => Ok(from_row(&r)?),
        None => Err(ChangeEmailError::Stale),
    }
}

/// Whether an account has this (normalized) address.
pub async fn is_taken(db: &Db, email: &str) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(db)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}
