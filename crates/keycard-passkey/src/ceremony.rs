//! A ceremony's state, as it waits in the session store's one-time records between its start and the
//! browser's answer: single use, purpose-bound, short-lived (see the [crate docs](crate#where-state-lives)).
//!
//! The record's payload is `[version = 1][kind][JSON of the webauthn-rs state]`. The kind repeats the
//! purpose (a sign-in state never decodes as a registration's, whatever the store returns), and the
//! JSON is webauthn-rs' own serialisation of its state (feature `danger-allow-state-serialisation`),
//! which holds the challenge: it never leaves the server.

use keycard::onetime::Purpose;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{DiscoverableAuthentication, PasskeyRegistration, Uuid};

/// A registration: its state is bound to the user it was begun for (the record's subject).
pub(crate) const REGISTER: Purpose = Purpose::new("passkey_register");
/// A sign-in with a discoverable credential: nobody is named until the answer.
pub(crate) const SIGN_IN: Purpose = Purpose::new("passkey_sign_in");
/// The second step of a password sign-in: bound to the user whose password was right.
pub(crate) const SECOND_STEP: Purpose = Purpose::new("passkey_second_step");

const VERSION: u8 = 1;
const KIND_REGISTER: u8 = 1;
const KIND_ASSERT: u8 = 2;

/// The state a ceremony keeps on the server.
#[derive(Debug)]
pub(crate) enum CeremonyState {
    /// A registration: webauthn-rs' state and the user handle the credential was created with.
    Register(RegisterState),
    /// A sign-in or a second step: the challenge and the verification policy.
    Assert(DiscoverableAuthentication),
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RegisterState {
    pub(crate) state: PasskeyRegistration,
    pub(crate) user_handle: Uuid,
}

impl CeremonyState {
    /// The payload to bind to the one-time record.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        let (kind, json) = match self {
            CeremonyState::Register(r) => (KIND_REGISTER, serde_json::to_vec(r)?),
            CeremonyState::Assert(a) => (KIND_ASSERT, serde_json::to_vec(a)?),
        };
        let mut out = Vec::with_capacity(json.len() + 2);
        out.extend_from_slice(&[VERSION, kind]);
        out.extend_from_slice(&json);
        Ok(out)
    }

    /// The state a payload holds, if it is one of `purpose`'s; `None` for anything else (another
    /// version, another kind, bytes that are not the state's JSON).
    pub(crate) fn decode(purpose: Purpose, payload: &[u8]) -> Option<CeremonyState> {
        let [version, kind, json @ ..] = payload else {
            return None;
        };
        if *version != VERSION {
            return None;
        }
        match (*kind, purpose == REGISTER) {
            (KIND_REGISTER, true) => serde_json::from_slice(json)
                .ok()
                .map(CeremonyState::Register),
            (KIND_ASSERT, false) => serde_json::from_slice(json).ok().map(CeremonyState::Assert),
            _ => None,
        }
    }
}
