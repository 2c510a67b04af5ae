//! A flow's state, as it waits in the session store's one-time records between the redirect to the
//! provider and its redirect back: single use, purpose-bound ([`FLOW`]), [`FLOW_TTL`](crate::FLOW_TTL).
//!
//! The record's **link** (the signed one-time token) is the OAuth `state` parameter; its **subject** is
//! the hash of the browser binding (the cookie value the browser keeps); its **payload** is
//! `[version = 1][JSON]` with the provider key, the intent, the PKCE verifier and the nonce. Neither the
//! verifier nor the nonce leaves the server except as the provider is meant to see them (the nonce in
//! the authorization URL; the verifier, once, to the token endpoint).

use keycard::onetime::Purpose;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::types::Intent;

/// The one-time records of provider sign-ins.
pub(crate) const FLOW: Purpose = Purpose::new("oidc_flow");

const VERSION: u8 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FlowState {
    pub(crate) provider: String,
    pub(crate) intent: Intent,
    pub(crate) pkce_verifier: String,
    pub(crate) nonce: String,
}

impl FlowState {
    pub(crate) fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        let json = serde_json::to_vec(self)?;
        let mut out = Vec::with_capacity(json.len() + 1);
        out.push(VERSION);
        out.extend_from_slice(&json);
        Ok(out)
    }

    pub(crate) fn decode(payload: &[u8]) -> Option<FlowState> {
        match payload {
            [VERSION, json @ ..] => serde_json::from_slice(json).ok(),
            _ => None,
        }
    }
}

/// 32 random bytes, base64url: a browser binding, a nonce.
pub(crate) fn random_value() -> String {
    use base64::Engine as _;
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).expect("the OS random number generator failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The record subject for a binding: hex of its SHA-256.
pub(crate) fn binding_subject(binding: &str) -> String {
    let digest = Sha256::digest(binding.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `binding` (the cookie) is the one the flow was started with, in constant time.
pub(crate) fn binding_matches(subject: &str, binding: Option<&str>) -> bool {
    use subtle::ConstantTimeEq as _;
    let Some(binding) = binding else {
        return false;
    };
    let expected = binding_subject(binding);
    expected.len() == subject.len() && bool::from(expected.as_bytes().ct_eq(subject.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_round_trips_and_other_bytes_do_not_decode() {
        let s = FlowState {
            provider: "idp".into(),
            intent: Intent::Link {
                user_key: "u1".into(),
            },
            pkce_verifier: "v".into(),
            nonce: "n".into(),
        };
        let bytes = s.encode().expect("encode");
        let back = FlowState::decode(&bytes).expect("decode");
        assert_eq!((back.provider.as_str(), back.intent), ("idp", s.intent));
        assert!(FlowState::decode(&bytes[1..]).is_none());
        assert!(FlowState::decode(&[2, b'{', b'}']).is_none());
    }

    #[test]
    fn a_binding_matches_only_itself() {
        let b = random_value();
        let subject = binding_subject(&b);
        assert!(binding_matches(&subject, Some(&b)));
        assert!(!binding_matches(&subject, Some(&random_value())));
        assert!(!binding_matches(&subject, None));
        assert!(!binding_matches(&subject, Some("")));
    }
}
