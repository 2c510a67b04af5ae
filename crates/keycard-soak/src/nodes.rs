//! The app nodes: `keycard-demo` processes on fixed loopback ports (chosen once, so a node restarted
//! after a SIGKILL comes back where the clients look for it), each logging to a file of its own.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// How long a node may take to answer `/healthz` after it starts.
const START_LIMIT: Duration = Duration::from_secs(60);

/// A node that did not come up.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Spawning or its log file.
    #[error("node {node}: {source}")]
    Io {
        /// Which node.
        node: usize,
        /// Why.
        source: std::io::Error,
    },
    /// It exited or never answered.
    #[error("node {node} did not come up within {START_LIMIT:?} (see {log})")]
    NotUp {
        /// Which node.
        node: usize,
        /// Its log file.
        log: String,
    },
}

/// How every node is started.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// The demo binary.
    pub binary: PathBuf,
    /// Its settings (the same for every node: shared stores, shared secret).
    pub env: Vec<(String, String)>,
    /// Where the logs go (and the working directory).
    pub dir: PathBuf,
}

/// One node.
#[derive(Debug)]
pub struct Node {
    /// Its index.
    pub index: usize,
    /// Its address.
    pub addr: SocketAddr,
    child: Option<Child>,
    starts: u32,
}

/// A loopback port nobody listens on now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Node {
    /// Node `index` on `port` (not started).
    pub fn new(index: usize, port: u16) -> Node {
        Node {
            index,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: None,
            starts: 0,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    fn log_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("node{}.{}.log", self.index, self.starts))
    }

    /// Start it and wait until `/healthz` answers.
    pub async fn start(&mut self, spec: &NodeSpec) -> Result<(), NodeError> {
        self.starts += 1;
        let io = |source| NodeError::Io {
            node: self.index,
            source,
        };
        let log = self.log_path(&spec.dir);
        let file = std::fs::File::create(&log).map_err(io)?;
        let child = Command::new(&spec.binary)
            .current_dir(&spec.dir)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("KEYCARD_ADDR", self.addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(file))
            .kill_on_drop(true)
            .spawn()
            .map_err(io)?;
        self.child = Some(child);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| io(std::io::Error::other(e)))?;
        let deadline = Instant::now() + START_LIMIT;
        let url = format!("{}/healthz", self.base());
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                break; // exited
            }
            if matches!(client.get(&url).send().await, Ok(r) if r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(NodeError::NotUp {
            node: self.index,
            log: log.display().to_string(),
        })
    }

    /// SIGKILL it and reap it.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// Its resident memory (`VmRSS`), KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}
