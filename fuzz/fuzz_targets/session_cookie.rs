//! Fuzz target `session_cookie`: the session cookie value decoder (keycard::CookieSigner::decode) and its round trip. The properties are in `keycard::__fuzz::session_cookie`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keycard::__fuzz::session_cookie(data));
