//! Makes the fuzz checks' fixtures (`src/__fuzz/fixtures.rs`: a relying party's ceremony states, a
//! stored passkey, the answers of a software authenticator to both ceremonies) and the targets' seeds
//! (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`). Run once, by hand, when they must change:
//!
//! ```sh
//! cargo test -p keycard-passkey --test fuzz_fixtures -- --ignored
//! ```

mod common;

use std::path::Path;

use serde_json::Value;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid};
use webauthn_rs::WebauthnBuilder;

use common::SoftAuthenticator;

const USER_HANDLE: [u8; 16] = [0x11; 16];

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
}

fn seed(target: &str, name: &str, bytes: &[u8]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    for dir in ["corpus", "regressions"] {
        write(&root.join(dir).join(target).join(name), bytes);
    }
}

fn raw(s: &str) -> String {
    format!("r#\"{s}\"#")
}

#[test]
#[ignore = "writes the fuzz fixtures and seeds; run by hand"]
fn write_fuzz_fixtures() {
    let origin = Url::parse(common::ORIGIN).unwrap();
    let webauthn = WebauthnBuilder::new(common::RP_ID, &origin)
        .unwrap()
        .build()
        .unwrap();
    let mut phone = SoftAuthenticator::synced(common::ORIGIN);

    let handle = Uuid::from_bytes(USER_HANDLE);
    let (ccr, reg_state) = webauthn
        .start_passkey_registration(handle, "ann@example.com", "Ann", None)
        .unwrap();
    let registration = phone
        .register(&serde_json::to_value(&ccr).unwrap())
        .unwrap();
    let parsed: RegisterPublicKeyCredential = serde_json::from_str(&registration).unwrap();
    let passkey = webauthn
        .finish_passkey_registration(&parsed, &reg_state)
        .unwrap();

    let (rcr, auth_state) = webauthn.start_discoverable_authentication().unwrap();
    let assertion = phone.assert(&serde_json::to_value(&rcr).unwrap()).unwrap();
    let parsed: PublicKeyCredential = serde_json::from_str(&assertion).unwrap();
    webauthn
        .finish_discoverable_authentication_v2(&parsed, auth_state.clone(), &passkey)
        .expect("the fixture assertion verifies");

    let stored = serde_json::json!({ "v": 1, "user_handle": handle, "passkey": passkey });
    let register_state = serde_json::json!({ "state": reg_state, "user_handle": handle });
    let fixtures = format!(
        "//! The fuzz checks' fixtures, made by `tests/fuzz_fixtures.rs` (do not edit): one relying party's\n\
         //! ceremony states (their challenges fixed here), a stored passkey, and a software authenticator's\n\
         //! answers to both ceremonies.\n\n\
         /// A registration's state (`ceremony::RegisterState` as JSON).\n\
         pub(super) const REGISTER_STATE: &str = {};\n\n\
         /// The authenticator's answer to that registration.\n\
         pub(super) const REGISTRATION: &str = {};\n\n\
         /// A sign-in's state (`DiscoverableAuthentication` as JSON).\n\
         pub(super) const ASSERT_STATE: &str = {};\n\n\
         /// The credential that registration made, stored (`StoredPasskey` as JSON).\n\
         pub(super) const STORED: &str = {};\n\n\
         /// The authenticator's answer to that sign-in, signed by the stored credential.\n\
         pub(super) const ASSERTION: &str = {};\n",
        raw(&register_state.to_string()),
        raw(&registration),
        raw(&serde_json::to_string(&auth_state).unwrap()),
        raw(&stored.to_string()),
        raw(&assertion),
    );
    write(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/__fuzz/fixtures.rs"),
        fixtures.as_bytes(),
    );

    // passkey_response: a mode byte, then the bytes that mode feeds (see `__fuzz::passkey_response`).
    let field = |json: &str, path: &[&str]| -> Vec<u8> {
        let v: Value = serde_json::from_str(json).unwrap();
        let s = path
            .iter()
            .fold(&v, |v, k| &v[*k])
            .as_str()
            .unwrap()
            .to_owned();
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap()
    };
    let with_mode = |mode: u8, bytes: &[u8]| [&[mode][..], bytes].concat();
    seed(
        "passkey_response",
        "seed-registration",
        &with_mode(0, registration.as_bytes()),
    );
    seed(
        "passkey_response",
        "seed-assertion",
        &with_mode(1, assertion.as_bytes()),
    );
    let client_data = field(&assertion, &["response", "clientDataJSON"]);
    seed(
        "passkey_response",
        "seed-client-data",
        &with_mode(2, &client_data),
    );
    let attestation = field(&registration, &["response", "attestationObject"]);
    seed(
        "passkey_response",
        "seed-attestation-object",
        &with_mode(3, &attestation),
    );
    let auth_data = field(&assertion, &["response", "authenticatorData"]);
    seed(
        "passkey_response",
        "seed-authenticator-data",
        &with_mode(4, &auth_data),
    );
    let mut noise = [0u8; 64];
    getrandom::getrandom(&mut noise).unwrap();
    seed("passkey_response", "seed-random-bytes", &noise);

    // passkey_state: a ceremony record's payload, or a stored passkey's data.
    let mut payload = vec![1u8, 1];
    payload.extend(register_state.to_string().as_bytes());
    seed("passkey_state", "seed-register-state", &payload);
    let mut payload = vec![1u8, 2];
    payload.extend(serde_json::to_vec(&auth_state).unwrap());
    seed("passkey_state", "seed-assert-state", &payload);
    seed(
        "passkey_state",
        "seed-stored-passkey",
        stored.to_string().as_bytes(),
    );
    seed("passkey_state", "seed-random-bytes", &noise);
}
