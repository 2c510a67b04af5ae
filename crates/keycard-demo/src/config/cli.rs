//! The command line: `keycard-demo [serve] [SERVER FLAGS]` and `keycard-demo users set-plan EMAIL PLAN
//! [DATA FLAGS]` (carried out by [`crate::app::run`] and [`crate::domain::plan_admin::set_plan`]).
//!
//! Each command takes only the flags it uses: the server all of them ([`Settings`]), `users set-plan` the
//! data ones ([`StoreSettings`]: database, cache, secret, trial length). [`parse`] also records where every
//! value came from ([`Origins`]), so a configuration error names what the user typed.

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::origin::Origins;
use crate::config::{ServerSettings, Settings, StoreSettings};
use crate::domain::users::Plan;

/// The Pow guide's app on keycard: users with a plan, a cached profile, a reloaded pro area.
///
/// Without a command it serves (the flags below are `serve`'s).
#[derive(Debug, Parser)]
#[command(
    name = "keycard-demo",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// The server's settings, when no command is given (flags or environment).
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
    Serve {
        /// The server's settings (flags or environment).
        #[command(flatten)]
        settings: Box<Settings>,
    },
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
        /// Where the users and the cache are (flags or environment).
        #[command(flatten)]
        store: StoreSettings,
    },
}

/// What the command line asks for, with its settings and their origins.
#[derive(Debug)]
pub enum Invocation {
    /// Serve.
    Serve(Settings),
    /// `users set-plan EMAIL PLAN`: the server's settings are the defaults (unused but for their checks).
    SetPlan {
        /// The settings.
        settings: Settings,
        /// The user's email.
        email: String,
        /// The new plan.
        plan: Plan,
    },
}

/// Parse `std::env::args_os()`; on a usage error (or `--help`, `--version`) print and exit, as clap does.
pub fn parse() -> Invocation {
    let matches = Cli::command().get_matches();
    match invocation(&matches) {
        Ok(i) => i,
        Err(e) => e.exit(),
    }
}

/// Parse `args` (the first is the program name) like [`parse`], returning clap's error instead of exiting.
pub fn try_parse_from<I, T>(args: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    invocation(&Cli::command().try_get_matches_from(args)?)
}

fn invocation(matches: &ArgMatches) -> Result<Invocation, clap::Error> {
    let cli = Cli::from_arg_matches(matches)?;
    Ok(match cli.command {
        None => Invocation::Serve(Settings {
            origins: Origins::from_matches(matches),
            oidc_env: oidc_env(),
            ..cli.settings
        }),
        Some(Command::Serve { settings }) => {
            let sub = matches.subcommand_matches("serve").unwrap_or(matches);
            Invocation::Serve(Settings {
                origins: Origins::from_matches(sub),
                oidc_env: oidc_env(),
                ..*settings
            })
        }
        Some(Command::Users {
            command: UsersCommand::SetPlan { email, plan, store },
        }) => {
            let sub = matches
                .subcommand_matches("users")
                .and_then(|m| m.subcommand_matches("set-plan"))
                .unwrap_or(matches);
            Invocation::SetPlan {
                settings: Settings {
                    server: ServerSettings::default(),
                    store,
                    origins: Origins::from_matches(sub),
                    oidc_env: Vec::new(),
                },
                email,
                plan,
            }
        }
    })
}

/// The `OIDC_*` variables of the environment (identity providers, [`crate::config::oidc`]).
fn oidc_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("OIDC_"))
        .collect()
}
