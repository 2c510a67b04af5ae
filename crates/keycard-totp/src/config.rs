//! [`TotpConfig`]: the few knobs RFC 6238 leaves open.

use std::time::Duration;

/// How codes are made. The defaults are what every authenticator app supports (SHA-1, 6 digits, 30 s)
/// and RFC 6238's recommended window (one step either side, for clock drift and typing time).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TotpConfig {
    /// The service name the app lists the account under (`issuer=` in the URI), e.g. "Example".
    /// No `:`.
    pub issuer: String,
    /// Digits per code: 6 (default) to 8.
    pub digits: u8,
    /// Time step: 30 seconds (default).
    pub step: Duration,
    /// Steps accepted either side of now: 1 (default).
    pub skew: u8,
}

impl TotpConfig {
    /// Defaults, with `issuer`.
    pub fn new(issuer: impl Into<String>) -> Self {
        TotpConfig {
            issuer: issuer.into(),
            digits: 6,
            step: Duration::from_secs(30),
            skew: 1,
        }
    }

    /// Another number of digits (6..=8).
    pub fn with_digits(mut self, digits: u8) -> Self {
        self.digits = digits;
        self
    }

    /// Another step.
    pub fn with_step(mut self, step: Duration) -> Self {
        self.step = step;
        self
    }

    /// Another window.
    pub fn with_skew(mut self, skew: u8) -> Self {
        self.skew = skew;
        self
    }
}
