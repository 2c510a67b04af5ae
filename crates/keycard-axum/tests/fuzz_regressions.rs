//! Replays `fuzz/regressions/cookie_header/` and `fuzz/regressions/csrf_token/`: every input a fuzz run crashed on (kept after the fix) and the seeds, through the
//! same check the fuzz target runs (`keycard_axum::__fuzz`).

#[test]
fn cookie_header_regressions() {
    keycard::__fuzz::replay(
        env!("CARGO_MANIFEST_DIR"),
        "cookie_header",
        keycard_axum::__fuzz::cookie_header,
    );
}

#[test]
fn csrf_token_regressions() {
    keycard::__fuzz::replay(
        env!("CARGO_MANIFEST_DIR"),
        "csrf_token",
        keycard_axum::__fuzz::csrf_token,
    );
}
