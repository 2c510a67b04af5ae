//! [`MailError`]: what failed, and whether trying again can help.

use std::fmt;

/// What a failed send, or a refused message or setting, was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MailErrorKind {
    /// An address that does not parse (`to`, `from`, `reply_to`), or a server that refused one
    /// (a 5xx answer to `RCPT TO` is [`Rejected`](MailErrorKind::Rejected), with its code).
    Address,
    /// A message that cannot be sent as given (a subject with a line break, …).
    Message,
    /// A setting that cannot work: an SMTP URL that does not parse, a certificate that does not load.
    Config,
    /// The server could not be reached, or the connection broke (refused, reset, unreachable, DNS).
    Connect,
    /// The server did not answer in time.
    Timeout,
    /// TLS failed: the handshake, the certificate or its name.
    Tls,
    /// The server answered with an SMTP error code ([`MailError::code`]): 4xx (transient) or 5xx
    /// (permanent), including a refused login (535) or recipient (550).
    Rejected,
    /// The mailer was shut down, or is failing on purpose (a test).
    Unavailable,
}

impl fmt::Display for MailErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MailErrorKind::Address => "bad address",
            MailErrorKind::Message => "bad message",
            MailErrorKind::Config => "bad mail setting",
            MailErrorKind::Connect => "cannot reach the mail server",
            MailErrorKind::Timeout => "the mail server timed out",
            MailErrorKind::Tls => "TLS with the mail server failed",
            MailErrorKind::Rejected => "the mail server refused",
            MailErrorKind::Unavailable => "mailer unavailable",
        })
    }
}

/// Why a message was not sent (or a setting was refused): its [kind](MailErrorKind), whether a retry can
/// help ([`is_transient`](MailError::is_transient)), the SMTP code when the server gave one, and a
/// detail for the logs.
///
/// The detail never holds a message body or a password: it is built from the server's reply, the I/O
/// error, or the setting with its password left out.
///
/// ```
/// use keycard_mail::{MailError, MailErrorKind};
///
/// let busy = MailError::transient(MailErrorKind::Rejected, "451 4.3.0 try again later").with_code(451);
/// assert!(busy.is_transient());
/// assert_eq!(busy.code(), Some(451));
/// let bad = MailError::permanent(MailErrorKind::Address, "`nobody` is not an email address");
/// assert!(!bad.is_transient());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}{}: {detail}", code_suffix(*code))]
pub struct MailError {
    kind: MailErrorKind,
    transient: bool,
    code: Option<u16>,
    detail: String,
}

fn code_suffix(code: Option<u16>) -> String {
    code.map(|c| format!(" ({c})")).unwrap_or_default()
}

impl MailError {
    /// A failure that may pass if the same message is sent again later (the queue retries these).
    pub fn transient(kind: MailErrorKind, detail: impl Into<String>) -> MailError {
        MailError {
            kind,
            transient: true,
            code: None,
            detail: detail.into(),
        }
    }

    /// A failure that sending again will not cure (the queue gives up at once).
    pub fn permanent(kind: MailErrorKind, detail: impl Into<String>) -> MailError {
        MailError {
            kind,
            transient: false,
            code: None,
            detail: detail.into(),
        }
    }

    /// The same error with the SMTP reply code the server gave.
    #[must_use]
    pub fn with_code(mut self, code: u16) -> MailError {
        self.code = Some(code);
        self
    }

    /// What failed.
    pub fn kind(&self) -> MailErrorKind {
        self.kind
    }

    /// Whether a later try may succeed: a connection refused or broken, a timeout, a 4xx answer.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// Whether the message can never go as it is: a bad address or setting, a 5xx answer, a TLS failure.
    pub fn is_permanent(&self) -> bool {
        !self.transient
    }

    /// The SMTP reply code, when the server answered with one.
    pub fn code(&self) -> Option<u16> {
        self.code
    }

    /// The detail, for logs: the server's reply or the I/O error.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}
