//! A setting that cannot work.

use super::origin::Origins;

/// A setting that cannot work: which one, and why. Displayed as one line that names the setting the way
/// the user gave it (`--addr: …` for a flag, `KEYCARD_ADDR: …` for the environment or a default).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ConfigError {
    /// The environment variable name of the setting (its stable id, whatever the user typed).
    pub setting: &'static str,
    /// How the message names it: the flag or the environment variable ([`ConfigError::named`]).
    pub name: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl ConfigError {
    /// A new error about `setting`, named by its environment variable until [`named`](Self::named).
    pub fn new(setting: &'static str, message: impl Into<String>) -> Self {
        ConfigError {
            setting,
            name: setting,
            message: message.into(),
        }
    }

    /// Name the setting the way its value was given.
    pub fn named(mut self, origins: &Origins) -> Self {
        self.name = origins.name(self.setting);
        self
    }
}
