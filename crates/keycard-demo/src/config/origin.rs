//! Where each setting's value came from (a flag, the environment, the default), so that an error names
//! what the user actually typed: `--addr` for `--addr 4001`, `KEYCARD_ADDR` for `KEYCARD_ADDR=4001`.

use std::collections::HashMap;

use clap::parser::ValueSource;
use clap::ArgMatches;

/// Every setting: its environment variable and its flag. Errors name a setting by one of the two,
/// whichever the value came from ([`Origins`]).
pub const FLAGS: [(&str, &str); 22] = [
    ("KEYCARD_ADDR", "--addr"),
    ("HEADER_READ_TIMEOUT_SECS", "--header-read-timeout-secs"),
    ("MAX_CONNECTIONS", "--max-connections"),
    ("DATABASE_URL", "--database-url"),
    ("CACHE_URL", "--cache-url"),
    ("CACHE_KEY_PREFIX", "--cache-key-prefix"),
    ("CACHE_NEAR", "--cache-near"),
    ("SECRET_KEY", "--secret-key"),
    ("SESSION_IDLE_SECS", "--session-idle-secs"),
    ("SESSION_RENEWAL_SECS", "--session-renewal-secs"),
    ("SESSION_GRACE_SECS", "--session-grace-secs"),
    ("SESSION_ABSOLUTE_SECS", "--session-absolute-secs"),
    ("CLIENT_IP_SOURCE", "--client-ip-source"),
    ("COOKIE_SECURE", "--cookie-secure"),
    ("PUBLIC_ORIGIN", "--public-origin"),
    ("TRIAL_SECS", "--trial-secs"),
    ("PLAN_JOB_INTERVAL_SECS", "--plan-job-interval-secs"),
    ("SUDO_SECS", "--sudo-secs"),
    ("REMEMBER_SECS", "--remember-secs"),
    ("REMEMBER_GRACE_SECS", "--remember-grace-secs"),
    ("SMTP_URL", "--smtp-url"),
    ("MAIL_FROM", "--mail-from"),
];

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Typed on the command line.
    Flag,
    /// Read from the environment variable.
    Env,
    /// Not given: the default (or nothing, for an optional setting).
    Default,
}

/// The origin of every setting, by environment variable name (the settings' stable ids, see
/// [`super::ConfigError::setting`]). A setting not recorded is [`Origin::Default`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins(HashMap<&'static str, Origin>);

impl Origins {
    /// Read the origins off the matches of the command whose flags were parsed.
    pub fn from_matches(matches: &ArgMatches) -> Origins {
        let present: Vec<String> = matches.ids().map(|id| id.as_str().to_owned()).collect();
        let mut origins = HashMap::new();
        for (env, flag) in FLAGS {
            let id = flag.trim_start_matches('-').replace('-', "_");
            // `value_source` may only be asked about an argument of this command: ask only for those present.
            if !present.contains(&id) {
                continue;
            }
            let origin = match matches.value_source(&id) {
                Some(ValueSource::CommandLine) => Origin::Flag,
                Some(ValueSource::EnvVariable) => Origin::Env,
                _ => Origin::Default,
            };
            origins.insert(env, origin);
        }
        Origins(origins)
    }

    /// Record `setting` (an environment variable name) as coming from `origin`.
    pub fn with(mut self, setting: &'static str, origin: Origin) -> Origins {
        self.0.insert(setting, origin);
        self
    }

    /// Where `setting` came from.
    pub fn of(&self, setting: &str) -> Origin {
        self.0.get(setting).copied().unwrap_or(Origin::Default)
    }

    /// How to name `setting` (an environment variable name) to the user: its flag when the value was typed
    /// as one, else the environment variable (where the value came from, or where to set it).
    pub fn name(&self, setting: &'static str) -> &'static str {
        match self.of(setting) {
            Origin::Flag => flag_of(setting).unwrap_or(setting),
            Origin::Env | Origin::Default => setting,
        }
    }
}

/// `KEYCARD_ADDR` -> `--addr`.
pub fn flag_of(setting: &str) -> Option<&'static str> {
    FLAGS
        .iter()
        .find(|(env, _)| *env == setting)
        .map(|(_, f)| *f)
}
