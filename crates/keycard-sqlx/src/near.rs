//! Pushed invalidation on PostgreSQL: a `LISTEN` connection that feeds a
//! [`NearCache`].
//!
//! # The model
//! With [`SqlConfig::with_notify`](crate::SqlConfig::with_notify) on, every write that changes what a near
//! cache may hold (sign-in, renewal, `sync`/`regenerate`, `put_user`, every delete, a fetch that ends a
//! session, a sweep that removed anything) runs `pg_notify(<prefix>near, payload)` inside its own
//! transaction, so PostgreSQL delivers the notification exactly when the write committed, to every
//! listening node, in commit order. [`PgInvalidations`] is the listening side of one node:
//! - a **listener task** holds one connection of its own (outside the store's pool) subscribed with
//!   `LISTEN`, and passes every notification to the near cache's [`NearChannel`] in the order received;
//! - a **pinger task** sends `pg_notify(channel, 'p:<node>:<n>')` through the store's pool every quarter
//!   [lease](keycard::store::near::NearConfig::with_lease); when the listener receives its own ping `n`
//!   back, every write committed before ping `n` was sent has been received, and the channel is
//!   [confirmed](NearChannel::confirm) for one lease from that instant.
//!
//! The near cache serves from memory only while confirmed. When the listening connection drops (a
//! restart, a network cut, `pg_terminate_backend`), the listener reports the channel
//! [down](NearChannel::down) at once: the cache is flushed and every fetch goes to the store until a new
//! connection has subscribed and a ping has come back through it. When the database hangs or the
//! connection lags, pings stop coming back and the confirmation runs out within one lease (2 s by
//! default): a node never answers from memory for longer than that without the database's word that it
//! missed nothing.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keycard::store::near::{Invalidation, NearCache, NearChannel, NearConfig};
use keycard::{CachedUser, SessionId};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};

use crate::PostgresStore;

/// What the listener is doing, for tests and health checks.
#[derive(Debug, Default)]
pub struct ListenerStatus {
    pid: AtomicU32,
    subscriptions: AtomicU64,
    pings_sent: AtomicU64,
    pings_received: AtomicU64,
}

impl ListenerStatus {
    /// The PostgreSQL backend pid of the listening connection; `None` while not subscribed.
    pub fn backend_pid(&self) -> Option<u32> {
        Some(self.pid.load(SeqCst)).filter(|&p| p != 0)
    }

    /// How many times a connection subscribed (1 after start-up; one more per reconnection).
    pub fn subscriptions(&self) -> u64 {
        self.subscriptions.load(SeqCst)
    }

    /// Pings sent through the store's pool.
    pub fn pings_sent(&self) -> u64 {
        self.pings_sent.load(SeqCst)
    }

    /// This node's pings received back on the channel.
    pub fn pings_received(&self) -> u64 {
        self.pings_received.load(SeqCst)
    }
}

/// The pings in flight: sequence number and when each was sent.
type Sent = Mutex<VecDeque<(u64, Instant)>>;

/// One node's subscription to a [`PostgresStore`]'s invalidation channel. See the [module docs](self).
#[derive(Debug)]
pub struct PgInvalidations {
    store_pool: PgPool,
    channel_name: String,
    node: String,
    status: Arc<ListenerStatus>,
}

/// Keeps the listener and pinger running; stops both when dropped (with the near cache that holds it).
#[derive(Debug)]
pub struct InvalidationsGuard {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for InvalidationsGuard {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl PgInvalidations {
    /// Listen on `store`'s channel ([`SqlConfig::notify_channel`](crate::SqlConfig::notify_channel)).
    pub fn new(store: &PostgresStore) -> Self {
        if !store.config().notify() {
            tracing::warn!(
                "near cache over a PostgreSQL store whose own writes do not notify: other nodes' near \
                 caches will not see this node's writes (SqlConfig::with_notify)"
            );
        }
        PgInvalidations {
            store_pool: store.pool().clone(),
            channel_name: store.config().notify_channel(),
            node: SessionId::generate().to_hex()[..12].to_owned(),
            status: Arc::new(ListenerStatus::default()),
        }
    }

    /// The listener's status (shared: read it after [`start`](Self::start)).
    pub fn status(&self) -> Arc<ListenerStatus> {
        self.status.clone()
    }

    /// Start the listener and the pinger on the current tokio runtime, feeding `channel`.
    pub fn start(self, channel: NearChannel) -> InvalidationsGuard {
        let sent: Arc<Sent> = Arc::default();
        let kick = Arc::new(tokio::sync::Notify::new());
        let every = (channel.lease() / 4).max(Duration::from_millis(10));
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(every.max(Duration::from_secs(2)))
            .connect_lazy_with(
                (*self.store_pool.connect_options())
                    .clone()
                    .application_name("keycard-near-listener"),
            );
        let listener = tokio::spawn(listen(
            listen_pool,
            self.channel_name.clone(),
            self.node.clone(),
            channel,
            sent.clone(),
            self.status.clone(),
            kick.clone(),
        ));
        let pinger = tokio::spawn(ping(
            self.store_pool,
            self.channel_name,
            self.node,
            every,
            sent,
            self.status,
            kick,
        ));
        InvalidationsGuard {
            tasks: vec![listener, pinger],
        }
    }
}

impl PostgresStore {
    /// A [`NearCache`] over this store, subscribed to its invalidation channel ([`PgInvalidations`]).
    /// Call it on a tokio runtime; the listener stops when the last clone of the cache is dropped.
    /// Nothing is served from memory until the subscription is confirmed
    /// ([`NearCache::wait_confirmed`]).
    pub fn near_cache<U: CachedUser>(&self, config: NearConfig) -> NearCache<U, PostgresStore> {
        let near = NearCache::new(self.clone(), config);
        let guard = PgInvalidations::new(self).start(near.channel());
        near.with_source_guard(guard)
    }
}

/// Subscribe, pass every notification on in order; on any loss report the channel down and subscribe
/// again.
async fn listen(
    pool: PgPool,
    name: String,
    node: String,
    channel: NearChannel,
    sent: Arc<Sent>,
    status: Arc<ListenerStatus>,
    kick: Arc<tokio::sync::Notify>,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        channel.down();
        status.pid.store(0, SeqCst);
        let mut listener = match subscribe(&pool, &name).await {
            Ok((listener, pid)) => {
                status.pid.store(pid, SeqCst);
                status.subscriptions.fetch_add(1, SeqCst);
                backoff = Duration::from_millis(50);
                kick.notify_one(); // ping now: the first confirmation need not wait for the next tick
                listener
            }
            Err(e) => {
                tracing::warn!(error = %e, "near cache: cannot subscribe to the invalidation channel; serving from the store");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => on_message(n.payload(), &node, &channel, &sent, &status),
                Ok(None) => {
                    tracing::warn!("near cache: invalidation connection lost; serving from the store until resubscribed");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "near cache: invalidation channel failed; serving from the store until resubscribed");
                    break;
                }
            }
        }
    }
}

/// A fresh listening connection: `LISTEN`, and its backend pid.
async fn subscribe(pool: &PgPool, name: &str) -> Result<(PgListener, u32), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.eager_reconnect(false);
    listener.ignore_pool_close_event(true);
    listener.listen(name).await?;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut listener)
        .await?;
    Ok((listener, u32::try_from(pid).unwrap_or(0)))
}

fn on_message(
    payload: &str,
    node: &str,
    channel: &NearChannel,
    sent: &Sent,
    status: &ListenerStatus,
) {
    if let Some(ping) = payload.strip_prefix("p:") {
        let Some((from, seq)) = ping.split_once(':') else {
            return;
        };
        if from != node {
            return; // another node's ping
        }
        let Ok(seq) = seq.parse::<u64>() else {
            return;
        };
        let at = sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(n, _)| *n == seq)
            .map(|(_, at)| *at);
        if let Some(at) = at {
            status.pings_received.fetch_add(1, SeqCst);
            channel.confirm(at);
        }
        return;
    }
    channel.invalidate(parse(payload));
}

/// What a write's payload names; anything unreadable evicts everything.
fn parse(payload: &str) -> Invalidation {
    if let Some(key) = payload.strip_prefix("u:") {
        return Invalidation::User(key.to_owned());
    }
    if let Some(hex) = payload.strip_prefix("s:") {
        let mut id = [0u8; 16];
        if hex::decode_to_slice(hex, &mut id).is_ok() {
            return Invalidation::Session(SessionId(id));
        }
    }
    Invalidation::All
}

/// Every `every` (and whenever the listener has just subscribed): record the instant, then notify this node's next ping through the store's pool.
async fn ping(
    pool: PgPool,
    name: String,
    node: String,
    every: Duration,
    sent: Arc<Sent>,
    status: Arc<ListenerStatus>,
    kick: Arc<tokio::sync::Notify>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seq = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = kick.notified() => {}
        }
        seq += 1;
        {
            let mut q = sent.lock().unwrap_or_else(|e| e.into_inner());
            q.push_back((seq, Instant::now()));
            while q.len() > 64 {
                q.pop_front();
            }
        }
        let send = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&name)
            .bind(format!("p:{node}:{seq}"))
            .execute(&pool);
        match tokio::time::timeout(every.max(Duration::from_secs(1)), send).await {
            Ok(Ok(_)) => {
                status.pings_sent.fetch_add(1, SeqCst);
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "near cache: ping failed"),
            Err(_) => tracing::debug!("near cache: ping timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_a_user_a_session_or_everything() {
        assert_eq!(parse("u:42"), Invalidation::User("42".into()));
        assert_eq!(parse("u:"), Invalidation::User(String::new()));
        let id = SessionId([7; 16]);
        assert_eq!(
            parse(&format!("s:{}", id.to_hex())),
            Invalidation::Session(id)
        );
        assert_eq!(parse("s:nothex"), Invalidation::All);
        assert_eq!(parse("*"), Invalidation::All);
        assert_eq!(parse("something new"), Invalidation::All);
    }
}
