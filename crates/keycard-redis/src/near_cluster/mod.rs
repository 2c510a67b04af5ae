//! The near cache's invalidations on a Redis Cluster: Redis 7 sharded pub/sub, one subscription per
//! master.
//!
//! **Publishing.** On a cluster every write script ends with `SPUBLISH {prefix}{tt}near <msg>` (the
//! messages of one Redis: `u:<user key>`, `s:<session id>`): the channel carries the user's hash tag, so
//! it hashes to the script's own slot (the script stays on one slot) and Redis delivers the message
//! only to the subscribers of that slot's shard, queued in the write's atomic step.
//!
//! **Subscribing** ([`ClusterInvalidations`]). The masters and the tags each serves are read with
//! `CLUSTER SLOTS` (from the URL's seed nodes, then from every master seen before); each master gets
//! a RESP3 connection of its own, `SSUBSCRIBE`d to the shard channel of every tag it serves (256 tags:
//! 256 channels over the masters; the `redis` crate's cluster client has `ssubscribe` but cannot send
//! a `PING` on the subscribed connection of one master, which the lease needs). Every lease/4 each
//! connection sends `PING` then `CLUSTER NODES`: the `PONG` comes back after every message the master
//! queued before the `PING`, and the `CLUSTER NODES` after it says the master still serves every
//! slot it covers, none of them migrating (writes of a migrating slot may run on the importing node,
//! by `ASK`, where nobody listens). Only then is that master confirmed, from the instant its `PING`
//! was sent.
//!
//! **The lease.** The near cache is confirmed up to the *oldest* of the masters' confirmations, so it
//! serves from memory only while every master's subscription is confirmed: a master whose
//! subscription is not confirmed (starting, failing over, a slot of it moving) has its users read
//! from Redis — and, in this version, every other user too (one lease for the whole cache; a lease
//! per shard is possible later with a cache that knows a token's tag). An answer from memory at `t`
//! reflects every write committed on any master before `t - lease`.
//!
//! **Failover, resharding, topology change.** Any sign that a subscription may have missed a message
//! ends the whole generation of subscriptions: the cache is flushed and served from Redis (`down`), the
//! masters are read again, and every master is subscribed again. The signs: a connection lost or a
//! `PING` unanswered for a lease; an `SUNSUBSCRIBE` we did not ask for (Redis 7 unsubscribes a slot's
//! shard subscribers when the slot leaves the node: migration done, failover); a `CLUSTER NODES` that
//! says the node is no longer a master, no longer serves one of the slots, or is migrating one; a
//! `MOVED` to an `SSUBSCRIBE` (a topology read from a node whose view was stale).
//!
//! **What it does not cover.** A master cut off from the rest of the cluster while the app still
//! reaches it keeps confirming until the cluster fails it over: the same window in which it keeps
//! accepting the app's writes (bounded by `cluster-node-timeout`).

mod shard;
mod status;
mod topology;

use std::sync::Arc;
use std::time::{Duration, Instant};

use keycard::store::near::NearChannel;
use keycard::StoreError;
use redis::{ConnectionInfo, IntoConnectionInfo};
use tokio::task::JoinSet;

use crate::{err, RedisStore};
use shard::{Lease, Timing};
pub use status::ClusterStatus;

/// One node's subscriptions to a cluster [`RedisStore`]'s shard channels. See the [module docs](self).
#[derive(Debug)]
pub struct ClusterInvalidations {
    seeds: Vec<ConnectionInfo>,
    prefix: Arc<str>,
    suffix: Arc<str>,
    connect_limit: Duration,
    status: Arc<ClusterStatus>,
}

/// Keeps the subscriptions running; stops them when dropped (with the near cache that holds it).
#[derive(Debug)]
pub struct ClusterInvalidationsGuard {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ClusterInvalidationsGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ClusterInvalidations {
    /// Subscriptions for a cluster `store`.
    ///
    /// Errors: [`StoreError`] when `store` is not on a cluster (use
    /// [`RedisInvalidations`](crate::RedisInvalidations)), or its writes do not publish
    /// ([`RedisConfig::publish_invalidations`](crate::RedisConfig::publish_invalidations) off, or a
    /// cluster older than Redis 7, which has no `SPUBLISH`: the subscriptions would hear nothing), or a
    /// seed URL is invalid.
    pub fn new(store: &RedisStore) -> Result<Self, StoreError> {
        if !store.is_cluster() {
            return Err(err(
                "near cache",
                "ClusterInvalidations needs a Redis Cluster store; one Redis: RedisInvalidations",
            ));
        }
        let Some(suffix) = store.shard_channel_suffix() else {
            return Err(err(
                "near cache",
                "a cluster near cache needs writes that publish (RedisConfig::publish_invalidations on, \
                 and Redis 7 or later for SPUBLISH): otherwise no node would hear another's writes",
            ));
        };
        let seeds = store
            .seeds()
            .iter()
            .map(|s| s.as_str().into_connection_info())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err("near cache", format!("invalid cluster seed node: {e}")))?;
        Ok(ClusterInvalidations {
            seeds,
            prefix: store.key_prefix().into(),
            suffix: suffix.into(),
            connect_limit: store.response_timeout().max(Duration::from_secs(1)),
            status: Arc::new(ClusterStatus::default()),
        })
    }

    /// The subscriptions' status (shared: read it after [`start`](Self::start)).
    pub fn status(&self) -> Arc<ClusterStatus> {
        self.status.clone()
    }

    /// Start the subscriptions on the current tokio runtime, feeding `channel`.
    pub fn start(self, channel: NearChannel) -> ClusterInvalidationsGuard {
        ClusterInvalidationsGuard {
            task: tokio::spawn(supervise(self, channel)),
        }
    }
}

/// Read the masters, subscribe on each, and start over whenever one subscription ends.
async fn supervise(source: ClusterInvalidations, channel: NearChannel) {
    let lease = channel.lease();
    let timing = Timing {
        every: (lease / 4).max(Duration::from_millis(10)),
        ping_limit: lease.max(Duration::from_millis(100)),
        connect_limit: source.connect_limit,
    };
    let status = source.status.clone();
    // The seeds first, then every master seen since (a seed may be the master that died).
    let mut candidates = source.seeds.clone();
    let mut backoff = Duration::from_millis(50);
    loop {
        channel.down();
        status.set_masters(Vec::new());
        let masters = match topology::discover(&candidates, source.connect_limit).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "near cache (cluster): cannot read the masters; serving from the cluster");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        for m in &masters {
            if !candidates.iter().any(|c| c.addr == m.info.addr) {
                candidates.push(m.info.clone());
            }
        }
        status.set_masters(masters.iter().map(|m| m.addr.clone()).collect());
        status
            .generations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let generation = Arc::new(Lease::new(channel.clone(), masters.len()));
        let mut shards = JoinSet::new();
        for (i, m) in masters.into_iter().enumerate() {
            shards.spawn(shard::run(
                i,
                m,
                source.prefix.clone(),
                source.suffix.clone(),
                generation.clone(),
                status.clone(),
                timing,
            ));
        }
        let started = Instant::now();
        let why = match shards.join_next().await {
            Some(Ok(why)) => why,
            Some(Err(e)) => format!("subscription task failed: {e}"),
            None => "no master".to_owned(),
        };
        generation.end();
        shards.abort_all();
        tracing::warn!(reason = %why, "near cache (cluster): a shard subscription ended; serving from the cluster until every master is subscribed again");
        // A generation that lived a while starts the next one at once; one that failed fast backs off.
        if started.elapsed() > lease {
            backoff = Duration::from_millis(50);
        } else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}
