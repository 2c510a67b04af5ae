//! [`MailQueue`]: mail goes out from a background task; a request never waits for it.

mod settings;
mod worker;

use settings::Counters;
pub use settings::{MailQueueBuilder, MailStats};

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use crate::mailer::Mailer;
use crate::message::Message;

/// Hands messages to a background task that sends them, so that sending mail never blocks an HTTP
/// response and never changes it.
///
/// - [`send`](MailQueue::send) is not `async` and never waits: it puts the message in a bounded channel
///   (1024 by default) and returns. When the channel is full (or the queue closed) the message is
///   **dropped**, counted and logged at WARN; the caller cannot tell, so its response is the same.
/// - The task sends up to 4 messages at once. A transient error ([`MailError::is_transient`]:
///   connection refused, timeout, 4xx) is retried up to 3 times, after 1 s, 2 s and 4 s (each halved
///   to doubled at random: exponential backoff with jitter, at most 60 s); a permanent one (5xx, bad
///   address, TLS) is not. Each attempt is cut off after 60 s.
/// - It counts what happened ([`stats`](MailQueue::stats)) and logs each failure (subject, recipient's
///   domain, error; never the body) at WARN.
/// - [`close`](MailQueue::close) stops taking messages and waits for the ones accepted, up to a deadline.
///
/// Clones share one queue. Start it inside a tokio runtime.
///
/// [`MailError::is_transient`]: crate::MailError::is_transient
///
/// ```
/// use std::time::Duration;
/// use keycard_mail::{MailQueue, Message, RecordingMailer};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), keycard_mail::MailError> {
/// let mailer = RecordingMailer::new();
/// let queue = MailQueue::new(mailer.clone());
///
/// // In a handler: returns at once, whatever happens to the message.
/// queue.send(Message::new("ada@example.com", "Reset your password", "https://example.com/password/reset/abc\n")?);
///
/// let stats = queue.close(Duration::from_secs(10)).await; // at shutdown
/// assert_eq!((stats.sent, stats.failed, stats.dropped), (1, 0, 0));
/// assert_eq!(mailer.messages().len(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MailQueue {
    inner: Arc<Shared>,
}

struct Shared {
    tx: mpsc::Sender<Message>,
    counters: Arc<Counters>,
    closing: AtomicBool,
    close_now: Arc<Notify>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl MailQueueBuilder {
    /// Start the background task sending through `mailer`.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn` does).
    pub fn start(self, mailer: impl Mailer) -> MailQueue {
        let (tx, rx) = mpsc::channel(self.capacity);
        let counters = Arc::new(Counters::default());
        let close_now = Arc::new(Notify::new());
        let worker = tokio::spawn(worker::run(
            rx,
            Arc::new(mailer),
            Arc::clone(&counters),
            Arc::clone(&close_now),
            self,
        ));
        MailQueue {
            inner: Arc::new(Shared {
                tx,
                counters,
                closing: AtomicBool::new(false),
                close_now,
                worker: Mutex::new(Some(worker)),
            }),
        }
    }
}

impl MailQueue {
    /// A queue with the default settings, sending through `mailer`.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn` does).
    pub fn new(mailer: impl Mailer) -> MailQueue {
        MailQueue::builder().start(mailer)
    }

    /// Settings to change before [`MailQueueBuilder::start`].
    pub fn builder() -> MailQueueBuilder {
        MailQueueBuilder::default()
    }

    /// Hand `message` to the background task and return at once. Never waits, never fails: a message
    /// the queue cannot take (full, or closed) is dropped, counted in [`MailStats::dropped`] and logged
    /// at WARN (its subject and the recipient's domain).
    pub fn send(&self, message: Message) {
        let counters = &self.inner.counters;
        if self.inner.closing.load(Ordering::Acquire) {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                subject = message.subject(),
                to_domain = message.to().email.domain(),
                "mail queue closed: message dropped"
            );
            return;
        }
        // Counted before the worker can see it, so `pending` never goes below zero.
        counters.pending.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.inner.tx.try_send(message) {
            counters.finished_one();
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            let (why, message) = match e {
                mpsc::error::TrySendError::Full(m) => ("full", m),
                mpsc::error::TrySendError::Closed(m) => ("closed", m),
            };
            tracing::warn!(
                subject = message.subject(),
                to_domain = message.to().email.domain(),
                queue = why,
                "mail queue {why}: message dropped"
            );
        }
    }

    /// What the queue did so far.
    pub fn stats(&self) -> MailStats {
        self.inner.counters.snapshot()
    }

    /// Stop taking messages (later ones are dropped), finish the ones accepted (their retries
    /// included) for at most `deadline`, then give up on the rest (counted as dropped) and end the task.
    /// Returns the final counts. A second call returns at once.
    pub async fn close(&self, deadline: Duration) -> MailStats {
        self.inner.closing.store(true, Ordering::Release);
        let worker = self
            .inner
            .worker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(mut worker) = worker else {
            return self.stats();
        };
        self.inner.close_now.notify_one();
        if tokio::time::timeout(deadline, &mut worker).await.is_err() {
            worker.abort();
            let _ = worker.await;
            let counters = &self.inner.counters;
            let left = counters.pending.swap(0, Ordering::Relaxed);
            counters.dropped.fetch_add(left, Ordering::Relaxed);
            tracing::warn!(
                left,
                "mail queue closed at its deadline: {left} message(s) not sent"
            );
        }
        self.stats()
    }
}

impl fmt::Debug for MailQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailQueue")
            .field("stats", &self.stats())
            .field("closing", &self.inner.closing.load(Ordering::Relaxed))
            .finish()
    }
}
