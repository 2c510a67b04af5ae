//! Fuzz target `pending_login`: the record a second-factor challenge carries (keycard::factor::Pending's decoder) and its round trip. The properties are in `keycard::__fuzz::pending_login`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keycard::__fuzz::pending_login(data));
