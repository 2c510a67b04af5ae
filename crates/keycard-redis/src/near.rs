//! Pushed invalidation on Redis: a subscription that feeds a [`NearCache`].
//!
//! # The model
//! With [`RedisConfig::publish_invalidations`](crate::RedisConfig::publish_invalidations) on (the
//! default), every script that changes what a near cache may hold ends with a `PUBLISH` on the store's
//! channel, `{prefix}near` ([`RedisStore::invalidation_channel`]), naming what it changed:
//!
//! | write | message |
//! |---|---|
//! | `create` (a sign-in writes the user's cached copy) | `u:<user key>` |
//! | `fetch` that renewed (the token moved) | `s:<session id>` |
//! | `fetch` that ended the session (other credentials) | `u:<user key>` |
//! | `rotate` (`sync`, `regenerate`, re-authentication) | `s:<session id>`; `u:<user key>` when it carried a user (a password change) or ended the session |
//! | `put_user` that replaced the cached user | `u:<user key>` |
//! | `delete_by_token` (sign-out), `delete_session` (revoke one) | `s:<session id>` |
//! | `delete_user_sessions` (revoke others / all) | `u:<user key>` |
//! | `sweep`, per user it visits | `u:<user key>` |
//!
//! Anything else a subscriber reads (an unknown message) evicts everything. Reads never publish.
//!
//! The `PUBLISH` runs inside the write's own script, so Redis executes it in the same atomic step as
//! the write: no client can read the new state before the message is in every subscriber's output
//! buffer, and messages reach a subscriber in the order the writes ran. [`RedisInvalidations`] is the
//! listening side of one node, one task on a connection of its own (outside the store's multiplexed
//! connection):
//! - it `SUBSCRIBE`s to the channel and passes every message to the near cache's [`NearChannel`] in
//!   the order received;
//! - every quarter [lease](keycard::store::near::NearConfig::with_lease) it sends `PING` **on the
//!   subscribed connection**. Redis answers a `PING` after everything it had already put in that
//!   connection's output buffer, so when the `PONG` comes back every write that completed before the
//!   `PING` was sent has been delivered; the task passes on the messages received before the `PONG`,
//!   then [confirms](NearChannel::confirm) the channel for one lease from the instant the `PING` was
//!   sent. A `PING` costs the server nothing per write and needs no second connection.
//!
//! The near cache serves from memory only while confirmed. When the subscribed connection drops (a
//! Redis restart, a network cut, `CLIENT KILL`, the output buffer limit for pub/sub clients), the task
//! reports the channel [down](NearChannel::down) at once: the cache is flushed and every fetch goes to
//! the store until a new connection has subscribed and a `PONG` has come back through it. When Redis
//! hangs, or the connection lags, `PONG`s stop coming back and the confirmation runs out within one lease
//! (2 s by default); a `PING` unanswered for a whole lease also drops the connection and subscribes
//! again. A node never answers from memory for longer than one lease without Redis' word that it
//! missed nothing.
//!
//! # Why `PUBLISH` from the scripts, not `CLIENT TRACKING`
//! Server-assisted client-side caching (`CLIENT TRACKING … BCAST PREFIX`) would invalidate by key, with
//! no change to the scripts. But a near-cache entry is one *answer* (token → session → user), built from
//! keys the cache never reads itself: in `BCAST` mode Redis would send one message per key touched
//! (a renewal touches six to eight keys), with no way to say "this session" or "this user", so the
//! subscriber would have to map token, session, index and user keys back to entries, and every
//! listing, prune and expiry would invalidate too. Tracking also reports keys, not writes: a script
//! that leaves a key's value as it was still fires. One message per write, naming the session or the
//! user, from the script that decides the write, is smaller and says exactly what changed; and it is
//! the same model, and the same messages, as the PostgreSQL store's `NOTIFY`.
//!
//! # Redis Cluster
//! Not with this subscription: [`RedisInvalidations::new`] refuses a cluster store. On a cluster
//! `PUBLISH` is broadcast over the cluster bus, so one subscription would hear every master's writes,
//! but a `PING` on it only orders the messages of the node it is connected to: it cannot prove that
//! another master's earlier writes have arrived. So a cluster store's writes `SPUBLISH` to their user's
//! shard channel instead, and [`RedisStore::near_cache`] subscribes on every master and pings through
//! each ([`ClusterInvalidations`](crate::ClusterInvalidations); see
//! [`near_cluster`](crate::near_cluster)).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{FutureExt as _, StreamExt as _};
use keycard::store::near::{NearCache, NearChannel, NearConfig};
use keycard::{CachedUser, StoreError};
use redis::aio::{PubSub, PubSubSink, PubSubStream};
use redis::{ConnectionAddr, ProtocolVersion, RedisResult, Value};

use crate::near_message::parse;
use crate::{err, RedisStore};

/// What the subscription is doing, for tests and health checks.
#[derive(Debug, Default)]
pub struct ListenerStatus {
    addr: Mutex<Option<SocketAddr>>,
    subscriptions: AtomicU64,
    pings_sent: AtomicU64,
    pongs_received: AtomicU64,
}

impl ListenerStatus {
    /// The local address of the subscribed connection (what Redis lists as its `addr`, e.g. for
    /// `CLIENT KILL ADDR`); `None` while not subscribed, or over a Unix socket.
    pub fn client_addr(&self) -> Option<SocketAddr> {
        *self.addr.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many times a connection subscribed (1 after start-up; one more per reconnection).
    pub fn subscriptions(&self) -> u64 {
        self.subscriptions.load(SeqCst)
    }

    /// `PING`s sent on the subscribed connection.
    pub fn pings_sent(&self) -> u64 {
        self.pings_sent.load(SeqCst)
    }

    /// `PONG`s received (each one confirmed the channel).
    pub fn pongs_received(&self) -> u64 {
        self.pongs_received.load(SeqCst)
    }

    fn set_addr(&self, addr: Option<SocketAddr>) {
        *self.addr.lock().unwrap_or_else(|e| e.into_inner()) = addr;
    }
}

/// One node's subscription to a [`RedisStore`]'s invalidation channel. See the [module docs](self).
#[derive(Debug)]
pub struct RedisInvalidations {
    client: redis::Client,
    channel_name: String,
    connect_limit: Duration,
    status: Arc<ListenerStatus>,
}

/// Keeps the subscription running; stops it when dropped (with the near cache that holds it).
#[derive(Debug)]
pub struct InvalidationsGuard {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for InvalidationsGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why a cluster store gets no single-Redis subscription.
const CLUSTER_REFUSED: &str = "RedisInvalidations subscribes on one Redis: on a Redis Cluster use \
    ClusterInvalidations (sharded pub/sub, one subscription per master; RedisStore::near_cache picks it)";

impl RedisInvalidations {
    /// Subscribe to `store`'s channel. Fails on a Redis Cluster store, whose subscriptions are
    /// [`ClusterInvalidations`](crate::ClusterInvalidations)'.
    ///
    /// Errors: [`StoreError`] for a Redis Cluster store.
    pub fn new(store: &RedisStore) -> Result<Self, StoreError> {
        let Some(client) = store.client() else {
            return Err(err("near cache", CLUSTER_REFUSED));
        };
        let channel_name = match store.invalidation_channel() {
            Some(c) => c.to_owned(),
            None => {
                tracing::warn!(
                    server = %store.server(),
                    "near cache over a Redis store whose own writes do not publish invalidations: other \
                     nodes' near caches will not see this node's writes (RedisConfig::publish_invalidations)"
                );
                format!("{}near", store.key_prefix())
            }
        };
        Ok(RedisInvalidations {
            client: client.clone(),
            channel_name,
            connect_limit: store.response_timeout().max(Duration::from_secs(1)),
            status: Arc::new(ListenerStatus::default()),
        })
    }

    /// The subscription's status (shared: read it after [`start`](Self::start)).
    pub fn status(&self) -> Arc<ListenerStatus> {
        self.status.clone()
    }

    /// The channel it subscribes to.
    pub fn channel_name(&self) -> &str {
        &self.channel_name
    }

    /// Start the subscription on the current tokio runtime, feeding `channel`.
    pub fn start(self, channel: NearChannel) -> InvalidationsGuard {
        InvalidationsGuard {
            task: tokio::spawn(listen(self, channel)),
        }
    }
}

impl RedisStore {
    /// A [`NearCache`] over this store, subscribed to its invalidation channel
    /// ([`RedisInvalidations`]). Call it on a tokio runtime; the subscription stops when the last clone
    /// of the cache is dropped. Nothing is served from memory until the subscription is confirmed
    /// ([`NearCache::wait_confirmed`]). On a Redis Cluster the subscriptions are
    /// [`ClusterInvalidations`](crate::ClusterInvalidations) (sharded pub/sub, one per master; see
    /// [`near_cluster`](crate::near_cluster)): nothing is served from memory until every master's is
    /// confirmed.
    ///
    /// Errors: [`StoreError`] on a cluster store whose writes do not publish
    /// ([`RedisConfig::publish_invalidations`](crate::RedisConfig::publish_invalidations) off).
    pub fn near_cache<U: CachedUser>(
        &self,
        config: NearConfig,
    ) -> Result<NearCache<U, RedisStore>, StoreError> {
        if self.is_cluster() {
            let source = crate::near_cluster::ClusterInvalidations::new(self)?;
            let near = NearCache::new(self.clone(), config);
            let guard = source.start(near.channel());
            return Ok(near.with_source_guard(guard));
        }
        let source = RedisInvalidations::new(self)?;
        let near = NearCache::new(self.clone(), config);
        let guard = source.start(near.channel());
        Ok(near.with_source_guard(guard))
    }
}

/// A `PING` in flight on the subscribed connection: when it was sent, and its answer.
type Ping = Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>;

/// Subscribe, pass every message on in order, confirm on every `PONG`; on any loss report the channel
/// down and subscribe again.
async fn listen(source: RedisInvalidations, channel: NearChannel) {
    let every = (channel.lease() / 4).max(Duration::from_millis(10));
    let ping_limit = channel.lease().max(Duration::from_millis(100));
    let status = source.status.clone();
    let mut backoff = Duration::from_millis(50);
    loop {
        channel.down();
        status.set_addr(None);
        let subscribed = tokio::time::timeout(
            source.connect_limit,
            subscribe(&source.client, &source.channel_name),
        )
        .await
        .unwrap_or_else(|_| {
            Err(redis::RedisError::from((
                redis::ErrorKind::IoError,
                "no answer from Redis",
            )))
        });
        let (sink, mut stream, addr) = match subscribed {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "near cache: cannot subscribe to the invalidation channel; serving from the store");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        status.set_addr(addr);
        status.subscriptions.fetch_add(1, SeqCst);
        backoff = Duration::from_millis(50);

        // The first tick fires at once: the first confirmation need not wait a quarter lease.
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut in_flight: Option<(Instant, Ping)> = None;
        let why = loop {
            tokio::select! {
                biased;
                msg = stream.next() => match msg {
                    Some(m) => on_message(&m, &channel),
                    None => break "invalidation connection lost".to_owned(),
                },
                answer = async {
                    match in_flight.as_mut() {
                        Some((sent, ping)) => (*sent, ping.await),
                        None => std::future::pending().await,
                    }
                } => {
                    in_flight = None;
                    let (sent, answer) = answer;
                    if let Err(e) = answer {
                        break e;
                    }
                    // Redis put every message it sent before the PONG in the stream before the PONG:
                    // pass them on first, then confirm up to the PING.
                    match drain(&mut stream, &channel) {
                        Ok(()) => {}
                        Err(()) => break "invalidation connection lost".to_owned(),
                    }
                    status.pongs_received.fetch_add(1, SeqCst);
                    channel.confirm(sent);
                }
                _ = tick.tick(), if in_flight.is_none() => {
                    let mut sink: PubSubSink = sink.clone();
                    let sent = Instant::now();
                    status.pings_sent.fetch_add(1, SeqCst);
                    let ping: Ping = Box::pin(async move {
                        match tokio::time::timeout(ping_limit, sink.ping::<Value>()).await {
                            Ok(Ok(v)) if subscribed_pong(&v) => Ok(()),
                            Ok(Ok(v)) => Err(format!("not subscribed (PING answered {v:?})")),
                            Ok(Err(e)) => Err(format!("PING failed: {e}")),
                            Err(_) => Err(format!("no PONG within {} ms", ping_limit.as_millis())),
                        }
                    });
                    in_flight = Some((sent, ping));
                }
            }
        };
        tracing::warn!(reason = %why, "near cache: invalidation channel down; serving from the store until resubscribed");
    }
}

/// Pass on every message already received; `Err` when the stream has ended.
fn drain(stream: &mut PubSubStream, channel: &NearChannel) -> Result<(), ()> {
    loop {
        match stream.next().now_or_never() {
            Some(Some(m)) => on_message(&m, channel),
            Some(None) => return Err(()),
            None => return Ok(()),
        }
    }
}

/// A fresh connection subscribed to `name` (RESP2, whatever the URL asks for), and its local address
/// when it is TCP.
async fn subscribe(
    client: &redis::Client,
    name: &str,
) -> RedisResult<(PubSubSink, PubSubStream, Option<SocketAddr>)> {
    let mut info = client.get_connection_info().clone();
    // RESP2: a `PING` on a subscribed connection answers `["pong", ""]`, on any other `+PONG`, so every
    // `PONG` also proves the connection is still subscribed.
    info.redis.protocol = ProtocolVersion::RESP2;
    let (mut pubsub, addr) = match &info.addr {
        ConnectionAddr::Tcp(host, port) => {
            let tcp = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
            tcp.set_nodelay(true)?;
            let addr = tcp.local_addr().ok();
            (PubSub::new(&info.redis, tcp).await?, addr)
        }
        _ => (redis::Client::open(info)?.get_async_pubsub().await?, None),
    };
    // The redis crate does not report a refused SUBSCRIBE (`NOPERM`, say) as an error: the PING does.
    pubsub.subscribe(name).await?;
    let reply: Value = pubsub.ping().await?;
    if !subscribed_pong(&reply) {
        return Err(redis::RedisError::from((
            redis::ErrorKind::ResponseError,
            "SUBSCRIBE was refused",
            format!("{reply:?}"),
        )));
    }
    let (sink, stream) = pubsub.split();
    Ok((sink, stream, addr))
}

/// Whether a `PING` reply is the one of a subscribed RESP2 connection (`["pong", ""]`).
fn subscribed_pong(reply: &Value) -> bool {
    matches!(reply, Value::Array(items) if matches!(items.first(), Some(Value::BulkString(b)) if b.eq_ignore_ascii_case(b"pong")))
}

fn on_message(msg: &redis::Msg, channel: &NearChannel) {
    channel.invalidate(parse(msg.get_payload_bytes()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_subscribed_connections_pong_confirms() {
        let pong = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        assert!(subscribed_pong(&Value::Array(vec![pong("pong"), pong("")])));
        assert!(!subscribed_pong(&Value::SimpleString("PONG".into())));
        assert!(!subscribed_pong(&Value::Array(vec![pong("message")])));
        assert!(!subscribed_pong(&Value::Nil));
    }
}
