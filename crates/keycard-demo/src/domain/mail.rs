//! The demo's mail: the mailer the configuration asks for (SMTP with `SMTP_URL`, else the development
//! mailbox), the queue that sends from a background task, and the text of every message.
//!
//! Every message has a text part whose action link is an absolute URL on a line of its own (the app's
//! `PUBLIC_ORIGIN`, or the address it is bound to), followed by the code where the flow has one, and an
//! HTML part with the same link as a button. The queue never blocks a response and never changes it: a
//! failure is logged, retried a bounded number of times and counted ([`keycard_mail::MailStats`]).

use keycard::inbox::{Flow, InboxMessage};
use keycard_mail::{DevMailbox, MailError, MailQueue, Message, SmtpMailer};

/// The mail side of the app: its queue, the development mailbox (when there is no SMTP server), and
/// the absolute origin links start with.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Sends from a background task.
    pub queue: MailQueue,
    /// Where mail stays without `SMTP_URL` (shown at `GET /dev/mailbox` on a loopback address).
    pub dev: Option<DevMailbox>,
    /// `https://HOST[:PORT]` or `http://ADDR`: what every link starts with.
    pub origin: String,
    /// The sender.
    pub from: String,
}

/// The mail could not be set up: a bad `SMTP_URL` or `MAIL_FROM`.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up mail: {0}; check SMTP_URL and MAIL_FROM")]
pub struct MailSetupError(#[from] MailError);

/// The mailer `smtp_url` asks for (`None`: the development mailbox), sending as `from`, links on
/// `origin`.
pub fn build(smtp_url: Option<&str>, from: &str, origin: String) -> Result<Mail, MailSetupError> {
    keycard_mail::parse_mailbox(from)?;
    let (queue, dev) = match smtp_url {
        Some(url) => {
            let mailer = SmtpMailer::from_url(url, from)?;
            tracing::info!(smtp = %mailer.url(), "mail goes through SMTP");
            (MailQueue::new(mailer), None)
        }
        None => {
            let dev = DevMailbox::new();
            tracing::info!("no SMTP_URL: mail stays in the development mailbox (GET /dev/mailbox)");
            (MailQueue::new(dev.clone()), Some(dev))
        }
    };
    Ok(Mail {
        queue,
        dev,
        origin,
        from: from.to_owned(),
    })
}

/// The path of a flow's link page.
pub fn link_path(flow: Flow, token: &str) -> String {
    match flow {
        Flow::ConfirmEmail => format!("/confirm/{token}"),
        Flow::ResetPassword => format!("/password/reset/{token}"),
        Flow::SignIn => format!("/session/link/{token}"),
        _ => format!("/account/email/{token}"),
    }
}

fn minutes(from: keycard::Timestamp, to: keycard::Timestamp) -> u64 {
    to.0.saturating_sub(from.0).div_ceil(60_000)
}

/// A lifetime in words: "15 minutes", "1 hour", "7 days".
fn lifetime(mins: u64) -> String {
    let (n, unit) = if mins >= 24 * 60 && mins.is_multiple_of(24 * 60) {
        (mins / (24 * 60), "day")
    } else if mins >= 60 && mins.is_multiple_of(60) {
        (mins / 60, "hour")
    } else {
        (mins, "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// HTML-escape a value put into a message's HTML part.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Mail {
    /// The message of an inbox flow, issued at `now`.
    pub fn compose(&self, m: &InboxMessage, now: keycard::Timestamp) -> Result<Message, MailError> {
        let url = format!("{}{}", self.origin, link_path(m.flow, &m.link));
        let valid = lifetime(minutes(now, m.link_expires_at));
        let (subject, intro, button) = match m.flow {
            Flow::ConfirmEmail => (
                "Confirm your email address",
                "Welcome to the keycard demo. Open this link to confirm your email address:",
                "Confirm my email",
            ),
            Flow::ResetPassword => (
                "Reset your password",
                "Somebody (we hope you) asked to reset the password of your keycard demo account. Open \
                 this link to choose a new one:",
                "Choose a new password",
            ),
            Flow::SignIn => (
                "Your sign-in link",
                "Open this link to sign in to the keycard demo:",
                "Sign in",
            ),
            _ => (
                "Confirm your new email address",
                "Open this link to move your keycard demo account to this address:",
                "Use this address",
            ),
        };
        let mut text = format!("{intro}\n\n{url}\n\nThe link works once, for {valid}.\n");
        let mut html = format!(
            "<p>{}</p><p><a href=\"{}\">{}</a></p><p>The link works once, for {valid}.</p>",
            escape(intro),
            escape(&url),
            escape(button)
        );
        if let (Some(code), Some(until)) = (&m.code, m.code_expires_at) {
            let code_valid = lifetime(minutes(now, until));
            text.push_str(&format!(
                "\nOr type this code on the sign-in page:\n\n{code}\n\nThe code works for {code_valid}.\n"
            ));
            html.push_str(&format!(
                "<p>Or type this code on the sign-in page: <strong>{}</strong> (for {code_valid}).</p>",
                escape(code)
            ));
        }
        text.push_str("\nIf you did not ask for this, ignore this message.\n");
        html.push_str("<p>If you did not ask for this, ignore this message.</p>");
        Ok(Message::new(&m.to, subject, text)?.with_html(html))
    }

    /// The notice to the old address after an email change.
    pub fn email_changed(&self, old: &str, new: &str) -> Result<Message, MailError> {
        let text = format!(
            "The email address of your keycard demo account was changed to {new}.\n\nIf you did not do \
             this, reset your password at once:\n\n{}/password/reset\n",
            self.origin
        );
        Message::new(old, "Your email address was changed", text)
    }

    /// Hand `message` to the background sender (never awaited; a failure is logged and counted).
    pub fn send(&self, message: Result<Message, MailError>) {
        match message {
            Ok(m) => self.queue.send(m),
            Err(e) => tracing::warn!(error = %e, "a message could not be composed; not sent"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_as_people_say_them() {
        assert_eq!(lifetime(15), "15 minutes");
        assert_eq!(lifetime(60), "1 hour");
        assert_eq!(lifetime(7 * 24 * 60), "7 days");
        assert_eq!(lifetime(1), "1 minute");
    }
}
