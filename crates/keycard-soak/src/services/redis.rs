//! The run's own Redis (a `redis-server` child on a port of its own, never the shared 6379) and the
//! faults on it: `CLIENT PAUSE`, `CLIENT KILL TYPE pubsub`.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// A `redis-server` of the run's own.
#[derive(Debug)]
pub struct OwnRedis {
    /// Its port.
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Start one on `port` (nothing saved to disk), logging into `dir`; wait until it answers.
    pub async fn start(port: u16, dir: &Path) -> Result<OwnRedis, String> {
        let log = dir.join(format!("redis-{port}.log"));
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory-policy",
                "noeviction",
                "--logfile",
                &log.display().to_string(),
            ])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("redis-server on port {port}: {e}"))?;
        let redis = OwnRedis {
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if ping(port).await {
                return Ok(redis);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "redis-server on port {port} did not answer within 15 s"
        ))
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stop it.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

/// Whether a Redis answers on `port`.
pub async fn ping(port: u16) -> bool {
    command(port, &["PING"]).await.is_ok()
}

/// One command on a fresh connection to `127.0.0.1:port`, bounded by 5 s; its answer as text.
pub async fn command(port: u16, args: &[&str]) -> Result<String, String> {
    let client =
        redis::Client::open(format!("redis://127.0.0.1:{port}")).map_err(|e| e.to_string())?;
    let work = async {
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| e.to_string())?;
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        let value: redis::Value = cmd
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(text(&value))
    };
    tokio::time::timeout(Duration::from_secs(5), work)
        .await
        .map_err(|_| format!("127.0.0.1:{port}: no answer within 5 s"))?
}

fn text(value: &redis::Value) -> String {
    match value {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::SimpleString(s) => s.clone(),
        redis::Value::VerbatimString { text, .. } => text.clone(),
        redis::Value::Int(n) => n.to_string(),
        redis::Value::Okay => "OK".to_owned(),
        redis::Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join("\n"),
        other => format!("{other:?}"),
    }
}
