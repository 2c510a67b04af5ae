//! [`SmtpMailer`]: a real SMTP server, through lettre's pooled async transport (tokio, rustls).

mod classify;
mod url;

use std::fmt;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

pub use self::url::{Security, SmtpUrl};
use crate::error::{MailError, MailErrorKind};
use crate::mailer::Mailer;
use crate::message::{parse_mailbox, Message};

/// The default time allowed for each network step (connect, TLS, each command): 10 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends through an SMTP server given as a URL, on a pool of reused connections.
///
/// | URL | connection | default port |
/// |---|---|---|
/// | `smtp://host:port` | plain text (a local relay, a test server) | 25 |
/// | `smtp+starttls://host:port` | plain, then `STARTTLS`, **required** (no fallback to plain text) | 587 |
/// | `smtps://host:port` | TLS from the first byte | 465 |
///
/// A user and password in the URL (`smtps://user:pa%40ss@host`, percent-encoded) log in with `AUTH`
/// (PLAIN or LOGIN). The sender of messages that name none is given separately (`MAIL_FROM`). TLS is
/// rustls, trusting the Mozilla roots (`webpki-roots`) plus any certificate added with
/// [`SmtpMailerBuilder::add_root_certificate_pem`] (a private CA); never OpenSSL.
///
/// Each network step is bounded by [`SmtpMailerBuilder::timeout`] (10 s) and a whole send by three
/// times that. Its `Debug` never prints the password.
///
/// ```no_run
/// # async fn run() -> Result<(), keycard_mail::MailError> {
/// use keycard_mail::{Mailer, Message, SmtpMailer};
///
/// // Built inside a tokio runtime (the pool runs a clean-up task).
/// let smtp = SmtpMailer::from_url(
///     "smtp+starttls://mailer:secret@smtp.example.com",
///     "Example <no-reply@example.com>",
/// )?;
/// smtp.send(&Message::new("ada@example.com", "Hello", "Hello, Ada.\n")?).await?;
/// # Ok(()) }
/// ```
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    url: SmtpUrl,
    from: Mailbox,
    timeout: Duration,
}

/// Settings of an [`SmtpMailer`] beyond its URL and sender ([`SmtpMailer::builder`]).
pub struct SmtpMailerBuilder {
    url: SmtpUrl,
    from: Mailbox,
    timeout: Duration,
    roots: Vec<Certificate>,
    pool_size: u32,
}

impl SmtpMailer {
    /// A mailer for `url` with the default settings, sending as `from` when a message names no sender.
    /// Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// The URL does not parse (the error names the schemes accepted, never the password), `from` is not
    /// an address, or there is no tokio runtime.
    pub fn from_url(url: &str, from: &str) -> Result<SmtpMailer, MailError> {
        SmtpMailer::builder(url, from)?.build()
    }

    /// [`SmtpMailer::from_url`] with settings to change first.
    ///
    /// # Errors
    /// The URL does not parse, or `from` is not an address.
    pub fn builder(url: &str, from: &str) -> Result<SmtpMailerBuilder, MailError> {
        Ok(SmtpMailerBuilder {
            url: url.parse()?,
            from: parse_mailbox(from)?,
            timeout: DEFAULT_TIMEOUT,
            roots: Vec::new(),
            pool_size: 4,
        })
    }

    /// The server, as parsed (it prints without the password).
    pub fn url(&self) -> &SmtpUrl {
        &self.url
    }

    /// The sender of messages that name none.
    pub fn default_from(&self) -> &Mailbox {
        &self.from
    }

    /// Connect, greet (and upgrade and log in, as the URL says) and say `NOOP`: whether the server
    /// would take mail now. For a start-up check; sending needs no such call.
    ///
    /// # Errors
    /// As [`Mailer::send`] would fail.
    pub async fn check(&self) -> Result<(), MailError> {
        let attempt = self.transport.test_connection();
        match tokio::time::timeout(self.deadline(), attempt).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(MailError::transient(
                MailErrorKind::Connect,
                "the server did not answer NOOP",
            )),
            Ok(Err(e)) => Err(classify::smtp_error(&e)),
            Err(_) => Err(self.deadline_error()),
        }
    }

    fn deadline(&self) -> Duration {
        self.timeout.saturating_mul(3)
    }

    fn deadline_error(&self) -> MailError {
        MailError::transient(
            MailErrorKind::Timeout,
            format!("no answer from {} within {:?}", self.url, self.deadline()),
        )
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        let email = message.to_lettre(&self.from)?;
        match tokio::time::timeout(self.deadline(), self.transport.send(email)).await {
            Ok(Ok(_response)) => {
                tracing::debug!(server = %self.url, subject = message.subject(), "mail accepted by the server");
                Ok(())
            }
            Ok(Err(e)) => Err(classify::smtp_error(&e)),
            Err(_) => Err(self.deadline_error()),
        }
    }
}

impl SmtpMailerBuilder {
    /// The time allowed for each network step (connect, TLS, each command); a whole send gets three
    /// times that. Default 10 s.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> SmtpMailerBuilder {
        self.timeout = timeout;
        self
    }

    /// Trust this CA certificate (PEM) too, beside the Mozilla roots: a server whose certificate a
    /// private CA signed (or a test server's).
    ///
    /// # Errors
    /// The PEM holds no certificate rustls can load.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Result<SmtpMailerBuilder, MailError> {
        // rustls' PEM reader skips what is not a certificate: an empty result is no error to it.
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(MailError::permanent(
                MailErrorKind::Config,
                "a root certificate: no `-----BEGIN CERTIFICATE-----` block in the PEM",
            ));
        }
        let cert = Certificate::from_pem(pem).map_err(|e| {
            MailError::permanent(MailErrorKind::Config, format!("a root certificate: {e}"))
        })?;
        self.roots.push(cert);
        Ok(self)
    }

    /// How many idle connections the pool keeps for reuse (default 4).
    #[must_use]
    pub fn pool_size(mut self, connections: u32) -> SmtpMailerBuilder {
        self.pool_size = connections.max(1);
        self
    }

    /// The mailer. Must be called inside a tokio runtime (lettre's pool spawns its clean-up task).
    ///
    /// # Errors
    /// No tokio runtime, or the TLS settings cannot be built.
    pub fn build(self) -> Result<SmtpMailer, MailError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(MailError::permanent(
                MailErrorKind::Config,
                "an SmtpMailer is built inside a tokio runtime",
            ));
        }
        let host = self.url.host().to_owned();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(self.url.port())
            .timeout(Some(self.timeout))
            .pool_config(PoolConfig::new().max_size(self.pool_size));
        if self.url.security() != Security::Plain {
            let mut tls = TlsParameters::builder(host);
            for root in self.roots {
                tls = tls.add_root_certificate(root);
            }
            let tls = tls.build_rustls().map_err(|e| {
                MailError::permanent(MailErrorKind::Config, format!("TLS settings: {e}"))
            })?;
            builder = builder.tls(match self.url.security() {
                Security::StartTls => Tls::Required(tls),
                _ => Tls::Wrapper(tls),
            });
        }
        if let Some((user, password)) = self.url.credentials() {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            url: self.url,
            from: self.from,
            timeout: self.timeout,
        })
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("url", &self.url)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SmtpMailerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailerBuilder")
            .field("url", &self.url)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .field("extra_roots", &self.roots.len())
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn debug_never_prints_the_password() {
        let m = SmtpMailer::from_url("smtps://me:hunter2@127.0.0.1", "a@example.com").unwrap();
        let shown = format!("{m:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("smtps://me:…@127.0.0.1:465"), "{shown}");
        let b = SmtpMailer::builder("smtps://me:hunter2@127.0.0.1", "a@example.com").unwrap();
        assert!(!format!("{b:?}").contains("hunter2"));
    }

    #[test]
    fn outside_a_runtime_build_says_why() {
        let e = SmtpMailer::from_url("smtp://127.0.0.1", "a@example.com").unwrap_err();
        assert_eq!(e.kind(), MailErrorKind::Config);
        assert!(e.to_string().contains("tokio runtime"), "{e}");
    }

    #[tokio::test]
    async fn every_scheme_builds_and_a_bad_certificate_is_refused() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp+starttls://u:p@mail.example.com",
            "smtps://mail.example.com",
        ] {
            let m = SmtpMailer::from_url(url, "a@example.com").unwrap();
            assert_eq!(
                m.url().to_string().split("://").next(),
                url.split("://").next()
            );
        }
        let e = SmtpMailer::builder("smtps://h", "a@example.com")
            .unwrap()
            .add_root_certificate_pem(b"not a certificate")
            .unwrap_err();
        assert_eq!(e.kind(), MailErrorKind::Config);
        assert!(SmtpMailer::from_url("smtp://h", "nobody").is_err());
    }
}
