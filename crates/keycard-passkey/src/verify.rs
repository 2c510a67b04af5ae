//! The synchronous core of every ceremony: the options sent to the browser, and the checks of its
//! answer. No store and no clock here (the fuzz targets call these directly).

use serde_json::Value;
use webauthn_rs::prelude::{
    AuthenticationResult, CreationChallengeResponse, DiscoverableAuthentication, Passkey,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse,
};
use webauthn_rs::Webauthn;
use webauthn_rs_proto::{AllowCredentials, AuthenticatorSelectionCriteria, ResidentKeyRequirement};

use crate::ceremony::RegisterState;
use crate::error::PasskeyError;
use crate::stored::StoredPasskey;

/// The longest browser answer read: 64 KiB (a registration with an attestation certificate chain is a
/// few KiB).
pub(crate) const MAX_RESPONSE_LEN: usize = 64 * 1024;

fn options_json(options: &impl serde::Serialize) -> Result<Value, PasskeyError> {
    serde_json::to_value(options).map_err(|e| PasskeyError::Config {
        reason: format!("webauthn-rs' options did not serialise: {e}"),
    })
}

/// The registration options: webauthn-rs' passkey options, asking for a discoverable credential
/// (`residentKey: "required"`, or `"preferred"`), user verification required.
pub(crate) fn registration_options(
    mut ccr: CreationChallengeResponse,
    require_discoverable: bool,
) -> Result<Value, PasskeyError> {
    // webauthn-rs always sets it (user verification required); the default is there only for safety.
    let selection =
        ccr.public_key
            .authenticator_selection
            .get_or_insert(AuthenticatorSelectionCriteria {
                authenticator_attachment: None,
                resident_key: None,
                require_resident_key: false,
                user_verification: webauthn_rs_proto::UserVerificationPolicy::Required,
            });
    selection.resident_key = Some(if require_discoverable {
        ResidentKeyRequirement::Required
    } else {
        ResidentKeyRequirement::Preferred
    });
    // The level-1 spelling of the same request, for older browsers.
    selection.require_resident_key = require_discoverable;
    options_json(&ccr)
}

/// The sign-in options: no credential listed (the authenticator offers the discoverable ones it holds
/// for this site), `mediation: "conditional"` (autofill).
pub(crate) fn sign_in_options(rcr: RequestChallengeResponse) -> Result<Value, PasskeyError> {
    options_json(&rcr)
}

/// The second step's options: only the user's credentials, in a modal dialog (no mediation).
pub(crate) fn second_step_options(
    mut rcr: RequestChallengeResponse,
    ids: impl IntoIterator<Item = Vec<u8>>,
) -> Result<Value, PasskeyError> {
    rcr.mediation = None;
    rcr.public_key.allow_credentials = ids
        .into_iter()
        .map(|id| AllowCredentials {
            type_: "public-key".to_owned(),
            id,
            transports: None,
        })
        .collect();
    options_json(&rcr)
}

fn check_len(json: &str) -> Result<(), PasskeyError> {
    if json.len() > MAX_RESPONSE_LEN {
        return Err(PasskeyError::MalformedResponse {
            reason: "longer than 64 KiB",
        });
    }
    Ok(())
}

/// The browser's answer to a registration (`credential.toJSON()` of `navigator.credentials.create`).
pub(crate) fn parse_registration(json: &str) -> Result<RegisterPublicKeyCredential, PasskeyError> {
    check_len(json)?;
    serde_json::from_str(json).map_err(|_| PasskeyError::MalformedResponse {
        reason: "not a registration response (JSON)",
    })
}

/// The browser's answer to a sign-in or second step (`credential.toJSON()` of
/// `navigator.credentials.get`).
pub(crate) fn parse_assertion(json: &str) -> Result<PublicKeyCredential, PasskeyError> {
    check_len(json)?;
    serde_json::from_str(json).map_err(|_| PasskeyError::MalformedResponse {
        reason: "not an authentication response (JSON)",
    })
}

/// Checks a registration answer against its ceremony: the client data (type, challenge, origin), the
/// attestation object, the relying party id hash, user verification, the algorithm, the excluded
/// credentials. The new credential, not stored yet.
pub(crate) fn finish_registration(
    webauthn: &Webauthn,
    state: &RegisterState,
    response: &RegisterPublicKeyCredential,
) -> Result<Passkey, PasskeyError> {
    webauthn
        .finish_passkey_registration(response, &state.state)
        .map_err(|e| PasskeyError::from_webauthn(&e))
}

/// Whether the user handle must be in the answer: a discoverable sign-in names its account by it; a
/// second step may leave it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserHandle {
    Required,
    IfPresent,
}

/// Checks a sign-in or second-step answer against its ceremony and the stored credential it names: the
/// user handle (the credential's account), the client data (type, challenge, origin), the relying party
/// id hash, user presence and verification, the backup flags, the signature over the authenticator data
/// and the client data, and the sign counter (refused when it does not move past the stored one).
pub(crate) fn finish_assertion(
    webauthn: &Webauthn,
    state: DiscoverableAuthentication,
    response: &PublicKeyCredential,
    stored: &StoredPasskey,
    handle: UserHandle,
) -> Result<AuthenticationResult, PasskeyError> {
    match (response.get_user_unique_id(), handle) {
        (Some(h), _) if h != stored.user_handle.as_bytes().as_slice() => {
            return Err(PasskeyError::Rejected {
                reason: "the user handle names another account than the credential's",
            })
        }
        (None, UserHandle::Required) => {
            return Err(PasskeyError::Rejected {
                reason: "no user handle (the credential is not discoverable)",
            })
        }
        _ => {}
    }
    webauthn
        .finish_discoverable_authentication_v2(response, state, &stored.passkey)
        .map_err(|e| PasskeyError::from_webauthn(&e))
}
