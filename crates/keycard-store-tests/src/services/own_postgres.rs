//! [`OwnPostgres`]: a PostgreSQL server of a test's own (initdb in a temporary directory, a free loopback
//! port), which the test can stop, pause and start again without disturbing the shared server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::random_hex;
use crate::skip;

/// The directory holding `initdb`, `pg_ctl` and `postgres` (`KEYCARD_TEST_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin`).
fn pg_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("KEYCARD_TEST_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// Run `program args…` as the `postgres` user when we are root (PostgreSQL refuses to run as root).
fn as_server_user(program: &Path) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A PostgreSQL server of a test's own (`trust` authentication, `fsync=off`, its own temporary data
/// directory), found through `KEYCARD_TEST_PG_BIN` or the newest `/usr/lib/postgresql/*/bin`; run as the
/// `postgres` user when the tests run as root. Stopped and deleted on drop.
#[derive(Debug)]
pub struct OwnPostgres {
    bin: PathBuf,
    dir: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl OwnPostgres {
    /// initdb and start one, or apply the [skip rule](crate::skip) for `suite` and return `None`.
    ///
    /// # Panics
    /// When it cannot start and `KEYCARD_REQUIRE_SERVICES=1`.
    pub fn start_or_skip(suite: &str) -> Option<OwnPostgres> {
        skip::or_skip(suite, Self::start())
    }

    /// initdb + start, or the reason it cannot run here.
    pub fn start() -> Result<OwnPostgres, String> {
        let bin = pg_bin().ok_or("no PostgreSQL binaries (set KEYCARD_TEST_PG_BIN)")?;
        let dir = std::env::temp_dir().join(format!("keycard-own-pg-{}", random_hex(6)));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let _ = Command::new("chown").arg("postgres").arg(&dir).status();
        let out = as_server_user(&bin.join("initdb"))
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync"])
            .stdout(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let pg = OwnPostgres {
            bin,
            dir,
            port: free_port(),
        };
        pg.resume_server()?;
        Ok(pg)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let out = as_server_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-o", &opts, "-l"])
            .arg(self.dir.join("log"))
            .args(args)
            .stdout(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Start (again), waiting until it accepts connections (`pg_ctl -w`, bounded to 60 s).
    pub fn resume_server(&self) -> Result<(), String> {
        self.pg_ctl(&["-w", "-t", "60", "start"])
    }

    /// Stop at once (`-m immediate`: like a crash, committed data stays).
    pub fn stop(&self) {
        let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
    }

    /// The server's processes (postmaster and its children), for SIGSTOP/SIGCONT.
    fn pids(&self) -> Vec<String> {
        let pidfile = self.dir.join("data").join("postmaster.pid");
        let Some(main) = std::fs::read_to_string(pidfile)
            .ok()
            .and_then(|s| s.lines().next().map(str::to_owned))
        else {
            return Vec::new();
        };
        let children = Command::new("pgrep")
            .args(["-P", &main])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        std::iter::once(main)
            .chain(children.lines().map(str::to_owned))
            .collect()
    }

    /// Freeze every server process (a hung database: connections stay open, nothing answers).
    pub fn pause(&self) {
        for pid in self.pids() {
            let _ = Command::new("kill").args(["-STOP", &pid]).status();
        }
    }

    /// Unfreeze.
    pub fn unpause(&self) {
        for pid in self.pids() {
            let _ = Command::new("kill").args(["-CONT", &pid]).status();
        }
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.unpause();
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
        // Give the stopped server's sockets a moment before the port may be reused.
        std::thread::sleep(Duration::from_millis(10));
    }
}
