//! What a pending login is and is not: five minutes, one browser, no session; the throttle on codes.

use reqwest::StatusCode;

use crate::common::{TestApp, PASSWORD};
use crate::{password_step, with_totp, PENDING_COOKIE};

#[tokio::test]
async fn a_pending_login_times_out_after_five_minutes() {
    let app = TestApp::start().await;
    let (_owner, phone, _) = with_totp(&app, "ada@example.com").await;
    let (b, _) = password_step(&app, "ada@example.com").await;
    app.advance(301);
    let late = b
        .post("/session/two-factor", &[("code", &phone.code(&app, 0))])
        .await;
    assert_eq!(late.status, StatusCode::SEE_OTHER);
    assert_eq!(late.location(), Some("/session/new"));
    assert!(b.me().await.is_none());
    assert_eq!(
        b.get("/session/two-factor").await.location(),
        Some("/session/new")
    );
}

#[tokio::test]
async fn a_pending_cookie_is_no_session_and_a_forged_one_no_login() {
    let app = TestApp::start().await;
    let _ = with_totp(&app, "ada@example.com").await;
    let (b, p) = password_step(&app, "ada@example.com").await;
    let challenge = p.set_cookie_value(PENDING_COOKIE).expect("pending cookie");
    // Presented as a session cookie, the challenge signs nobody in.
    let thief = app.browser();
    thief.plant(crate::common::SESSION_COOKIE, &challenge);
    assert!(thief.me().await.is_none());
    // A changed challenge is no pending login.
    let forger = app.browser();
    let mut forged = challenge.clone().into_bytes();
    forged[5] = if forged[5] == b'A' { b'B' } else { b'A' };
    forger.plant(PENDING_COOKIE, std::str::from_utf8(&forged).unwrap());
    assert_eq!(
        forger.get("/session/two-factor").await.location(),
        Some("/session/new")
    );
    assert!(b.get("/session/two-factor").await.status == StatusCode::OK);
}

#[tokio::test]
async fn a_password_changed_while_pending_ends_the_pending_login() {
    let app = TestApp::start().await;
    let (owner, phone, _) = with_totp(&app, "ada@example.com").await;
    let (b, _) = password_step(&app, "ada@example.com").await;
    let changed = owner
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", "another horse battery staple"),
                ("password_confirmation", "another horse battery staple"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    let p = b
        .post("/session/two-factor", &[("code", &phone.code(&app, 0))])
        .await;
    assert_eq!(p.location(), Some("/session/new"), "start over");
    assert!(b.me().await.is_none());
}

#[tokio::test]
async fn wrong_codes_are_throttled_per_account() {
    let app = TestApp::start().await;
    let (_owner, phone, _) = with_totp(&app, "ada@example.com").await;
    let (b, _) = password_step(&app, "ada@example.com").await;
    let mut limited = None;
    for i in 0..30 {
        let p = b.post("/session/two-factor", &[("code", "000000")]).await;
        if p.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(i);
            assert!(p.headers.contains_key("retry-after"));
            break;
        }
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    }
    let after = limited.expect("the throttle refuses wrong codes before 30 tries");
    assert!(after >= 3, "a few tries first: {after}");
    // Even the right code waits for the window now.
    let right = b
        .post("/session/two-factor", &[("code", &phone.code(&app, 0))])
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
}
