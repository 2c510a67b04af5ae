//! The command line: `keycard-demo [serve]` and `keycard-demo users set-plan EMAIL PLAN`.

use std::io::Write;

use clap::{Parser, Subcommand};
use keycard::PutOutcome;

use crate::app::{self, StartError};
use crate::clock::{format_utc, AppClock};
use crate::config::{Config, Settings};
use crate::db;
use crate::secret;
use crate::users::{self, normalize_email, Key, Plan, User};

/// The Pow guide's app on keycard: users with a plan, a cached profile, a reloaded pro area.
#[derive(Debug, Parser)]
#[command(name = "keycard-demo", version, about, long_about = None)]
pub struct Cli {
    /// Settings (flags or environment).
    #[command(flatten)]
    pub settings: Settings,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Manage users.
    Users {
        /// What to do with users.
        #[command(subcommand)]
        command: UsersCommand,
    },
}

/// `users …` subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Set a user's plan in the database (and in the credentials cache when it is shared).
    SetPlan {
        /// The user's email.
        email: String,
        /// The new plan.
        #[arg(value_enum)]
        plan: Plan,
    },
}

/// A command failed after the configuration was accepted.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Starting failed.
    #[error(transparent)]
    Start(#[from] StartError),
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
/profile and /me on the user's next sign-in or plan sync (POST /plan).";

/// `users set-plan EMAIL PLAN`: update the database; update the shared cache if there is one, else say
/// plainly that a running server's memory cache cannot be reached.
pub async fn set_plan(
    config: &Config,
    email: &str,
    plan: Plan,
    out: &mut impl Write,
) -> Result<User, CliError> {
    let db = db::connect_and_migrate(&config.database_url)
        .await
        .map_err(StartError::from)?;
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
    .ok_or_else(|| CliError::NoSuchUser(email.clone()))?;
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
        let secret = secret::resolve(&config.secret).map_err(StartError::from)?;
        // A cache that cannot be reached now is reported like a failed update: the database already changed.
        let cache = app::build_cache(config, &secret, clock)
            .await
            .map_err(|e| match e {
                StartError::CacheStore { source, .. } => CliError::Store(source),
                other => CliError::Start(other),
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
