//! One master's subscription: a RESP3 connection of its own with `SSUBSCRIBE` to the shard channel of
//! every tag the master serves, and every lease/4 a `PING` followed by `CLUSTER NODES` on it. Redis
//! queues a write script's `SPUBLISH` for every subscriber before it runs the next command, so once the
//! `PONG` is back every message of a write the master committed before the `PING` has been received;
//! the `CLUSTER NODES` after it says the master still serves every one of those slots, none migrating
//! (so no write of them can have gone to another node, even by `ASK`). Only then is the shard confirmed
//! up to the instant the `PING` was sent. [`Lease`] confirms the near cache up to the oldest of the
//! shards' confirmations: while one master is unconfirmed, nothing is served from memory.

use std::pin::Pin;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keycard::store::near::NearChannel;
use redis::{AsyncConnectionConfig, PushInfo, PushKind, RedisResult, Value};
use tokio::sync::mpsc::{error::TryRecvError, UnboundedReceiver};

use super::status::ClusterStatus;
use super::topology::{serves, Master};
use crate::near_message::parse;

/// The confirmations of one generation of subscriptions (one per master), and the channel they confirm.
#[derive(Debug)]
pub(super) struct Lease {
    channel: NearChannel,
    state: Mutex<LeaseState>,
}

#[derive(Debug)]
struct LeaseState {
    /// Ended: a shard failed, the channel is down; later confirmations confirm nothing.
    ended: bool,
    /// Per master: the instant its last confirmed `PING` was sent.
    confirmed: Vec<Option<Instant>>,
}

impl Lease {
    pub(super) fn new(channel: NearChannel, masters: usize) -> Lease {
        Lease {
            channel,
            state: Mutex::new(LeaseState {
                ended: false,
                confirmed: vec![None; masters],
            }),
        }
    }

    /// Shard `i` is confirmed up to `sent`: confirm the channel up to the oldest shard's confirmation,
    /// once every shard has one.
    fn confirm(&self, i: usize, sent: Instant) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.ended {
            return;
        }
        if let Some(c) = s.confirmed.get_mut(i) {
            *c = Some(c.map_or(sent, |c| c.max(sent)));
        }
        let oldest = s.confirmed.iter().copied().collect::<Option<Vec<_>>>();
        if let Some(oldest) = oldest.and_then(|v| v.into_iter().min()) {
            self.channel.confirm(oldest);
        }
    }

    /// A shard failed: the channel is down (flushed), and stays down for this generation. Under the same
    /// lock as [`confirm`](Self::confirm), so no confirmation computed before it lands after it.
    pub(super) fn end(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.ended = true;
        self.channel.down();
    }

    fn invalidate(&self, payload: &[u8]) {
        self.channel.invalidate(parse(payload));
    }
}

/// How one shard's subscription runs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    /// Between two `PING`s (lease/4).
    pub(super) every: Duration,
    /// The longest a `PING` and its `CLUSTER NODES` may take (one lease).
    pub(super) ping_limit: Duration,
    /// The longest connecting and subscribing may take.
    pub(super) connect_limit: Duration,
}

type Round = Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>;

/// Subscribe to `master`'s shard channels (`{base}{tag}` + `suffix`) and keep confirming shard `i` of
/// `lease` until something goes wrong: the reason, for the log.
pub(super) async fn run(
    i: usize,
    master: Master,
    prefix: Arc<str>,
    suffix: Arc<str>,
    lease: Arc<Lease>,
    status: Arc<ClusterStatus>,
    timing: Timing,
) -> String {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PushInfo>();
    let config = AsyncConnectionConfig::new()
        .set_push_sender(tx)
        .set_connection_timeout(timing.connect_limit)
        .set_response_timeout(timing.ping_limit);
    let channels: Vec<String> = master
        .tags
        .iter()
        .map(|t| format!("{}{{{t:02x}}}{suffix}", prefix))
        .collect();
    let subscribed = tokio::time::timeout(timing.connect_limit, async {
        let client = redis::Client::open(master.info.clone())?;
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        // One SSUBSCRIBE per channel: a multi-channel SSUBSCRIBE must stay in one slot.
        let mut pipe = redis::pipe();
        for ch in &channels {
            pipe.cmd("SSUBSCRIBE").arg(ch);
        }
        let replies: Vec<Value> = pipe.query_async(&mut conn).await?;
        RedisResult::Ok((conn, replies))
    })
    .await;
    let (conn, replies) = match subscribed {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return format!("{}: cannot subscribe: {e}", master.addr),
        Err(_) => return format!("{}: no answer to SSUBSCRIBE", master.addr),
    };
    let all_confirmed = replies.len() == channels.len()
        && replies.iter().all(|r| {
            matches!(
                r,
                Value::Push {
                    kind: PushKind::SSubscribe,
                    ..
                }
            )
        });
    if !all_confirmed {
        return format!("{}: SSUBSCRIBE answered {replies:?}", master.addr);
    }
    status.subscribed.fetch_add(1, SeqCst);
    let slots = master.slots();

    // The first tick fires at once: the first confirmation need not wait a quarter lease.
    let mut tick = tokio::time::interval(timing.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut in_flight: Option<(Instant, Round)> = None;
    loop {
        tokio::select! {
            biased;
            push = rx.recv() => match push {
                Some(p) => {
                    if let Err(why) = on_push(p, &lease) {
                        return format!("{}: {why}", master.addr);
                    }
                }
                None => return format!("{}: connection lost", master.addr),
            },
            answer = async {
                match in_flight.as_mut() {
                    Some((sent, round)) => (*sent, round.await),
                    None => std::future::pending().await,
                }
            } => {
                in_flight = None;
                let (sent, answer) = answer;
                if let Err(e) = answer {
                    return format!("{}: {e}", master.addr);
                }
                // Every message the master queued before the PONG is in `rx` already: pass them on
                // first, then confirm up to the PING.
                if let Err(why) = drain(&mut rx, &lease) {
                    return format!("{}: {why}", master.addr);
                }
                status.pongs_received.fetch_add(1, SeqCst);
                lease.confirm(i, sent);
            }
            _ = tick.tick(), if in_flight.is_none() => {
                let mut conn = conn.clone();
                let slots = slots.clone();
                let limit = timing.ping_limit;
                status.pings_sent.fetch_add(1, SeqCst);
                let round: Round = Box::pin(async move {
                    let mut pipe = redis::pipe();
                    pipe.cmd("PING").cmd("CLUSTER").arg("NODES");
                    match tokio::time::timeout(limit, pipe.query_async::<Vec<Value>>(&mut conn)).await {
                        Ok(Ok(v)) => match v.as_slice() {
                            [Value::SimpleString(pong), nodes] if pong == "PONG" => serves(nodes, &slots),
                            other => Err(format!("PING answered {other:?}")),
                        },
                        Ok(Err(e)) => Err(format!("PING failed: {e}")),
                        Err(_) => Err(format!("no PONG within {} ms", limit.as_millis())),
                    }
                });
                in_flight = Some((Instant::now(), round));
            }
        }
    }
}

/// Pass on every push already received; `Err` when one says the subscription is gone.
fn drain(rx: &mut UnboundedReceiver<PushInfo>, lease: &Lease) -> Result<(), String> {
    loop {
        match rx.try_recv() {
            Ok(p) => on_push(p, lease)?,
            Err(TryRecvError::Empty) => return Ok(()),
            Err(TryRecvError::Disconnected) => return Err("connection lost".to_owned()),
        }
    }
}

/// A message invalidates; an `SUNSUBSCRIBE` we did not ask for (the slot left this master: a failover
/// or a migration) or a lost connection ends the subscription.
fn on_push(p: PushInfo, lease: &Lease) -> Result<(), String> {
    match p.kind {
        PushKind::SMessage => {
            match p.data.get(1) {
                Some(Value::BulkString(payload)) => lease.invalidate(payload),
                // Unreadable: evict everything.
                _ => lease.invalidate(b"*"),
            }
            Ok(())
        }
        PushKind::SSubscribe => Ok(()),
        PushKind::SUnsubscribe => {
            Err("the master unsubscribed a shard channel (its slot moved)".to_owned())
        }
        PushKind::Disconnection => Err("connection lost".to_owned()),
        other => Err(format!("unexpected push `{other}` on the subscription")),
    }
}
