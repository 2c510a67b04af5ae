//! Sudo mode in the demo (issue 12, item 2): a password change and "sign out all other sessions" need a
//! sign-in (or a password confirmation) within `SUDO_SECS`; otherwise they send the user to
//! `/session/confirm`, which records a fresh proof and sends them back.

mod common;

use common::{Browser, Page, TestApp, PASSWORD, SESSION_COOKIE};
use keycard_demo::domain::throttle::MAX_FAILURES;
use reqwest::StatusCode;

const SUDO_SECS: u64 = 600;

async fn change_password(b: &Browser, app: &TestApp, new: &str) -> Page {
    let token = b.csrf().await;
    b.post_with_headers(
        "/account/password",
        &[
            ("_csrf_token", token.as_str()),
            ("current_password", PASSWORD),
            ("password", new),
            ("password_confirmation", new),
        ],
        &[("Referer", &app.url("/profile"))],
    )
    .await
}

async fn confirm(b: &Browser, password: &str, return_to: &str) -> Page {
    b.post(
        "/session/confirm",
        &[("password", password), ("return_to", return_to)],
    )
    .await
}

#[tokio::test]
async fn a_password_change_after_the_sudo_window_asks_for_the_password_and_comes_back() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    app.advance(SUDO_SECS + 1);

    let res = change_password(&b, &app, "a brand new passphrase").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some("/session/confirm?return_to=/profile"));
    let form = b.get("/session/confirm?return_to=/profile").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains(r#"name="return_to" value="/profile""#),
        "{}",
        form.body
    );
    assert!(form.body.contains(r#"autocomplete="current-password""#));

    let before = b.session_cookie().expect("signed in");
    let wrong = confirm(&b, "not my password", "/profile").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.body.contains("That password is not right"),
        "{}",
        wrong.body
    );
    let right = confirm(&b, PASSWORD, "/profile").await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.location(), Some("/profile"));
    let after = right
        .set_cookie_value(SESSION_COOKIE)
        .expect("the token rotates");
    assert_ne!(after, before, "a privilege change");

    let res = change_password(&b, &app, "a brand new passphrase").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/profile"), "changed: {}", res.body);
    let fresh = app.browser();
    fresh
        .sign_in("alice@example.com", "a brand new passphrase")
        .await;
    assert!(fresh.me().await.is_some());
    app.stop().await;
}

#[tokio::test]
async fn signing_out_every_other_session_needs_a_recent_sign_in() {
    let app = TestApp::start().await;
    let me = app.browser();
    let other = app.browser();
    me.registered("bob@example.com").await;
    other.signed_in("bob@example.com").await;
    app.advance(SUDO_SECS + 1);

    let res = me.post("/sessions/delete-others", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        res.location()
            .is_some_and(|l| l.starts_with("/session/confirm")),
        "{:?}",
        res.location()
    );
    assert!(
        other.me().await.is_some(),
        "nothing was ended without the confirmation"
    );
    assert_eq!(
        confirm(&me, PASSWORD, "/sessions").await.location(),
        Some("/sessions")
    );
    let res = me.post("/sessions/delete-others", &[]).await;
    assert_eq!(res.location(), Some("/sessions"));
    assert!(other.me().await.is_none(), "the other session ended");
    assert!(me.me().await.is_some());
    app.stop().await;
}

#[tokio::test]
async fn a_fresh_sign_in_needs_no_confirmation() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("carol@example.com").await;
    app.advance(SUDO_SECS - 60);
    let res = change_password(&b, &app, "another fine passphrase").await;
    assert_eq!(res.location(), Some("/profile"), "{}", res.body);
    app.stop().await;
}

#[tokio::test]
async fn confirmation_attempts_are_throttled_per_session() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("dave@example.com").await;
    for i in 0..MAX_FAILURES {
        assert_eq!(
            confirm(&b, "wrong password!", "/profile").await.status,
            StatusCode::UNAUTHORIZED,
            "attempt {i}"
        );
    }
    let res = confirm(&b, PASSWORD, "/profile").await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers.contains_key("retry-after"));
    app.stop().await;
}

#[tokio::test]
async fn the_confirmation_never_sends_anyone_off_site() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("erin@example.com").await;
    for evil in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let res = confirm(&b, PASSWORD, evil).await;
        assert_eq!(res.location(), Some("/profile"), "{evil}");
    }
    // Anonymous visitors are sent to sign in.
    let anon = app.browser();
    assert_eq!(
        anon.get("/session/confirm").await.location(),
        Some("/session/new")
    );
    app.stop().await;
}
