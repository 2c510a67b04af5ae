//! # keycard-mail: the mail behind keycard's account flows
//!
//! **Your app must send a confirmation link, a password-reset link or a sign-in code, without making the
//! request wait for a mail server and without letting the answer depend on it.** This crate sends
//! those messages: a [`Message`] (recipient, subject, a text part and an optional HTML part), a
//! [`Mailer`] that sends it, and a [`MailQueue`] that does so from a background task.
//!
//! ```
//! use std::time::Duration;
//! use keycard_mail::{DevMailbox, MailQueue, Message};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), keycard_mail::MailError> {
//! // Development: mail stays in memory (a page can show it) and each message is logged in one line.
//! // Production: `SmtpMailer::from_url(&smtp_url, &mail_from)?` instead; nothing else changes.
//! let mailbox = DevMailbox::new();
//! let queue = MailQueue::new(mailbox.clone());
//!
//! // In the handler: `send` is not async and returns at once; the response is the same whatever
//! // happens to the message (queue full, server down, address refused).
//! let link = "https://example.com/password/reset/Zm9vYmFy";
//! queue.send(
//!     Message::new("ada@example.com", "Reset your password", format!("Open this link to choose a new password:\n{link}\n"))?
//!         .with_html(format!("<p><a href=\"{link}\">Choose a new password</a></p>")),
//! );
//!
//! // At shutdown: finish what was accepted, for at most 10 s.
//! let stats = queue.close(Duration::from_secs(10)).await;
//! assert_eq!(stats.sent, 1);
//! let mail = mailbox.latest_for("ada@example.com").expect("kept");
//! assert!(mail.message.text().lines().any(|line| line == link));
//! # Ok(()) }
//! ```
//!
//! # The mailers
//! | mailer | for | what it does |
//! |---|---|---|
//! | [`SmtpMailer`] | production | a real SMTP server from a URL: `smtp://` (plain), `smtp+starttls://` (STARTTLS required), `smtps://` (TLS); user and password in the URL; lettre's pooled async transport on tokio with rustls |
//! | [`DevMailbox`] | development | keeps the newest 100 messages in memory for a page to show, logs the recipient's domain and the subject (never the body or the address) |
//! | [`RecordingMailer`] | tests | records every message, fails the next `n` sends on demand (transient or permanent) |
//!
//! A [`MailError`] says what failed ([`MailErrorKind`]) and whether a retry can help
//! ([`MailError::is_transient`]: a refused connection, a timeout, a 4xx answer; not a 5xx answer, a bad
//! address or a TLS failure). Only the queue retries.
//!
//! # The guarantee: sending never blocks or changes a response
//! [`MailQueue::send`] puts the message in a bounded channel and returns: no `await`, no `Result`. A
//! background task sends it, retrying transient errors a bounded number of times (3, exponential
//! backoff with jitter), and counts what happened ([`MailStats`]: sent, retried, failed, dropped). When
//! the channel is full the message is dropped and counted, never waited for. So a page that asks for a
//! reset link answers the same, in the same time, whether the address has an account, the server is down
//! or the message bounced: the mail's fate shows only in the logs and the counts.
//!
//! # Never a body in a log
//! Bodies carry tokens and codes. Nothing in this crate logs one: a [`Message`]'s `Debug` shows the
//! lengths of its parts, the logs name the subject and the recipient's domain (never the address: a log
//! is no place for who has an account), and a [`MailError`] holds the server's reply, never the message.
//!
//! # Why lettre
//! [lettre](https://docs.rs/lettre) is the maintained SMTP client of the Rust ecosystem: async on tokio,
//! a connection pool, STARTTLS and implicit TLS on rustls (no OpenSSL), `AUTH PLAIN`/`LOGIN`, and a
//! MIME builder that encodes headers and parts correctly. This crate adds the URL forms, the error
//! classification, the queue and the two in-memory mailers.

mod dev;
mod error;
mod mailer;
mod message;
mod queue;
mod recording;
mod smtp;

pub use async_trait::async_trait;
pub use lettre::message::Mailbox;
pub use lettre::Address;

pub use dev::{DevMailbox, Received};
pub use error::{MailError, MailErrorKind};
pub use mailer::Mailer;
pub use message::{parse_mailbox, Message};
pub use queue::{MailQueue, MailQueueBuilder, MailStats};
pub use recording::RecordingMailer;
pub use smtp::{Security, SmtpMailer, SmtpMailerBuilder, SmtpUrl, DEFAULT_TIMEOUT};
