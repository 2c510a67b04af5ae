//! The real OpenID provider the suite signs in with: `scripts/oidc-provider/provider.mjs` (panva's
//! oidc-provider, pinned by its package-lock.json), one process per test binary, on a free loopback
//! port. It lives as long as this binary: its stdin is a pipe held here, and it exits when the pipe
//! closes. When node or the installed provider is missing, each test prints the kit's `SKIPPED` line and
//! passes (`scripts/oidc-provider.sh --install` installs it); with `KEYCARD_REQUIRE_SERVICES=1` that is
//! a failure.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The suite's name in the `SKIPPED` line.
pub const SUITE: &str = "oidc (real OpenID provider)";

/// The running provider.
#[derive(Debug, Clone)]
pub struct TestProvider {
    /// Its issuer: `http://127.0.0.1:PORT`.
    pub issuer: String,
}

struct Running {
    _child: Child,
    _stdin: ChildStdin,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/oidc-provider/provider.mjs")
}

fn start() -> Result<(TestProvider, Running), String> {
    let node = std::env::var("KEYCARD_TEST_NODE").unwrap_or_else(|_| "node".to_owned());
    let script = script();
    let modules = script.with_file_name("node_modules").join("oidc-provider");
    if !modules.is_dir() {
        return Err(format!(
            "the test provider is not installed ({} is missing): run scripts/oidc-provider.sh --install",
            modules.display()
        ));
    }
    let mut child = Command::new(&node)
        .arg(&script)
        .arg("0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {node:?} (Node.js 20.19 or later is needed): {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    // Its first line, read on a thread so a provider that never answers fails the wait, not the run.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| "the test provider did not start within 60 s".to_owned())?;
    let v: serde_json::Value = serde_json::from_str(line.trim())
        .map_err(|_| format!("the test provider said {line:?}, not its issuer"))?;
    let issuer = v["issuer"]
        .as_str()
        .ok_or("the test provider named no issuer")?
        .to_owned();
    Ok((
        TestProvider { issuer },
        Running {
            _child: child,
            _stdin: stdin,
        },
    ))
}

/// The provider, started on first use; `None` (after the skip line) when it cannot run.
pub fn provider() -> Option<TestProvider> {
    static STARTED: OnceLock<Result<TestProvider, String>> = OnceLock::new();
    static KEPT: Mutex<Option<Running>> = Mutex::new(None);
    let started = STARTED.get_or_init(|| {
        start().map(|(p, running)| {
            *KEPT.lock().unwrap_or_else(|e| e.into_inner()) = Some(running);
            p
        })
    });
    keycard_store_tests::skip::or_skip(SUITE, started.clone())
}

impl TestProvider {
    /// Change the next token response with an ID token for `sub` (`foreign_aud`, `nonce`,
    /// `unknown_key`, `issuer`, `expired`, `token_error`: see provider.mjs).
    pub async fn tamper(&self, sub: &str, mode: &str) {
        let res = reqwest::Client::new()
            .post(format!("{}/dev/tamper", self.issuer))
            .json(&serde_json::json!({ "sub": sub, "mode": mode }))
            .send()
            .await
            .expect("the provider's tamper hook");
        assert!(res.status().is_success(), "tamper: {}", res.status());
    }

    /// A new signing key, published and used from now on.
    pub async fn rotate(&self) {
        let res = reqwest::Client::new()
            .post(format!("{}/dev/rotate", self.issuer))
            .send()
            .await
            .expect("the provider's rotate hook");
        assert!(res.status().is_success(), "rotate: {}", res.status());
    }
}
