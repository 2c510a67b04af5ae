//! The queue's settings and its counters, shared by the handle ([`super::MailQueue`]) and the worker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What a [`MailQueue`](super::MailQueue) did so far ([`MailQueue::stats`](super::MailQueue::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailStats {
    /// Messages the mailer accepted.
    pub sent: u64,
    /// Retries made (a message sent on its third attempt counts 2).
    pub retried: u64,
    /// Messages given up on: a permanent error, or a transient one after the last retry.
    pub failed: u64,
    /// Messages never sent: the queue was full or closed when they were handed to it, or still waiting
    /// when [`MailQueue::close`](super::MailQueue::close)'s deadline passed.
    pub dropped: u64,
    /// Messages accepted and not finished yet (waiting, being sent, or waiting for a retry).
    pub pending: u64,
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) sent: AtomicU64,
    pub(super) retried: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) pending: AtomicU64,
}

impl Counters {
    /// One accepted message is done (saturating: `close` may have zeroed `pending` already).
    pub(super) fn finished_one(&self) {
        let _ = self
            .pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| p.checked_sub(1));
    }

    pub(super) fn snapshot(&self) -> MailStats {
        MailStats {
            sent: self.sent.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            pending: self.pending.load(Ordering::Relaxed),
        }
    }
}

/// Settings of a [`MailQueue`](super::MailQueue) ([`MailQueue::builder`](super::MailQueue::builder)).
#[derive(Debug, Clone)]
pub struct MailQueueBuilder {
    pub(super) capacity: usize,
    pub(super) retries: u32,
    pub(super) backoff: Duration,
    pub(super) max_backoff: Duration,
    pub(super) concurrency: usize,
    pub(super) attempt_timeout: Duration,
}

impl Default for MailQueueBuilder {
    fn default() -> Self {
        MailQueueBuilder {
            capacity: 1024,
            retries: 3,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            concurrency: 4,
            attempt_timeout: Duration::from_secs(60),
        }
    }
}

impl MailQueueBuilder {
    /// How many messages may wait (default 1024; at least 1). Past that, [`MailQueue::send`](super::MailQueue::send) drops.
    #[must_use]
    pub fn capacity(mut self, messages: usize) -> Self {
        self.capacity = messages.max(1);
        self
    }

    /// Retries after a transient error (default 3; 0: one attempt only).
    #[must_use]
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The wait before the first retry (default 1 s), doubled for each next one up to `max` (default
    /// 60 s); each wait is then drawn at random between half of it and all of it.
    #[must_use]
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = first;
        self.max_backoff = max.max(first);
        self
    }

    /// How many messages are sent at once (default 4; at least 1).
    #[must_use]
    pub fn concurrency(mut self, messages: usize) -> Self {
        self.concurrency = messages.max(1);
        self
    }

    /// The longest one attempt may take before it counts as a transient timeout (default 60 s).
    #[must_use]
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }
}
