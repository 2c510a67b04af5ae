//! [`PasskeyError`]: what failed, in terms of what the app answers.

use keycard::StoreError;
use webauthn_rs::prelude::WebauthnError;

/// Why a passkey operation failed. Each variant says what the app should answer; none carries a token, a
/// challenge, a credential id or key material.
///
/// | variant | answer |
/// |---|---|
/// | [`Config`](Self::Config) | fix the configuration (start-up only) |
/// | [`CeremonyExpired`](Self::CeremonyExpired), [`CeremonyMismatch`](Self::CeremonyMismatch) | 400: start the ceremony again |
/// | [`MalformedResponse`](Self::MalformedResponse), [`WrongOrigin`](Self::WrongOrigin), [`Rejected`](Self::Rejected) | 400: the passkey was not accepted; try again |
/// | [`UnknownCredential`](Self::UnknownCredential) | 400/401: this passkey is not registered here (removed, or another account's); sign in another way |
/// | [`CounterRegressed`](Self::CounterRegressed) | 401, and tell the user: the passkey may have been copied |
/// | [`AlreadyRegistered`](Self::AlreadyRegistered) | 409: this authenticator already has a passkey here |
/// | [`NoPasskeys`](Self::NoPasskeys) | ask for another second factor |
/// | [`UserWithoutName`](Self::UserWithoutName) | a bug in the app: give the user's email or login as the name |
/// | [`LastSignInMethod`](Self::LastSignInMethod) | 409: add another way to sign in first |
/// | [`CorruptRecord`](Self::CorruptRecord), [`Store`](Self::Store) | 503 (fail closed: nobody is signed in) |
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasskeyError {
    /// The configuration was refused at start-up.
    #[error("passkey configuration: {reason}")]
    Config {
        /// What is wrong, and how to fix it.
        reason: String,
    },
    /// The ceremony token is unknown: expired (after the ceremony lifetime), already used (each is single
    /// use, whatever its outcome), issued for another step (a sign-in ceremony presented to a
    /// registration), or not one this server issued. Start the ceremony again.
    #[error("the passkey ceremony expired, was already used, or was not begun here: start again")]
    CeremonyExpired,
    /// The ceremony was begun for another user than the one finishing it (a registration or second step
    /// of another account). It is used up; start again as the right user.
    #[error("the passkey ceremony was begun for another account: start again")]
    CeremonyMismatch,
    /// The browser's answer is not a WebAuthn response this ceremony can read (not JSON, a field
    /// missing, bad base64, CBOR or authenticator data, longer than 64 KiB). A client bug or tampering.
    #[error("the browser's passkey response is malformed ({reason})")]
    MalformedResponse {
        /// Which part failed to parse.
        reason: &'static str,
    },
    /// The response was made for another site: its origin is not the configured one, or the
    /// authenticator signed for another relying party id. A phishing page relaying the ceremony, or a
    /// misconfigured `origin`.
    #[error("the passkey response was made for another origin or relying party than this site's")]
    WrongOrigin,
    /// The response was checked and refused: a wrong signature, another ceremony's challenge, the user
    /// not verified (no PIN or biometric), a credential type or algorithm not allowed.
    #[error("the passkey response was refused: {reason}")]
    Rejected {
        /// What the check found (a fixed phrase; never data from the response).
        reason: &'static str,
    },
    /// No account has this passkey (removed since, or the second step was answered with a passkey of
    /// another account). Sign in another way.
    #[error("this passkey is not registered for the account (it may have been removed)")]
    UnknownCredential,
    /// The authenticator's signature counter did not move past the stored one: two copies of the
    /// credential's private key may exist. Refused, and the stored credential is left as it was; tell
    /// the user and consider removing the passkey.
    #[error("the passkey's signature counter went backwards: the passkey may have been cloned")]
    CounterRegressed,
    /// This credential is registered already (to this account or another).
    #[error("this passkey is registered already")]
    AlreadyRegistered,
    /// A registration was asked for a user with no name to show: [`PasskeyUser`](crate::PasskeyUser)'s
    /// `name` and `display_name` are both empty (one is enough: it stands in for the other).
    #[error("a passkey needs a user name to show in the authenticator's list")]
    UserWithoutName,
    /// A second step was asked of a user with no passkey.
    #[error("the account has no passkey")]
    NoPasskeys,
    /// Removing this passkey would leave the account with no way to sign in.
    #[error("this is the account's last way to sign in: add a password or another passkey first")]
    LastSignInMethod,
    /// A stored passkey could not be decoded (written by an incompatible version, or damaged), or a
    /// record could not be encoded. Nobody is signed in with it.
    #[error("a stored passkey record could not be decoded")]
    CorruptRecord,
    /// The session store (ceremonies) or the factor store (passkeys) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PasskeyError {
    /// Whether the error is the client's (a 4xx): everything but [`Config`](Self::Config),
    /// [`CorruptRecord`](Self::CorruptRecord) and [`Store`](Self::Store).
    pub fn is_client_error(&self) -> bool {
        !matches!(
            self,
            PasskeyError::Config { .. } | PasskeyError::CorruptRecord | PasskeyError::Store(_)
        )
    }

    /// webauthn-rs' verdict on a response, in these terms.
    pub(crate) fn from_webauthn(e: &WebauthnError) -> PasskeyError {
        use WebauthnError as W;
        let rejected = |reason| PasskeyError::Rejected { reason };
        let malformed = |reason| PasskeyError::MalformedResponse { reason };
        match e {
            W::InvalidRPOrigin | W::InvalidRPIDHash => PasskeyError::WrongOrigin,
            W::CredentialPossibleCompromise => PasskeyError::CounterRegressed,
            W::CredentialNotFound => PasskeyError::UnknownCredential,
            W::CredentialExcludedFromRequest | W::CredentialAlreadyExists => {
                PasskeyError::AlreadyRegistered
            }
            W::MismatchedChallenge => rejected("the response answers another challenge"),
            W::InvalidClientDataType => rejected("the client data is of another ceremony type"),
            W::UserNotVerified => rejected("the user was not verified (no PIN or biometric)"),
            W::UserNotPresent => rejected("the user was not present"),
            W::CredentialAlteredAlgFromRequest
            | W::CredentialInsecureCryptography
            | W::COSEKeyInvalidAlgorithm
            | W::COSEKeyEDUnsupported
            | W::COSEKeyInvalidType => rejected("the credential's algorithm is not allowed"),
            W::CredentialBackupEligibilityInconsistent => {
                rejected("the passkey's backup eligibility changed: register it again")
            }
            W::ParseJSONFailure(_) => malformed("client data JSON"),
            W::ParseBase64Failure(_) => malformed("base64"),
            W::ParseCBORFailure(_) | W::COSEKeyInvalidCBORValue => malformed("CBOR"),
            W::ParseNOMFailure | W::ParseInsufficientBytesAvailable => {
                malformed("authenticator data")
            }
            W::MissingAttestationCredentialData
            | W::COSEKeyECDSAXYInvalid
            | W::COSEKeyRSANEInvalid
            | W::COSEKeyECDSAInvalidCurve
            | W::COSEKeyEDDSAXInvalid
            | W::COSEKeyEDDSAInvalidCurve => malformed("credential public key"),
            W::AttestationNotSupported
            | W::AttestationStatementMapInvalid
            | W::AttestationStatementResponseMissing
            | W::AttestationStatementResponseInvalid
            | W::AttestationStatementSigMissing
            | W::AttestationStatementAlgMissing
            | W::AttestationStatementX5CMissing
            | W::AttestationStatementX5CInvalid => malformed("attestation statement"),
            W::AttestationStatementSigInvalid => rejected("the attestation signature is wrong"),
            W::AttestationStatementAlgMismatch | W::AttestationStatementAlgInvalid => {
                rejected("the attestation's algorithm does not match the credential")
            }
            _ => rejected("the signature or the authenticator data did not verify"),
        }
    }
}
