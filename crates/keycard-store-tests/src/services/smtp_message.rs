//! [`SinkMessage`]: one message an [`OwnSmtp`](super::OwnSmtp) received, parsed (mail-parser).

use mail_parser::{MessageParser, MimeHeaders};

/// One message the SMTP sink received: its envelope, its headers and its parts, **decoded** (quoted-
/// printable and base64 undone, as a mail reader would), plus the raw bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkMessage {
    /// The bytes received after `DATA`, as they were.
    pub raw: Vec<u8>,
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`) the sink accepted.
    pub rcpt_to: Vec<String>,
    /// Every header of the message, in order: name and value as written (unfolded, trimmed).
    pub headers: Vec<(String, String)>,
    /// `Subject`, decoded.
    pub subject: Option<String>,
    /// The addresses of `From`.
    pub from: Vec<String>,
    /// The addresses of `To`.
    pub to: Vec<String>,
    /// The addresses of `Reply-To`.
    pub reply_to: Vec<String>,
    /// The first `text/plain` part, decoded.
    pub text: Option<String>,
    /// The `Content-Transfer-Encoding` of that part, as written (`7bit`, `quoted-printable`, …).
    pub text_encoding: Option<String>,
    /// The first `text/html` part, decoded.
    pub html: Option<String>,
    /// The top-level `Content-Type`, without parameters (`text/plain`, `multipart/alternative`).
    pub content_type: Option<String>,
}

fn addresses(list: Option<&mail_parser::Address<'_>>) -> Vec<String> {
    list.map(|a| {
        a.iter()
            .filter_map(|addr| addr.address())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

impl SinkMessage {
    /// Parse `raw` with the envelope file's lines (`MAIL FROM`, then each `RCPT TO`). A message that
    /// does not parse keeps its raw bytes and envelope, with everything else empty.
    pub(super) fn parse(raw: Vec<u8>, envelope: &str) -> SinkMessage {
        let mut lines = envelope.lines().map(str::to_owned);
        let mut message = SinkMessage {
            mail_from: lines.next().unwrap_or_default(),
            rcpt_to: lines.filter(|l| !l.is_empty()).collect(),
            ..SinkMessage::default()
        };
        if let Some(parsed) = MessageParser::default().parse(&raw) {
            message.headers = parsed
                .headers_raw()
                .map(|(name, value)| (name.to_owned(), unfold(value)))
                .collect();
            message.subject = parsed.subject().map(str::to_owned);
            message.from = addresses(parsed.from());
            message.to = addresses(parsed.to());
            message.reply_to = addresses(parsed.reply_to());
            message.content_type = parsed.content_type().map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{sub}", ct.ctype()),
                None => ct.ctype().to_owned(),
            });
            for part in &parsed.parts {
                if part.is_text_html() {
                    if message.html.is_none() {
                        message.html = part.text_contents().map(str::to_owned);
                    }
                } else if part.is_text() && message.text.is_none() {
                    message.text = part.text_contents().map(str::to_owned);
                    message.text_encoding = part.content_transfer_encoding().map(str::to_owned);
                }
            }
        }
        message.raw = raw;
        message
    }

    /// The first header called `name` (without regard to case), as written.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether `address` is one of the envelope recipients (without regard to case).
    pub fn is_for(&self, address: &str) -> bool {
        self.rcpt_to
            .iter()
            .any(|r| r.trim().eq_ignore_ascii_case(address.trim()))
    }

    /// The lines of the decoded text part that start with `prefix` (say, the app's origin: its links).
    pub fn text_lines_starting_with(&self, prefix: &str) -> Vec<String> {
        self.text
            .as_deref()
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| l.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    }
}

/// A header value on one line: folds (CRLF + white space) undone, ends trimmed.
fn unfold(value: &str) -> String {
    value
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_quoted_printable_and_reads_the_envelope() {
        let raw = b"From: A <a@example.com>\r\nTo: b@example.com\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"XX\"\r\n\r\n--XX\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
https://example.com/a?t=3Dvery-long-token-that-goes-on-and-on-and-on-and-on-and-on-and-on-=\r\nend\r\n\
--XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>hi</p>\r\n--XX--\r\n";
        let m = SinkMessage::parse(raw.to_vec(), "a@example.com\nb@example.com\n");
        assert_eq!(m.mail_from, "a@example.com");
        assert!(m.is_for("B@example.com"));
        assert_eq!(m.subject.as_deref(), Some("Café"));
        assert_eq!(m.from, ["a@example.com"]);
        assert_eq!(m.content_type.as_deref(), Some("multipart/alternative"));
        assert_eq!(m.text_encoding.as_deref(), Some("quoted-printable"));
        assert_eq!(
            m.text_lines_starting_with("https://"),
            ["https://example.com/a?t=very-long-token-that-goes-on-and-on-and-on-and-on-and-on-and-on-end"]
        );
        assert_eq!(m.html.as_deref().map(str::trim), Some("<p>hi</p>"));
        assert_eq!(m.header("subject"), Some("=?utf-8?q?Caf=C3=A9?="));
    }
}
