//! Accounts by email (issue 20) over HTTP against the real demo router, with its mail going through a
//! **real SMTP server** (an aiosmtpd sink of the test's own, `OwnSmtp`; skipped with the kit's `SKIPPED`
//! line when Python's aiosmtpd is missing, a failure under `KEYCARD_REQUIRE_SERVICES=1`). The links are
//! read from the messages as a user would: the absolute URL on a line of its own in the text part.
//! `.ci/run` runs this binary on every store (`KEYCARD_TEST_CACHE`).

#[path = "../common/mod.rs"]
mod common;

mod change;
mod confirmation;
mod dev_mailbox;
mod enumeration;
mod reset;
mod sign_in;
mod timing;

use std::time::Duration;

use keycard_store_tests::services::{OwnSmtp, SinkMessage, SmtpSinkOptions};

use common::{Browser, TestApp};

/// How long a message may take to reach the sink (a loaded 2-core machine).
const MAIL_WAIT: Duration = Duration::from_secs(30);

/// The demo sending through an SMTP sink of its own.
pub(crate) struct Mailed {
    pub(crate) app: TestApp,
    pub(crate) smtp: OwnSmtp,
}

impl Mailed {
    /// Start both, or `None` when the sink cannot run (the skip rule).
    pub(crate) async fn start(suite: &str) -> Option<Mailed> {
        let smtp = OwnSmtp::start_or_skip(suite, SmtpSinkOptions::new()).await?;
        let url = smtp.url();
        let app = TestApp::start_with(|c| c.smtp_url = Some(url)).await;
        Some(Mailed { app, smtp })
    }

    /// The `n`th message (from 1) to `to` whose subject is `subject`, waited for.
    pub(crate) async fn nth_mail(&self, to: &str, subject: &str, n: usize) -> SinkMessage {
        let started = std::time::Instant::now();
        loop {
            let found: Vec<SinkMessage> = self
                .smtp
                .messages_for(to)
                .into_iter()
                .filter(|m| m.subject.as_deref() == Some(subject))
                .collect();
            if found.len() >= n {
                return found.into_iter().nth(n - 1).expect("counted");
            }
            assert!(
                started.elapsed() < MAIL_WAIT,
                "no message {n} {subject:?} to {to} within {MAIL_WAIT:?}; got {:?}",
                self.smtp
                    .messages_for(to)
                    .iter()
                    .map(|m| m.subject.clone())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The newest message to `to` with `subject`.
    pub(crate) async fn mail(&self, to: &str, subject: &str) -> SinkMessage {
        self.nth_mail(to, subject, 1).await
    }

    /// The path of the one link in `m` that starts with the app's origin and `prefix` (`/password/reset/`).
    pub(crate) fn link(&self, m: &SinkMessage, prefix: &str) -> String {
        let lines = m.text_lines_starting_with(&format!("{}{prefix}", self.app.base));
        assert_eq!(lines.len(), 1, "one link line: {:?}", m.text);
        lines[0][self.app.base.len()..].to_owned()
    }

    /// A signed-in browser of a new account.
    pub(crate) async fn registered(&self, email: &str) -> Browser {
        let b = self.app.browser();
        b.registered(email).await;
        b
    }
}
