//! Child processes for the multi-process tests: the built `keycard-demo` binary as an app node (killed and
//! waited for on drop, so a failing or timed-out test leaves nothing running), and a `redis-server` of a
//! test's own (the test kit's `OwnRedis`).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[allow(unused_imports)] // not every test binary starts a server
pub use keycard_store_tests::services::OwnRedis;

/// Every setting the binary reads: cleared before a node starts, so the test's environment never leaks in.
pub const SETTINGS: [&str; 21] = [
    "KEYCARD_ADDR",
    "DATABASE_URL",
    "CACHE_URL",
    "CACHE_KEY_PREFIX",
    "CACHE_NEAR",
    "SECRET_KEY",
    "SESSION_IDLE_SECS",
    "SESSION_RENEWAL_SECS",
    "SESSION_GRACE_SECS",
    "SESSION_ABSOLUTE_SECS",
    "CLIENT_IP_SOURCE",
    "COOKIE_SECURE",
    "PUBLIC_ORIGIN",
    "TRIAL_SECS",
    "PLAN_JOB_INTERVAL_SECS",
    "RUST_LOG",
    "OIDC_ISSUER",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "OIDC_NAME",
    "OIDC_TRUST_EMAIL",
];

/// Debug logs from the crates that handle cookies and sessions, so the "no secret in a log" checks look at
/// everything they could print.
pub const NODE_LOG_FILTER: &str = "info,keycard=debug,keycard_axum=debug,keycard_demo=debug";

/// The demo binary with a clean environment, run in `dir`, with `env` set.
pub fn demo_command(dir: &Path, env: &[(&str, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keycard-demo"));
    c.current_dir(dir);
    for s in SETTINGS {
        c.env_remove(s);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// A running `keycard-demo serve`, listening on a loopback port the OS chose (`KEYCARD_ADDR=127.0.0.1:0`;
/// the address is read from its "listening on" log line, so two nodes never race for a port).
pub struct Node {
    pub name: String,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    child: Option<Child>,
    log: Arc<Mutex<String>>,
}

impl Node {
    /// Start a node and wait (at most 60 s) until it listens. Panics with its log if it exits or never
    /// listens.
    pub async fn start(name: &str, dir: &Path, env: &[(&str, String)]) -> Node {
        let mut env = env.to_vec();
        env.push(("KEYCARD_ADDR", "127.0.0.1:0".to_owned()));
        if !env.iter().any(|(k, _)| *k == "RUST_LOG") {
            env.push(("RUST_LOG", NODE_LOG_FILTER.to_owned()));
        }
        let mut child = demo_command(dir, &env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the keycard-demo binary");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap_or_else(|p| p.into_inner());
                l.push_str(&line);
                l.push('\n');
            }
        });
        let mut node = Node {
            name: name.to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            base: String::new(),
            child: Some(child),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(addr) = node
                .log()
                .split("listening on http://")
                .nth(1)
                .and_then(|rest| {
                    rest.split('/')
                        .next()
                        .and_then(|a| a.parse::<SocketAddr>().ok())
                })
            {
                node.addr = addr;
                node.base = format!("http://{addr}");
                return node;
            }
            if let Some(status) = node
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "node {name} exited ({status}) before listening; its log:\n{}",
                    node.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "node {name} did not listen within 60 s; its log:\n{}",
                node.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Everything it logged so far (stderr).
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Assert none of `secrets` appears in the log (tokens, cookie values, passwords, keys).
    pub fn assert_log_never_contains(&self, secrets: &[&str]) {
        let log = self.log();
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            assert!(
                !log.contains(s),
                "node {}'s log contains a secret ({}…); log:\n{log}",
                self.name,
                s.chars().take(6).collect::<String>()
            );
        }
    }

    /// Send `signal` (`TERM`, `KILL`) and wait (at most 60 s) for the process to exit; returns how it
    /// exited. The node is gone afterwards; start a new one on the same directory to restart it.
    pub fn stop(&mut self, signal: &str) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("the node is running");
        let _ = Command::new("kill")
            .args(["-s", signal, &c.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("node {} did not exit within 60 s of SIG{signal}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            // Captured by libtest and shown with the failure.
            eprintln!("----- log of node {} -----\n{}", self.name, self.log());
        }
    }
}
