//! A stored passkey: what [`PasskeyRecord::data`] holds (the store keeps it as opaque bytes).
//!
//! JSON, `{"v":1,"user_handle":"<uuid>","passkey":{…}}`: the user handle the credential was created
//! with (the authenticator gives it back at every discoverable sign-in, and it must name the same
//! account), and webauthn-rs' [`Passkey`] (credential id, public key, sign counter, backup flags), as
//! webauthn-rs serialises it for a database.

use keycard::factor::PasskeyRecord;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{Passkey, Uuid};

const VERSION: u8 = 1;

/// A stored passkey, decoded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredPasskey {
    v: u8,
    /// The WebAuthn user handle (`user.id`) the credential was created with.
    pub(crate) user_handle: Uuid,
    /// The credential.
    pub(crate) passkey: Passkey,
}

impl StoredPasskey {
    pub(crate) fn new(user_handle: Uuid, passkey: Passkey) -> Self {
        StoredPasskey {
            v: VERSION,
            user_handle,
            passkey,
        }
    }

    /// The bytes to store.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// The stored passkey `bytes` hold, if they are one of this version.
    pub(crate) fn decode(bytes: &[u8]) -> Option<StoredPasskey> {
        let stored: StoredPasskey = serde_json::from_slice(bytes).ok()?;
        (stored.v == VERSION).then_some(stored)
    }

    /// The stored passkey of `record`, if its data decodes and names the record's credential id.
    pub(crate) fn of(record: &PasskeyRecord) -> Option<StoredPasskey> {
        Self::decode(&record.data)
            .filter(|s| s.passkey.cred_id().as_slice() == record.id.as_slice())
    }
}
