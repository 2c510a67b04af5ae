//! The processes a run starts: the servers under test (this binary, `server --kind …`) and the one-shot
//! measurements (`store-scale`, `put-user`, `layer-cost`, each printing one `BENCHJSON` line). Each dies
//! with the driver (`PR_SET_PDEATHSIG`) and within a time limit.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::redis::KEYCARD_PREFIX;

/// Kills every server it started when dropped.
#[derive(Default)]
pub struct Children(pub Vec<(String, Child)>);

impl Drop for Children {
    fn drop(&mut self) {
        for (_, c) in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// CPU time (user + system, all threads) a process has used so far, in microseconds.
pub fn proc_cpu_us(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is the 1st, utime the 12th, stime the 13th.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| ticks as f64 * 1e6 / hz as f64)
}

pub fn die_with_parent(cmd: &mut Command) -> &mut Command {
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec here.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("bind: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local_addr: {e}"))
}

#[allow(clippy::too_many_arguments)]
pub fn spawn_server(
    children: &mut Children,
    exe: &Path,
    kind: &str,
    name: &str,
    db: &Path,
    redis_url: &str,
    work: &Path,
    extra: &[&str],
) -> Result<u16, String> {
    let port = free_port()?;
    let log = std::fs::File::create(work.join(format!("{name}.log")))
        .map_err(|e| format!("log file: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.args(["server", "--kind", kind, "--port", &port.to_string()])
        .arg("--db")
        .arg(db)
        .args(["--redis-url", redis_url, "--redis-prefix", KEYCARD_PREFIX])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    cmd.args(extra);
    let child = die_with_parent(&mut cmd)
        .spawn()
        .map_err(|e| format!("start {kind}: {e}"))?;
    children.0.push((name.to_owned(), child));
    Ok(port)
}

pub fn wait_ready(children: &mut Children, kind: &str, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(());
        }
        for (name, c) in &mut children.0 {
            if let Ok(Some(status)) = c.try_wait() {
                return Err(format!(
                    "server {name} exited ({status}); see its log in the work dir"
                ));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{kind} did not listen on {port} within 30 s"))
}

pub fn run_json(exe: &Path, args: &[&str], limit: Duration) -> Result<serde_json::Value, String> {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = die_with_parent(&mut cmd)
        .spawn()
        .map_err(|e| format!("{args:?}: {e}"))?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{args:?} took longer than {limit:?}; killed"));
            }
            Err(e) => return Err(format!("{args:?}: {e}")),
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{args:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCHJSON "))
        .ok_or_else(|| {
            format!(
                "{args:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })?;
    serde_json::from_str(line).map_err(|e| format!("{args:?}: {e}"))
}
