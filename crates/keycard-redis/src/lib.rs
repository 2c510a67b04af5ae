//! # keycard-redis: the Redis store for keycard
//!
//! One shared credentials store for any number of app nodes.
//!
//! [`RedisStore`] keeps sessions, tokens, cached users and per-user indexes in Redis, so every app node
//! sees the same sessions, a background job in another process can update a cached user, and "log out
//! everywhere" works across servers. It implements [`Store`](keycard::Store) exactly as the memory store
//! does and passes the same conformance suite and model test (`keycard-store-tests`, run by
//! `tests/conformance.rs`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), keycard::StoreError> {
//! use keycard_redis::{RedisConfig, RedisStore};
//!
//! let store = RedisStore::connect("redis://127.0.0.1:6379", RedisConfig::default()).await?;
//! // Already warned (tracing) if the policy can evict session keys; print it for the operator.
//! println!("maxmemory-policy: {}", store.check_eviction_policy().await?);
//! # Ok(()) }
//! ```
//!
//! # The model
//! Every [`Store`](keycard::Store) method is **one Lua script**, run with `EVALSHA` (Redis runs a script
//! atomically: no other command interleaves); `users` and `sweep`, which are not on the request path, run
//! one script per batch of 100 users. The scripts are constants, loaded with `SCRIPT LOAD` when
//! the store connects; if Redis lost them (a restart, `SCRIPT FLUSH`) the client reloads a script on its
//! first `NOSCRIPT` reply and carries on. The atomicity the [`Store`](keycard::Store) docs require therefore
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
//! | `{prefix}l:{counter_hex}` | hash | login-throttle counter ([`keycard::throttle::ThrottleStore`]): `n` attempts counted, `e` window end | a second after its window |
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
//! Liveness is decided **only** by the `now` the cache passes in (its [`Clock`](keycard::Clock); a
//! [`ManualClock`](keycard::ManualClock) in tests). Scripts never call `TIME`.
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
//! [`sweep`](keycard::Store::sweep) is mostly a no-op in production (Redis expires keys by itself): it
//! removes the users (with their sessions, tokens, index and record) whose every session ended on the
//! cache's clock, and prunes the users set. Expired sessions of users who still have a live one are left to
//! Redis' own expiry (on a clock that runs ahead of Redis', as in tests, they stay invisible to every read).
//!
//! # One round trip per request
//! [`fetch`](keycard::Store::fetch), renewal included, is a single `EVALSHA`: the script resolves
//! token → session → user and, when renewal is due, rotates in the same call. The successor token is
//! generated before the call (`plan.next_token.hash()`), so the script has everything it needs.
//!
//! **How it is shown** (test `fetch_is_exactly_one_round_trip` in `tests/round_trip.rs`): the test asks the
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
//! - The connection is a multiplexed [`ConnectionManager`](redis::aio::ConnectionManager): one TCP connection shared by all requests,
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
//!
//! # Crate layout
//! [`config`] (how to connect and name keys), `connect` (the connection, timeouts, script loading), `codec`
//! (record encoding and reply parsing), `store` (the [`Store`](keycard::Store) primitives), and one Lua file per script in
//! `scripts/` (each prefixed with `scripts/prelude.lua`).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
// The checks of the fuzz target in fuzz/ (the record decoders), shared with the replay of fuzz/regressions/
// in this crate's tests. Behind the `fuzzing` feature and hidden: not part of the supported API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod __fuzz;
pub mod config;
mod connect;
mod scripts;
mod store;
mod throttle;

pub use config::{RedisConfig, DEFAULT_KEY_PREFIX};
pub use connect::RedisStore;

use keycard::StoreError;

/// The `backend` of every error this store returns.
const BACKEND: &str = "redis";

/// A store error of this backend.
fn err(operation: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::new(BACKEND, operation, message)
}
