//! The shared Redis: does it answer, the skip rule for it, and clean-up of a test's keys.

use std::time::Duration;

use super::{redact, redis_cluster_url, redis_url};
use crate::skip;

/// One connection and a `PING`, bounded (3 s).
pub async fn redis_reachable(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| format!("invalid URL: {e}"))?;
    let ping = async {
        let mut c = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut c).await
    };
    match tokio::time::timeout(Duration::from_secs(3), ping).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 3 s".to_owned()),
    }
}

/// The shared Redis URL if it answers; else the [skip rule](crate::skip) for `suite`, and `None`.
///
/// # Panics
/// When Redis does not answer and `KEYCARD_REQUIRE_SERVICES=1`.
pub async fn redis_or_skip(suite: &str) -> Option<String> {
    let url = redis_url();
    let reachable = redis_reachable(&url).await.map_err(|e| {
        format!(
            "Redis not reachable at {} ({e}); set KEYCARD_TEST_REDIS_URL",
            redact(&url)
        )
    });
    skip::or_skip(suite, reachable.map(|()| url))
}

/// Whether the Redis Cluster at `url` (`redis+cluster://HOST:PORT[,…]`) is healthy: its first node answers
/// `CLUSTER INFO` with `cluster_state:ok`, bounded (3 s).
pub async fn redis_cluster_reachable(url: &str) -> Result<(), String> {
    let first = url
        .strip_prefix("redis+cluster://")
        .and_then(|rest| rest.rsplit('@').next())
        .and_then(|hosts| hosts.split(',').next())
        .ok_or_else(|| format!("not a redis+cluster:// URL: {}", redact(url)))?;
    let auth = match url.rfind('@') {
        Some(at) => &url["redis+cluster://".len()..=at],
        None => "",
    };
    let client = redis::Client::open(format!("redis://{auth}{first}"))
        .map_err(|e| format!("invalid URL: {e}"))?;
    let info = async {
        let mut c = client.get_multiplexed_async_connection().await?;
        redis::cmd("CLUSTER")
            .arg("INFO")
            .query_async::<String>(&mut c)
            .await
    };
    match tokio::time::timeout(Duration::from_secs(3), info).await {
        Ok(Ok(i)) if i.contains("cluster_state:ok") => Ok(()),
        Ok(Ok(_)) => Err("the cluster state is not ok".to_owned()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 3 s".to_owned()),
    }
}

/// The shared Redis Cluster URL if it is healthy; else the [skip rule](crate::skip) for `suite`, and
/// `None`.
///
/// # Panics
/// When the cluster is not healthy and `KEYCARD_REQUIRE_SERVICES=1`.
pub async fn redis_cluster_or_skip(suite: &str) -> Option<String> {
    let url = redis_cluster_url();
    let reachable = redis_cluster_reachable(&url).await.map_err(|e| {
        format!(
            "Redis Cluster not reachable at {} ({e}); run scripts/redis-cluster.sh start or set \
             KEYCARD_TEST_REDIS_CLUSTER_URL",
            redact(&url)
        )
    });
    skip::or_skip(suite, reachable.map(|()| url))
}

/// Delete every key under `prefix` (test clean-up; `SCAN` is fine here, never on a request path).
/// Best effort: errors end it quietly (the keys also expire by themselves).
pub async fn delete_redis_prefix(url: &str, prefix: &str) {
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(Ok(mut c)) = tokio::time::timeout(
        Duration::from_secs(3),
        client.get_multiplexed_async_connection(),
    )
    .await
    else {
        return;
    };
    let mut cursor: u64 = 0;
    for _ in 0..10_000 {
        let reply: Result<(u64, Vec<Vec<u8>>), _> = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(500)
            .query_async(&mut c)
            .await;
        let Ok((next, keys)) = reply else { return };
        if !keys.is_empty() {
            let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query_async(&mut c).await;
        }
        if next == 0 {
            return;
        }
        cursor = next;
    }
}

/// Deletes every key under a prefix when dropped (however the test ends).
#[derive(Debug)]
pub struct RedisKeys {
    /// The Redis.
    pub url: String,
    /// The prefix whose keys go.
    pub prefix: String,
}

impl Drop for RedisKeys {
    fn drop(&mut self) {
        // Drop may run inside a runtime (and while panicking): do the async work on a thread of its own.
        let (url, prefix) = (self.url.clone(), self.prefix.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(delete_redis_prefix(&url, &prefix));
            }
        })
        .join();
    }
}
