//! Fuzz target `passkey_state`: keycard-passkey's records from a store (a ceremony's one-time payload, a stored passkey). The properties are in `keycard_passkey::__fuzz::passkey_state`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keycard_passkey::__fuzz::passkey_state(data));
