//! Audit events against the real demo router (issue 9, item 8): sign-in success and failure, throttle
//! hits, sign-out, revocation and password change reach the `keycard::audit` target, naming the account
//! by its salted hash and never by its email, and never carrying a password, token or cookie.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::log::Captured;
use common::{TestApp, PASSWORD};
use keycard_demo::domain::throttle::MAX_FAILURES;
use reqwest::StatusCode;

/// The audit lines that name `account` and are the event `event`.
fn events<'a>(log: &'a str, event: &str, account: &str) -> Vec<&'a str> {
    log.lines()
        .filter(|l| l.contains("keycard::audit"))
        .filter(|l| {
            l.contains(&format!("event=\"{event}\"")) || l.contains(&format!("event={event}"))
        })
        .filter(|l| l.contains(&format!("account={account}")))
        .collect()
}

#[tokio::test]
async fn security_events_reach_the_audit_target_with_hashed_accounts_only() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("the only subscriber of this binary");

    let app = TestApp::start().await;
    let email = "alice@example.com";
    let me = app.browser();
    me.registered(email).await;
    let user_id = keycard_demo::domain::users::find_with_password_by_email(app.db(), email)
        .await
        .expect("the users database")
        .expect("alice exists")
        .0
        .id;
    let audit = app.app.state.cache.audit().clone();
    let by_email = audit.account(email).to_string();
    let by_user = audit.account(&user_id).to_string();

    let other = app.browser_from(IpAddr::V4(Ipv4Addr::new(127, 50, 0, 1)));
    assert_eq!(
        other.sign_in(email, "wrong password!").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        other.sign_in("nobody@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    other.signed_in(email).await;
    let guesser = app.browser_from(IpAddr::V4(Ipv4Addr::new(127, 50, 0, 2)));
    for _ in 0..MAX_FAILURES {
        guesser.sign_in(email, "wrong password!").await;
    }
    assert_eq!(
        guesser.sign_in(email, "wrong password!").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let cookie = me.session_cookie().expect("signed in");
    let changed = me
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", "a brand new passphrase"),
                ("password_confirmation", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert!(
        other.me().await.is_none(),
        "the other session ended with the change"
    );
    me.sign_out().await;
    app.stop().await;

    let log = captured.text();
    let expect = |event: &str, account: &str, at_least: usize| {
        let found = events(&log, event, account);
        assert!(
            found.len() >= at_least,
            "expected {at_least}+ `{event}` audit events for account {account}, found {}:\n{log}",
            found.len()
        );
        found
    };
    assert_eq!(
        expect("sign_in.succeeded", &by_user, 2).len(),
        2,
        "registration and one sign-in"
    );
    let failed = expect("sign_in.failed", &by_email, 1 + MAX_FAILURES as usize);
    assert!(
        failed
            .iter()
            .any(|l| l.contains("reason=\"wrong_password\"")),
        "{failed:?}"
    );
    let nobody = audit.account("nobody@example.com").to_string();
    let unknown = expect("sign_in.failed", &nobody, 1);
    assert!(unknown[0].contains("unknown_account"), "{unknown:?}");
    let throttled = expect("sign_in.throttled", &by_email, 1);
    assert!(throttled[0].contains("reason=\"pair\""), "{throttled:?}");
    assert!(throttled[0].contains("retry_after_secs="), "{throttled:?}");
    expect("password.changed", &by_user, 1);
    expect("sessions.revoked", &by_user, 1);
    expect("session.signed_out", &by_user, 1);

    // Nothing identifying or secret, anywhere in the log (not only the audit target).
    for secret in [
        email,
        "nobody@example.com",
        PASSWORD,
        "a brand new passphrase",
        cookie.as_str(),
    ] {
        assert!(!log.contains(secret), "the log contains {secret:?}:\n{log}");
    }
}
