//! `GET /registration/new`, `POST /registration` (`web/routes/registration.rs`): sign-up, its field
//! errors, and the welcome flash after sign-up and sign-in.

use reqwest::StatusCode;

use crate::common::{get_with_cookie, TestApp, PASSWORD, SESSION_COOKIE};
use crate::{cookie_header, plan_in};

#[tokio::test]
async fn register_sign_out_and_sign_in_again() {
    let app = TestApp::start().await;
    let b = app.browser();

    let form = b.get("/registration/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"name="_csrf_token""#));

    // Email is trimmed and lower-cased.
    let res = b.register("  Alice@Example.COM ", PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/profile"));
    let first = res
        .set_cookie_value(SESSION_COOKIE)
        .expect("a session cookie");
    let profile = b.get("/profile").await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(profile.body.contains("alice@example.com"));
    assert_eq!(plan_in(&profile.body), "free");

    let out = b.sign_out().await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), Some("/"));
    let cleared = out
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("{SESSION_COOKIE}=")))
        .expect("sign-out clears the cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(b.get("/").await.body.contains("You have been signed out."));
    let anon = b.get("/profile").await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.location(), Some("/session/new"));
    // The old cookie is dead on the server, not only in the jar.
    let replay = get_with_cookie(&app.raw(), &app.url("/me"), &cookie_header(&first)).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);

    let res = b.sign_in("ALICE@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/profile"));
    assert_eq!(
        b.me().await.expect("signed in")["email"],
        "alice@example.com"
    );
    app.stop().await;
}

#[tokio::test]
async fn registration_errors_are_422_with_field_messages() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b
        .post(
            "/registration",
            &[
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirmation", "different"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Email is not a valid email address"));
    assert!(res.body.contains("Password must be at least 8 characters"));
    assert!(res
        .body
        .contains("Password confirmation does not match the password"));
    assert!(res.set_cookie_value(SESSION_COOKIE).is_none());

    let long = "xy".repeat(513);
    let res = b.register("bob@example.com", &long).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Password must be at most 1024 bytes"));

    let res = b.post("/registration", &[]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.contains("Email can&#39;t be blank") || res.body.contains("Email can't be blank")
    );

    b.registered("bob@example.com").await;
    let other = app.browser();
    let res = other.register(" BOB@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Email has already been taken"));
    app.stop().await;
}

#[tokio::test]
async fn a_welcome_flash_after_sign_up_and_sign_in() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let profile = b.get("/profile").await;
    assert!(
        profile
            .body
            .contains("Welcome to the keycard demo, alice@example.com!"),
        "{}",
        profile.body
    );
    b.sign_out().await;
    b.signed_in("alice@example.com").await;
    let profile = b.get("/profile").await;
    assert!(profile.body.contains("Welcome back, alice@example.com."));
    assert!(
        !b.get("/profile").await.body.contains("Welcome back"),
        "a flash shows once"
    );
    app.stop().await;
}
