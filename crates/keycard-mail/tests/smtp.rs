//! SmtpMailer against a real SMTP server (Python's aiosmtpd, started by the test kit's `OwnSmtp`): what
//! arrives, decoded as a mail reader would; login; a refused recipient; a server that is down, and the
//! queue retrying until it is back. Skipped (`SKIPPED: …`) without Python and aiosmtpd, a failure under
//! `KEYCARD_REQUIRE_SERVICES=1`.

use std::time::{Duration, Instant};

use keycard_mail::{MailErrorKind, MailQueue, Mailer, Message, SmtpMailer};
use keycard_store_tests::services::{OwnSmtp, SmtpSinkOptions};

const FROM: &str = "Keycard <no-reply@keycard.test>";
/// Generous: a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(30);

/// A link as the flows send it: long (past 76 characters, where quoted-printable would break it) and
/// with `=` and `&` (which quoted-printable would escape).
fn long_link() -> String {
    format!(
        "https://app.keycard.test/password/reset/{}?next=%2Fprofile&lang=en",
        "Zm9vYmFyYmF6cXV4".repeat(6)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_send_delivers_text_and_html_with_the_headers_and_the_link_line_intact() {
    let Some(sink) =
        OwnSmtp::start_or_skip("keycard-mail: plain SMTP", SmtpSinkOptions::new()).await
    else {
        return;
    };
    let mailer = SmtpMailer::from_url(&sink.url(), FROM).expect("mailer");
    let link = long_link();
    let message = Message::new(
        "Ada Lovelace <ada@keycard.test>",
        "Reset your password",
        format!(
            "Someone asked to reset your password.\n\n{link}\n\nIgnore this if it was not you.\n"
        ),
    )
    .and_then(|m| m.with_reply_to("help@keycard.test"))
    .expect("message")
    .with_html(format!(
        "<p><a href=\"{link}\">Choose a new password</a></p>"
    ));
    mailer.send(&message).await.expect("sent");

    let got = sink
        .wait_for("ada@keycard.test", WAIT)
        .await
        .expect("delivered");
    assert_eq!(got.mail_from, "no-reply@keycard.test");
    assert_eq!(got.rcpt_to, ["ada@keycard.test"]);
    assert_eq!(got.subject.as_deref(), Some("Reset your password"));
    assert_eq!(got.from, ["no-reply@keycard.test"]);
    assert_eq!(got.to, ["ada@keycard.test"]);
    assert_eq!(got.reply_to, ["help@keycard.test"]);
    assert_eq!(got.content_type.as_deref(), Some("multipart/alternative"));
    for header in ["Date", "Message-ID", "MIME-Version"] {
        assert!(
            got.header(header).is_some(),
            "no {header}: {:?}",
            got.headers
        );
    }
    // The text part, decoded: the link is a line of its own, whole.
    assert_eq!(
        got.text_lines_starting_with("https://"),
        std::slice::from_ref(&link)
    );
    assert!(got
        .html
        .as_deref()
        .unwrap_or_default()
        .contains(&format!("href=\"{link}\"")));
    // ASCII text goes as 7bit: even the raw message holds the line untouched.
    assert_eq!(got.text_encoding.as_deref(), Some("7bit"));
    let raw = String::from_utf8_lossy(&got.raw);
    assert!(raw.contains(&format!("\r\n{link}\r\n")), "{raw}");

    // Not ASCII: quoted-printable or base64, which a reader decodes back to the same line.
    let message = Message::new(
        "zoe@keycard.test",
        "Bienvenue, Zoë",
        format!("Bonjour Zoë, confirmez votre adresse :\n{link}\n"),
    )
    .expect("message");
    mailer.send(&message).await.expect("sent");
    let got = sink
        .wait_for("zoe@keycard.test", WAIT)
        .await
        .expect("delivered");
    assert_eq!(got.subject.as_deref(), Some("Bienvenue, Zoë"));
    assert_ne!(got.text_encoding.as_deref(), Some("7bit"));
    assert_eq!(got.text_lines_starting_with("https://"), [link]);
    assert!(got.text.unwrap_or_default().starts_with("Bonjour Zoë"));
    assert_eq!(got.content_type.as_deref(), Some("text/plain"));
    assert!(got.html.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_and_password_in_the_url_log_in() {
    let (user, password) = ("mailer@keycard.test", "p@ss:w/rd%");
    let options = SmtpSinkOptions::new().auth(user, password);
    let Some(sink) = OwnSmtp::start_or_skip("keycard-mail: SMTP AUTH", options).await else {
        return;
    };
    let message = Message::new("ada@keycard.test", "Hello", "Hello.\n").expect("message");
    let url = |userinfo: &str| format!("smtp://{userinfo}@127.0.0.1:{}", sink.port);

    let good = SmtpMailer::from_url(&url("mailer%40keycard.test:p%40ss%3Aw%2Frd%25"), FROM)
        .expect("mailer");
    good.check().await.expect("logs in");
    good.send(&message).await.expect("sent");
    assert!(sink.wait_for("ada@keycard.test", WAIT).await.is_some());

    let bad = SmtpMailer::from_url(&url("mailer%40keycard.test:wrong"), FROM).expect("mailer");
    let e = bad.send(&message).await.expect_err("refused");
    assert_eq!(
        (e.kind(), e.code(), e.is_permanent()),
        (MailErrorKind::Rejected, Some(535), true),
        "{e}"
    );
    assert!(
        !format!("{e} {bad:?}").contains("wrong"),
        "the password shows: {e} {bad:?}"
    );

    let anonymous = SmtpMailer::from_url(&sink.url(), FROM).expect("mailer");
    let e = anonymous.send(&message).await.expect_err("refused");
    assert_eq!(
        (e.kind(), e.code(), e.is_permanent()),
        (MailErrorKind::Rejected, Some(530), true),
        "{e}"
    );
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recipient_is_permanent_and_the_queue_does_not_retry_it() {
    let options = SmtpSinkOptions::new().refuse("nobody@keycard.test");
    let Some(sink) = OwnSmtp::start_or_skip("keycard-mail: refused recipient", options).await
    else {
        return;
    };
    let mailer = SmtpMailer::from_url(&sink.url(), FROM).expect("mailer");
    let refused = Message::new("nobody@keycard.test", "Hello", "Hello.\n").expect("message");
    let e = mailer.send(&refused).await.expect_err("refused");
    assert_eq!(
        (e.kind(), e.code(), e.is_permanent()),
        (MailErrorKind::Rejected, Some(550), true),
        "{e}"
    );

    let queue = MailQueue::builder()
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
        .start(mailer);
    queue.send(refused);
    queue.send(Message::new("ada@keycard.test", "Hello", "Hello.\n").expect("message"));
    let stats = queue.close(WAIT * 2).await;
    assert_eq!(
        (stats.sent, stats.retried, stats.failed, stats.dropped),
        (1, 0, 1, 0)
    );
    assert!(sink.wait_for("ada@keycard.test", WAIT).await.is_some());
    assert!(sink.messages_for("nobody@keycard.test").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_is_transient_and_the_queue_retries_until_it_is_back() {
    let Some(mut sink) =
        OwnSmtp::start_or_skip("keycard-mail: SMTP outage", SmtpSinkOptions::new()).await
    else {
        return;
    };
    sink.kill();
    let mailer = SmtpMailer::from_url(&sink.url(), FROM).expect("mailer");
    let message = Message::new(
        "ada@keycard.test",
        "Confirm your email",
        "https://app.keycard.test/confirm/abc\n",
    )
    .expect("message");
    let e = mailer.send(&message).await.expect_err("down");
    assert_eq!(
        (e.kind(), e.is_transient()),
        (MailErrorKind::Connect, true),
        "{e}"
    );

    // Down for good: the retries run out and the message counts as failed.
    let queue = MailQueue::builder()
        .retries(2)
        .backoff(Duration::from_millis(10), Duration::from_millis(20))
        .start(SmtpMailer::from_url(&sink.url(), FROM).expect("mailer"));
    queue.send(message.clone());
    let stats = queue.close(WAIT * 2).await;
    assert_eq!((stats.sent, stats.retried, stats.failed), (0, 2, 1));

    // Back after the first failure: a retry gets it through. Up to 8 retries, at most 4 s apart (> 30 s
    // in all): room for the sink to come back on a loaded machine. A connection made while the sink is
    // still starting may get no greeting: a short timeout (the whole attempt: 3 × 3 s) cuts it off.
    let mailer = SmtpMailer::builder(&sink.url(), FROM)
        .expect("builder")
        .timeout(Duration::from_secs(3))
        .build()
        .expect("mailer");
    let queue = MailQueue::builder()
        .retries(8)
        .backoff(Duration::from_millis(500), Duration::from_secs(4))
        .start(mailer);
    queue.send(message);
    let started = Instant::now();
    while queue.stats().retried == 0 {
        assert!(
            started.elapsed() < WAIT,
            "no retry within {WAIT:?}: {:?}",
            queue.stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sink.restart().await;
    let stats = queue.close(Duration::from_secs(120)).await;
    assert_eq!(
        (stats.sent, stats.failed, stats.dropped),
        (1, 0, 0),
        "{stats:?}"
    );
    assert!(stats.retried >= 1);
    let got = sink
        .wait_for("ada@keycard.test", WAIT)
        .await
        .expect("delivered after the outage");
    assert_eq!(
        got.text_lines_starting_with("https://"),
        ["https://app.keycard.test/confirm/abc"]
    );
}
