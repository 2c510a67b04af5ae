//! What the passkey pages write to the audit log: keycard-passkey's `passkey.*` events and the demo's
//! `factor.*`, the account as its salted hash; never a ceremony token, a whole credential id or an email.

use reqwest::StatusCode;

use crate::common::log::Captured;
use crate::common::TestApp;
use crate::{answer, ceremony, passkey_id, with_passkey};

/// The audit lines of `event` that name `account`.
fn events<'a>(log: &'a str, event: &str, account: &str) -> Vec<&'a str> {
    log.lines()
        .filter(|l| l.contains("keycard::audit"))
        .filter(|l| {
            l.contains(&format!("event=\"{event}\"")) || l.contains(&format!("event={event}"))
        })
        .filter(|l| l.contains(&format!("account={account}")))
        .collect()
}

// The only test of this binary that installs a subscriber: the log holds the other tests' lines too, told
// apart by the account.
#[tokio::test]
async fn passkey_events_reach_the_audit_log_without_tokens_or_credential_ids() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("the only subscriber of this binary");

    let app = TestApp::start().await;
    let email = "audited@example.com";
    let (owner, mut key, _) = with_passkey(&app, email).await;
    let b = app.browser();
    let c = ceremony(&b, "/session/passkey/options").await;
    let token = c["token"].as_str().expect("token").to_owned();
    let credential = key.assert(&c["options"]).expect("an assertion");
    let signed = answer(&b, "/session/passkey", &c, &credential, &[]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    let replayed = answer(&b, "/session/passkey", &c, &credential, &[]).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);
    let id = passkey_id(&key, 0);
    let removed = owner
        .post(&format!("/account/passkeys/{id}/delete"), &[])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let user_id = keycard_demo::domain::users::find_with_password_by_email(app.db(), email)
        .await
        .expect("the users database")
        .expect("the account")
        .0
        .id;
    let account = app.app.state.cache.audit().account(&user_id).to_string();
    app.stop().await;

    let log = captured.text();
    for (event, detail) in [
        ("passkey.registered", ""),
        ("passkey.verified", "sign_in"),
        ("passkey.removed", ""),
        ("factor.added", "passkey"),
        ("factor.removed", "passkey"),
    ] {
        let found = events(&log, event, &account);
        assert!(
            found.iter().any(|l| l.contains(detail)),
            "a `{event}` event ({detail}) for {account}:\n{log}"
        );
    }
    assert!(
        log.lines()
            .any(|l| l.contains("passkey.refused") && l.contains("sign_in")),
        "the replayed answer was refused in the log:\n{log}"
    );
    for secret in [email, token.as_str(), id.as_str()] {
        assert!(!log.contains(secret), "the log contains {secret:?}");
    }
}
