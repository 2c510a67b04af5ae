//! The guide's users: the table, the plan, and the copy of a user the credentials cache keeps.
//!
//! The cached [`User`] holds what pages show (email, plan, trial end) and a `version` bumped by every
//! update, never the password hash: the hash is read from the database only when a password is checked.

use std::fmt;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row as _;

use crate::domain::db::Db;

/// A user's plan. Stored as `free`, `pro`, `pro-trial` (a CHECK constraint keeps the column honest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Plan {
    /// The free plan.
    Free,
    /// The paid plan.
    Pro,
    /// The paid plan until `plan_expires_at`, then `free` (the plan job downgrades it).
    ProTrial,
}

impl Plan {
    /// Every plan, in the order the plan page lists them.
    pub const ALL: [Plan; 3] = [Plan::Free, Plan::Pro, Plan::ProTrial];

    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::ProTrial => "pro-trial",
        }
    }

    /// Parse the stored name.
    pub fn parse(s: &str) -> Option<Plan> {
        Plan::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// What the plan page says about it.
    pub fn label(self) -> &'static str {
        match self {
            Plan::Free => "Free",
            Plan::Pro => "Pro",
            Plan::ProTrial => "Pro trial",
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user as the app and the credentials cache see it. No password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Primary key: 128 random bits, hex.
    pub id: String,
    /// Trimmed, lower-cased email.
    pub email: String,
    /// The plan.
    pub plan: Plan,
    /// When a `pro-trial` ends (unix seconds).
    pub plan_expires_at: Option<i64>,
    /// Bumped by every update of the row: orders two updates even within one second.
    pub version: i64,
    /// Bumped by every password change (and nothing else): the credential fingerprint. A session created
    /// before a change ends once the changed user is cached.
    #[serde(default = "first_credentials")]
    pub credentials_version: i64,
    /// When the user proved they read their address (unix seconds); `None`: not confirmed yet.
    #[serde(default)]
    pub confirmed_at: Option<i64>,
    /// The second factors that are on (`totp`, `passkey`): the `factors` column, a summary the app
    /// rewrites after every change ([`crate::domain::factors`]).
    #[serde(default)]
    pub factors: Vec<String>,
}

/// What the `credentials_version` column starts at (and what a cached copy from before the column read).
fn first_credentials() -> i64 {
    1
}

impl keycard::CachedUser for User {
    fn user_key(&self) -> String {
        self.id.clone()
    }

    fn version(&self) -> Option<u64> {
        u64::try_from(self.version).ok()
    }

    fn auth_fingerprint(&self) -> Option<Vec<u8>> {
        Some(self.credentials_version.to_be_bytes().to_vec())
    }
}

/// The inbox flows bind their tokens to this address (`keycard::inbox`).
impl keycard::inbox::InboxUser for User {
    fn email(&self) -> &str {
        &self.email
    }
}

impl User {
    /// Whether a sign-in with a password (or an emailed link) needs a second step.
    pub fn has_second_factor(&self) -> bool {
        !self.factors.is_empty()
    }

    /// Whether the user confirmed their address.
    pub fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }

    /// Whether this copy of the user may enter the pro area at `now_secs`: `pro`, or a `pro-trial` that has
    /// not ended yet (the plan job may not have run since it ended).
    pub fn has_pro_access(&self, now_secs: i64) -> bool {
        match self.plan {
            Plan::Pro => true,
            Plan::ProTrial => self.plan_expires_at.is_some_and(|end| now_secs < end),
            Plan::Free => false,
        }
    }
}

/// The columns every query returns, in the order [`from_row`] reads them.
pub(crate) const COLUMNS: &str =
    "id, email, plan, plan_expires_at, version, credentials_version, confirmed_at, factors";

/// A database row that is not a valid user (a plan the app does not know, a NULL where none belongs).
pub(crate) fn from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    let plan: String = row.try_get("plan")?;
    let plan = Plan::parse(&plan).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: "plan".into(),
        source: format!("unknown plan {plan:?}").into(),
    })?;
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        plan,
        plan_expires_at: row.try_get("plan_expires_at")?,
        version: row.try_get("version")?,
        credentials_version: row.try_get("credentials_version")?,
        confirmed_at: row.try_get("confirmed_at")?,
        factors: row
            .try_get::<String, _>("factors")?
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Trim and lower-case an email the way every lookup and insert does.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A fresh user id: 128 bits from the OS CSPRNG, as 32 hex characters.
fn new_id() -> Result<String, sqlx::Error> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b)
        .map_err(|e| sqlx::Error::Protocol(format!("the OS random generator failed: {e}")))?;
    Ok(hex::encode(b))
}

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// The email is taken.
    #[error("email already registered")]
    EmailTaken,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The `password_hash` of an account with no password (made by an identity provider sign-in): no
/// password matches it; the sign-in pages treat it as a wrong password, without an error.
pub const NO_PASSWORD: &str = "";

/// Insert a user on the `free` plan.
pub async fn create(
    db: &Db,
    email: &str,
    password_hash: &str,
    now_secs: i64,
) -> Result<User, CreateUserError> {
    insert(db, email, password_hash, now_secs, None).await
}

/// Insert a user on the `free` plan whose email is confirmed from the start (an identity provider
/// vouched for it): in the one statement, so nobody ever sees the account unconfirmed.
pub async fn create_confirmed(
    db: &Db,
    email: &str,
    password_hash: &str,
    now_secs: i64,
) -> Result<User, CreateUserError> {
    insert(db, email, password_hash, now_secs, Some(now_secs)).await
}

async fn insert(
    db: &Db,
    email: &str,
    password_hash: &str,
    now_secs: i64,
    confirmed_at: Option<i64>,
) -> Result<User, CreateUserError> {
    let sql = format!(
        "INSERT INTO users (id, email, password_hash, plan, plan_expires_at, version, inserted_at, updated_at, confirmed_at) \
         VALUES ($1, $2, $3, 'free', NULL, 1, $4, $4, $5) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(new_id()?)
        .bind(email)
        .bind(password_hash)
        .bind(now_secs)
        .bind(confirmed_at)
        .fetch_one(db)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => CreateUserError::EmailTaken,
            _ => CreateUserError::Db(e),
        })?;
    Ok(from_row(&row)?)
}

/// The user with this id, from the database.
pub async fn find(db: &Db, id: &str) -> Result<Option<User>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(db)
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// The user with this (normalized) email and their password hash.
pub async fn find_with_password_by_email(
    db: &Db,
    email: &str,
) -> Result<Option<(User, String)>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS}, password_hash FROM users WHERE email = $1");
    match sqlx::query(&sql).bind(email).fetch_optional(db).await? {
        Some(r) => Ok(Some((from_row(&r)?, r.try_get("password_hash")?))),
        None => Ok(None),
    }
}

/// The password hash of the user with this id.
pub async fn password_hash(db: &Db, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?
        .map(|r| r.try_get("password_hash"))
        .transpose()
}

/// Store an upgraded hash of the **same** password (a rehash on sign-in). Neither version moves: the
/// cached user does not hold the hash and the credentials did not change. `false` if the user is gone.
pub async fn set_password_hash(
    db: &Db,
    id: &str,
    hash: &str,
    now_secs: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now_secs)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Change the password: the new hash, and both versions bumped (the new `credentials_version` is what
/// ends the user's other sessions once the returned user is cached). `None` if the user is gone.
pub async fn change_password(
    db: &Db,
    id: &str,
    hash: &str,
    now_secs: i64,
) -> Result<Option<User>, sqlx::Error> {
    let sql = format!(
        "UPDATE users SET password_hash = $1, credentials_version = credentials_version + 1, \
         version = version + 1, updated_at = $2 WHERE id = $3 RETURNING {COLUMNS}"
    );
    sqlx::query(&sql)
        .bind(hash)
        .bind(now_secs)
        .bind(id)
        .fetch_optional(db)
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// The `plan_expires_at` that goes with `plan` set at `now_secs`.
pub fn plan_expiry(plan: Plan, now_secs: i64, trial_secs: u64) -> Option<i64> {
    match plan {
        Plan::ProTrial => {
            Some(now_secs.saturating_add(i64::try_from(trial_secs).unwrap_or(i64::MAX)))
        }
        Plan::Free | Plan::Pro => None,
    }
}

/// Which user an update names.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// By id.
    Id(&'a str),
    /// By normalized email.
    Email(&'a str),
}

/// Set the plan (and the trial end that goes with it). Returns the updated user, or `None` if there is no
/// such user.
pub async fn update_plan(
    db: &Db,
    key: Key<'_>,
    plan: Plan,
    now_secs: i64,
    trial_secs: u64,
) -> Result<Option<User>, sqlx::Error> {
    let (column, value) = match key {
        Key::Id(id) => ("id", id),
        Key::Email(email) => ("email", email),
    };
    let sql = format!(
        "UPDATE users SET plan = $1, plan_expires_at = $2, version = version + 1, updated_at = $3 \
         WHERE {column} = $4 RETURNING {COLUMNS}"
    );
    sqlx::query(&sql)
        .bind(plan.as_str())
        .bind(plan_expiry(plan, now_secs, trial_secs))
        .bind(now_secs)
        .bind(value)
        .fetch_optional(db)
        .await?
        .map(|r| from_row(&r))
        .transpose()
}

/// Downgrade every `pro-trial` that ended at or before `now_secs` to `free`. Returns the updated users.
pub async fn downgrade_expired_trials(db: &Db, now_secs: i64) -> Result<Vec<User>, sqlx::Error> {
    let sql = format!(
        "UPDATE users SET plan = 'free', plan_expires_at = NULL, version = version + 1, updated_at = $1 \
         WHERE plan = 'pro-trial' AND plan_expires_at <= $1 RETURNING {COLUMNS}"
    );
    sqlx::query(&sql)
        .bind(now_secs)
        .fetch_all(db)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Delete a user (tests and admin use; the demo has no page for it).
pub async fn delete(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Rewrite the user's factor summary (`names`, e.g. `["totp"]`) and bump `version`, so the next sync
/// replaces every cached copy. `None` if the user is gone.
pub async fn set_factors(
    db: &Db,
    id: &str,
    names: &[&str],
    now_secs: i64,
) -> Result<Option<User>, sqlx::Error> {
    let sql = format!(
        "UPDATE users SET factors = $1, version = version + 1, updated_at = $2 WHERE id = $3 \
         RETURNING {COLUMNS}"
    );
    sqlx::query(&sql)
        .bind(names.join(","))
        .bind(now_secs)
        .bind(id)
        .fetch_optional(db)
        .await?
        .map(|r| from_row(&r))
        .transpose()
}
