//! The Redis store: one shared credentials store for any number of app nodes.
//!
//! [`RedisStore`] keeps sessions, tokens, cached users and per-user indexes in Redis, so every app node
//! sees the same sessions, a background job in another process can update a cached user, and "log out
//! everywhere" works across servers. It implements [`Store`] exactly as the memory store
//! does and passes the same conformance suite (`tests/redis.rs`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), keycard::StoreError> {
//! use keycard::store::redis::{RedisConfig, RedisStore};
//!
//! let store = RedisStore::connect("redis://127.0.0.1:6379", RedisConfig::default()).await?;
//! // Already warned (tracing) if the policy can evict session keys; print it for the operator.
//! println!("maxmemory-policy: {}", store.check_eviction_policy().await?);
//! # Ok(()) }
//! ```
//!
//! # The model
//! Every [`Store`] method is **one Lua script**, run with `EVALSHA` (Redis runs a script
//! atomically: no other command interleaves); `users` and `sweep`, which are not on the request path, run
//! one script per batch of 100 users. The scripts are constants, loaded with `SCRIPT LOAD` when
//! the store connects; if Redis lost them (a restart, `SCRIPT FLUSH`) the client reloads a script on its
//! first `NOSCRIPT` reply and carries on. The atomicity the [`Store`] docs require therefore
//! holds across any number of app nodes: exactly one request wins a rotation, nothing deleted is ever
//! written again, and a background `put_user` never interleaves with a renewal.
//!
//! # Key layout
//! With the default prefix `keycard:` (set [`RedisConfig::key_prefix`] per app to share one Redis):
//!
//! | key | type | value | expires (`PEXPIRE` in the same script that writes it) |
//! |---|---|---|---|
//! | `{prefix}t:{token_hash_hex}` | string | the session id (32 hex chars) | current token: with the session; previous token: at the end of its grace window |
//! | `{prefix}s:{session_id_hex}` | hash | `v` format (`1`), `uk` user key, `ca` created_at, `ra` renewed_at, `id` idle deadline, `ad` absolute deadline, `ct` current token hash, `pt`/`pu` previous token hash and its grace deadline, `m` metadata blob | at `min(id, ad)` |
//! | `{prefix}u:{user_key}` | hash | `d` user blob, `ver` user version (20-digit zero-padded decimal, absent when the user has none) | with the user's longest-lived session |
//! | `{prefix}i:{user_key}` | sorted set | member: session id, score: the session's expiry (ms) | with the user's longest-lived session |
//! | `{prefix}users` | sorted set | member: user key, score: expiry of the user's longest-lived session | with the longest-lived session of all |
//!
//! Times are milliseconds since the Unix epoch, written as decimal strings so that Lua compares them as
//! numbers. Token hashes are `SHA-256(token)`: neither a token nor a cookie value ever reaches Redis.
//!
//! **Encoding.** The user and the session metadata are blobs: one format byte (`0x01`) followed by
//! MessagePack (`rmp-serde`, named fields, so an app can add `#[serde(default)]` fields to its user type
//! without invalidating cached copies). Session fields that scripts compare (deadlines, tokens) are plain
//! hash fields. A record that fails to decode (unknown format byte or version field, missing or malformed
//! field, wrong Redis type, MessagePack that does not fit the type) is **treated as absent** and logged
//! with `tracing::warn!` (the session id or the short token hash, never a token, never the record):
//! never a panic and never a sign-in.
//!
//! **Index.** The per-user index is pruned (`ZREMRANGEBYSCORE -inf now`) whenever it is read (`create`,
//! `put_user`, `sessions`, `users`, `delete_by_token`), and entries whose session is gone are dropped as
//! they are met. When
//! a delete leaves a user with no session, the user record and index go with it. No request-path script
//! uses `KEYS` or `SCAN`; `users()` reads the `{prefix}users` set (in batches, each batch atomic, the whole
//! listing not a snapshot) and is not meant for the request path.
//!
//! # Time
//! Liveness is decided **only** by the `now` the cache passes in (its [`Clock`](crate::Clock); a
//! [`ManualClock`](crate::ManualClock) in tests). Scripts never call `TIME`.
//!
//! Keys still really expire: every write sets the key's expiry to the record's remaining lifetime **on the
//! cache's clock**, `PEXPIRE key (deadline - now)`, in the same script. With the system clock this is the
//! same instant as `PEXPIREAT deadline` (minus the clock skew between the app node and Redis, which this
//! form is immune to). It also stays right when the cache's clock is not Redis' clock: a `ManualClock` set
//! in 2001, or advanced by nine hours, still gets keys that live for the record's remaining lifetime and
//! no longer, whereas `PEXPIREAT` with such deadlines would write keys already expired (Redis deletes them
//! on the spot, and the session vanishes while the cache still considers it live) or keys that outlive
//! their record by hours. A record whose deadline is already at or before `now` is never written: `create`
//! of an already-dead session writes nothing, and a renewal or grace window that would end at or before
//! `now` deletes the key instead of writing it. The user record, the index and the users set are only ever
//! *extended* (to the longest-lived session's remaining lifetime), never shortened by a write, so they
//! always outlive every session that refers to them. Remaining lifetimes are capped at 10¹³ ms (~317
//! years) so saturated deadlines never overflow Redis' expiry arithmetic.
//!
//! [`sweep`](super::Store::sweep) is mostly a no-op in production (Redis expires keys by itself): it
//! removes the users (with their sessions, tokens, index and record) whose every session ended on the
//! cache's clock, and prunes the users set. Expired sessions of users who still have a live one are left to
//! Redis' own expiry (on a clock that runs ahead of Redis', as in tests, they stay invisible to every read).
//!
//! # One round trip per request
//! [`fetch`](super::Store::fetch), renewal included, is a single `EVALSHA`: the script resolves
//! token → session → user and, when renewal is due, rotates in the same call. The successor token is
//! generated before the call (`plan.next_token.hash()`), so the script has everything it needs.
//!
//! **How it is shown** (test `fetch_is_exactly_one_round_trip` in `tests/redis.rs`): the test asks the
//! store's own connection for its address (`CLIENT INFO` via [`RedisStore::connection`]), opens `MONITOR`
//! on a second connection, runs N fetches (a renewal, grace-token reads, plain reads and an unknown
//! token), sends a marker command from a third connection, and counts the `MONITOR` lines that come from
//! the store's address before the marker: exactly N, each `EVALSHA`. (Commands a script runs show up in
//! `MONITOR` as `[0 lua]`, not as the client's, so they are not counted. `INFO commandstats` cannot tell
//! them apart from client commands, and counts every other client of a shared Redis too.) To check by
//! hand: `redis-cli monitor | grep -v ' lua]'` while you load one page.
//!
//! # Failure behaviour (fail closed)
//! - Connection refused, reset, a timeout, `OOM`, `READONLY`, `NOSCRIPT` that cannot be fixed, or any
//!   other error reply is an `Err(StoreError)` with `backend: "redis"`: never `Ok(None)` (which the HTTP
//!   layer would show as "signed out") and never a user.
//! - Every call is bounded by [`RedisConfig::response_timeout`] (default 2 s), including the time spent
//!   waiting for a reconnection: a hung or unreachable Redis makes requests fail fast, not hang.
//! - The connection is a multiplexed [`ConnectionManager`]: one TCP connection shared by all requests,
//!   re-established in the background after an I/O error (retrying with backoff capped at
//!   [`RedisConfig::reconnect_max_delay`]). Requests recover on their own once Redis answers again, with
//!   no app restart; scripts Redis forgot are reloaded on first use.
//! - [`RedisStore::connect`] fails when Redis cannot be reached at start-up (one attempt, bounded by
//!   [`RedisConfig::connect_timeout`]).
//! - A call that timed out on the client may still have run on the server. For a renewal that means the
//!   client got a 503 and keeps its old token, which then resolves as a grace token until the grace window
//!   ends: a Redis that is slower than the timeout can sign a user out, never in.
//! - When Redis reaches `maxmemory` under `noeviction`, it refuses writes with `OOM`: sign-ins, renewals,
//!   `sync`/`regenerate` and `put_user` get `Err` (503) and write nothing, while plain reads, sign-outs,
//!   revocations, listings and sweeps (which only free memory) keep working. Redis checks `OOM` at a
//!   script's first write that can grow memory, and only if nothing was written before it; every keycard
//!   script that can grow memory therefore writes with `HSET` first, so it is refused whole or runs whole.
//!
//! # `maxmemory-policy`
//! Use **`noeviction`**. Every keycard key has an expiry, so the `volatile-*` policies can evict them as
//! readily as `allkeys-*` do, and an eviction drops one key of a session without the others: a session
//! without its user signs the user out; an evicted index hides a session from "log out everywhere". With
//! `noeviction` a full Redis refuses writes instead, which keycard reports as errors (503). The store
//! checks the policy when it connects and warns (tracing) for anything else;
//! [`RedisStore::check_eviction_policy`] returns it. Size `maxmemory` for the live sessions (a session is
//! well under 1 KiB plus the app's user, cached once per user).
//!
//! # Deployment notes
//! - Standalone Redis (or a primary behind Sentinel, connected by its URL) version 5 or later; tested with
//!   Redis 7.0. Commands used: `EVALSHA`, `SCRIPT LOAD`, `CONFIG GET` (optional: a managed Redis that
//!   forbids it only loses the start-up policy check), and inside scripts `GET SET DEL EXISTS HGET HMGET
//!   HSET HDEL PTTL PEXPIRE ZADD ZREM ZSCORE ZCARD ZRANGE ZREVRANGE ZRANGEBYSCORE ZREMRANGEBYSCORE`.
//! - **Redis Cluster is not supported.** The scripts derive the keys they touch from the prefix argument,
//!   because which session and user a request touches is only known once the token has been resolved
//!   inside the script; Cluster requires every key a script touches to be declared and in one hash slot.
//!   Putting the whole keyspace under one hash tag (`{keycard}:`) would run on a Cluster but on a single
//!   shard, so it buys nothing; use one Redis primary (with replicas and Sentinel for failover).
//! - After a failover to a replica that had not yet received the last writes, recently created or rotated
//!   sessions may be lost (the user signs in again); nothing is resurrected and nobody is signed in as
//!   somebody else.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncConnectionConfig, RedisError, Script, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{
    FetchOutcome, NewSession, PutOutcome, RenewalPlan, SessionMetadata, SessionRecord, Store,
    StoreError, SweepStats, TokenUse,
};
use crate::clock::Timestamp;
use crate::token::{SessionId, TokenHash};
use crate::user::CachedUser;

/// The key prefix used when none is configured.
pub const DEFAULT_KEY_PREFIX: &str = "keycard:";

const BACKEND: &str = "redis";
/// First byte of every blob (user, metadata): the encoding version.
const BLOB_FORMAT: u8 = 1;
/// The session hash's `v` field.
const SESSION_FORMAT: &str = "1";
/// How many users one `users`/`sweep` script handles.
const BATCH: usize = 100;
/// Upper bound on sweep batches per call, so a sweep always ends.
const MAX_SWEEP_BATCHES: usize = 100_000;
/// Retries of one background reconnection attempt before it gives up (the next request starts another).
const RECONNECT_RETRIES: usize = 6;

/// How a [`RedisStore`] connects and names its keys.
///
/// ```
/// use keycard::store::redis::RedisConfig;
/// let config = RedisConfig { key_prefix: "myapp:sess:".into(), ..RedisConfig::default() };
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// Prepended to every key (default [`DEFAULT_KEY_PREFIX`], `keycard:`). Give each app sharing a Redis
    /// its own prefix.
    pub key_prefix: String,
    /// The longest any store call may take, including waiting for a reconnection (default 2 s). Past it the
    /// call fails with a [`StoreError`]: a hung Redis is an error, not a hang.
    pub response_timeout: Duration,
    /// The longest one attempt to open the TCP connection may take (default 2 s).
    pub connect_timeout: Duration,
    /// The longest pause between reconnection attempts after Redis went away (default 1 s, plus jitter).
    pub reconnect_max_delay: Duration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            key_prefix: DEFAULT_KEY_PREFIX.to_string(),
            response_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            reconnect_max_delay: Duration::from_secs(1),
        }
    }
}

impl RedisConfig {
    /// The default configuration with another key prefix.
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        RedisConfig {
            key_prefix: prefix.into(),
            ..RedisConfig::default()
        }
    }
}

/// A [`Store`] in Redis, shared by every app node that connects to the same Redis with the same prefix.
///
/// Cheap to clone (the connection is shared). See the [module docs](self) for the model, key layout and
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

fn err(operation: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::new(BACKEND, operation, message)
}

fn redis_err(operation: &'static str, e: RedisError) -> StoreError {
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
        .map_err(|e| StoreError {
            message: format!("cannot reach Redis at {server}: {}", e.message),
            ..e
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
    async fn run(
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
}

// ---------------------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------------------

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, rmp_serde::encode::Error> {
    let mut out = vec![BLOB_FORMAT];
    rmp_serde::encode::write_named(&mut out, value)?;
    Ok(out)
}

fn decode<T: DeserializeOwned>(blob: &[u8]) -> Result<T, &'static str> {
    match blob.split_first() {
        Some((&BLOB_FORMAT, rest)) => rmp_serde::from_slice(rest)
            .map_err(|_| "MessagePack does not decode into the expected type"),
        Some(_) => Err("unknown blob format byte"),
        None => Err("empty blob"),
    }
}

/// A user version as Lua compares it: 20 zero-padded digits, or empty for none.
fn version_arg(v: Option<u64>) -> Vec<u8> {
    match v {
        Some(v) => format!("{v:020}").into_bytes(),
        None => Vec::new(),
    }
}

fn ts_arg(t: Timestamp) -> Vec<u8> {
    t.0.to_string().into_bytes()
}

fn str_arg(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

// ---------------------------------------------------------------------------------------------------------
// Reply parsing
// ---------------------------------------------------------------------------------------------------------

fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// Lua `false` (an absent field) arrives as Null over RESP2 and as a Boolean over RESP3.
fn is_nil(v: &Value) -> bool {
    matches!(v, Value::Nil | Value::Boolean(false))
}

fn text(v: &Value) -> Option<&str> {
    bytes(v).and_then(|b| std::str::from_utf8(b).ok())
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        other => text(other).and_then(|s| s.parse().ok()),
    }
}

fn array(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(a) => Some(a),
        _ => None,
    }
}

fn malformed(operation: &'static str) -> StoreError {
    err(
        operation,
        "unexpected reply shape from a keycard script (another keycard version on the same prefix?)",
    )
}

fn parse_ts(v: &Value) -> Result<Timestamp, &'static str> {
    text(v)
        .and_then(|s| s.parse::<u64>().ok())
        .map(Timestamp)
        .ok_or("malformed timestamp")
}

fn parse_hash(v: &Value) -> Result<TokenHash, &'static str> {
    let hex_str = text(v).ok_or("missing token hash")?;
    let mut h = [0u8; 32];
    hex::decode_to_slice(hex_str, &mut h).map_err(|_| "malformed token hash")?;
    Ok(TokenHash(h))
}

/// Number of values a script returns per session: the id, then the hash fields in `SFIELDS` order.
const SESSION_WIDTH: usize = 11;

/// `[sid, v, uk, ca, ra, id, ad, ct, pt, pu, m]` -> a session record.
fn parse_session(f: &[Value]) -> Result<SessionRecord, &'static str> {
    if f.len() != SESSION_WIDTH {
        return Err("session record has the wrong number of fields");
    }
    let session_id = text(&f[0])
        .and_then(SessionId::parse)
        .ok_or("malformed session id")?;
    if text(&f[1]) != Some(SESSION_FORMAT) {
        return Err("unknown session format version");
    }
    let user_key = text(&f[2]).ok_or("malformed user key")?.to_owned();
    let previous_token = match (&f[8], &f[9]) {
        (h, _) if is_nil(h) => None,
        (h, until) => Some((parse_hash(h)?, parse_ts(until)?)),
    };
    let metadata: SessionMetadata = decode(bytes(&f[10]).ok_or("missing metadata")?)?;
    Ok(SessionRecord {
        session_id,
        user_key,
        created_at: parse_ts(&f[3])?,
        renewed_at: parse_ts(&f[4])?,
        idle_deadline: parse_ts(&f[5])?,
        absolute_deadline: parse_ts(&f[6])?,
        current_token: parse_hash(&f[7])?,
        previous_token,
        metadata,
    })
}

fn warn_session(operation: &'static str, id: Option<&str>, reason: &str) {
    tracing::warn!(
        backend = BACKEND,
        operation,
        session_id = id.unwrap_or("?"),
        reason,
        "undecodable session record treated as absent"
    );
}

fn warn_user(operation: &'static str, user_key: &str, reason: &str) {
    tracing::warn!(
        backend = BACKEND,
        operation,
        user_key,
        reason,
        "undecodable cached user treated as absent"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------------------------------------

/// Helpers every script starts with. `ARGV[1]` is always the key prefix.
macro_rules! prelude {
    () => {
        r#"
local p = ARGV[1]
local MAX_TTL = 10000000000000
local SFIELDS = {'v', 'uk', 'ca', 'ra', 'id', 'ad', 'ct', 'pt', 'pu', 'm'}

local function fmt(n) return string.format('%d', n) end

-- remaining lifetime of a deadline on the cache's clock, capped
local function ttl_until(deadline, now)
  local t = deadline - now
  if t > MAX_TTL then t = MAX_TTL end
  return t
end

-- make key live at least ttl ms more; never shortens an expiry
local function extend(key, ttl)
  local cur = redis.call('PTTL', key)
  if cur == -1 or (cur >= 0 and cur < ttl) then
    redis.call('PEXPIRE', key, fmt(ttl))
  end
end

-- the smaller of two decimal strings, by value
local function min_s(a, b)
  if tonumber(b) < tonumber(a) then return b end
  return a
end

local function is_err(r) return type(r) == 'table' and r.err ~= nil end

-- a session hash, validated: fields table, or nil and a reason (nil reason: absent)
local function load_session(skey)
  local s = redis.pcall('HMGET', skey, unpack(SFIELDS))
  if is_err(s) then return nil, 'session key holds the wrong Redis type' end
  if not s[1] then
    if redis.call('EXISTS', skey) == 1 then return nil, 'session record has no format version' end
    return nil, nil
  end
  if s[1] ~= '1' then return nil, 'unknown session format version' end
  if not (s[2] and s[7] and s[10]) then return nil, 'session record is missing fields' end
  if not (tonumber(s[3]) and tonumber(s[4]) and tonumber(s[5]) and tonumber(s[6])) then
    return nil, 'session record has a malformed timestamp'
  end
  if s[8] and not tonumber(s[9]) then return nil, 'session record has a malformed grace deadline' end
  return s, nil
end

local function expires_at(s) return math.min(tonumber(s[5]), tonumber(s[6])) end

local function session_reply(sid, s)
  return {sid, s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10]}
end

-- remove a session with its tokens and index entry; returns the number of token keys deleted
local function drop_session(sid, uk, ct, pt)
  local n = 0
  redis.call('DEL', p .. 's:' .. sid)
  if ct then n = n + redis.call('DEL', p .. 't:' .. ct) end
  if pt then n = n + redis.call('DEL', p .. 't:' .. pt) end
  if uk then redis.call('ZREM', p .. 'i:' .. uk, sid) end
  return n
end

-- once a user has no session left, its record and index go too; returns 1 if a user record was deleted
local function drop_user_if_unused(uk)
  local ikey = p .. 'i:' .. uk
  if redis.call('ZCARD', ikey) == 0 then
    redis.call('DEL', ikey)
    redis.call('ZREM', p .. 'users', uk)
    return redis.call('DEL', p .. 'u:' .. uk)
  end
  return 0
end

-- versions travel as 20 zero-padded digits; compared in two exact halves
local function is_ver(v) return type(v) == 'string' and #v == 20 and not string.find(v, '%D') end
local function ver_lt(a, b)
  local ah, bh = tonumber(string.sub(a, 1, 10)), tonumber(string.sub(b, 1, 10))
  if ah ~= bh then return ah < bh end
  return tonumber(string.sub(a, 11)) < tonumber(string.sub(b, 11))
end

-- replace the cached user unless the cached copy is newer: 1 written, 2 kept (stale)
local function write_user(ukey, blob, ver)
  local cur = redis.pcall('HGET', ukey, 'ver')
  if is_err(cur) then
    redis.call('DEL', ukey)
    cur = false
  end
  if ver ~= '' then
    if cur and is_ver(cur) and ver_lt(ver, cur) then return 2 end
    redis.call('HSET', ukey, 'd', blob, 'ver', ver)
  else
    redis.call('HSET', ukey, 'd', blob)
    if cur then redis.call('HDEL', ukey, 'ver') end
  end
  return 1
end

-- record in the users set that uk has a session living until exp_s
local function bump_user(uk, exp_s, ttl)
  local uset = p .. 'users'
  local cur = redis.call('ZSCORE', uset, uk)
  if (not cur) or tonumber(cur) < tonumber(exp_s) then redis.call('ZADD', uset, exp_s, uk) end
  extend(uset, ttl)
end

-- after a session's expiry moved to exp_s: its index entry, index, user record and the users set follow
local function follow_session(sid, uk, exp_s, ttl)
  local ikey = p .. 'i:' .. uk
  redis.call('ZADD', ikey, exp_s, sid)
  extend(ikey, ttl)
  local ukey = p .. 'u:' .. uk
  if redis.call('EXISTS', ukey) == 1 then extend(ukey, ttl) end
  bump_user(uk, exp_s, ttl)
end

-- read-only: does the user have a session live at now? Also returns the dead or dangling index entries
-- it met, for prune_index (reading first keeps a denyoom write the first write of put_user)
local function find_live_session(uk, now_s, now)
  local ikey = p .. 'i:' .. uk
  local dead = {}
  local offset = 0
  while true do
    local top = redis.call('ZREVRANGEBYSCORE', ikey, '+inf', '(' .. now_s, 'LIMIT', offset, 1)
    if #top == 0 then return false, dead end
    local s = load_session(p .. 's:' .. top[1])
    if s and now < expires_at(s) then return true, dead end
    dead[#dead + 1] = top[1]
    offset = offset + 1
  end
end

local function prune_index(uk, now_s, dead)
  local ikey = p .. 'i:' .. uk
  redis.call('ZREMRANGEBYSCORE', ikey, '-inf', now_s)
  for _, sid in ipairs(dead) do redis.call('ZREM', ikey, sid) end
end
"#
    };
}

/// `create`. ARGV: prefix, sid, user key, now (renewed_at), created_at, idle, absolute, token, metadata,
/// user blob, user version. Returns 1, or 0 when the session was dead on arrival (nothing written).
const CREATE: &str = concat!(
    prelude!(),
    r#"
local sid, uk, now_s = ARGV[2], ARGV[3], ARGV[4]
local now = tonumber(now_s)
local exp_s = min_s(ARGV[6], ARGV[7])
local ttl = ttl_until(tonumber(exp_s), now)
if ttl <= 0 then return 0 end
local skey = p .. 's:' .. sid
-- first write: HSET (denyoom), so a Redis out of memory refuses the script before it writes anything
redis.call('HSET', skey, 'v', '1', 'uk', uk, 'ca', ARGV[5], 'ra', now_s, 'id', ARGV[6], 'ad', ARGV[7],
  'ct', ARGV[8], 'm', ARGV[9])
redis.call('HDEL', skey, 'pt', 'pu')
redis.call('PEXPIRE', skey, fmt(ttl))
redis.call('SET', p .. 't:' .. ARGV[8], sid, 'PX', fmt(ttl))
redis.call('ZREMRANGEBYSCORE', p .. 'i:' .. uk, '-inf', now_s)
redis.call('ZREMRANGEBYSCORE', p .. 'users', '-inf', now_s)
local ukey = p .. 'u:' .. uk
write_user(ukey, ARGV[10], ARGV[11])
follow_session(sid, uk, exp_s, ttl)
return 1
"#
);

/// `fetch`. ARGV: prefix, token hex, now, due, successor hex, plan idle, grace until.
/// Returns {0} not found, {-1, reason, sid} undecodable, {-2, user key} user missing, or
/// {1, use (1 current, 2 grace), renewed (0/1), session..., user blob}.
const FETCH: &str = concat!(
    prelude!(),
    r#"
local tok, now_s = ARGV[2], ARGV[3]
local now = tonumber(now_s)
local tkey = p .. 't:' .. tok
local sid = redis.pcall('GET', tkey)
if is_err(sid) then return {-1, 'token key holds the wrong Redis type', false} end
if not sid then return {0} end
local skey = p .. 's:' .. sid
local s, bad = load_session(skey)
if not s then
  if bad then return {-1, bad, sid} end
  return {0}
end
local abs = tonumber(s[6])
if now >= expires_at(s) then return {0} end
local use
if s[7] == tok then
  use = 1
elseif s[8] == tok and now < tonumber(s[9]) then
  use = 2
else
  return {0}
end
local ukey = p .. 'u:' .. s[2]
local u = redis.pcall('HGET', ukey, 'd')
if is_err(u) then return {-1, 'user key holds the wrong Redis type', sid} end
if not u then return {-2, s[2]} end
local renewed = 0
if use == 1 and tonumber(s[4]) <= tonumber(ARGV[4]) then
  local idle_s = ARGV[6]
  if tonumber(idle_s) > abs then idle_s = s[6] end
  local ttl = ttl_until(tonumber(idle_s), now)
  if ttl > 0 then
    local older = s[8]
    local gttl = ttl_until(math.min(tonumber(ARGV[7]), tonumber(idle_s)), now)
    -- first write: HSET (denyoom), so a Redis out of memory refuses the rotation before it writes anything
    if gttl > 0 then
      redis.call('HSET', skey, 'ra', now_s, 'id', idle_s, 'ct', ARGV[5], 'pt', tok, 'pu', ARGV[7])
      redis.call('PEXPIRE', tkey, fmt(gttl))
      s[8], s[9] = tok, ARGV[7]
    else
      redis.call('HSET', skey, 'ra', now_s, 'id', idle_s, 'ct', ARGV[5])
      redis.call('HDEL', skey, 'pt', 'pu')
      redis.call('DEL', tkey)
      s[8], s[9] = false, false
    end
    -- any older previous token dies now
    if older and older ~= tok then redis.call('DEL', p .. 't:' .. older) end
    redis.call('PEXPIRE', skey, fmt(ttl))
    redis.call('SET', p .. 't:' .. ARGV[5], sid, 'PX', fmt(ttl))
    follow_session(sid, s[2], idle_s, ttl)
    s[4], s[5], s[7] = now_s, idle_s, ARGV[5]
    renewed = 1
  end
end
local out = {1, use, renewed}
local r = session_reply(sid, s)
for i = 1, #r do out[i + 3] = r[i] end
out[15] = u
return out
"#
);

/// `rotate`. ARGV: prefix, sid, new token, now, idle, has user (0/1), user blob, user version.
/// Returns {0} gone, {-1, reason} undecodable, or {1, session...}.
const ROTATE: &str = concat!(
    prelude!(),
    r#"
local sid, now_s = ARGV[2], ARGV[4]
local now = tonumber(now_s)
local skey = p .. 's:' .. sid
local s, bad = load_session(skey)
if not s then
  if bad then return {-1, bad} end
  return {0}
end
if now >= expires_at(s) then return {0} end
local idle_s = ARGV[5]
if tonumber(idle_s) > tonumber(s[6]) then idle_s = s[6] end
local ttl = ttl_until(tonumber(idle_s), now)
if ttl <= 0 then return {0} end
-- first write: HSET (denyoom), so a Redis out of memory refuses the script before it writes anything
redis.call('HSET', skey, 'ra', now_s, 'id', idle_s, 'ct', ARGV[3])
redis.call('HDEL', skey, 'pt', 'pu')
redis.call('DEL', p .. 't:' .. s[7])
if s[8] then redis.call('DEL', p .. 't:' .. s[8]) end
redis.call('PEXPIRE', skey, fmt(ttl))
redis.call('SET', p .. 't:' .. ARGV[3], sid, 'PX', fmt(ttl))
if ARGV[6] == '1' then write_user(p .. 'u:' .. s[2], ARGV[7], ARGV[8]) end
follow_session(sid, s[2], idle_s, ttl)
s[4], s[5], s[7], s[8], s[9] = now_s, idle_s, ARGV[3], false, false
local out = {1}
local r = session_reply(sid, s)
for i = 1, #r do out[i + 1] = r[i] end
return out
"#
);

/// `put_user`. ARGV: prefix, user key, now, blob, version. Returns 0 not cached, 1 updated, 2 stale.
const PUT_USER: &str = concat!(
    prelude!(),
    r#"
local uk, now_s = ARGV[2], ARGV[3]
local live, dead = find_live_session(uk, now_s, tonumber(now_s))
local ukey = p .. 'u:' .. uk
local out = 0
if live and redis.call('EXISTS', ukey) == 1 then out = write_user(ukey, ARGV[4], ARGV[5]) end
prune_index(uk, now_s, dead)
return out
"#
);

/// `delete_by_token`. ARGV: prefix, token hex, now. Returns the deleted session's id or nil.
const DELETE_BY_TOKEN: &str = concat!(
    prelude!(),
    r#"
local tok, now = ARGV[2], tonumber(ARGV[3])
local tkey = p .. 't:' .. tok
local sid = redis.pcall('GET', tkey)
if is_err(sid) then
  redis.call('DEL', tkey)
  return false
end
if not sid then return false end
local s = load_session(p .. 's:' .. sid)
if not s then
  redis.call('DEL', tkey)
  return false
end
if now >= expires_at(s) then return false end
if not (s[7] == tok or (s[8] == tok and now < tonumber(s[9]))) then return false end
drop_session(sid, s[2], s[7], s[8])
redis.call('ZREMRANGEBYSCORE', p .. 'i:' .. s[2], '-inf', ARGV[3])
drop_user_if_unused(s[2])
return sid
"#
);

/// `delete_session`. ARGV: prefix, sid. Returns 1 if the session existed.
const DELETE_SESSION: &str = concat!(
    prelude!(),
    r#"
local sid = ARGV[2]
local skey = p .. 's:' .. sid
if redis.call('EXISTS', skey) == 0 then return 0 end
local f = redis.pcall('HMGET', skey, 'uk', 'ct', 'pt')
if is_err(f) then
  redis.call('DEL', skey)
  return 1
end
drop_session(sid, f[1], f[2], f[3])
if f[1] then drop_user_if_unused(f[1]) end
return 1
"#
);

/// `delete_user_sessions`. ARGV: prefix, user key, except sid (empty for none). Returns the count.
const DELETE_USER_SESSIONS: &str = concat!(
    prelude!(),
    r#"
local uk, except = ARGV[2], ARGV[3]
local ikey = p .. 'i:' .. uk
local n = 0
for _, sid in ipairs(redis.call('ZRANGE', ikey, 0, -1)) do
  if sid ~= except then
    local skey = p .. 's:' .. sid
    if redis.call('EXISTS', skey) == 1 then
      local f = redis.pcall('HMGET', skey, 'ct', 'pt')
      if is_err(f) then f = {false, false} end
      drop_session(sid, uk, f[1], f[2])
      n = n + 1
    end
    redis.call('ZREM', ikey, sid)
  end
end
drop_user_if_unused(uk)
return n
"#
);

/// `sessions`. ARGV: prefix, user key, now. Returns one array per indexed session (session... or {sid}
/// alone when the key holds the wrong type); Rust checks liveness and order.
const SESSIONS: &str = concat!(
    prelude!(),
    r#"
local uk, now_s = ARGV[2], ARGV[3]
local ikey = p .. 'i:' .. uk
redis.call('ZREMRANGEBYSCORE', ikey, '-inf', now_s)
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', ikey, 0, -1)) do
  local skey = p .. 's:' .. sid
  local s = redis.pcall('HMGET', skey, unpack(SFIELDS))
  if is_err(s) then
    out[#out + 1] = {sid}
  elseif redis.call('EXISTS', skey) == 0 then
    redis.call('ZREM', ikey, sid)
  else
    out[#out + 1] = session_reply(sid, s)
  end
end
return out
"#
);

/// `users`, step 1. ARGV: prefix, now. Prunes the users set and returns its members.
const USERS_LIST: &str = concat!(
    prelude!(),
    r#"
local uset = p .. 'users'
redis.call('ZREMRANGEBYSCORE', uset, '-inf', ARGV[2])
return redis.call('ZRANGE', uset, 0, -1)
"#
);

/// `users`, step 2. ARGV: prefix, now, user keys... Returns {user key, blob} for users with a live session.
const USERS_BATCH: &str = concat!(
    prelude!(),
    r#"
local now_s = ARGV[2]
local now = tonumber(now_s)
local out = {}
for i = 3, #ARGV do
  local uk = ARGV[i]
  local live, dead = find_live_session(uk, now_s, now)
  prune_index(uk, now_s, dead)
  if live then
    local d = redis.pcall('HGET', p .. 'u:' .. uk, 'd')
    if is_err(d) then d = false end
    out[#out + 1] = {uk, d}
  else
    redis.call('ZREM', p .. 'users', uk)
  end
end
return out
"#
);

/// `sweep`, one batch. ARGV: prefix, now, batch size. Returns {sessions, tokens, users, users processed}.
const SWEEP: &str = concat!(
    prelude!(),
    r#"
local now_s = ARGV[2]
local now = tonumber(now_s)
local uset = p .. 'users'
local dead = redis.call('ZRANGEBYSCORE', uset, '-inf', now_s, 'LIMIT', 0, tonumber(ARGV[3]))
local ns, nt, nu = 0, 0, 0
for _, uk in ipairs(dead) do
  local ikey = p .. 'i:' .. uk
  local keep, keep_exp = nil, nil
  for _, sid in ipairs(redis.call('ZRANGE', ikey, 0, -1)) do
    local skey = p .. 's:' .. sid
    local f = redis.pcall('HMGET', skey, 'id', 'ad', 'ct', 'pt')
    if is_err(f) then
      redis.call('DEL', skey)
      redis.call('ZREM', ikey, sid)
      ns = ns + 1
    elseif redis.call('EXISTS', skey) == 0 then
      redis.call('ZREM', ikey, sid)
    else
      local e = math.min(tonumber(f[1]) or 0, tonumber(f[2]) or 0)
      if now < e then
        if (not keep_exp) or e > keep_exp then keep, keep_exp = min_s(f[1], f[2]), e end
      else
        nt = nt + drop_session(sid, uk, f[3], f[4])
        ns = ns + 1
      end
    end
  end
  if keep then
    redis.call('ZADD', uset, keep, uk)
  else
    nu = nu + drop_user_if_unused(uk)
    redis.call('ZREM', uset, uk)
  end
end
return {ns, nt, nu, #dead}
"#
);

struct Scripts {
    create: Script,
    fetch: Script,
    rotate: Script,
    put_user: Script,
    delete_by_token: Script,
    delete_session: Script,
    delete_user_sessions: Script,
    sessions: Script,
    users_list: Script,
    users_batch: Script,
    sweep: Script,
}

impl Scripts {
    fn all(&self) -> [&Script; 11] {
        [
            &self.create,
            &self.fetch,
            &self.rotate,
            &self.put_user,
            &self.delete_by_token,
            &self.delete_session,
            &self.delete_user_sessions,
            &self.sessions,
            &self.users_list,
            &self.users_batch,
            &self.sweep,
        ]
    }
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    create: Script::new(CREATE),
    fetch: Script::new(FETCH),
    rotate: Script::new(ROTATE),
    put_user: Script::new(PUT_USER),
    delete_by_token: Script::new(DELETE_BY_TOKEN),
    delete_session: Script::new(DELETE_SESSION),
    delete_user_sessions: Script::new(DELETE_USER_SESSIONS),
    sessions: Script::new(SESSIONS),
    users_list: Script::new(USERS_LIST),
    users_batch: Script::new(USERS_BATCH),
    sweep: Script::new(SWEEP),
});

// ---------------------------------------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------------------------------------

#[async_trait::async_trait]
impl<U: CachedUser> Store<U> for RedisStore {
    async fn create(&self, new: NewSession<U>) -> Result<(), StoreError> {
        const OP: &str = "create";
        let s = &new.session;
        let user =
            encode(&*new.user).map_err(|e| err(OP, "could not encode the user").with_source(e))?;
        let metadata = encode(&s.metadata)
            .map_err(|e| err(OP, "could not encode the session metadata").with_source(e))?;
        let args = vec![
            s.session_id.to_hex().into_bytes(),
            str_arg(&s.user_key),
            ts_arg(s.renewed_at),
            ts_arg(s.created_at),
            ts_arg(s.idle_deadline),
            ts_arg(s.absolute_deadline),
            s.current_token.to_hex().into_bytes(),
            metadata,
            user,
            version_arg(new.user.version()),
        ];
        let reply = self.run(OP, &SCRIPTS.create, args).await?;
        if int(&reply) == Some(0) {
            tracing::debug!(session_id = %s.session_id, "session already expired at creation; nothing written");
        }
        Ok(())
    }

    async fn fetch(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> Result<FetchOutcome<U>, StoreError> {
        const OP: &str = "fetch";
        // The script must be able to rotate in the same round trip, so the successor exists up front.
        let next = plan.next_token.hash();
        let args = vec![
            token.to_hex().into_bytes(),
            ts_arg(now),
            ts_arg(plan.due_if_renewed_at_or_before),
            next.to_hex().into_bytes(),
            ts_arg(plan.idle_deadline),
            ts_arg(plan.grace_until),
        ];
        let reply = self.run(OP, &SCRIPTS.fetch, args).await?;
        let items = array(reply).ok_or_else(|| malformed(OP))?;
        match items.first().and_then(int) {
            Some(0) => Ok(FetchOutcome::NotFound),
            Some(-1) => {
                let reason = items.get(1).and_then(text).unwrap_or("undecodable record");
                let sid = items.get(2).and_then(text);
                tracing::warn!(
                    backend = BACKEND,
                    operation = OP,
                    token = %token.short(),
                    session_id = sid.unwrap_or("?"),
                    reason,
                    "undecodable record treated as absent"
                );
                Ok(FetchOutcome::NotFound)
            }
            Some(-2) => {
                let user_key = items.get(1).and_then(text).unwrap_or("?");
                warn_user(OP, user_key, "a live session has no cached user");
                Ok(FetchOutcome::NotFound)
            }
            Some(1) if items.len() == 3 + SESSION_WIDTH + 1 => {
                let token_use = match int(&items[1]) {
                    Some(1) => TokenUse::Current,
                    Some(2) => TokenUse::Grace,
                    _ => return Err(malformed(OP)),
                };
                let renewed = match int(&items[2]) {
                    Some(0) => false,
                    Some(1) => true,
                    _ => return Err(malformed(OP)),
                };
                let session = match parse_session(&items[3..3 + SESSION_WIDTH]) {
                    Ok(s) => s,
                    Err(reason) => {
                        warn_session(OP, text(&items[3]), reason);
                        return Ok(FetchOutcome::NotFound);
                    }
                };
                let user_blob = bytes(&items[3 + SESSION_WIDTH]).ok_or_else(|| malformed(OP))?;
                let user: U = match decode(user_blob) {
                    Ok(u) => u,
                    Err(reason) => {
                        warn_user(OP, &session.user_key, reason);
                        return Ok(FetchOutcome::NotFound);
                    }
                };
                Ok(FetchOutcome::Found {
                    session: Arc::new(session),
                    user: Arc::new(user),
                    token_use,
                    renewed,
                })
            }
            _ => Err(malformed(OP)),
        }
    }

    async fn rotate(
        &self,
        session_id: &SessionId,
        new_token: &TokenHash,
        user: Option<Arc<U>>,
        now: Timestamp,
        idle_deadline: Timestamp,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        const OP: &str = "rotate";
        let (has_user, blob, version) = match &user {
            Some(u) => (
                b"1".to_vec(),
                encode(&**u).map_err(|e| err(OP, "could not encode the user").with_source(e))?,
                version_arg(u.version()),
            ),
            None => (b"0".to_vec(), Vec::new(), Vec::new()),
        };
        let args = vec![
            session_id.to_hex().into_bytes(),
            new_token.to_hex().into_bytes(),
            ts_arg(now),
            ts_arg(idle_deadline),
            has_user,
            blob,
            version,
        ];
        let reply = self.run(OP, &SCRIPTS.rotate, args).await?;
        let items = array(reply).ok_or_else(|| malformed(OP))?;
        match items.first().and_then(int) {
            Some(0) => Ok(None),
            Some(-1) => {
                let reason = items.get(1).and_then(text).unwrap_or("undecodable record");
                warn_session(OP, Some(&session_id.to_hex()), reason);
                Ok(None)
            }
            Some(1) if items.len() == 1 + SESSION_WIDTH => match parse_session(&items[1..]) {
                Ok(s) => Ok(Some(Arc::new(s))),
                Err(reason) => {
                    warn_session(OP, Some(&session_id.to_hex()), reason);
                    Ok(None)
                }
            },
            _ => Err(malformed(OP)),
        }
    }

    async fn put_user(&self, user: Arc<U>, now: Timestamp) -> Result<PutOutcome, StoreError> {
        const OP: &str = "put_user";
        let blob =
            encode(&*user).map_err(|e| err(OP, "could not encode the user").with_source(e))?;
        let args = vec![
            str_arg(&user.user_key()),
            ts_arg(now),
            blob,
            version_arg(user.version()),
        ];
        let reply = self.run(OP, &SCRIPTS.put_user, args).await?;
        match int(&reply) {
            Some(0) => Ok(PutOutcome::NotCached),
            Some(1) => Ok(PutOutcome::Updated),
            Some(2) => Ok(PutOutcome::Stale),
            _ => Err(malformed(OP)),
        }
    }

    async fn delete_by_token(
        &self,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<SessionId>, StoreError> {
        const OP: &str = "delete_by_token";
        let args = vec![token.to_hex().into_bytes(), ts_arg(now)];
        match self.run(OP, &SCRIPTS.delete_by_token, args).await? {
            v if is_nil(&v) => Ok(None),
            v => text(&v)
                .and_then(SessionId::parse)
                .map(Some)
                .ok_or_else(|| malformed(OP)),
        }
    }

    async fn delete_session(&self, session_id: &SessionId) -> Result<bool, StoreError> {
        const OP: &str = "delete_session";
        let args = vec![session_id.to_hex().into_bytes()];
        match int(&self.run(OP, &SCRIPTS.delete_session, args).await?) {
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            _ => Err(malformed(OP)),
        }
    }

    async fn delete_user_sessions(
        &self,
        user_key: &str,
        except: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        const OP: &str = "delete_user_sessions";
        let args = vec![
            str_arg(user_key),
            except.map(|s| s.to_hex().into_bytes()).unwrap_or_default(),
        ];
        int(&self.run(OP, &SCRIPTS.delete_user_sessions, args).await?)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| malformed(OP))
    }

    async fn sessions(
        &self,
        user_key: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        const OP: &str = "sessions";
        let args = vec![str_arg(user_key), ts_arg(now)];
        let reply = self.run(OP, &SCRIPTS.sessions, args).await?;
        let entries = array(reply).ok_or_else(|| malformed(OP))?;
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let fields = array(entry).ok_or_else(|| malformed(OP))?;
            if fields.len() != SESSION_WIDTH {
                warn_session(
                    OP,
                    fields.first().and_then(text),
                    "session key holds the wrong Redis type",
                );
                continue;
            }
            match parse_session(&fields) {
                Ok(s) if s.user_key == user_key && s.is_live(now) => out.push(s),
                Ok(_) => {}
                Err(reason) => warn_session(OP, text(&fields[0]), reason),
            }
        }
        out.sort_by_key(|s| (s.created_at, s.session_id));
        Ok(out)
    }

    async fn users(&self, now: Timestamp) -> Result<Vec<Arc<U>>, StoreError> {
        const OP: &str = "users";
        let reply = self.run(OP, &SCRIPTS.users_list, vec![ts_arg(now)]).await?;
        let keys: Vec<Vec<u8>> = array(reply)
            .ok_or_else(|| malformed(OP))?
            .iter()
            .map(|v| bytes(v).map(<[u8]>::to_vec))
            .collect::<Option<_>>()
            .ok_or_else(|| malformed(OP))?;
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH) {
            let mut args = Vec::with_capacity(chunk.len() + 1);
            args.push(ts_arg(now));
            args.extend(chunk.iter().cloned());
            let reply = self.run(OP, &SCRIPTS.users_batch, args).await?;
            for entry in array(reply).ok_or_else(|| malformed(OP))? {
                let pair = array(entry).ok_or_else(|| malformed(OP))?;
                let [uk, blob] = pair.as_slice() else {
                    return Err(malformed(OP));
                };
                let user_key = text(uk).unwrap_or("?");
                match bytes(blob) {
                    Some(b) => match decode::<U>(b) {
                        Ok(u) => out.push(Arc::new(u)),
                        Err(reason) => warn_user(OP, user_key, reason),
                    },
                    None => warn_user(OP, user_key, "a live session has no cached user"),
                }
            }
        }
        Ok(out)
    }

    async fn sweep(&self, now: Timestamp) -> Result<SweepStats, StoreError> {
        const OP: &str = "sweep";
        let mut stats = SweepStats::default();
        for _ in 0..MAX_SWEEP_BATCHES {
            let args = vec![ts_arg(now), BATCH.to_string().into_bytes()];
            let reply = self.run(OP, &SCRIPTS.sweep, args).await?;
            let n: Vec<usize> = array(reply)
                .ok_or_else(|| malformed(OP))?
                .iter()
                .map(|v| int(v).and_then(|i| usize::try_from(i).ok()))
                .collect::<Option<_>>()
                .ok_or_else(|| malformed(OP))?;
            let [sessions, tokens, users, processed] = n.as_slice() else {
                return Err(malformed(OP));
            };
            stats.sessions += sessions;
            stats.tokens += tokens;
            stats.users += users;
            if *processed < BATCH {
                break;
            }
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_refuse_other_formats() {
        let m = SessionMetadata {
            user_agent: Some("ua".into()),
            ip: None,
            fields: [("k".to_string(), "v".to_string())].into_iter().collect(),
        };
        let b = encode(&m).unwrap();
        assert_eq!(b[0], BLOB_FORMAT);
        assert_eq!(decode::<SessionMetadata>(&b).unwrap(), m);
        let mut other = b.clone();
        other[0] = 2;
        assert!(decode::<SessionMetadata>(&other).is_err());
        assert!(decode::<SessionMetadata>(&[]).is_err());
        assert!(decode::<SessionMetadata>(&[BLOB_FORMAT, 0xc1]).is_err());
    }

    #[test]
    fn versions_sort_as_text_like_numbers() {
        assert_eq!(version_arg(Some(7)), b"00000000000000000007".to_vec());
        assert_eq!(version_arg(Some(u64::MAX)).len(), 20);
        assert!(version_arg(None).is_empty());
    }

    #[test]
    fn session_parse_rejects_bad_fields() {
        let sid = SessionId::generate();
        let h = TokenHash([3; 32]);
        let meta = encode(&SessionMetadata::default()).unwrap();
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let good = vec![
            bulk(&sid.to_hex()),
            bulk("1"),
            bulk("u1"),
            bulk("10"),
            bulk("20"),
            bulk("30"),
            bulk("40"),
            bulk(&h.to_hex()),
            Value::Nil,
            Value::Nil,
            Value::BulkString(meta),
        ];
        let s = parse_session(&good).unwrap();
        assert_eq!(s.session_id, sid);
        assert_eq!(s.expires_at(), Timestamp(30));
        assert_eq!(s.previous_token, None);
        let mut bad = good.clone();
        bad[1] = bulk("2");
        assert!(parse_session(&bad).is_err());
        let mut bad = good.clone();
        bad[5] = bulk("soon");
        assert!(parse_session(&bad).is_err());
        let mut bad = good.clone();
        bad[7] = bulk("xyz");
        assert!(parse_session(&bad).is_err());
        let mut bad = good.clone();
        bad[10] = Value::BulkString(vec![9, 9]);
        assert!(parse_session(&bad).is_err());
        assert!(parse_session(&good[..10]).is_err());
    }
}
