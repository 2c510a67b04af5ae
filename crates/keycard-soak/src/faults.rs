//! The fault schedule: one fault at a time, every `every` (with jitter), round-robin over the kinds the
//! configuration has, each healed before the next and recorded from injection to healing. Every fault
//! is bounded and only touches what the run started itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::history::{Event, FaultEvent, Recorder};
use crate::nodes::{Node, NodeSpec};
use crate::rng::Rng;
use crate::services::{redis_command, Services, Setup};

/// The kinds of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// SIGKILL an app node, start it again a second later.
    NodeKill,
    /// `CLIENT PAUSE 1500 ALL` on the run's Redis (or one cluster master).
    RedisPause,
    /// `CLIENT KILL TYPE pubsub`: every near cache's subscription (on every master of a cluster).
    PubsubKill,
    /// SIGKILL a cluster master; its replica takes over; it rejoins as a replica.
    MasterKill,
    /// `pg_terminate_backend` on every connection to the run's database.
    PgTerminate,
    /// 150 ms more each way on the proxied link, for 4 s.
    ProxyLatency,
    /// The proxied link dropped: every connection closed, new ones refused, for 1.5 s.
    ProxyReset,
}

impl FaultKind {
    /// Its name in the history.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::NodeKill => "node-kill",
            FaultKind::RedisPause => "redis-pause",
            FaultKind::PubsubKill => "pubsub-kill",
            FaultKind::MasterKill => "master-kill",
            FaultKind::PgTerminate => "pg-terminate",
            FaultKind::ProxyLatency => "proxy-latency",
            FaultKind::ProxyReset => "proxy-reset",
        }
    }

    /// The kinds a configuration has.
    pub fn for_setup(setup: Setup) -> Vec<FaultKind> {
        use FaultKind::*;
        match setup {
            Setup::PostgresNear => vec![NodeKill, PgTerminate, ProxyLatency, ProxyReset],
            Setup::RedisNear => vec![
                NodeKill,
                RedisPause,
                PubsubKill,
                PgTerminate,
                ProxyLatency,
                ProxyReset,
            ],
            Setup::RedisCluster => vec![
                NodeKill,
                MasterKill,
                PubsubKill,
                RedisPause,
                PgTerminate,
                ProxyLatency,
                ProxyReset,
            ],
        }
    }
}

/// What the injector works on.
#[derive(Debug)]
pub struct Injector {
    /// The history.
    pub rec: Recorder,
    /// The nodes (shared with the memory sampler).
    pub nodes: Arc<Mutex<Vec<Node>>>,
    /// How nodes start.
    pub spec: NodeSpec,
    /// The services.
    pub services: Arc<Services>,
    /// Its generator.
    pub rng: Rng,
    /// The mean time between faults.
    pub every: Duration,
    /// No fault starts after this.
    pub stop_at: Instant,
}

impl Injector {
    /// Inject faults until `stop_at`; returns how many.
    pub async fn run(mut self) -> usize {
        let kinds = FaultKind::for_setup(self.services.setup);
        let mut next = self.rng.below(kinds.len());
        let mut count = 0;
        loop {
            let jitter = self.rng.below(1000) as u64;
            let wait = self.every.saturating_sub(Duration::from_millis(500))
                + Duration::from_millis(jitter);
            tokio::time::sleep(wait).await;
            if Instant::now() >= self.stop_at {
                return count;
            }
            let kind = kinds[next % kinds.len()];
            next += 1;
            let start_us = self.rec.now_us();
            let (target, note) = match self.inject(kind).await {
                Ok(done) => done,
                Err(e) => {
                    tracing::warn!(fault = kind.name(), error = %e, "fault not injected");
                    continue;
                }
            };
            count += 1;
            tracing::info!(fault = kind.name(), %target, %note, "fault injected and healed");
            self.rec.record(Event::Fault(FaultEvent {
                kind: kind.name().to_owned(),
                target,
                start_us,
                end_us: self.rec.now_us(),
                note,
            }));
        }
    }

    /// Inject one fault and heal it; what it hit and a note.
    async fn inject(&mut self, kind: FaultKind) -> Result<(String, String), String> {
        match kind {
            FaultKind::NodeKill => {
                let mut nodes = self.nodes.lock().await;
                let i = self.rng.below(nodes.len());
                let node = &mut nodes[i];
                node.kill().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
                node.start(&self.spec).await.map_err(|e| e.to_string())?;
                Ok((
                    format!("node {i}"),
                    "SIGKILL, restarted after 1 s".to_owned(),
                ))
            }
            FaultKind::RedisPause => {
                let port = self.redis_target().await?;
                redis_command(port, &["CLIENT", "PAUSE", "1500", "ALL"]).await?;
                tokio::time::sleep(Duration::from_millis(1500)).await;
                Ok((
                    format!("127.0.0.1:{port}"),
                    "CLIENT PAUSE 1500 ALL".to_owned(),
                ))
            }
            FaultKind::PubsubKill => {
                let ports = match (&self.services.redis, &self.services.cluster) {
                    (Some(r), _) => vec![r.port],
                    (None, Some(c)) => c.masters().await,
                    _ => return Err("no Redis in this configuration".to_owned()),
                };
                let mut killed = Vec::new();
                for port in &ports {
                    killed.push(redis_command(*port, &["CLIENT", "KILL", "TYPE", "pubsub"]).await?);
                }
                Ok((
                    format!("{ports:?}"),
                    format!("subscriptions killed: {}", killed.join("+")),
                ))
            }
            FaultKind::MasterKill => {
                let cluster = self.services.cluster.as_ref().ok_or("no cluster")?;
                let masters = cluster.masters().await;
                if masters.is_empty() {
                    return Err("no master found".to_owned());
                }
                let port = masters[self.rng.below(masters.len())];
                let note = cluster.kill_master(port).await?;
                Ok((format!("127.0.0.1:{port}"), note))
            }
            FaultKind::PgTerminate => {
                let n = self
                    .services
                    .db
                    .terminate_backends()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok((
                    self.services.db.name.clone(),
                    format!("{n} backends terminated"),
                ))
            }
            FaultKind::ProxyLatency => {
                self.services.proxy.set_latency(Duration::from_millis(150));
                tokio::time::sleep(Duration::from_secs(4)).await;
                self.services.proxy.set_latency(Duration::ZERO);
                Ok((
                    self.services.proxied.to_owned(),
                    "+150 ms each way for 4 s".to_owned(),
                ))
            }
            FaultKind::ProxyReset => {
                self.services.proxy.cut(true);
                tokio::time::sleep(Duration::from_millis(1500)).await;
                self.services.proxy.cut(false);
                Ok((
                    self.services.proxied.to_owned(),
                    "link dropped for 1.5 s".to_owned(),
                ))
            }
        }
    }

    async fn redis_target(&mut self) -> Result<u16, String> {
        match (&self.services.redis, &self.services.cluster) {
            (Some(r), _) => Ok(r.port),
            (None, Some(c)) => {
                let masters = c.masters().await;
                masters
                    .get(self.rng.below(masters.len()))
                    .copied()
                    .ok_or_else(|| "no master found".to_owned())
            }
            _ => Err("no Redis in this configuration".to_owned()),
        }
    }
}

/// Sample every node's resident memory every `every` until `stop_at`.
pub async fn sample_memory(
    rec: Recorder,
    nodes: Arc<Mutex<Vec<Node>>>,
    every: Duration,
    stop_at: Instant,
) {
    while Instant::now() < stop_at {
        {
            let nodes = nodes.lock().await;
            for node in nodes.iter() {
                if let (Some(pid), Some(rss_kib)) = (node.pid(), node.rss_kib()) {
                    rec.record(Event::Rss(crate::history::RssSample {
                        node: u32::try_from(node.index).unwrap_or(u32::MAX),
                        pid,
                        at_us: rec.now_us(),
                        rss_kib,
                    }));
                }
            }
        }
        tokio::time::sleep(every).await;
    }
}
