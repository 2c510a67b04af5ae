//! Fuzz target `passkey_response`: a browser's WebAuthn answers (registration and sign-in JSON, client data, attestation object, authenticator data) through keycard-passkey's parsing and webauthn-rs' checks. The properties are in `keycard_passkey::__fuzz::passkey_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keycard_passkey::__fuzz::passkey_response(data));
