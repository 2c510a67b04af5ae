//! The authenticator app: setting it up, signing in with it, turning it off.

use reqwest::StatusCode;

use crate::common::TestApp;
use crate::{hidden, password_step, text_of, with_totp, PENDING_COOKIE};

#[tokio::test]
async fn the_setup_page_needs_sudo_and_shows_the_uri_qr_code_and_key() {
    let app = TestApp::start().await;
    let b = app.browser();
    assert_eq!(
        b.get("/account/totp").await.location(),
        Some("/session/new"),
        "anonymous: sign in first"
    );
    b.registered("ada@example.com").await;
    let page = b.get("/account/totp").await;
    assert_eq!(page.status, StatusCode::OK);
    let uri = text_of(&page.body, "totp-uri");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(text_of(&page.body, "totp-secret")));
    assert!(page.body.contains("<svg"), "an inline SVG QR code");
    // Past the sudo window, the page asks for the password first.
    app.advance(601);
    let later = b.get("/account/totp").await;
    assert_eq!(later.status, StatusCode::SEE_OTHER);
    assert!(
        later
            .location()
            .is_some_and(|l| l.starts_with("/session/confirm")),
        "{:?}",
        later.location()
    );
}

#[tokio::test]
async fn a_wrong_first_code_shows_the_same_key_again_and_a_right_one_turns_it_on() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("ada@example.com").await;
    let setup = b.get("/account/totp").await;
    let secret = text_of(&setup.body, "totp-secret").to_owned();
    let ticket = hidden(&setup.body, "ticket");
    let wrong = b
        .post("/account/totp", &[("ticket", &ticket), ("code", "000000")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(text_of(&wrong.body, "totp-secret"), secret, "same key");
    assert_eq!(
        b.me().await.expect("signed in")["factors"],
        serde_json::json!([])
    );
    let phone = crate::Phone {
        secret: totp_rs::Secret::try_from_base32(&secret)
            .unwrap()
            .as_bytes()
            .to_vec(),
    };
    let on = b
        .post(
            "/account/totp",
            &[("ticket", &ticket), ("code", &phone.code(&app, 0))],
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!(crate::codes_in(&on.body).len(), 10);
    assert_eq!(
        b.me().await.expect("still signed in")["factors"],
        serde_json::json!(["totp"]),
        "the cached user shows it at once"
    );
    let profile = b.get("/profile").await;
    assert!(
        profile
            .body
            .contains(r#"id="factor-totp"><span class="tag">on</span>"#),
        "the profile says so"
    );
}

#[tokio::test]
async fn with_totp_on_a_password_alone_signs_nobody_in() {
    let app = TestApp::start().await;
    let (_owner, phone, _) = with_totp(&app, "ada@example.com").await;
    let (b, p) = password_step(&app, "ada@example.com").await;
    assert!(p.set_cookie_value(PENDING_COOKIE).is_some());
    assert!(
        b.session_cookie().is_none(),
        "no session cookie while pending"
    );
    assert!(b.me().await.is_none(), "GET /me is 401 while pending");
    assert_eq!(b.get("/profile").await.location(), Some("/session/new"));
    let step = b.get("/session/two-factor").await;
    assert_eq!(step.status, StatusCode::OK);
    assert!(step.body.contains(r#"name="code""#));

    let wrong = b.post("/session/two-factor", &[("code", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(b.me().await.is_none());

    let right = b
        .post("/session/two-factor", &[("code", &phone.code(&app, 0))])
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.body);
    assert_eq!(right.location(), Some("/profile"));
    let me = b.me().await.expect("signed in now");
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["factors"], serde_json::json!(["totp"]));
    assert!(
        right
            .set_cookies()
            .iter()
            .any(|c| c.starts_with(&format!("{PENDING_COOKIE}=")) && c.contains("Max-Age=0")),
        "the pending cookie is cleared: {:?}",
        right.set_cookies()
    );
}

#[tokio::test]
async fn a_code_is_accepted_once_and_one_step_off_but_not_two() {
    let app = TestApp::start().await;
    let (_owner, phone, _) = with_totp(&app, "ada@example.com").await;
    // Two steps on from the enrolment's, so the previous step is a fresh one.
    app.advance(60);
    let (first, _) = password_step(&app, "ada@example.com").await;
    let code = phone.code(&app, -1);
    let ok = first.post("/session/two-factor", &[("code", &code)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "one step late is fine");
    let (second, _) = password_step(&app, "ada@example.com").await;
    let replay = second.post("/session/two-factor", &[("code", &code)]).await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "the same code twice"
    );
    let too_late = second
        .post("/session/two-factor", &[("code", &phone.code(&app, -2))])
        .await;
    assert_eq!(too_late.status, StatusCode::UNAUTHORIZED);
    let too_early = second
        .post("/session/two-factor", &[("code", &phone.code(&app, 2))])
        .await;
    assert_eq!(too_early.status, StatusCode::UNAUTHORIZED);
    app.advance(30);
    let next = second
        .post("/session/two-factor", &[("code", &phone.code(&app, 0))])
        .await;
    assert_eq!(next.status, StatusCode::SEE_OTHER, "the next step's code");
}

#[tokio::test]
async fn turning_totp_off_ends_the_other_sessions_and_the_second_step() {
    let app = TestApp::start().await;
    let (owner, phone, _) = with_totp(&app, "ada@example.com").await;
    let (other, _) = password_step(&app, "ada@example.com").await;
    let done = other
        .post("/session/two-factor", &[("code", &phone.code(&app, 0))])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(other.me().await.is_some());

    let off = owner.post("/account/totp/delete", &[]).await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    assert_eq!(off.location(), Some("/profile"));
    assert!(other.me().await.is_none(), "the other session ended");
    let me = owner.me().await.expect("this one continues");
    assert_eq!(me["factors"], serde_json::json!([]));
    let again = app.browser();
    let p = again
        .sign_in("ada@example.com", crate::common::PASSWORD)
        .await;
    assert_eq!(p.location(), Some("/profile"), "a password is enough again");
}
