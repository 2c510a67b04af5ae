//! The [`Mailer`] trait.

use std::sync::Arc;

use crate::error::MailError;
use crate::message::Message;

/// Something that sends one [`Message`]: [`SmtpMailer`](crate::SmtpMailer) (a real server),
/// [`DevMailbox`](crate::DevMailbox) (keeps it in memory, for development),
/// [`RecordingMailer`](crate::RecordingMailer) (records it, for tests), or yours.
///
/// A call sends one message once, and says whether a retry could help
/// ([`MailError::is_transient`]); retrying is the [`MailQueue`](crate::MailQueue)'s job, and so is
/// keeping the send out of the request: a handler never awaits a mailer.
///
/// An implementation must not log the message's body (it carries tokens and codes). It is used as
/// `Arc<dyn Mailer>`, so it is written with `async_trait`:
///
/// ```
/// use keycard_mail::{async_trait, MailError, Mailer, Message};
///
/// /// Sends nothing, says so.
/// struct Nowhere;
///
/// #[async_trait]
/// impl Mailer for Nowhere {
///     async fn send(&self, message: &Message) -> Result<(), MailError> {
///         tracing::info!(subject = message.subject(), "not sent");
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Send `message` once.
    ///
    /// # Errors
    /// What failed and whether a retry can help ([`MailError`]).
    async fn send(&self, message: &Message) -> Result<(), MailError>;
}

#[async_trait::async_trait]
impl<M: Mailer + ?Sized> Mailer for Arc<M> {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        (**self).send(message).await
    }
}

#[async_trait::async_trait]
impl<M: Mailer + ?Sized> Mailer for Box<M> {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        (**self).send(message).await
    }
}
