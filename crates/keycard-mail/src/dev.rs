//! [`DevMailbox`]: mail kept in memory, for development.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use crate::error::MailError;
use crate::mailer::Mailer;
use crate::message::Message;

/// One message a [`DevMailbox`] or [`RecordingMailer`](crate::RecordingMailer) took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Its number in the order messages came in, from 1 (it keeps counting past the ones let go).
    pub number: u64,
    /// When it came in.
    pub at: SystemTime,
    /// The message.
    pub message: Message,
}

/// A mailer for development: keeps the newest messages in memory (100 by default; the oldest go first)
/// for a page to show (serve such a page on a loopback address only: the messages hold live links and
/// codes), and logs one line per message (the recipient's domain and the subject, never the address or the body) at INFO, target
/// `keycard_mail::dev`.
///
/// Clones share one mailbox. Nothing leaves the process: use it when no `SMTP_URL` is set.
///
/// ```
/// use keycard_mail::{DevMailbox, Mailer, Message};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), keycard_mail::MailError> {
/// let mailbox = DevMailbox::new();
/// let link = "https://example.com/confirm/4f2a";
/// mailbox.send(&Message::new("ada@example.com", "Confirm your email", format!("Confirm:\n{link}\n"))?).await?;
///
/// let latest = mailbox.latest_for("Ada@Example.com").expect("one message");
/// assert!(latest.message.text().lines().any(|line| line == link));
/// assert_eq!(mailbox.messages().len(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DevMailbox {
    inner: Arc<Mutex<Kept>>,
}

struct Kept {
    messages: VecDeque<Received>,
    capacity: usize,
    count: u64,
}

impl DevMailbox {
    /// How many messages [`DevMailbox::new`] keeps.
    pub const DEFAULT_CAPACITY: usize = 100;

    /// An empty mailbox keeping the newest 100 messages.
    pub fn new() -> DevMailbox {
        DevMailbox::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// An empty mailbox keeping the newest `capacity` messages (at least 1).
    pub fn with_capacity(capacity: usize) -> DevMailbox {
        let capacity = capacity.max(1);
        DevMailbox {
            inner: Arc::new(Mutex::new(Kept {
                messages: VecDeque::with_capacity(capacity.min(1024)),
                capacity,
                count: 0,
            })),
        }
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        // A panic while holding the lock leaves the queue whole: keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The messages kept, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        self.kept().messages.iter().cloned().collect()
    }

    /// The newest message kept for `address` (compared without regard to case or display name).
    pub fn latest_for(&self, address: &str) -> Option<Received> {
        self.kept()
            .messages
            .iter()
            .rev()
            .find(|r| r.message.is_to(address))
            .cloned()
    }

    /// How many messages are kept now.
    pub fn len(&self) -> usize {
        self.kept().messages.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many messages it ever took, the ones let go included.
    pub fn total(&self) -> u64 {
        self.kept().count
    }

    /// Forget every message kept.
    pub fn clear(&self) {
        self.kept().messages.clear();
    }
}

impl Default for DevMailbox {
    fn default() -> Self {
        DevMailbox::new()
    }
}

#[async_trait::async_trait]
impl Mailer for DevMailbox {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        tracing::info!(
            target: "keycard_mail::dev",
            to_domain = message.to().email.domain(),
            subject = message.subject(),
            "mail kept in the development mailbox (not sent)"
        );
        let mut kept = self.kept();
        kept.count += 1;
        let number = kept.count;
        if kept.messages.len() >= kept.capacity {
            kept.messages.pop_front();
        }
        kept.messages.push_back(Received {
            number,
            at: SystemTime::now(),
            message: message.clone(),
        });
        Ok(())
    }
}

impl fmt::Debug for DevMailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = self.kept();
        f.debug_struct("DevMailbox")
            .field("kept", &kept.messages.len())
            .field("capacity", &kept.capacity)
            .field("total", &kept.count)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_newest_n_and_finds_the_latest_per_address() {
        let mailbox = DevMailbox::with_capacity(3);
        for i in 0..5 {
            let to = if i % 2 == 0 {
                "a@example.com"
            } else {
                "b@example.com"
            };
            let m = Message::new(to, format!("n{i}"), "body").unwrap();
            mailbox.send(&m).await.unwrap();
        }
        let subjects: Vec<String> = mailbox
            .messages()
            .iter()
            .map(|r| r.message.subject().to_owned())
            .collect();
        assert_eq!(subjects, ["n2", "n3", "n4"]);
        assert_eq!(mailbox.total(), 5);
        assert_eq!(mailbox.messages()[0].number, 3);
        assert_eq!(
            mailbox
                .latest_for("B@example.com")
                .unwrap()
                .message
                .subject(),
            "n3"
        );
        assert_eq!(
            mailbox
                .latest_for("a@example.com")
                .unwrap()
                .message
                .subject(),
            "n4"
        );
        assert!(mailbox.latest_for("c@example.com").is_none());
        mailbox.clear();
        assert!(mailbox.is_empty());
    }
}
