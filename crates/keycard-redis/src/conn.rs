//! [`RedisConnection`]: the one connection type of the store, over a single Redis (a self-reconnecting
//! multiplexed [`ConnectionManager`]) or a Redis Cluster (the `redis` crate's async cluster client, which
//! follows `MOVED`/`ASK`, retries `TRYAGAIN` and `CLUSTERDOWN`, and rebuilds its slot map on `MOVED`),
//! and the `redis+cluster://` URL form.
//!
//! **Failover.** The cluster client (redis 0.32) answers a refused connection by reconnecting to the
//! same address, so after a master dies it would keep sending that master's slots to the dead node even
//! once a replica has taken over. [`Link`] therefore rebuilds the cluster connection (a fresh slot map
//! from the seed nodes) in the background after a failed call, at most once per
//! [`REFRESH_EVERY`]: requests for the dead master's slots fail (503) until the replica is promoted and
//! a rebuild has seen it, then succeed by themselves.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

/// The shortest time between two rebuilds of the cluster connection.
pub(crate) const REFRESH_EVERY: Duration = Duration::from_millis(250);

/// The store's link to Redis: its connection and, on a cluster, what it takes to rebuild it.
#[derive(Clone)]
pub(crate) enum Link {
    Single(ConnectionManager),
    Cluster(Arc<ClusterLink>),
}

pub(crate) struct ClusterLink {
    client: ClusterClient,
    current: RwLock<ClusterConnection>,
    refreshing: AtomicBool,
    last: Mutex<Option<Instant>>,
    limit: Duration,
}

impl Link {
    pub(crate) fn cluster(client: ClusterClient, conn: ClusterConnection, limit: Duration) -> Link {
        Link::Cluster(Arc::new(ClusterLink {
            client,
            current: RwLock::new(conn),
            refreshing: AtomicBool::new(false),
            last: Mutex::new(None),
            limit,
        }))
    }

    /// The connection to send a command on.
    pub(crate) fn connection(&self) -> RedisConnection {
        match self {
            Link::Single(c) => RedisConnection::Single(c.clone()),
            Link::Cluster(l) => RedisConnection::Cluster(
                l.current
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone(),
            ),
        }
    }

    /// After a failed call: on a cluster, rebuild the connection in the background (rate-limited).
    pub(crate) fn after_error(&self) {
        let Link::Cluster(l) = self else { return };
        {
            let mut last = l
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < REFRESH_EVERY) {
                return;
            }
            if l.refreshing.swap(true, Ordering::SeqCst) {
                return;
            }
            *last = Some(Instant::now());
        }
        let l = l.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(l.limit, l.client.get_async_connection()).await {
                Ok(Ok(conn)) => {
                    *l.current
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = conn;
                    tracing::debug!("redis cluster connection rebuilt after an error");
                }
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "redis cluster connection rebuild failed")
                }
                Err(_) => tracing::debug!("redis cluster connection rebuild timed out"),
            }
            l.refreshing.store(false, Ordering::SeqCst);
        });
    }
}

/// The URL scheme of a Redis Cluster: `redis+cluster://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT…]`.
pub const CLUSTER_SCHEME: &str = "redis+cluster://";

/// The store's connection: clone it for admin commands (`redis::cmd(…).query_async(&mut conn)`).
///
/// On a cluster a command is routed by its first key (keyless commands go to a node of the client's
/// choosing, or to every primary for `SCRIPT LOAD`).
#[derive(Clone)]
#[non_exhaustive]
pub enum RedisConnection {
    /// One Redis (or a primary behind Sentinel, by its URL).
    Single(ConnectionManager),
    /// A Redis Cluster.
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RedisConnection::Single(_) => "RedisConnection::Single",
            RedisConnection::Cluster(_) => "RedisConnection::Cluster",
        })
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConnection::Single(c) => c.req_packed_command(cmd),
            RedisConnection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConnection::Single(c) => c.req_packed_commands(cmd, offset, count),
            RedisConnection::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConnection::Single(c) => c.get_db(),
            RedisConnection::Cluster(c) => c.get_db(),
        }
    }
}

/// The seed nodes of a `redis+cluster://` URL as `redis://` URLs (the credentials, if any, on each), or
/// `None` when `url` is not a cluster URL. `Err` when it is one without a usable node list.
pub(crate) fn cluster_nodes(url: &str) -> Option<Result<Vec<String>, String>> {
    let rest = url.strip_prefix(CLUSTER_SCHEME)?;
    let (auth, hosts) = match rest.rfind('@') {
        Some(at) => (&rest[..=at], &rest[at + 1..]),
        None => ("", rest),
    };
    let hosts = hosts.trim_end_matches('/');
    if hosts.contains('/') {
        return Some(Err(
            "a cluster URL takes no database number (Redis Cluster has only database 0)".to_owned(),
        ));
    }
    let nodes: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| format!("redis://{auth}{h}"))
        .collect();
    if nodes.is_empty() {
        return Some(Err(format!(
            "a cluster URL needs at least one node: {CLUSTER_SCHEME}HOST:PORT[,HOST:PORT…]"
        )));
    }
    Some(Ok(nodes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls_list_their_seed_nodes_with_the_credentials_on_each() {
        assert_eq!(cluster_nodes("redis://127.0.0.1:6379"), None);
        assert_eq!(
            cluster_nodes("redis+cluster://127.0.0.1:7000,127.0.0.1:7001"),
            Some(Ok(vec![
                "redis://127.0.0.1:7000".to_owned(),
                "redis://127.0.0.1:7001".to_owned()
            ]))
        );
        assert_eq!(
            cluster_nodes("redis+cluster://:pw@h1:7000, h2:7000/"),
            Some(Ok(vec![
                "redis://:pw@h1:7000".to_owned(),
                "redis://:pw@h2:7000".to_owned()
            ]))
        );
        assert!(matches!(cluster_nodes("redis+cluster://"), Some(Err(_))));
        assert!(matches!(
            cluster_nodes("redis+cluster://h:7000/3"),
            Some(Err(_))
        ));
    }
}
