//! [`RedisStore`]: the connection (one multiplexed, self-reconnecting connection shared by every call),
//! the time limits every call runs under, and script loading.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use keycard::StoreError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::{AsyncConnectionConfig, RedisError, Script, Value};

use crate::config::RedisConfig;
use crate::conn::{cluster_nodes, Link, RedisConnection, CLUSTER_SCHEME};
use crate::err;
use crate::layout::legacy_users_set;
use crate::scripts::SCRIPTS;

/// Retries of one background reconnection attempt before it gives up (the next request starts another).
const RECONNECT_RETRIES: usize = 6;
/// Retries of one cluster request after a redirect (`MOVED`, `ASK`), `TRYAGAIN`, `CLUSTERDOWN` or a lost
/// node; every call stays bounded by the response timeout however many are left.
const CLUSTER_RETRIES: u32 = 12;
/// The first pause before a cluster retry, in ms (doubling up to `reconnect_max_delay`).
const CLUSTER_MIN_RETRY_WAIT_MS: u64 = 20;

/// A [`Store`](keycard::Store) in Redis, shared by every app node that connects to the same Redis with the same prefix.
///
/// Cheap to clone (the connection is shared). See the [crate docs](crate) for the model, key layout and
/// failure behaviour.
#[derive(Clone)]
pub struct RedisStore {
    conn: Link,
    prefix: Arc<str>,
    response_timeout: Duration,
    server: Arc<str>,
    /// `ARGV[2]` of every script: `c`, `s`, or `s` followed by the invalidation channel.
    mode: Arc<str>,
    /// The client of one Redis (`None` on a cluster): what a near cache opens its subscription with.
    client: Option<redis::Client>,
    /// The seed nodes of a cluster URL (`redis://…` each, credentials included; empty on one Redis): what
    /// a cluster near cache discovers the masters from.
    seeds: Arc<[String]>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.server)
            .field("cluster", &self.is_cluster())
            .field("key_prefix", &self.prefix)
            .field("response_timeout", &self.response_timeout)
            .finish_non_exhaustive()
    }
}

pub(crate) fn redis_err(operation: &'static str, e: RedisError) -> StoreError {
    err(operation, e.to_string()).with_source(e)
}

/// Await `fut`, failing with a store error after `limit`.
async fn bounded<T>(
    operation: &'static str,
    limit: Duration,
    fut: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(redis_err(operation, e)),
        Err(_) => Err(err(
            operation,
            format!("no reply from Redis within {} ms", limit.as_millis()),
        )),
    }
}

impl RedisStore {
    /// Connect to the Redis at `url` (`redis://[:password@]host:port[/db]`, or `rediss://` when the
    /// `redis` crate is built with TLS) or to the Redis Cluster at
    /// `redis+cluster://[[user]:password@]host:port[,host:port…]` (any reachable nodes; the client learns
    /// the rest), load the scripts, and check `maxmemory-policy` (warning through `tracing` unless it is
    /// `noeviction`).
    ///
    /// Fails if the URL is invalid, the key prefix holds `{` or `}` (it would change every key's hash
    /// slot), or Redis cannot be reached within [`RedisConfig::connect_timeout`] plus
    /// [`RedisConfig::response_timeout`]. Once connected, the store reconnects by itself whenever Redis
    /// comes back after an outage (on a cluster: whenever a node, or the replica promoted in its place,
    /// answers).
    ///
    /// Errors: a [`StoreError`] (`backend: "redis"`) for each failure above.
    pub async fn connect(url: &str, config: RedisConfig) -> Result<RedisStore, StoreError> {
        const OP: &str = "connect";
        if config.key_prefix.contains(['{', '}']) {
            return Err(err(
                OP,
                "the key prefix must not contain `{` or `}`: keycard puts each user's hash tag after it",
            ));
        }
        let (conn, server, client, seeds) = match cluster_nodes(url) {
            Some(nodes) => {
                let nodes =
                    nodes.map_err(|m| err(OP, format!("invalid Redis Cluster URL: {m}")))?;
                let seeds: Arc<[String]> = nodes.clone().into();
                let (conn, server) = connect_cluster(url, nodes, &config).await?;
                (conn, server, None, seeds)
            }
            None => {
                let (conn, server, client) = connect_single(url, &config).await?;
                (conn, server, Some(client), Arc::from(Vec::new()))
            }
        };
        let mode = match &client {
            None if config.publish_invalidations => format!("c{}", crate::config::NEAR_SUFFIX),
            None => "c".to_owned(),
            Some(_) if config.publish_invalidations => format!("s{}", config.near_channel()),
            Some(_) => "s".to_owned(),
        };
        let mut store = RedisStore {
            conn,
            prefix: config.key_prefix.into(),
            response_timeout: config.response_timeout,
            server: server.into(),
            mode: mode.into(),
            client,
            seeds,
        };
        if let Err(e) = store.check_eviction_policy().await {
            tracing::warn!(
                server = %store.server,
                error = %e,
                "could not read Redis maxmemory-policy; make sure it is noeviction, or Redis may evict \
                 session keys"
            );
        }
        store.check_legacy_layout().await;
        if store.shard_channel_suffix().is_some() && !store.has_sharded_pubsub().await {
            tracing::warn!(
                server = %store.server,
                "this Redis Cluster has no sharded pub/sub (SPUBLISH: Redis 7 or later): writes do not \
                 publish invalidations, and a near cache over this store is refused"
            );
            store.mode = "c".into();
        }
        tracing::debug!(server = %store.server, cluster = store.is_cluster(), key_prefix = %store.prefix, "redis credentials store connected");
        Ok(store)
    }

    /// Warn when sessions of the single-instance layout (before per-user hash tags) may still exist under
    /// this prefix (its global users set exists): they are not read, so their users sign in again once.
    async fn check_legacy_layout(&self) {
        let mut conn = self.conn.connection();
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(legacy_users_set(&self.prefix));
        let found = bounded(
            "connect",
            self.response_timeout,
            cmd.query_async::<i64>(&mut conn),
        )
        .await;
        if let Ok(1) = found {
            tracing::warn!(
                server = %self.server,
                key_prefix = %self.prefix,
                "found sessions of the single-instance key layout (keycard-redis before per-user hash \
                 tags): they are not read, so their users are signed out once and sign in again; the old \
                 keys expire by themselves"
            );
        }
    }

    /// Whether the cluster knows `SPUBLISH` (Redis 7 or later; `COMMAND INFO` answers nil for an unknown
    /// command). An error counts as yes: the scripts then fail loudly rather than publish nothing silently.
    async fn has_sharded_pubsub(&self) -> bool {
        let mut conn = self.conn.connection();
        let mut cmd = redis::cmd("COMMAND");
        cmd.arg("INFO").arg("SPUBLISH");
        match bounded(
            "connect",
            self.response_timeout,
            cmd.query_async::<Value>(&mut conn),
        )
        .await
        {
            Ok(Value::Array(items)) => !matches!(items.first(), None | Some(Value::Nil)),
            _ => true,
        }
    }

    /// Whether this store is connected to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.conn, Link::Cluster(_))
    }

    /// Redis' `maxmemory-policy`, warning through `tracing` unless it is `noeviction`.
    ///
    /// Every keycard key has an expiry, so `volatile-*` policies can evict session keys as well as
    /// `allkeys-*` ones; only `noeviction` keeps a session's keys together (a full Redis then refuses
    /// writes, which the store reports as errors). Fails when `CONFIG GET` is refused (some managed Redis
    /// services disable it).
    pub async fn check_eviction_policy(&self) -> Result<String, StoreError> {
        const OP: &str = "read maxmemory-policy";
        let mut conn = self.conn.connection();
        let mut cmd = redis::cmd("CONFIG");
        cmd.arg("GET").arg("maxmemory-policy");
        let reply: Vec<String> =
            bounded(OP, self.response_timeout, cmd.query_async(&mut conn)).await?;
        let policy = reply
            .get(1)
            .cloned()
            .ok_or_else(|| err(OP, "CONFIG GET maxmemory-policy returned no value"))?;
        if policy != "noeviction" {
            tracing::warn!(
                server = %self.server,
                policy = %policy,
                "Redis maxmemory-policy is not noeviction: under memory pressure Redis may evict session \
                 keys (every keycard key has a TTL, so volatile-* policies evict them too), signing users \
                 out or leaving sessions without their user. Set `maxmemory-policy noeviction`."
            );
        }
        Ok(policy)
    }

    /// One `PING`, bounded by the response timeout: for health checks.
    ///
    /// Errors: [`StoreError`] when Redis does not answer within the timeout, or answers with an error.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.connection();
        let reply: Result<String, _> = bounded(
            "ping",
            self.response_timeout,
            redis::cmd("PING").query_async(&mut conn),
        )
        .await;
        if reply.is_err() {
            self.conn.after_error();
        }
        reply.map(drop)
    }

    /// The shared connection (a clone of the same multiplexed connection or cluster client the store
    /// uses), for admin commands and tests. Commands sent on it share the store's TCP connections.
    pub fn connection(&self) -> RedisConnection {
        self.conn.connection()
    }

    /// The key prefix in use.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The channel this store's writes publish invalidations on (`{prefix}near`), or `None` when they
    /// do not ([`RedisConfig::publish_invalidations`] off, or a Redis Cluster).
    pub fn invalidation_channel(&self) -> Option<&str> {
        self.mode.strip_prefix('s').filter(|c| !c.is_empty())
    }

    /// The client of one Redis (`None` on a cluster), for the near cache's subscription.
    pub(crate) fn client(&self) -> Option<&redis::Client> {
        self.client.as_ref()
    }

    /// On a cluster whose writes publish invalidations: the shard channel of a key base `{prefix}{tt}`
    /// is `{prefix}{tt}` followed by this suffix (`near`). `None` on one Redis, or when writes do not
    /// publish ([`RedisConfig::publish_invalidations`] off).
    pub fn shard_channel_suffix(&self) -> Option<&str> {
        self.mode.strip_prefix('c').filter(|c| !c.is_empty())
    }

    /// The seed nodes of a cluster URL, as `redis://` URLs (empty on one Redis).
    pub(crate) fn seeds(&self) -> &[String] {
        &self.seeds
    }

    /// The longest any store call may take.
    pub(crate) fn response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// The server address, for logs (no credentials).
    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    /// Run one script (one `EVALSHA`; a reload and retry only after Redis lost its script cache) on the
    /// slot of `base` (`ARGV[1]`: the prefix and tag that every key the script names starts with; `ARGV[2]`
    /// the deployment, `c` or `s`, the latter followed by the invalidation channel when writes publish),
    /// declaring `keys` (the keys known before it runs, all under `base`; the first routes it on a
    /// cluster).
    pub(crate) async fn run(
        &self,
        operation: &'static str,
        script: &Script,
        base: &str,
        keys: &[String],
        args: Vec<Vec<u8>>,
    ) -> Result<Value, StoreError> {
        debug_assert!(!keys.is_empty() && keys.iter().all(|k| k.starts_with(base)));
        let mut inv = script.prepare_invoke();
        for k in keys {
            inv.key(k.as_str());
        }
        inv.arg(base.as_bytes());
        inv.arg(self.mode.as_bytes());
        for a in &args {
            inv.arg(a.as_slice());
        }
        self.invoke(operation, &inv).await
    }

    /// After a call: a failed one may mean a lost node (on a cluster the connection is rebuilt).
    fn settle(&self, reply: Result<Value, StoreError>) -> Result<Value, StoreError> {
        if reply.is_err() {
            self.conn.after_error();
        }
        reply
    }

    /// Run a prepared script invocation (its keys and arguments already set), bounded by the response
    /// timeout.
    pub(crate) async fn invoke(
        &self,
        operation: &'static str,
        inv: &redis::ScriptInvocation<'_>,
    ) -> Result<Value, StoreError> {
        let mut conn = self.conn.connection();
        self.settle(
            bounded(
                operation,
                self.response_timeout,
                inv.invoke_async::<Value>(&mut conn),
            )
            .await,
        )
    }

    /// Run one command, bounded by the response timeout.
    pub(crate) async fn query(
        &self,
        operation: &'static str,
        cmd: &redis::Cmd,
    ) -> Result<Value, StoreError> {
        let mut conn = self.conn.connection();
        self.settle(
            bounded(
                operation,
                self.response_timeout,
                cmd.query_async::<Value>(&mut conn),
            )
            .await,
        )
    }
}

/// One Redis: a direct probe (so a Redis that is down fails at once), the scripts, then the manager.
async fn connect_single(
    url: &str,
    config: &RedisConfig,
) -> Result<(Link, String, redis::Client), StoreError> {
    const OP: &str = "connect";
    let client = redis::Client::open(url)
        .map_err(|e| err(OP, format!("invalid Redis URL: {e}")).with_source(e))?;
    let server = client.get_connection_info().addr.to_string();
    let limit = config.connect_timeout + config.response_timeout;

    // One direct attempt first: a Redis that is down at start-up fails `connect` at once instead of
    // after the connection manager's retries. The same connection loads the scripts.
    let probe_config = AsyncConnectionConfig::new()
        .set_connection_timeout(config.connect_timeout)
        .set_response_timeout(config.response_timeout);
    let mut probe = bounded(
        OP,
        limit,
        client.get_multiplexed_async_connection_with_config(&probe_config),
    )
    .await
    .map_err(|mut e| {
        e.message = format!("cannot reach Redis at {server}: {}", e.message);
        e
    })?;
    for script in SCRIPTS.all() {
        bounded(OP, config.response_timeout, script.load_async(&mut probe)).await?;
    }
    drop(probe);

    let max_delay = u64::try_from(config.reconnect_max_delay.as_millis()).unwrap_or(u64::MAX);
    let manager_config = ConnectionManagerConfig::new()
        .set_connection_timeout(config.connect_timeout)
        .set_response_timeout(config.response_timeout)
        .set_factor(2)
        .set_max_delay(max_delay.max(1))
        .set_number_of_retries(RECONNECT_RETRIES);
    let conn = bounded(
        OP,
        limit,
        ConnectionManager::new_with_config(client.clone(), manager_config),
    )
    .await?;
    Ok((Link::Single(conn), server, client))
}

/// A Redis Cluster: the cluster client (the slot map from the seed nodes), then the scripts on every
/// primary.
async fn connect_cluster(
    url: &str,
    nodes: Vec<String>,
    config: &RedisConfig,
) -> Result<(Link, String), StoreError> {
    const OP: &str = "connect";
    // The node list without credentials, for logs and errors.
    let hosts = url.rsplit('@').next().unwrap_or_default();
    let hosts = hosts.strip_prefix(CLUSTER_SCHEME).unwrap_or(hosts);
    let server = format!("{CLUSTER_SCHEME}{hosts}");
    let limit = config.connect_timeout + config.response_timeout;
    let max_wait = u64::try_from(config.reconnect_max_delay.as_millis()).unwrap_or(u64::MAX);
    let client = ClusterClientBuilder::new(nodes)
        .connection_timeout(config.connect_timeout)
        .response_timeout(config.response_timeout)
        .retries(CLUSTER_RETRIES)
        .min_retry_wait(CLUSTER_MIN_RETRY_WAIT_MS)
        .max_retry_wait(max_wait.max(CLUSTER_MIN_RETRY_WAIT_MS))
        .build()
        .map_err(|e| err(OP, format!("invalid Redis Cluster URL: {e}")).with_source(e))?;
    let mut conn = bounded(OP, limit, client.get_async_connection())
        .await
        .map_err(|mut e| {
            e.message = format!("cannot reach the Redis Cluster at {server}: {}", e.message);
            e
        })?;
    // `SCRIPT LOAD` goes to every primary; a primary that lacks a script later (a promoted replica, a
    // new node) gets it on its first `NOSCRIPT`.
    for script in SCRIPTS.all() {
        bounded(OP, config.response_timeout, script.load_async(&mut conn)).await?;
    }
    Ok((Link::cluster(client, conn, limit), server))
}
