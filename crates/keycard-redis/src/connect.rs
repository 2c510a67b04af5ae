//! [`RedisStore`]: the connection (one multiplexed, self-reconnecting connection shared by every call),
//! the time limits every call runs under, and script loading.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use keycard::StoreError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncConnectionConfig, RedisError, Script, Value};

use crate::config::RedisConfig;
use crate::err;
use crate::scripts::SCRIPTS;

/// Retries of one background reconnection attempt before it gives up (the next request starts another).
const RECONNECT_RETRIES: usize = 6;

/// A [`Store`](keycard::Store) in Redis, shared by every app node that connects to the same Redis with the same prefix.
///
/// Cheap to clone (the connection is shared). See the [crate docs](crate) for the model, key layout and
/// failure behaviour.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: Arc<str>,
    response_timeout: Duration,
    server: Arc<str>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.server)
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
    /// `redis` crate is built with TLS), load the scripts, and check `maxmemory-policy` (warning through
    /// `tracing` unless it is `noeviction`).
    ///
    /// Fails if the URL is invalid or Redis cannot be reached within [`RedisConfig::connect_timeout`] plus
    /// [`RedisConfig::response_timeout`]. Once connected, the store reconnects by itself whenever Redis
    /// comes back after an outage.
    pub async fn connect(url: &str, config: RedisConfig) -> Result<RedisStore, StoreError> {
        const OP: &str = "connect";
        let client = redis::Client::open(url)
            .map_err(|e| err(OP, format!("invalid Redis URL: {e}")).with_source(e))?;
        let server: Arc<str> = client.get_connection_info().addr.to_string().into();
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
            ConnectionManager::new_with_config(client, manager_config),
        )
        .await?;

        let store = RedisStore {
            conn,
            prefix: config.key_prefix.into(),
            response_timeout: config.response_timeout,
            server,
        };
        if let Err(e) = store.check_eviction_policy().await {
            tracing::warn!(
                server = %store.server,
                error = %e,
                "could not read Redis maxmemory-policy; make sure it is noeviction, or Redis may evict \
                 session keys"
            );
        }
        tracing::debug!(server = %store.server, key_prefix = %store.prefix, "redis credentials store connected");
        Ok(store)
    }

    /// Redis' `maxmemory-policy`, warning through `tracing` unless it is `noeviction`.
    ///
    /// Every keycard key has an expiry, so `volatile-*` policies can evict session keys as well as
    /// `allkeys-*` ones; only `noeviction` keeps a session's keys together (a full Redis then refuses
    /// writes, which the store reports as errors). Fails when `CONFIG GET` is refused (some managed Redis
    /// services disable it).
    pub async fn check_eviction_policy(&self) -> Result<String, StoreError> {
        const OP: &str = "read maxmemory-policy";
        let mut conn = self.conn.clone();
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
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: String = bounded(
            "ping",
            self.response_timeout,
            redis::cmd("PING").query_async(&mut conn),
        )
        .await?;
        Ok(())
    }

    /// The shared connection (a clone of the same multiplexed connection the store uses), for admin
    /// commands and tests. Commands sent on it share the store's TCP connection.
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The key prefix in use.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// Run one script (one `EVALSHA`; a reload and retry only after Redis lost its script cache).
    pub(crate) async fn run(
        &self,
        operation: &'static str,
        script: &Script,
        args: Vec<Vec<u8>>,
    ) -> Result<Value, StoreError> {
        let mut conn = self.conn.clone();
        let mut inv = script.prepare_invoke();
        inv.arg(self.prefix.as_bytes());
        for a in &args {
            inv.arg(a.as_slice());
        }
        bounded(
            operation,
            self.response_timeout,
            inv.invoke_async::<Value>(&mut conn),
        )
        .await
    }

    /// Run a prepared script invocation (its keys and arguments already set), bounded by the response
    /// timeout.
    pub(crate) async fn invoke(
        &self,
        operation: &'static str,
        inv: &redis::ScriptInvocation<'_>,
    ) -> Result<Value, StoreError> {
        let mut conn = self.conn.clone();
        bounded(
            operation,
            self.response_timeout,
            inv.invoke_async::<Value>(&mut conn),
        )
        .await
    }

    /// Run one command, bounded by the response timeout.
    pub(crate) async fn query(
        &self,
        operation: &'static str,
        cmd: &redis::Cmd,
    ) -> Result<Value, StoreError> {
        let mut conn = self.conn.clone();
        bounded(
            operation,
            self.response_timeout,
            cmd.query_async::<Value>(&mut conn),
        )
        .await
    }
}
