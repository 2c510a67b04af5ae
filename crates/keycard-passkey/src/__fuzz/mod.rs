//! The checks behind the fuzz targets `passkey_response` and `passkey_state` in `fuzz/` (feature
//! `fuzzing`; not a supported API).
//!
//! Each takes the fuzzer's raw bytes, so a crash input replays byte for byte in
//! `tests/fuzz_regressions.rs`. A check panics (an `assert!`) exactly when the code under test broke a
//! property; malformed input is not a failure. The fixtures (`fixtures.rs`, made by
//! `tests/fuzz_fixtures.rs`) are one relying party's ceremony states with fixed challenges, a stored
//! passkey and a software authenticator's answers, so an input can get through every check but the
//! signature.

mod fixtures;

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use webauthn_rs::prelude::{DiscoverableAuthentication, Url};
use webauthn_rs::Webauthn;

pub use keycard::__fuzz::replay;

use crate::ceremony::{CeremonyState, RegisterState, REGISTER, SECOND_STEP, SIGN_IN};
use crate::config::PasskeyConfig;
use crate::stored::StoredPasskey;
use crate::verify::{self, UserHandle};

struct Fixtures {
    webauthn: Webauthn,
    register: RegisterState,
    assert: DiscoverableAuthentication,
    stored: StoredPasskey,
    registration: Value,
    assertion: Value,
    /// The assertion's signed bytes: authenticator data, client data.
    signed: (Vec<u8>, Vec<u8>),
}

fn b64_field(v: &Value, name: &str) -> Vec<u8> {
    let s = v["response"][name].as_str().unwrap_or_default();
    URL_SAFE_NO_PAD.decode(s).unwrap_or_default()
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let origin = Url::parse("https://example.com").expect("the fixtures' origin");
        let assertion: Value = serde_json::from_str(fixtures::ASSERTION).expect("fixture");
        let signed = (
            b64_field(&assertion, "authenticatorData"),
            b64_field(&assertion, "clientDataJSON"),
        );
        Fixtures {
            webauthn: PasskeyConfig::new("example.com", "Example", origin)
                .build()
                .expect("the fixtures' relying party"),
            register: serde_json::from_str(fixtures::REGISTER_STATE).expect("fixture"),
            assert: serde_json::from_str(fixtures::ASSERT_STATE).expect("fixture"),
            stored: StoredPasskey::decode(fixtures::STORED.as_bytes()).expect("fixture"),
            registration: serde_json::from_str(fixtures::REGISTRATION).expect("fixture"),
            assertion,
            signed,
        }
    })
}

/// A registration answer: whatever verifies makes a credential that stores and reads back.
fn registration(f: &Fixtures, json: &str) {
    let Ok(response) = verify::parse_registration(json) else {
        return;
    };
    let Ok(passkey) = verify::finish_registration(&f.webauthn, &f.register, &response) else {
        return;
    };
    let stored = StoredPasskey::new(f.register.user_handle, passkey);
    let bytes = stored.encode().expect("a new credential serialises");
    let back = StoredPasskey::decode(&bytes).expect("a stored credential decodes");
    assert_eq!(back.passkey.cred_id(), stored.passkey.cred_id());
    assert_eq!(back.encode().expect("serialises"), bytes);
}

/// An assertion answer: it verifies only if it carries exactly the bytes the credential signed.
fn assertion(f: &Fixtures, json: &str) {
    let Ok(response) = verify::parse_assertion(json) else {
        return;
    };
    let result = verify::finish_assertion(
        &f.webauthn,
        f.assert.clone(),
        &response,
        &f.stored,
        UserHandle::Required,
    );
    if result.is_ok() {
        let signed = (
            response.response.authenticator_data.to_vec(),
            response.response.client_data_json.to_vec(),
        );
        assert!(
            signed == f.signed,
            "an assertion verified over bytes the credential never signed"
        );
    }
}

fn with_field(template: &Value, name: &str, bytes: &[u8]) -> String {
    let mut v = template.clone();
    v["response"][name] = Value::String(URL_SAFE_NO_PAD.encode(bytes));
    v.to_string()
}

/// Target `passkey_response`: the WebAuthn answers a browser posts, through the same parsing and
/// checks as the finish calls. The first byte picks what the rest is:
///
/// | byte % 5 | the rest is | property |
/// |---|---|---|
/// | 0 | a registration answer (JSON) | no panic; a credential that verifies stores and reads back |
/// | 1 | a sign-in answer (JSON) | no panic; it verifies only with the signed bytes of the fixture |
/// | 2 | the `clientDataJSON` of the fixture's sign-in answer | the same |
/// | 3 | the `attestationObject` of the fixture's registration answer | as 0 |
/// | 4 | the `authenticatorData` of the fixture's sign-in answer | as 1 |
pub fn passkey_response(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixtures();
    match mode % 5 {
        0 => registration(f, &String::from_utf8_lossy(rest)),
        1 => assertion(f, &String::from_utf8_lossy(rest)),
        2 => assertion(f, &with_field(&f.assertion, "clientDataJSON", rest)),
        3 => registration(f, &with_field(&f.registration, "attestationObject", rest)),
        _ => assertion(f, &with_field(&f.assertion, "authenticatorData", rest)),
    }
}

/// Target `passkey_state`: the two records this crate decodes from a store: a ceremony's payload (for
/// each purpose) and a stored passkey's data. No panic; whatever decodes encodes to bytes that decode
/// to the same encoding (one round trip reaches the canonical form); a stored passkey that decodes
/// keeps its credential id through the round trip. The fixtures' own records decode.
pub fn passkey_state(data: &[u8]) {
    for purpose in [REGISTER, SIGN_IN, SECOND_STEP] {
        if let Some(state) = CeremonyState::decode(purpose, data) {
            let once = state.encode().expect("a decoded state serialises");
            let again = CeremonyState::decode(purpose, &once).expect("its encoding decodes");
            assert_eq!(again.encode().expect("serialises"), once);
        }
    }
    if let Some(stored) = StoredPasskey::decode(data) {
        let once = stored.encode().expect("a decoded passkey serialises");
        let again = StoredPasskey::decode(&once).expect("its encoding decodes");
        assert_eq!(again.passkey.cred_id(), stored.passkey.cred_id());
        assert_eq!(again.user_handle, stored.user_handle);
        assert_eq!(again.encode().expect("serialises"), once);
    }
    let f = fixtures();
    let register = CeremonyState::Register(RegisterState {
        state: f.register.state.clone(),
        user_handle: f.register.user_handle,
    });
    let payload = register.encode().expect("serialises");
    assert!(CeremonyState::decode(REGISTER, &payload).is_some());
    assert!(
        CeremonyState::decode(SIGN_IN, &payload).is_none(),
        "a registration is no sign-in"
    );
}

/// Whether the fixtures' own answers verify (the replay test checks it, so the properties above are not
/// vacuous).
pub fn seeds_verify() -> bool {
    let f = fixtures();
    let registered = verify::parse_registration(fixtures::REGISTRATION)
        .and_then(|r| verify::finish_registration(&f.webauthn, &f.register, &r))
        .is_ok();
    let asserted = verify::parse_assertion(fixtures::ASSERTION)
        .and_then(|r| {
            verify::finish_assertion(
                &f.webauthn,
                f.assert.clone(),
                &r,
                &f.stored,
                UserHandle::Required,
            )
        })
        .is_ok();
    registered && asserted
}
