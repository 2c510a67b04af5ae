//! **Tests only** (feature `testing`; not a supported API): a software authenticator and the browser
//! around it. It reads the options a ceremony's start sent, makes or uses a P-256 credential, and writes
//! the JSON a browser's `credential.toJSON()` would post (client data, attestation object or
//! authenticator data, an ECDSA signature). Real ceremonies, driven from Rust, with knobs the tests
//! turn: the origin the browser reports, the sign counter, the flags.
//!
//! This crate's tests use it, and so do an app's HTTP tests (keycard-demo's `tests/passkeys/`): add
//! `keycard-passkey = { …, features = ["testing"] }` to the app's `[dev-dependencies]`.
//!
//! Its methods panic on options that are not a ceremony's (a test failure, never input to handle).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

mod cbor;

use cbor::Cbor;

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

/// One credential the authenticator holds.
#[derive(Debug)]
pub struct Credential {
    /// The credential id.
    pub id: Vec<u8>,
    key: SigningKey,
    /// The relying party id it was made for.
    pub rp_id: String,
    /// The WebAuthn user handle the site gave it.
    pub user_handle: Vec<u8>,
    /// The signature counter: the next assertion signs `counter + 1` (when the authenticator counts).
    pub counter: u32,
}

/// What went wrong on the authenticator's side (the browser would reject the promise).
#[derive(Debug, PartialEq, Eq)]
pub enum AuthenticatorError {
    /// A credential in `excludeCredentials` is here already (`InvalidStateError`).
    Excluded,
    /// No credential here answers (`NotAllowedError`).
    NoCredential,
}

/// A software authenticator behind a browser at `origin`.
#[derive(Debug)]
pub struct SoftAuthenticator {
    /// The origin the browser writes in the client data.
    pub origin: String,
    /// The credentials it holds, oldest first.
    pub credentials: Vec<Credential>,
    /// A synced passkey (backup eligible and backed up), as iCloud Keychain or Google Password Manager
    /// make; such passkeys keep no signature counter.
    pub synced: bool,
    /// Whether the authenticator verifies the user (PIN, biometric).
    pub verifies_user: bool,
    /// The credential id of the next registration (a client that lies about it); random when `None`.
    pub next_id: Option<Vec<u8>>,
}

/// Base64url without padding, as WebAuthn's JSON writes bytes.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).expect("base64url in the options")
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("random bytes");
    b
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

impl SoftAuthenticator {
    /// A hardware-bound authenticator (counts signatures, not backed up) at `origin`.
    pub fn new(origin: &str) -> Self {
        SoftAuthenticator {
            origin: origin.to_owned(),
            credentials: Vec::new(),
            synced: false,
            verifies_user: true,
            next_id: None,
        }
    }

    /// A synced passkey provider at `origin` (backup flags set, counter always 0).
    pub fn synced(origin: &str) -> Self {
        SoftAuthenticator {
            synced: true,
            ..Self::new(origin)
        }
    }

    fn flags(&self) -> u8 {
        let mut f = UP;
        if self.verifies_user {
            f |= UV;
        }
        if self.synced {
            f |= BE | BS;
        }
        f
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({ "type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    /// `navigator.credentials.create(options)`: the credential's JSON.
    pub fn register(&mut self, options: &Value) -> Result<String, AuthenticatorError> {
        let pk = &options["publicKey"];
        let rp_id = pk["rp"]["id"].as_str().expect("rp.id").to_owned();
        let excluded: Vec<Vec<u8>> = pk["excludeCredentials"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| unb64(c["id"].as_str().expect("id")))
                    .collect()
            })
            .unwrap_or_default();
        if self
            .credentials
            .iter()
            .any(|c| c.rp_id == rp_id && excluded.contains(&c.id))
        {
            return Err(AuthenticatorError::Excluded);
        }
        let key = loop {
            if let Ok(k) = SigningKey::from_slice(&random::<32>()) {
                break k;
            }
        };
        let id = self
            .next_id
            .take()
            .unwrap_or_else(|| random::<32>().to_vec());
        let point = key.verifying_key().to_sec1_point(false);
        let xy = &point.as_bytes()[1..];
        let cose = Cbor::Map(vec![
            (Cbor::Int(1), Cbor::Int(2)),  // kty: EC2
            (Cbor::Int(3), Cbor::Int(-7)), // alg: ES256
            (Cbor::Int(-1), Cbor::Int(1)), // crv: P-256
            (Cbor::Int(-2), Cbor::Bytes(xy[..32].to_vec())),
            (Cbor::Int(-3), Cbor::Bytes(xy[32..].to_vec())),
        ])
        .encode();
        let mut auth_data = sha256(rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags() | AT);
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((id.len() as u16).to_be_bytes());
        auth_data.extend(&id);
        auth_data.extend(cose);
        let attestation = Cbor::Map(vec![
            (Cbor::text("fmt"), Cbor::text("none")),
            (Cbor::text("attStmt"), Cbor::Map(vec![])),
            (Cbor::text("authData"), Cbor::Bytes(auth_data)),
        ])
        .encode();
        let client_data = self.client_data(
            "webauthn.create",
            pk["challenge"].as_str().expect("challenge"),
        );
        let user_handle = unb64(pk["user"]["id"].as_str().expect("user.id"));
        let response = json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&attestation),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": { "credProps": { "rk": true } },
            "authenticatorAttachment": "platform",
        });
        self.credentials.push(Credential {
            id,
            key,
            rp_id,
            user_handle,
            counter: 0,
        });
        Ok(response.to_string())
    }

    /// `navigator.credentials.get(options)` with the first credential that may answer.
    pub fn assert(&mut self, options: &Value) -> Result<String, AuthenticatorError> {
        self.assert_with(options, None)
    }

    /// `navigator.credentials.get(options)` with credential `index` (the user's pick in the list), or the
    /// first that may answer.
    pub fn assert_with(
        &mut self,
        options: &Value,
        index: Option<usize>,
    ) -> Result<String, AuthenticatorError> {
        let pk = &options["publicKey"];
        let rp_id = pk["rpId"].as_str().expect("rpId").to_owned();
        let allowed: Vec<Vec<u8>> = pk["allowCredentials"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| unb64(c["id"].as_str().expect("id")))
                    .collect()
            })
            .unwrap_or_default();
        let may =
            |c: &Credential| c.rp_id == rp_id && (allowed.is_empty() || allowed.contains(&c.id));
        let i = match index {
            Some(i) => i,
            None => self
                .credentials
                .iter()
                .position(may)
                .ok_or(AuthenticatorError::NoCredential)?,
        };
        let flags = self.flags();
        let synced = self.synced;
        let client_data =
            self.client_data("webauthn.get", pk["challenge"].as_str().expect("challenge"));
        let cred = &mut self.credentials[i];
        if !synced {
            cred.counter += 1;
        }
        let mut auth_data = sha256(cred.rp_id.as_bytes()).to_vec();
        auth_data.push(flags);
        auth_data.extend(if synced { 0 } else { cred.counter }.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(sha256(&client_data));
        let signature: Signature = cred.key.sign(&signed);
        let response = json!({
            "id": b64(&cred.id),
            "rawId": b64(&cred.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(signature.to_der().as_bytes()),
                "userHandle": b64(&cred.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        });
        Ok(response.to_string())
    }
}
