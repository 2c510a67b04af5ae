//! [`Message`]: one email, its addresses checked when it is made.

use std::fmt;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

use crate::error::{MailError, MailErrorKind};

/// The longest line SMTP and RFC 5322 allow (without its CRLF).
const MAX_LINE: usize = 998;

/// One email: a recipient, an optional sender (else the mailer's default, such as `MAIL_FROM`), an
/// optional `Reply-To`, a subject, a text part and an optional HTML part.
///
/// Every address is parsed when it is set ([`Mailbox`]: `user@example.com` or
/// `Name <user@example.com>`), so a message that exists has addresses that parse; the subject cannot
/// hold a line break. Its `Debug` shows the addresses and the subject but only the *lengths* of the
/// bodies, which carry tokens and codes.
///
/// ```
/// use keycard_mail::Message;
///
/// let message = Message::new("ada@example.com", "Reset your password", "Open this link:\nhttps://example.com/password/reset/abc\n")?
///     .with_from("Example <no-reply@example.com>")?
///     .with_html("<p><a href=\"https://example.com/password/reset/abc\">Reset your password</a></p>");
/// assert_eq!(message.to().email.to_string(), "ada@example.com");
/// assert!(!format!("{message:?}").contains("reset/abc"));
/// assert!(Message::new("not an address", "Hi", "…").is_err());
/// # Ok::<(), keycard_mail::MailError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    to: Mailbox,
    from: Option<Mailbox>,
    reply_to: Option<Mailbox>,
    subject: String,
    text: String,
    html: Option<String>,
}

/// Parse one address (`user@example.com` or `Name <user@example.com>`), as every address of a
/// [`Message`] is.
///
/// # Errors
/// A permanent [`MailErrorKind::Address`] error naming the input (cut to 100 characters).
pub fn parse_mailbox(address: &str) -> Result<Mailbox, MailError> {
    address.trim().parse::<Mailbox>().map_err(|e| {
        let shown: String = address.chars().take(100).collect();
        MailError::permanent(
            MailErrorKind::Address,
            format!("`{shown}` is not an email address ({e})"),
        )
    })
}

fn check_subject(subject: &str) -> Result<(), MailError> {
    if subject.chars().any(char::is_control) {
        return Err(MailError::permanent(
            MailErrorKind::Message,
            "a subject cannot hold a line break or another control character",
        ));
    }
    Ok(())
}

impl Message {
    /// A message to `to` (parsed) with a subject and a text part.
    ///
    /// # Errors
    /// `to` is not an address ([`MailErrorKind::Address`]), or the subject holds a line break or another
    /// control character ([`MailErrorKind::Message`]).
    pub fn new(
        to: &str,
        subject: impl Into<String>,
        text: impl Into<String>,
    ) -> Result<Message, MailError> {
        Message::to_mailbox(parse_mailbox(to)?, subject, text)
    }

    /// [`Message::new`] for an address already parsed.
    ///
    /// # Errors
    /// The subject holds a line break or another control character ([`MailErrorKind::Message`]).
    pub fn to_mailbox(
        to: Mailbox,
        subject: impl Into<String>,
        text: impl Into<String>,
    ) -> Result<Message, MailError> {
        let subject = subject.into();
        check_subject(&subject)?;
        Ok(Message {
            to,
            from: None,
            reply_to: None,
            subject,
            text: text.into(),
            html: None,
        })
    }

    /// The same message from `from` (parsed) instead of the mailer's default sender.
    ///
    /// # Errors
    /// `from` is not an address.
    pub fn with_from(mut self, from: &str) -> Result<Message, MailError> {
        self.from = Some(parse_mailbox(from)?);
        Ok(self)
    }

    /// The same message with a `Reply-To` (parsed).
    ///
    /// # Errors
    /// `reply_to` is not an address.
    pub fn with_reply_to(mut self, reply_to: &str) -> Result<Message, MailError> {
        self.reply_to = Some(parse_mailbox(reply_to)?);
        Ok(self)
    }

    /// The same message with an HTML part (sent as `multipart/alternative`: text first, then HTML).
    #[must_use]
    pub fn with_html(mut self, html: impl Into<String>) -> Message {
        self.html = Some(html.into());
        self
    }

    /// The recipient.
    pub fn to(&self) -> &Mailbox {
        &self.to
    }

    /// The sender, when the message names one (else the mailer's default applies).
    pub fn from(&self) -> Option<&Mailbox> {
        self.from.as_ref()
    }

    /// The `Reply-To` address, if any.
    pub fn reply_to(&self) -> Option<&Mailbox> {
        self.reply_to.as_ref()
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The text part.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The HTML part, if any.
    pub fn html(&self) -> Option<&str> {
        self.html.as_deref()
    }

    /// Whether the message goes to `address` (compared without regard to case).
    pub fn is_to(&self, address: &str) -> bool {
        let wanted = address.trim();
        let wanted =
            parse_mailbox(wanted).map_or_else(|_| wanted.to_owned(), |m| m.email.to_string());
        self.to.email.to_string().eq_ignore_ascii_case(&wanted)
    }

    /// The message as lettre builds it, from `self.from()` or else `default_from`, with a `Date` and a
    /// `Message-ID` on the sender's domain.
    ///
    /// The text part goes as `7bit` (lines untouched, CRLF line ends) whenever it is ASCII with no line
    /// over 998 characters, so a long link on a line of its own reaches even a reader that does not
    /// decode MIME intact; otherwise lettre picks quoted-printable or base64, which every mail reader
    /// decodes back to the same lines.
    ///
    /// # Errors
    /// lettre refuses the message ([`MailErrorKind::Message`]).
    pub fn to_lettre(&self, default_from: &Mailbox) -> Result<lettre::Message, MailError> {
        let from = self.from.as_ref().unwrap_or(default_from);
        // A `Message-ID` on the sender's domain (RFC 5322 §3.6.4; lettre adds none by itself, and
        // would put the machine's host name in it), from 36 random letters and digits.
        let id: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(36)
            .collect();
        let mut builder = lettre::Message::builder()
            .message_id(Some(format!("<{id}@{}>", from.email.domain())))
            .from(from.clone())
            .to(self.to.clone())
            .subject(self.subject.clone());
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(text_body(&self.text));
        let built = match &self.html {
            None => builder.singlepart(text),
            Some(html) => builder.multipart(
                MultiPart::alternative()
                    .singlepart(text)
                    .singlepart(SinglePart::html(html.clone())),
            ),
        };
        built.map_err(|e| MailError::permanent(MailErrorKind::Message, e.to_string()))
    }
}

/// The text part's body: `7bit` when it can be, else lettre's choice.
fn text_body(text: &str) -> Body {
    let unix = text.replace("\r\n", "\n");
    let seven_bit = unix.is_ascii()
        && !unix.contains(['\r', '\0'])
        && unix.split('\n').all(|line| line.len() <= MAX_LINE);
    if seven_bit {
        let crlf = unix.replace('\n', "\r\n");
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text.to_owned())
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("to", &self.to.to_string())
            .field("from", &self.from.as_ref().map(ToString::to_string))
            .field("reply_to", &self.reply_to.as_ref().map(ToString::to_string))
            .field("subject", &self.subject)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field(
                "html",
                &self.html.as_ref().map(|h| format!("<{} bytes>", h.len())),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_subjects_cannot_inject_headers() {
        assert!(Message::new("a@example.com", "Hi", "x").is_ok());
        assert!(Message::new("Ada <a@example.com>", "Hi", "x").is_ok());
        let e = Message::new("a@", "Hi", "x").unwrap_err();
        assert_eq!(e.kind(), MailErrorKind::Address);
        assert!(e.is_permanent());
        let e = Message::new("a@example.com", "Hi\r\nBcc: x@evil.example", "x").unwrap_err();
        assert_eq!(e.kind(), MailErrorKind::Message);
        assert!(Message::new("a@example.com", "Hi", "x")
            .unwrap()
            .with_from("nobody")
            .is_err());
    }

    #[test]
    fn is_to_ignores_case_and_display_names() {
        let m = Message::new("Ada <Ada@Example.com>", "Hi", "x").unwrap();
        assert!(m.is_to("ada@example.com"));
        assert!(m.is_to("ADA <ada@example.COM>"));
        assert!(!m.is_to("bob@example.com"));
    }

    #[test]
    fn a_long_ascii_link_goes_as_7bit_untouched() {
        let link = format!("https://example.com/password/reset/{}", "A".repeat(200));
        let m = Message::new("a@example.com", "Reset", format!("Open:\n{link}\n")).unwrap();
        let from = parse_mailbox("no-reply@example.com").unwrap();
        let raw = String::from_utf8(m.to_lettre(&from).unwrap().formatted()).unwrap();
        assert!(raw.contains("Content-Transfer-Encoding: 7bit"), "{raw}");
        assert!(raw.contains(&format!("\r\n{link}\r\n")), "{raw}");
    }

    #[test]
    fn debug_never_shows_a_body() {
        let m = Message::new("a@example.com", "Code", "your code is 123456")
            .unwrap()
            .with_html("<b>123456</b>");
        let shown = format!("{m:?}");
        assert!(!shown.contains("123456"), "{shown}");
        assert!(shown.contains("a@example.com") && shown.contains("Code"));
    }
}
