//! `keycard-soak check HISTORY`: the binary reads a history file and exits 0 when it holds no violation,
//! 1 when it does (no service needed: the histories are written here). Also makes `cargo test` build the
//! binary that scripts/soak.sh runs, with the workspace's features.

use std::path::PathBuf;
use std::process::Command;

fn history(name: &str, lines: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keycard-soak-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("history.jsonl");
    std::fs::write(&path, lines.join("\n")).expect("write the history");
    path
}

fn check(path: &PathBuf) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keycard-soak"))
        .arg("check")
        .arg(path)
        .output()
        .expect("run keycard-soak check");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

const SIGN_IN: &str = r#"{"type":"op","id":1,"client":0,"kind":"sign_in","user":"a@soak.test","node":0,"start_us":0,"end_us":5000,"status":303,"result":"ok","as_user":"a@soak.test","creates":"s1"}"#;
const SIGN_OUT: &str = r#"{"type":"op","id":2,"client":0,"kind":"sign_out","user":"a@soak.test","session":"s1","node":1,"start_us":10000,"end_us":20000,"status":303,"result":"ok","ends":["s1"]}"#;

#[test]
fn a_clean_history_exits_0_and_a_revoked_session_served_late_exits_1() {
    let refused = r#"{"type":"op","id":3,"client":0,"kind":"me","user":"a@soak.test","session":"s1","node":0,"start_us":3000000,"end_us":3001000,"status":401,"result":"ok","anonymous":true}"#;
    let clean = history("clean", &[SIGN_IN, SIGN_OUT, refused]);
    let (code, out) = check(&clean);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("violations: 0"), "{out}");

    let served = r#"{"type":"op","id":3,"client":0,"kind":"me","user":"a@soak.test","session":"s1","node":0,"start_us":3000000,"end_us":3001000,"status":200,"result":"ok","as_user":"a@soak.test","version":1}"#;
    let broken = history("broken", &[SIGN_IN, SIGN_OUT, served]);
    let (code, out) = check(&broken);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("served-after-revocation 1"), "{out}");
}

#[test]
fn an_unreadable_history_exits_2() {
    let bad = history("bad", &["{not json"]);
    let (code, _) = check(&bad);
    assert_eq!(code, Some(2));
}
