//! # keycard-redis: the Redis store for keycard
//!
//! One shared credentials store for any number of app nodes, on one Redis or on a Redis Cluster.
//!
//! [`RedisStore`] keeps sessions, tokens, cached users and per-user indexes in Redis, so every app node
//! sees the same sessions, a background job in another process can update a cached user, and "log out
//! everywhere" works across servers. It implements [`Store`](keycard::Store) exactly as the memory store
//! does and passes the same conformance suite and model test (`keycard-store-tests`, run by
//! `tests/conformance.rs`).
//!
//! (`no_run`: it needs a Redis; `tests/conformance.rs` runs the same store against one, and the
//! repository's `crates/keycard-axum/examples/redis_store.rs` is a whole app on it.)
//!
//! ```no_run
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: i64 }
//! # impl keycard::CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use keycard_redis::{RedisConfig, RedisStore};
//!
//! // One prefix per app sharing the Redis; every call is bounded by a 2 s timeout.
//! let store = RedisStore::connect("redis://127.0.0.1:6379", RedisConfig::with_prefix("myapp:")).await?;
//! // Already warned (tracing) if the policy can evict session keys; print it for the operator.
//! println!("maxmemory-policy: {}", store.check_eviction_policy().await?);
//! // The same store on a Redis Cluster: any reachable nodes, the client learns the rest.
//! let cluster = RedisStore::connect(
//!     "redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002",
//!     RedisConfig::default(),
//! )
//! .await?;
//! assert!(cluster.is_cluster());
//!
//! // The credentials cache over it, as over any store (`secret`: at least 64 bytes, the same on every node).
//! let cache = keycard::CredentialsCache::<User>::builder(store)
//!     .secret(std::env::var("SECRET_KEY")?)
//!     .build()?;
//! let _sweeper = cache.spawn_sweeper(std::time::Duration::from_secs(60));
//! # Ok(()) }
//! ```
//!
//! Every key of a user carries the user's hash tag (see "Key layout"), which [`hash_tag`] computes:
//! ```
//! let tag = keycard_redis::hash_tag("42");
//! assert!(tag.starts_with('{') && tag.ends_with('}') && tag.len() == 4); // e.g. `keycard:{a3}u:42`
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
//! Every key of one user carries the user's **hash tag**, `{tt}`: two hex digits, `SHA-256(user key)[0]`,
//! one of 256 tags. Redis Cluster hashes only what is between the braces, so a user's record, index,
//! sessions and tokens all live in one slot (every primitive stays one atomic script on one node), while
//! users spread over 256 slots, and so over every master. With the default prefix `keycard:` (set
//! [`RedisConfig::key_prefix`] per app to share one Redis; it must not contain braces):
//!
//! | key | type | value | expires (`PEXPIRE` in the same script that writes it) |
//! |---|---|---|---|
//! | `{prefix}{tt}t:{token_hash_hex}` | string | the session id (32 hex chars) | current token: with the session; previous token: at the end of its grace window |
//! | `{prefix}{tt}s:{session_id_hex}` | hash | `v` format (`1`), `uk` user key, `ca` created_at, `ra` renewed_at, `id` idle deadline, `ad` absolute deadline, `ct` current token hash, `pt`/`pu` previous token hash and its grace deadline, `m` metadata blob, `af` credential fingerprint, `aa` authenticated_at, `rs` the remember-me series the session belongs to (absent for none, and in records written before it existed) | at `min(id, ad)` |
//! | `{prefix}{tt}u:{user_key}` | hash | `d` user blob, `ver` user version (20-digit zero-padded decimal, absent when the user has none), `af` credential fingerprint | with the user's longest-lived session |
//! | `{prefix}{tt}i:{user_key}` | sorted set | member: session id, score: the session's expiry (ms) | with the user's longest-lived session |
//! | `{prefix}{tt}users` | sorted set | the users of tag `tt`: member: user key, score: expiry of the user's longest-lived session | with the longest-lived session of the bucket |
//! | `{prefix}{tt}r:{series_id_hex}` | hash | remember-me series ([`keycard::remember::RememberStore`]): `v` format (`1`), `uk` user key, `ca` created_at, `ua` used_at, `ea` deadline, `ct` current token hash, `pt`/`pu` previous token hash and its grace deadline, `af` credential fingerprint | at `ea`, moved by each rotation |
//! | `{prefix}{tt}ri:{user_key}` | sorted set | the user's series: member: series id, score: its deadline (ms) | with the user's longest-lived series |
//! | `{prefix}l:{counter_hex}` | hash | login-throttle counter ([`keycard::throttle::ThrottleStore`]): `n` attempts counted, `e` window end; a key of its own, no user tag (one-key scripts: any slot) | a second after its window |
//!
//! **Finding the slot without the user.** A cookie names a token, not a user, and a session list hands
//! out session ids. So the store answers [`Store::route_tag`](keycard::Store::route_tag) with the user's
//! tag and the cache builds that user's tokens and session ids with it ([`keycard::RouteTag`]): the
//! cookie value carries the tag (88 characters instead of 86, the tag covered by the HMAC), the token
//! hash keeps it in its first two bytes and the session id in its first two. The store reads the tag
//! from the hash or the id, names the keys `{prefix}{tt}…`, and sends the script to that slot. The tag
//! tells whoever sees a cookie or a session id 8 bits of a hash of the user key (which slot), nothing
//! else. A token without a tag of this layout (an older cookie, another store's) answers "not found"
//! without a round trip. [`hash_tag`] gives a user's tag, for operators looking at keys. Remember-me
//! series ids carry the same tag ([`RememberStore::route_tag`](keycard::remember::RememberStore::route_tag)),
//! so a remember-me cookie names the slot of its series and its user's set.
//!
//! **Scripts on one slot.** Every script gets the key base `{prefix}{tt}` as `ARGV[1]` and names every
//! key it touches from it, so it cannot leave its slot; it declares in `KEYS` the keys known before it
//! runs (`create`: all five; `fetch` and `delete_by_token`: the token key; `rotate` and `delete_session`:
//! the session key; the user-keyed primitives: the user record and index; `users` and `sweep`: the
//! bucket), and the cluster client routes it by the first. Nothing global is written: the users set is
//! one set per tag, beside the users it lists.
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
//! a delete leaves a user with no session, the user record and index go with it. No script uses the
//! `KEYS` command or `SCAN`; `users()` reads the 256 bucket sets (16 at a time; each bucket's batches of
//! 100 users atomic, the whole listing not a snapshot) and is not meant for the request path. On a
//! cluster that is 256 scripts spread over the masters; there is no cross-slot admin listing beyond it.
//!
//! **Remember-me.** [`RedisStore`] is also a [`RememberStore`](keycard::remember::RememberStore) (the
//! kit's `remember_suite!`, on one Redis and on the cluster): one script per primitive, in the user's
//! slot. [`redeem`](keycard::remember::RememberStore::redeem) is one `EVALSHA` that decides and writes at
//! once (rotate the current token, the grace answer for the token it replaced, theft for any other: the
//! series deleted), so of concurrent redemptions exactly one rotates. An expired series is unknown and
//! deleted. `series` lists the live ones and prunes the user's set; `delete_user_series` is one script.
//! `sweep_series` does nothing and answers 0: Redis expires series at their deadline, and the per-user
//! sets are pruned whenever they are used (and expire with their longest series).
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
//! visits the 256 buckets, removes the users (with their sessions, tokens, index and record) whose every
//! session ended on the cache's clock, and prunes the bucket sets. Expired sessions of users who still have a live one are left to
//! Redis' own expiry (on a clock that runs ahead of Redis', as in tests, they stay invisible to every read).
//!
//! # One round trip per request
//! [`fetch`](keycard::Store::fetch), renewal included, is a single `EVALSHA` (on a cluster: to the
//! master of the token's slot, found from the tag in the token hash): the script resolves
//! token → session → user and, when renewal is due, rotates in the same call. The successor token is
//! generated before the call (`plan.next_token.hash()`), so the script has everything it needs. A
//! remember-me redemption is likewise one `EVALSHA` (test `redeem_is_exactly_one_round_trip`, the same
//! way), and a series id without a tag of this layout none.
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
//! # Redis Cluster
//! [`RedisStore::connect`] with `redis+cluster://[[user]:password@]host:port[,host:port…]` uses the
//! `redis` crate's async cluster client: it follows `MOVED` and `ASK`, retries `TRYAGAIN` and
//! `CLUSTERDOWN` (with backoff, bounded by [`RedisConfig::response_timeout`] like every call), and loads
//! the scripts on every primary. The same scripts and the same layout run on both deployments.
//!
//! **Failover** (measured by `tests/cluster_ops`, a `SIGKILL` of one of 3 masters, `cluster-node-timeout
//! 2000`, 1 s response timeout, 2 busy cores): requests for the killed master's users fail with a store
//! error (503) until its replica is promoted and the store has seen the new slot map, about **3.4-4.4 s** (four runs)
//! after the kill, then succeed by themselves. No revoked session was served and no live one read as
//! signed out. The redis 0.32 cluster client reconnects to a dead node's address forever, so after a
//! failed call the store rebuilds its cluster connection from the seed nodes in the background (at most
//! every 250 ms); while the client recovers, requests for users on the *other* masters can fail too
//! (between 0 and 93 of 630-720 requests in four runs). The window is roughly `cluster-node-timeout` + the election + one
//! rebuild. **Replication is asynchronous**: a session acknowledged to the app just before the kill is
//! lost if its write had not reached the replica (the test counts them: 0 of 10 in its runs, with the
//! replica on the same machine; across a network expect the last few milliseconds of writes at risk). A
//! lost session means its user signs in again; nothing is resurrected (a revocation lost this way brings
//! back a session its user had ended, within the same window: the one way a failover can undo a write).
//! `WAIT 1 <ms>` after each write would make acknowledged writes survive the loss of one master, at one
//! more round trip per sign-in, renewal and sign-out and a stall while a replica lags; keycard does not
//! issue it (reads, the common case, would be unaffected).
//!
//! **Resharding** (`redis-cli --cluster reshard` of 2,000 slots under reads, sign-ins and sign-outs):
//! nothing lost, nothing revoked back; the only other answer is a store error (503) for requests that
//! meet a slot in motion (`TRYAGAIN` beyond the client's retries, or a script that finds one of a live
//! session's records missing on its node, `KEYCARDMOVING`: on a cluster the scripts fail before any write
//! rather than treat it as absent) or stall behind the client's slot-map rebuild; 0.4%, 2.3% and 10% of
//! requests in three runs, during the 1.3-3.7 s the move took; every one of them the cluster client's own
//! response timeout while it rebuilt its slot map.
//!
//! **Not supported:** a prefix with braces; cross-slot admin listing other than `users()` (there is no
//! index of all sessions); `SCAN`-based tooling sees keys one node at a time. A live token whose session
//! record is missing is an error on a cluster (it cannot be told apart from a slot in motion), "not
//! found" on one Redis. Known gaps while a slot moves: `users()` and `sweep` (not on the request path)
//! can drop a user from its bucket whose index is still on its way (the user's next sign-in or renewal
//! puts it back); a revoked session's grace token left on the other node answers 503 until its grace
//! window ends.
//!
//! # Near cache
//! [`RedisStore::near_cache`] puts a [`NearCache`](keycard::store::near::NearCache) in front of the
//! store: hot fetches are answered from process memory, and every write of every node reaches every
//! node's near cache at once, because each write script publishes what it changed
//! ([`RedisConfig::publish_invalidations`], on by default) and each node subscribes (behind the default
//! `near` feature). On one Redis: `PUBLISH {prefix}near`, one subscription per node ([`near`]). On a
//! Redis Cluster (Redis 7): `SPUBLISH {prefix}{tt}near` on the user's shard channel, in the script's own
//! slot, and one subscription per master per node, each confirmed by a `PING` and a `CLUSTER NODES`
//! through it ([`near_cluster`]). A node whose subscription (on a cluster: any master's) is down or
//! unconfirmed serves from Redis; a failover, a resharding or a topology change flushes and
//! resubscribes.
//!
//! # Switching layouts
//! Sessions written by keycard-redis before the per-user hash tags (`{prefix}t:…`, `{prefix}s:…`, a
//! global `{prefix}users`) are not read: their users are signed out once and sign in again. The store
//! logs a warning when it connects and finds `{prefix}users`; the old keys expire by themselves (test
//! `sessions_of_the_single_instance_layout_sign_out_once_with_a_warning`).
//!
//! # Deployment notes
//! - Standalone Redis (or a primary behind Sentinel, connected by its URL) version 5 or later, or a Redis
//!   Cluster (Redis 7.0 tested, 3 masters with a replica each); tested with Redis 7.0. Commands used:
//!   `EVALSHA`, `SCRIPT LOAD`, `EXISTS` and `CONFIG GET` at connect (the latter optional: a managed Redis
//!   that forbids it only loses the start-up policy check), and inside scripts `GET SET DEL EXISTS HGET
//!   HMGET HSET HDEL PTTL PEXPIRE ZADD ZREM ZSCORE ZCARD ZRANGE ZREVRANGE ZRANGEBYSCORE ZREMRANGEBYSCORE`, and
//!   `PUBLISH` (one Redis) or `SPUBLISH` (a cluster; [`RedisConfig::publish_invalidations`]); a near cache
//!   adds one connection per node with `SUBSCRIBE` and `PING`, on a cluster one per master per node with
//!   `SSUBSCRIBE`, `PING` and `CLUSTER NODES` (and `CLUSTER SLOTS` when it reads the masters).
//! - On one Redis, after a failover to a replica that had not yet received the last writes, recently
//!   created or rotated sessions may be lost (the user signs in again); nobody is signed in as somebody
//!   else.
//!
//! # Crate layout
//! [`config`] (how to connect and name keys), `connect` (connecting, timeouts, script loading), `conn`
//! ([`RedisConnection`], the cluster URL, the connection rebuild after a failover), `layout` (hash tags
//! and key names), `codec` (record encoding and reply parsing), `store` (the
//! [`Store`](keycard::Store) primitives), `throttle` and `remember` (the login-throttle counters and the
//! remember-me series), [`near`] (the near cache's subscription), [`near_cluster`] (its subscriptions on
//! a cluster), `near_message` (the invalidation payloads), and one Lua file per script in
//! `scripts/` (each prefixed with `scripts/prelude.lua`; the remember-me ones also with
//! `scripts/remember_prelude.lua`).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
// The checks of the fuzz target in fuzz/ (the record decoders), shared with the replay of fuzz/regressions/
// in this crate's tests. Behind the `fuzzing` feature and hidden: not part of the supported API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod __fuzz;
pub mod config;
mod conn;
mod connect;
mod layout;
#[cfg(feature = "near")]
#[cfg_attr(docsrs, doc(cfg(feature = "near")))]
pub mod near;
#[cfg(feature = "near")]
#[cfg_attr(docsrs, doc(cfg(feature = "near")))]
pub mod near_cluster;
#[cfg(feature = "near")]
mod near_message;
mod one_time;
mod remember;
mod scripts;
mod store;
mod throttle;

pub use config::{RedisConfig, DEFAULT_KEY_PREFIX};
pub use conn::{RedisConnection, CLUSTER_SCHEME};
pub use connect::RedisStore;
pub use layout::hash_tag;
#[cfg(feature = "near")]
pub use near::RedisInvalidations;
#[cfg(feature = "near")]
pub use near_cluster::ClusterInvalidations;

use keycard::StoreError;

/// The `backend` of every error this store returns.
const BACKEND: &str = "redis";

/// A store error of this backend.
fn err(operation: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::new(BACKEND, operation, message)
}
