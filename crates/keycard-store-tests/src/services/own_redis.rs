//! [`OwnRedis`]: a `redis-server` of a test's own, for outages, hangs and memory limits that must not
//! disturb the shared server.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{random_hex, redis_reachable, redis_server_bin};
use crate::skip;

/// A `redis-server` child process on a free loopback port, without persistence (`--save ''
/// --appendonly no`, its own temporary `--dir`). Killed (and waited for) on drop, so a failing or
/// timed-out test leaves nothing running.
#[derive(Debug)]
pub struct OwnRedis {
    /// The loopback port it listens on.
    pub port: u16,
    extra_args: Vec<String>,
    child: Option<Child>,
    dir: PathBuf,
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

impl OwnRedis {
    /// Start one with `extra_args` (e.g. `["--maxmemory-policy", "volatile-lru"]`), or apply the
    /// [skip rule](crate::skip) for `suite` (no `redis-server` binary, or it does not come up) and return
    /// `None`.
    ///
    /// # Panics
    /// When it cannot start and `KEYCARD_REQUIRE_SERVICES=1`.
    pub async fn start_or_skip(suite: &str, extra_args: &[&str]) -> Option<OwnRedis> {
        let started = Self::start(extra_args).await.map_err(|e| {
            format!(
                "cannot run {} ({e}); install redis-server or set KEYCARD_TEST_REDIS_SERVER",
                redis_server_bin()
            )
        });
        skip::or_skip(suite, started)
    }

    async fn start(extra_args: &[&str]) -> Result<OwnRedis, String> {
        let dir = std::env::temp_dir().join(format!("keycard-own-redis-{}", random_hex(6)));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut r = OwnRedis {
            port: 0,
            extra_args: extra_args.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
            dir,
        };
        let mut last_error = String::new();
        // A port can be taken between choosing it and redis-server binding it: try a few.
        for _ in 0..3 {
            r.port = free_port()?;
            match r.spawn().await {
                Ok(()) => return Ok(r),
                Err(e) => last_error = e,
            }
        }
        Err(last_error) // dropping `r` removes the directory
    }

    async fn spawn(&mut self) -> Result<(), String> {
        let child = Command::new(redis_server_bin())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(&self.extra_args)
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        self.child = Some(child);
        for _ in 0..100 {
            if redis_reachable(&self.url()).await.is_ok() {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                return Err(format!("it exited: {status}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.kill();
        Err("it did not answer PING within 5 s".into())
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL (an abrupt outage; everything in it is lost) and wait until it is gone. Works on a paused
    /// server too.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start it again on the same port (empty: there is no persistence).
    ///
    /// # Panics
    /// If it does not come back.
    pub async fn restart(&mut self) {
        if let Err(e) = self.spawn().await {
            panic!("restart redis-server on port {}: {e}", self.port);
        }
    }

    /// SIGSTOP: it hangs with its connections open (a hung server, not a dead one).
    ///
    /// # Panics
    /// If it is not running or the signal cannot be sent.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT: a paused server resumes.
    ///
    /// # Panics
    /// If it is not running or the signal cannot be sent.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("redis-server is running").id();
        let status = Command::new("kill")
            .arg(sig)
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {sig} {pid}");
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
