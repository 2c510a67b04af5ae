//! Replays `fuzz/regressions/session_cookie/`: every input a fuzz run crashed on (kept after the fix) and the seeds, through the
//! same check the fuzz target runs (`keycard::__fuzz`).

#[test]
fn session_cookie_regressions() {
    keycard::__fuzz::replay(
        env!("CARGO_MANIFEST_DIR"),
        "session_cookie",
        keycard::__fuzz::session_cookie,
    );
}

/// The seed the round trip starts from is a real cookie of the check's primary secret, so the replay goes
/// through the accepting branch of `decode` too.
#[test]
fn the_valid_cookie_seed_verifies() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/regressions/session_cookie/seed-valid-cookie"
    );
    let value = std::fs::read_to_string(path).expect("the seed is committed");
    let signer = keycard::CookieSigner::new(&[0x11; 64]).expect("a 64-byte secret");
    assert!(signer.decode(&value).is_ok());
}

/// Replays `fuzz/regressions/pending_login/` through the pending-login record check.
#[test]
fn pending_login_regressions() {
    keycard::__fuzz::replay(
        env!("CARGO_MANIFEST_DIR"),
        "pending_login",
        keycard::__fuzz::pending_login,
    );
}
