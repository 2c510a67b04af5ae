//! Fuzz target `cookie_header`: the session cookie lookup in Cookie headers (keycard-axum) and the signature check after it. The properties are in `keycard_axum::__fuzz::cookie_header`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keycard_axum::__fuzz::cookie_header(data));
