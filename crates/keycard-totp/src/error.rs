//! [`TotpError`]: what went wrong, and what to do about it.

use keycard::token::SecretError;
use keycard::StoreError;

/// Why a TOTP step failed. Match on it: the first four are the user's to fix (show the form again),
/// the rest the operator's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// The code is not the authenticator's code for now (give or take one step): a typo, or a phone
    /// clock far off. Ask again.
    #[error("the code is not the one the authenticator shows now; type the current one")]
    WrongCode,
    /// The code was right but its time step was already accepted (RFC 6238 §5.2): a replay, or the
    /// same code typed twice. Ask for the next one.
    #[error("that code was used already; wait for the next one")]
    Replayed,
    /// The user has no authenticator turned on.
    #[error("no authenticator app is turned on for this account")]
    NotEnabled,
    /// The enrolment ticket is unknown: expired (after [`ENROLMENT_TTL`](crate::ENROLMENT_TTL)), used,
    /// forged, or of another user. Start the enrolment again (a new QR code).
    #[error("the authenticator setup expired or was already finished; start again")]
    EnrolmentExpired,
    /// A stored secret does not open under this app secret: the app secret changed without keeping the
    /// old one, or the row was copied from another user or tampered with. The user must turn TOTP off
    /// (with a recovery code) and enrol again.
    #[error("the stored authenticator secret cannot be opened with this app secret (was the secret rotated, or the row copied?)")]
    Unsealable,
    /// The configuration is not usable (digits outside 6..=8, a `:` in the issuer or account name, a
    /// zero step).
    #[error("TOTP configuration: {0}")]
    Config(String),
    /// The app secret is too short.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The store failed: nothing was accepted. Retry.
    #[error(transparent)]
    Store(#[from] StoreError),
}
