//! The command line: `keycard-demo [serve]` and `keycard-demo users set-plan EMAIL PLAN` (carried out by
//! [`crate::app::run`] and [`crate::domain::plan_admin::set_plan`]).

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::domain::users::Plan;

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
