//! `KEYCARD_SOAK_FAULT`: a deliberately broken near cache, for the soak's checks of its own checker
//! (`crates/keycard-soak`). Only a build with the `soak-faults` feature (off by default) accepts one; any
//! other build refuses to start when the variable is set, so a soak never mistakes a sound binary for
//! a broken one. Never set it on a node that serves anybody.
//!
//! | value | what breaks |
//! |---|---|
//! | `near-ignore-session-invalidations` | the near cache drops other nodes' sign-outs and revocations of one session |
//! | `near-ignore-user-invalidations` | the near cache drops other nodes' user updates (sync, `put_user`, password change) |

/// The environment variable.
pub const VAR: &str = "KEYCARD_SOAK_FAULT";

/// Turn on the fault `KEYCARD_SOAK_FAULT` names, if any; its name when one was turned on. An unknown
/// value, or any value in a build without the `soak-faults` feature, is an error.
pub fn from_env() -> Result<Option<String>, String> {
    let Some(value) = std::env::var_os(VAR) else {
        return Ok(None);
    };
    let value = value.to_string_lossy().trim().to_owned();
    if value.is_empty() {
        return Ok(None);
    }
    activate(&value).map(|()| Some(value))
}

#[cfg(feature = "soak-faults")]
fn activate(value: &str) -> Result<(), String> {
    use keycard::store::near::soak_faults::{activate, SoakFault};
    let fault = match value {
        "near-ignore-session-invalidations" => SoakFault::IgnoreSessionInvalidations,
        "near-ignore-user-invalidations" => SoakFault::IgnoreUserInvalidations,
        other => {
            return Err(format!(
                "{VAR}: unknown fault {other:?}; expected near-ignore-session-invalidations or near-ignore-user-invalidations"
            ))
        }
    };
    activate(fault);
    Ok(())
}

#[cfg(not(feature = "soak-faults"))]
fn activate(_value: &str) -> Result<(), String> {
    Err(format!(
        "{VAR} is set, but this build has no soak faults (build with `--features soak-faults`)"
    ))
}
