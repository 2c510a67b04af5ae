//! [`RecordingMailer`]: records every message, fails on demand. For tests.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use crate::dev::Received;
use crate::error::{MailError, MailErrorKind};
use crate::mailer::Mailer;
use crate::message::Message;

/// A mailer for tests: records every message it accepts, counts every attempt, and can be told to fail
/// the next `n` sends with a transient or a permanent error (to drive a
/// [`MailQueue`](crate::MailQueue)'s retries). Clones share one record.
///
/// ```
/// use keycard_mail::{Mailer, Message, RecordingMailer};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), keycard_mail::MailError> {
/// let mailer = RecordingMailer::new();
/// let message = Message::new("ada@example.com", "Your code", "123456\n")?;
///
/// mailer.fail_next_transient(1);
/// assert!(mailer.send(&message).await.unwrap_err().is_transient());
/// mailer.send(&message).await?;
/// assert_eq!((mailer.attempts(), mailer.messages().len()), (2, 1));
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct RecordingMailer {
    inner: Arc<Mutex<Record>>,
}

#[derive(Default)]
struct Record {
    accepted: Vec<Received>,
    attempts: u64,
    failures: VecDeque<MailError>,
}

impl RecordingMailer {
    /// A mailer that accepts everything, with nothing recorded yet.
    pub fn new() -> RecordingMailer {
        RecordingMailer::default()
    }

    fn record(&self) -> MutexGuard<'_, Record> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fail each of the next `n` sends with `error` (after any failures already queued).
    pub fn fail_next(&self, n: usize, error: MailError) {
        let mut record = self.record();
        record.failures.extend(std::iter::repeat_n(error, n));
    }

    /// Fail the next `n` sends as a refused connection would (transient).
    pub fn fail_next_transient(&self, n: usize) {
        self.fail_next(
            n,
            MailError::transient(
                MailErrorKind::Connect,
                "RecordingMailer: connection refused (on purpose)",
            ),
        );
    }

    /// Fail the next `n` sends as a refused recipient would (permanent, 550).
    pub fn fail_next_permanent(&self, n: usize) {
        self.fail_next(
            n,
            MailError::permanent(
                MailErrorKind::Rejected,
                "RecordingMailer: 550 no such user (on purpose)",
            )
            .with_code(550),
        );
    }

    /// The messages accepted, in order.
    pub fn messages(&self) -> Vec<Message> {
        self.record()
            .accepted
            .iter()
            .map(|r| r.message.clone())
            .collect()
    }

    /// The messages accepted, with their number and time.
    pub fn received(&self) -> Vec<Received> {
        self.record().accepted.clone()
    }

    /// The newest message accepted for `address` (compared without regard to case or display name).
    pub fn latest_for(&self, address: &str) -> Option<Message> {
        self.record()
            .accepted
            .iter()
            .rev()
            .find(|r| r.message.is_to(address))
            .map(|r| r.message.clone())
    }

    /// How many sends were attempted, failed ones included.
    pub fn attempts(&self) -> u64 {
        self.record().attempts
    }

    /// How many of the failures asked for are still to come.
    pub fn failures_left(&self) -> usize {
        self.record().failures.len()
    }
}

#[async_trait::async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        let mut record = self.record();
        record.attempts += 1;
        if let Some(error) = record.failures.pop_front() {
            return Err(error);
        }
        let number = record.accepted.len() as u64 + 1;
        record.accepted.push(Received {
            number,
            at: SystemTime::now(),
            message: message.clone(),
        });
        Ok(())
    }
}

impl fmt::Debug for RecordingMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let record = self.record();
        f.debug_struct("RecordingMailer")
            .field("accepted", &record.accepted.len())
            .field("attempts", &record.attempts)
            .field("failures_left", &record.failures.len())
            .finish()
    }
}
