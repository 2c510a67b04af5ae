//! A Redis Cluster of a test's own (`scripts/redis-cluster.sh` on other ports and in another directory),
//! stopped when dropped, and the few cluster facts the tests read.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use keycard_redis::{RedisConfig, RedisConnection, RedisStore};
use keycard_store_tests::services::unique_prefix;

pub struct OwnCluster {
    pub base: u16,
    pub dir: PathBuf,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/redis-cluster.sh")
}

impl OwnCluster {
    /// Start a 3+3 cluster on `base`..`base+5`, or why it cannot be started (no `redis-server` or
    /// `redis-cli` on `PATH`, say).
    pub fn start(base: u16) -> Result<OwnCluster, String> {
        for bin in ["redis-server", "redis-cli"] {
            let found = Command::new(bin).arg("--version").output();
            if !found.map(|o| o.status.success()).unwrap_or(false) {
                return Err(format!("{bin} is not on PATH"));
            }
        }
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target")
            .join(format!("redis-cluster-{base}"));
        let cluster = OwnCluster { base, dir };
        let out = cluster.run("start");
        if !out.status.success() {
            panic!(
                "redis-cluster.sh start on {base}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(cluster)
    }

    fn run(&self, what: &str) -> std::process::Output {
        Command::new("bash")
            .arg(script())
            .arg(what)
            .env("KEYCARD_CLUSTER_BASE_PORT", self.base.to_string())
            .env("KEYCARD_CLUSTER_DIR", &self.dir)
            .output()
            .expect("run scripts/redis-cluster.sh")
    }

    pub fn url(&self) -> String {
        let b = self.base;
        format!(
            "redis+cluster://127.0.0.1:{b},127.0.0.1:{},127.0.0.1:{}",
            b + 1,
            b + 2
        )
    }

    /// A store on this cluster with a fresh prefix and a 1 s response timeout (so a request for a dead
    /// master answers 503 quickly).
    pub async fn store(&self, test: &str) -> RedisStore {
        self.store_with_prefix(&unique_prefix(test)).await
    }

    /// [`store`](Self::store) with the key prefix given: two app nodes of one deployment share it.
    pub async fn store_with_prefix(&self, prefix: &str) -> RedisStore {
        let config = RedisConfig::with_prefix(prefix)
            .response_timeout(Duration::from_secs(1))
            .reconnect_max_delay(Duration::from_millis(200));
        RedisStore::connect(&self.url(), config)
            .await
            .expect("connect to the test's own cluster")
    }

    /// `redis-cli -p <port> <args…>`, its stdout (bounded: 120 s).
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        let out = Command::new("timeout")
            .arg("120")
            .arg("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .output()
            .expect("run redis-cli");
        assert!(
            out.status.success(),
            "redis-cli -p {port} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The pid of the node on `port`.
    pub fn pid(&self, port: u16) -> String {
        std::fs::read_to_string(self.dir.join(port.to_string()).join("redis.pid"))
            .expect("pid file")
            .trim()
            .to_owned()
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = self.run("stop");
    }
}

pub async fn keyslot(conn: &mut RedisConnection, key: &str) -> i64 {
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(conn)
        .await
        .expect("CLUSTER KEYSLOT")
}

/// Slot ranges and the port of the master serving each, from the `CLUSTER SLOTS` of the node on `port`
/// (a plain connection: keyless commands on the cluster client go to a node of its choosing).
pub async fn slot_masters(port: u16) -> Vec<(i64, i64, u16)> {
    let mut conn = redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .expect("node URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to a node");
    let slots: Vec<redis::Value> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(&mut conn)
        .await
        .expect("CLUSTER SLOTS");
    let int = |v: &redis::Value| match v {
        redis::Value::Int(i) => *i,
        other => panic!("CLUSTER SLOTS integer: {other:?}"),
    };
    slots
        .iter()
        .map(|range| {
            let redis::Value::Array(r) = range else {
                panic!("CLUSTER SLOTS entry: {range:?}")
            };
            let redis::Value::Array(node) = &r[2] else {
                panic!("CLUSTER SLOTS node: {:?}", r[2])
            };
            let port = u16::try_from(int(&node[1])).expect("port");
            (int(&r[0]), int(&r[1]), port)
        })
        .collect()
}

pub fn master_of(ranges: &[(i64, i64, u16)], slot: i64) -> u16 {
    ranges
        .iter()
        .find(|(a, b, _)| (*a..=*b).contains(&slot))
        .map(|r| r.2)
        .unwrap_or_else(|| panic!("no master for slot {slot}: {ranges:?}"))
}
