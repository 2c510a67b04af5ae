//! [`OwnSmtp`]: a real SMTP server of a test's own (Python's aiosmtpd), and what it received.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::smtp_message::SinkMessage;
use super::{env_or, random_hex};
use crate::skip;

/// The sink script, written next to the messages when a sink starts (so the published kit needs no
/// file outside its sources).
const SINK_SCRIPT: &str = include_str!("smtp_sink.py");

/// The Python that runs the sink (`KEYCARD_TEST_PYTHON`, default `python3`).
pub fn python_bin() -> String {
    env_or("KEYCARD_TEST_PYTHON", "python3")
}

/// How an [`OwnSmtp`] is set up: login, TLS, refused recipients. Plain SMTP with no login by default.
#[derive(Debug, Clone, Default)]
pub struct SmtpSinkOptions {
    auth: Option<(String, String)>,
    tls: SinkTls,
    refuse: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum SinkTls {
    #[default]
    None,
    StartTls(PathBuf, PathBuf),
    Implicit(PathBuf, PathBuf),
}

impl SmtpSinkOptions {
    /// Plain SMTP, no login, every recipient accepted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Require `AUTH` (PLAIN or LOGIN) with this user and password; anything else gets 535, and mail
    /// without a login 530. Over plain SMTP the sink offers `AUTH` in the clear (it is on loopback).
    #[must_use]
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Require `STARTTLS` before anything else (and before `AUTH`), with this certificate chain and key
    /// (PEM files). [`OwnSmtp::url`] then starts with `smtp+starttls://`.
    #[must_use]
    pub fn starttls(mut self, cert: &Path, key: &Path) -> Self {
        self.tls = SinkTls::StartTls(cert.to_owned(), key.to_owned());
        self
    }

    /// TLS from the first byte (implicit TLS), with this certificate chain and key (PEM files).
    /// [`OwnSmtp::url`] then starts with `smtps://`.
    #[must_use]
    pub fn implicit_tls(mut self, cert: &Path, key: &Path) -> Self {
        self.tls = SinkTls::Implicit(cert.to_owned(), key.to_owned());
        self
    }

    /// Answer `RCPT TO:<address>` with `550 5.1.1` (a permanent refusal).
    #[must_use]
    pub fn refuse(mut self, address: &str) -> Self {
        self.refuse.push(address.to_owned());
        self
    }
}

/// A real SMTP server on a free loopback port: Python's `aiosmtpd` running a small sink script (kept in
/// this crate), as a child process killed (and waited for) on drop, so a failing or timed-out test
/// leaves nothing running (the script also exits when its parent does).
///
/// Every message it accepts is saved to a file of its own; [`messages`](OwnSmtp::messages) reads them
/// back parsed ([`SinkMessage`]: envelope, headers, the text and HTML parts decoded) and
/// [`wait_for`](OwnSmtp::wait_for) waits for one to an address. When `python3` or `aiosmtpd` is missing
/// it follows the [skip rule](crate::skip); `scripts/smtp-sink.sh` installs aiosmtpd (pinned).
///
/// ```no_run
/// # async fn t() {
/// use std::time::Duration;
/// use keycard_store_tests::services::{OwnSmtp, SmtpSinkOptions};
///
/// let Some(sink) = OwnSmtp::start_or_skip("mail_plain", SmtpSinkOptions::new()).await else {
///     return; // skipped, and said so
/// };
/// // … send to `sink.url()` (smtp://127.0.0.1:PORT) …
/// let mail = sink.wait_for("ada@example.com", Duration::from_secs(10)).await.expect("delivered");
/// assert!(mail.text.unwrap_or_default().contains("https://"));
/// # }
/// ```
#[derive(Debug)]
pub struct OwnSmtp {
    /// The loopback port it listens on.
    pub port: u16,
    options: SmtpSinkOptions,
    child: Option<Child>,
    dir: PathBuf,
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

impl OwnSmtp {
    /// Start one, or apply the [skip rule](crate::skip) for `suite` (no `python3`, no `aiosmtpd`, or it
    /// does not come up) and return `None`.
    ///
    /// # Panics
    /// When it cannot start and `KEYCARD_REQUIRE_SERVICES=1`.
    pub async fn start_or_skip(suite: &str, options: SmtpSinkOptions) -> Option<OwnSmtp> {
        let started = Self::start(options).await.map_err(|e| {
            format!(
                "cannot run the aiosmtpd SMTP sink with {} ({e}); scripts/smtp-sink.sh installs aiosmtpd",
                python_bin()
            )
        });
        skip::or_skip(suite, started)
    }

    async fn start(options: SmtpSinkOptions) -> Result<OwnSmtp, String> {
        let dir = std::env::temp_dir().join(format!("keycard-own-smtp-{}", random_hex(6)));
        std::fs::create_dir_all(dir.join("mail"))
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        std::fs::write(dir.join("sink.py"), SINK_SCRIPT)
            .map_err(|e| format!("cannot write the sink script: {e}"))?;
        let mut sink = OwnSmtp {
            port: 0,
            options,
            child: None,
            dir,
        };
        let mut last_error = String::new();
        // A port can be taken between choosing it and the sink binding it: try a few.
        for _ in 0..3 {
            sink.port = free_port()?;
            match sink.spawn().await {
                Ok(()) => return Ok(sink),
                Err(e) if e.contains("aiosmtpd") => return Err(e), // missing: no point retrying
                Err(e) => last_error = e,
            }
        }
        Err(last_error) // dropping `sink` removes the directory
    }

    async fn spawn(&mut self) -> Result<(), String> {
        let ready = self.dir.join("mail").join("ready");
        let _ = std::fs::remove_file(&ready);
        let log = std::fs::File::create(self.dir.join("sink.log"))
            .map_err(|e| format!("cannot create the sink's log: {e}"))?;
        let mut cmd = Command::new(python_bin());
        cmd.arg(self.dir.join("sink.py"))
            .args(["--port", &self.port.to_string()])
            .arg("--out")
            .arg(self.dir.join("mail"));
        if let Some((user, password)) = &self.options.auth {
            cmd.args(["--auth-user", user, "--auth-password", password]);
        }
        match &self.options.tls {
            SinkTls::None => {}
            SinkTls::StartTls(cert, key) | SinkTls::Implicit(cert, key) => {
                let flag = match self.options.tls {
                    SinkTls::StartTls(..) => "--starttls",
                    _ => "--tls",
                };
                cmd.arg(flag).arg("--cert").arg(cert).arg("--key").arg(key);
            }
        }
        for address in &self.options.refuse {
            cmd.args(["--refuse", address]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", python_bin()))?;
        self.child = Some(child);
        // Up to 30 s: a loaded 2-core machine may take a while to start Python.
        for _ in 0..600 {
            if ready.is_file() {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                let log = std::fs::read_to_string(self.dir.join("sink.log")).unwrap_or_default();
                let last = log.lines().last().unwrap_or("").trim().to_owned();
                return Err(if status.code() == Some(3) {
                    last // "cannot import aiosmtpd (…)"
                } else {
                    format!("the sink exited ({status}): {last}")
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.kill();
        Err("the sink did not come up within 30 s".into())
    }

    /// The URL to send to: `smtp://127.0.0.1:PORT`, `smtp+starttls://…` or `smtps://…` as set up (no
    /// credentials in it).
    pub fn url(&self) -> String {
        let scheme = match self.options.tls {
            SinkTls::None => "smtp",
            SinkTls::StartTls(..) => "smtp+starttls",
            SinkTls::Implicit(..) => "smtps",
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in order, parsed.
    ///
    /// # Panics
    /// If a saved message cannot be read (the sink's directory was removed under it).
    pub fn messages(&self) -> Vec<SinkMessage> {
        let dir = self.dir.join("mail");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| n.ends_with(".eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|name| {
                let raw = std::fs::read(dir.join(name))
                    .unwrap_or_else(|e| panic!("read {name} from the SMTP sink: {e}"));
                let envelope = std::fs::read_to_string(dir.join(name.replace(".eml", ".env")))
                    .unwrap_or_default();
                SinkMessage::parse(raw, &envelope)
            })
            .collect()
    }

    /// The messages received for `address` (an envelope recipient, compared without regard to case).
    pub fn messages_for(&self, address: &str) -> Vec<SinkMessage> {
        self.messages()
            .into_iter()
            .filter(|m| m.is_for(address))
            .collect()
    }

    /// Wait (polling, for at most `timeout`) until a message for `address` has arrived, and return the
    /// newest one; `None` if none came in time.
    pub async fn wait_for(&self, address: &str, timeout: Duration) -> Option<SinkMessage> {
        self.wait_for_nth(address, 1, timeout)
            .await
            .and_then(|_| self.messages_for(address).pop())
    }

    /// Wait (polling, for at most `timeout`) until `n` messages for `address` have arrived, and return the
    /// `n`th (from 1); `None` if they did not all come in time.
    pub async fn wait_for_nth(
        &self,
        address: &str,
        n: usize,
        timeout: Duration,
    ) -> Option<SinkMessage> {
        let started = Instant::now();
        loop {
            let mut found = self.messages_for(address);
            if found.len() >= n.max(1) {
                return Some(found.swap_remove(n.max(1) - 1));
            }
            if started.elapsed() >= timeout {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL the server and wait until it is gone (an outage: connections are refused). The messages
    /// received so far stay readable.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start it again on the same port, with the same options.
    ///
    /// # Panics
    /// If it does not come back.
    pub async fn restart(&mut self) {
        if let Err(e) = self.spawn().await {
            panic!("restart the SMTP sink on port {}: {e}", self.port);
        }
    }
}

impl Drop for OwnSmtp {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
