//! [`ClusterStatus`]: what a cluster near cache's subscriptions report (a leaf).

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Mutex;

/// What the cluster subscriptions are doing, for tests and health checks.
#[derive(Debug, Default)]
pub struct ClusterStatus {
    pub(super) generations: AtomicU64,
    pub(super) subscribed: AtomicU64,
    pub(super) pings_sent: AtomicU64,
    pub(super) pongs_received: AtomicU64,
    masters: Mutex<Vec<String>>,
}

impl ClusterStatus {
    /// How many times the masters were read and subscribed (1 after start-up; one more after each
    /// failover, resharding step, lost connection or topology change).
    pub fn generations(&self) -> u64 {
        self.generations.load(SeqCst)
    }

    /// Masters successfully subscribed, summed over generations.
    pub fn subscribed(&self) -> u64 {
        self.subscribed.load(SeqCst)
    }

    /// `PING`s sent, over every master.
    pub fn pings_sent(&self) -> u64 {
        self.pings_sent.load(SeqCst)
    }

    /// Confirmed rounds (`PONG` and `CLUSTER NODES` as expected), over every master.
    pub fn pongs_received(&self) -> u64 {
        self.pongs_received.load(SeqCst)
    }

    /// The masters (`host:port`) of the current generation; empty while reading the topology.
    pub fn masters(&self) -> Vec<String> {
        self.masters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn set_masters(&self, masters: Vec<String>) {
        *self.masters.lock().unwrap_or_else(|e| e.into_inner()) = masters;
    }
}
