//! Fuzz target `csrf_token`: the masked CSRF token check (keycard-axum). The properties are in `keycard_axum::__fuzz::csrf_token`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keycard_axum::__fuzz::csrf_token(data));
