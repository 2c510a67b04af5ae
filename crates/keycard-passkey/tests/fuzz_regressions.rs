//! Replays `fuzz/regressions/passkey_response/` and `fuzz/regressions/passkey_state/`: every input a
//! fuzz run crashed on (kept after the fix) and the seeds, through the same checks the fuzz targets run
//! (`keycard_passkey::__fuzz`).

#[test]
fn passkey_response_regressions() {
    keycard_passkey::__fuzz::replay(
        env!("CARGO_MANIFEST_DIR"),
        "passkey_response",
        keycard_passkey::__fuzz::passkey_response,
    );
}

#[test]
fn passkey_state_regressions() {
    keycard_passkey::__fuzz::replay(
        env!("CARGO_MANIFEST_DIR"),
        "passkey_state",
        keycard_passkey::__fuzz::passkey_state,
    );
}

/// The seeds reach the accepting branches: the fixture's sign-in answer verifies (so the check's
/// "only the signed bytes" property is exercised, not vacuous), and its registration answer too.
#[test]
fn the_seed_answers_verify() {
    assert!(keycard_passkey::__fuzz::seeds_verify());
}
