//! Checking one setting's text: whole seconds, the client address source, the session policy. Every error names the setting.

use std::time::Duration;

use keycard::Policy;
use keycard_axum::ClientIpSource;

use super::error::ConfigError;
use super::origin::Origins;

pub(super) fn secs(
    setting: &'static str,
    value: &str,
    zero_ok: bool,
) -> Result<Duration, ConfigError> {
    let n: u64 = value.trim().parse().map_err(|_| {
        ConfigError::new(
            setting,
            format!("{value:?} is not a whole number of seconds"),
        )
    })?;
    if n == 0 && !zero_ok {
        return Err(ConfigError::new(setting, "must be greater than 0"));
    }
    // Keep every deadline computation far from overflow: at most 10 years.
    if n > 10 * 366 * 24 * 60 * 60 {
        return Err(ConfigError::new(setting, "is longer than 10 years"));
    }
    Ok(Duration::from_secs(n))
}

/// A whole number from 1 to `max`.
pub(super) fn count(setting: &'static str, value: &str, max: usize) -> Result<usize, ConfigError> {
    let n: usize = value
        .trim()
        .parse()
        .map_err(|_| ConfigError::new(setting, format!("{value:?} is not a whole number")))?;
    if n == 0 || n > max {
        return Err(ConfigError::new(
            setting,
            format!("must be between 1 and {max}, not {n}"),
        ));
    }
    Ok(n)
}

/// A switch: `on` or `off` (`true`/`false`, `1`/`0` too).
pub(super) fn on_off(setting: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err(ConfigError::new(
            setting,
            format!("{value:?} is not on or off"),
        )),
    }
}

/// `CLIENT_IP_SOURCE`: `connect-info`, `rightmost-forwarded-for` or `none`.
pub(super) fn client_ip_source(
    setting: &'static str,
    value: &str,
) -> Result<ClientIpSource, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "connect-info" => Ok(ClientIpSource::ConnectInfo),
        "rightmost-forwarded-for" => Ok(ClientIpSource::RightmostForwardedFor),
        "none" => Ok(ClientIpSource::None),
        _ => Err(ConfigError::new(
            setting,
            format!(
                "{value:?} is not one of connect-info, rightmost-forwarded-for (behind one trusted proxy), none"
            ),
        )),
    }
}

/// The session policy, with errors that name the settings as they were given (the core's own check is the
/// backstop).
pub(super) fn policy(
    idle: Duration,
    renewal: Duration,
    grace: Duration,
    absolute: Duration,
    origins: &Origins,
) -> Result<Policy, ConfigError> {
    let name = |setting| origins.name(setting);
    let (i, r, g, a) = (
        idle.as_secs(),
        renewal.as_secs(),
        grace.as_secs(),
        absolute.as_secs(),
    );
    if renewal >= idle {
        return Err(ConfigError::new(
            "SESSION_RENEWAL_SECS",
            format!(
                "{r} must be shorter than {} ({i}), or sessions die before they renew",
                name("SESSION_IDLE_SECS")
            ),
        ));
    }
    if grace >= renewal {
        return Err(ConfigError::new(
            "SESSION_GRACE_SECS",
            format!(
                "{g} must be shorter than {} ({r})",
                name("SESSION_RENEWAL_SECS")
            ),
        ));
    }
    if idle > absolute {
        return Err(ConfigError::new(
            "SESSION_IDLE_SECS",
            format!(
                "{i} must not be longer than {} ({a})",
                name("SESSION_ABSOLUTE_SECS")
            ),
        ));
    }
    let p = Policy::default()
        .with_idle_ttl(idle)
        .with_renewal_interval(renewal)
        .with_grace(grace)
        .with_absolute_ttl(absolute);
    p.validate()
        .map_err(|e| ConfigError::new("SESSION_IDLE_SECS", e.to_string()))?;
    Ok(p)
}
