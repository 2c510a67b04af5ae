//! STARTTLS and implicit TLS against a real SMTP server (aiosmtpd, through the test kit's `OwnSmtp`) with
//! a certificate authority and a server certificate made here (rcgen): login over TLS, a certificate
//! nobody trusts, a server that offers no STARTTLS. Skipped without Python and aiosmtpd (a failure under
//! `KEYCARD_REQUIRE_SERVICES=1`).

use std::path::PathBuf;
use std::time::Duration;

use keycard_mail::{MailErrorKind, Mailer, Message, SmtpMailer};
use keycard_store_tests::services::{random_hex, OwnSmtp, SmtpSinkOptions};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

const FROM: &str = "no-reply@keycard.test";
const WAIT: Duration = Duration::from_secs(30);
const USER: &str = "mailer";
const PASSWORD: &str = "s3cret over tls";

/// A CA, and a certificate for 127.0.0.1 and localhost it signed, in a directory removed on drop.
struct Pki {
    dir: PathBuf,
    ca_pem: String,
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = std::env::temp_dir().join(format!("keycard-mail-pki-{}", random_hex(6)));
        std::fs::create_dir_all(&dir).expect("pki dir");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "keycard-mail test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca =
            CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA");
        let key = KeyPair::generate().expect("server key");
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server params")
            .signed_by(&key, &ca)
            .expect("server certificate");
        let (cert_path, key_path) = (dir.join("server.pem"), dir.join("server.key"));
        std::fs::write(&cert_path, server.pem() + &ca.pem()).expect("write certificate");
        std::fs::write(&key_path, key.serialize_pem()).expect("write key");
        Pki {
            ca_pem: ca.pem(),
            dir,
            cert: cert_path,
            key: key_path,
        }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `scheme://mailer:…@127.0.0.1:PORT` for the sink, trusting `ca_pem` when given.
fn mailer(sink: &OwnSmtp, ca_pem: Option<&str>) -> SmtpMailer {
    let url = sink.url().replace(
        "://",
        &format!("://{USER}:{}@", PASSWORD.replace(' ', "%20")),
    );
    let mut builder = SmtpMailer::builder(&url, FROM)
        .expect("builder")
        .timeout(Duration::from_secs(10));
    if let Some(pem) = ca_pem {
        builder = builder
            .add_root_certificate_pem(pem.as_bytes())
            .expect("CA");
    }
    builder.build().expect("mailer")
}

fn message(to: &str) -> Message {
    Message::new(to, "Your sign-in code", "Your code: 482913\n").expect("message")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_then_login_then_send() {
    let pki = Pki::new();
    let options = SmtpSinkOptions::new()
        .starttls(&pki.cert, &pki.key)
        .auth(USER, PASSWORD);
    let Some(sink) = OwnSmtp::start_or_skip("keycard-mail: STARTTLS", options).await else {
        return;
    };
    assert!(sink.url().starts_with("smtp+starttls://"));
    let smtp = mailer(&sink, Some(&pki.ca_pem));
    smtp.check().await.expect("STARTTLS and AUTH");
    smtp.send(&message("ada@keycard.test")).await.expect("sent");
    let got = sink
        .wait_for("ada@keycard.test", WAIT)
        .await
        .expect("delivered");
    assert!(got.text.unwrap_or_default().contains("482913"));

    // The same server over plain SMTP: it wants STARTTLS first (a 5xx: permanent).
    let plain_url = format!("smtp://127.0.0.1:{}", sink.port);
    let plain = SmtpMailer::from_url(&plain_url, FROM).expect("mailer");
    let e = plain
        .send(&message("ada@keycard.test"))
        .await
        .expect_err("refused");
    assert!(e.is_permanent(), "{e}");
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_then_login_then_send() {
    let pki = Pki::new();
    let options = SmtpSinkOptions::new()
        .implicit_tls(&pki.cert, &pki.key)
        .auth(USER, PASSWORD);
    let Some(sink) = OwnSmtp::start_or_skip("keycard-mail: implicit TLS", options).await else {
        return;
    };
    assert!(sink.url().starts_with("smtps://"));
    let smtp = mailer(&sink, Some(&pki.ca_pem));
    smtp.send(&message("ada@keycard.test")).await.expect("sent");
    assert!(sink.wait_for("ada@keycard.test", WAIT).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_nobody_trusts_is_a_permanent_tls_error() {
    let pki = Pki::new();
    for (suite, options) in [
        (
            "keycard-mail: STARTTLS, untrusted certificate",
            SmtpSinkOptions::new().starttls(&pki.cert, &pki.key),
        ),
        (
            "keycard-mail: implicit TLS, untrusted certificate",
            SmtpSinkOptions::new().implicit_tls(&pki.cert, &pki.key),
        ),
    ] {
        let Some(sink) = OwnSmtp::start_or_skip(suite, options).await else {
            return;
        };
        let e = mailer(&sink, None)
            .send(&message("ada@keycard.test"))
            .await
            .expect_err("untrusted");
        assert_eq!(
            (e.kind(), e.is_permanent()),
            (MailErrorKind::Tls, true),
            "{suite}: {e}"
        );
        assert!(!e.to_string().contains(PASSWORD), "{e}");
        assert!(sink.messages().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_required_never_falls_back_to_plain_text() {
    let Some(sink) =
        OwnSmtp::start_or_skip("keycard-mail: no STARTTLS offered", SmtpSinkOptions::new()).await
    else {
        return;
    };
    let url = format!("smtp+starttls://{USER}:x@127.0.0.1:{}", sink.port);
    let smtp = SmtpMailer::from_url(&url, FROM).expect("mailer");
    let e = smtp
        .send(&message("ada@keycard.test"))
        .await
        .expect_err("no STARTTLS");
    assert_eq!(
        (e.kind(), e.is_permanent()),
        (MailErrorKind::Tls, true),
        "{e}"
    );
    assert!(sink.messages().is_empty());
}
