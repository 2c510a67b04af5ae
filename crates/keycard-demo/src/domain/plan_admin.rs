//! `keycard-demo users set-plan EMAIL PLAN`: a plan changed from outside the web app. The database first;
//! then, when the credentials cache is shared (Redis), the cached user, so every running node serves the
//! new plan on its next request. With the memory store it says plainly that a running server's cache
//! cannot be reached from another process.

use std::io::Write;

use keycard::PutOutcome;

use crate::clock::{format_utc, AppClock};
use crate::config::secret::{self, SecretFileError};
use crate::config::Config;
use crate::domain::cache::{build_cache, CacheInitError};
use crate::domain::db::{self, DbInitError};
use crate::domain::users::{self, normalize_email, Key, Plan, User};

/// `users set-plan` failed after the configuration was accepted.
#[derive(Debug, thiserror::Error)]
pub enum SetPlanError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Open(#[from] DbInitError),
    /// The app secret could not be read.
    #[error(transparent)]
    Secret(#[from] SecretFileError),
    /// The credentials cache could not be set up.
    #[error(transparent)]
    Cache(CacheInitError),
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The cache failed.
    #[error("credentials cache error: {0}; the database was updated, the cached copy was not")]
    Store(#[from] keycard::StoreError),
    /// No such user.
    #[error("no user with email {0:?}; check the spelling (emails are stored lower-case)")]
    NoSuchUser(String),
    /// Writing to stdout failed.
    #[error("cannot write to stdout: {0}")]
    Io(#[from] std::io::Error),
}

/// What the CLI says about a cache it cannot reach.
pub const MEMORY_CACHE_NOTICE: &str = "\
Note: the credentials cache is the memory store (CACHE_URL=memory). It lives inside the running server
process, and this command cannot reach it from another process, so no cached user was updated.
The change is seen by /pro at once (it reloads the user from the database on every request), and by
/profile and /me on the user's next sign-in, plan sync (POST /plan) or refresh (the \"Refresh\" buttons
on /profile and /pro: POST /account/refresh).";

/// `users set-plan EMAIL PLAN`: update the database; update the shared cache if there is one, else say
/// plainly that a running server's memory cache cannot be reached.
pub async fn set_plan(
    config: &Config,
    email: &str,
    plan: Plan,
    out: &mut impl Write,
) -> Result<User, SetPlanError> {
    let db = db::connect_and_migrate(&config.database_url).await?;
    let clock = AppClock::system();
    let email = normalize_email(email);
    let user = users::update_plan(
        &db,
        Key::Email(&email),
        plan,
        clock.now_secs(),
        config.trial.as_secs(),
    )
    .await?
    .ok_or_else(|| SetPlanError::NoSuchUser(email.clone()))?;
    db.close().await;
    match user.plan_expires_at {
        Some(end) => writeln!(
            out,
            "Updated {}: plan is now {} (ends {}).",
            user.email,
            user.plan,
            format_utc(end)
        )?,
        None => writeln!(out, "Updated {}: plan is now {}.", user.email, user.plan)?,
    }

    if config.cache.is_shared() {
        let secret = secret::resolve(&config.secret)?;
        // A cache that cannot be reached now is reported like a failed update: the database already changed.
        let cache = build_cache(config, &secret, clock)
            .await
            .map_err(|e| match e {
                CacheInitError::Connect { source, .. } => SetPlanError::Store(source),
                other => SetPlanError::Cache(other),
            })?;
        let outcome = cache.put_user(user.clone()).await?;
        let said = match outcome {
            PutOutcome::Updated => "the cached user was updated: every signed-in session sees the new plan on its next request",
            PutOutcome::NotCached => "the user has no live session, so nothing was cached",
            PutOutcome::Stale => "the cache already holds a newer copy of the user",
            _ => "the cache answered an outcome this CLI does not know",
        };
        writeln!(out, "Credentials cache ({}): {said}.", config.cache.name())?;
    } else {
        writeln!(out, "{MEMORY_CACHE_NOTICE}")?;
    }
    Ok(user)
}
