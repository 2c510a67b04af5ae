//! The run's own Redis Cluster (3 masters, 3 replicas on ports 7100-7105 by default, never CI's
//! 7000-7005), started and stopped by `scripts/redis-cluster.sh` with its port and directory settings,
//! and the master-kill fault: SIGKILL a master, wait for its replica to take over, start the killed
//! node again (it rejoins as a replica).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::redis::command;

/// How long a failover may take (cluster-node-timeout is 2 s).
const FAILOVER_LIMIT: Duration = Duration::from_secs(30);

/// The run's cluster.
#[derive(Debug)]
pub struct OwnCluster {
    /// The first port (six in a row).
    pub base: u16,
    dir: PathBuf,
    script: PathBuf,
}

impl OwnCluster {
    /// Start it with `script` (scripts/redis-cluster.sh) on `base..base+5`, its data in `dir`.
    pub async fn start(script: &Path, base: u16, dir: &Path) -> Result<OwnCluster, String> {
        let cluster = OwnCluster {
            base,
            dir: dir.to_owned(),
            script: script.to_owned(),
        };
        cluster.script("start").await?;
        Ok(cluster)
    }

    async fn script(&self, verb: &str) -> Result<(), String> {
        let out = tokio::process::Command::new("bash")
            .arg(&self.script)
            .arg(verb)
            .env("KEYCARD_CLUSTER_BASE_PORT", self.base.to_string())
            .env("KEYCARD_CLUSTER_DIR", &self.dir)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| format!("{}: {e}", self.script.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "redis-cluster.sh {verb}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// `redis+cluster://` with the first three nodes.
    pub fn url(&self) -> String {
        let b = self.base;
        format!(
            "redis+cluster://127.0.0.1:{b},127.0.0.1:{},127.0.0.1:{}",
            b + 1,
            b + 2
        )
    }

    /// Every port.
    pub fn ports(&self) -> Vec<u16> {
        (0..6).map(|i| self.base + i).collect()
    }

    /// The ports of the current masters (as a live node sees them).
    pub async fn masters(&self) -> Vec<u16> {
        for port in self.ports() {
            if let Ok(nodes) = command(port, &["CLUSTER", "NODES"]).await {
                return nodes
                    .lines()
                    .filter(|l| l.contains("master") && !l.contains("fail"))
                    .filter_map(|l| l.split_whitespace().nth(1))
                    .filter_map(|a| a.split('@').next()?.rsplit(':').next()?.parse().ok())
                    .collect();
            }
        }
        Vec::new()
    }

    /// Whether every node answers and reports `cluster_state:ok`.
    async fn healthy(&self) -> bool {
        for port in self.ports() {
            match command(port, &["CLUSTER", "INFO"]).await {
                Ok(info) if info.contains("cluster_state:ok") => {}
                _ => return false,
            }
        }
        true
    }

    /// SIGKILL the master on `port`, wait for the failover, start it again and wait until the cluster
    /// is whole. What happened, in words.
    pub async fn kill_master(&self, port: u16) -> Result<String, String> {
        let pidfile = self.dir.join(port.to_string()).join("redis.pid");
        let pid = std::fs::read_to_string(&pidfile)
            .map_err(|e| format!("{}: {e}", pidfile.display()))?
            .trim()
            .to_owned();
        let status = tokio::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .await
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("kill -KILL {pid} failed"));
        }
        let killed = Instant::now();
        let others: Vec<u16> = self.ports().into_iter().filter(|p| *p != port).collect();
        let promoted = loop {
            let mut ok = true;
            for p in &others {
                ok &= matches!(command(*p, &["CLUSTER", "INFO"]).await, Ok(i) if i.contains("cluster_state:ok"));
            }
            if ok && !self.masters().await.contains(&port) {
                break killed.elapsed();
            }
            if killed.elapsed() > FAILOVER_LIMIT {
                return Err(format!("no failover of {port} within {FAILOVER_LIMIT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        self.restart(port)?;
        let rejoin = Instant::now();
        while !self.healthy().await {
            if rejoin.elapsed() > FAILOVER_LIMIT {
                return Err(format!("{port} did not rejoin within {FAILOVER_LIMIT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(format!(
            "failover in {} ms, rejoined as a replica in {} ms",
            promoted.as_millis(),
            rejoin.elapsed().as_millis()
        ))
    }

    /// Start the node on `port` again with scripts/redis-cluster.sh's settings (its nodes.conf is kept).
    fn restart(&self, port: u16) -> Result<(), String> {
        let dir = self.dir.join(port.to_string());
        let status = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "yes",
            ])
            .args([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ])
            .args([
                "--cluster-node-timeout",
                "2000",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--maxmemory-policy", "noeviction"])
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .arg("--pidfile")
            .arg(dir.join("redis.pid"))
            .stdin(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("redis-server on {port} did not start again"))
        }
    }

    /// Stop every node and remove the data.
    pub async fn stop(&self) -> Result<(), String> {
        self.script("stop").await
    }
}
