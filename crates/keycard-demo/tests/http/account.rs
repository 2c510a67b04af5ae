//! `POST /account/password` (`web/routes/account.rs`): a password change ends the other sessions and
//! rotates this one.

use reqwest::StatusCode;

use crate::common::{get_with_cookie, TestApp, PASSWORD, SESSION_COOKIE};
use crate::cookie_header;

#[tokio::test]
async fn password_change_ends_other_sessions_and_rotates_this_one() {
    let app = TestApp::start().await;
    let a = app.browser();
    let b = app.browser();
    a.registered("alice@example.com").await;
    b.signed_in("alice@example.com").await;
    let a_old = a.session_cookie().unwrap();

    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        [
            ("current_password", current),
            ("password", new),
            ("password_confirmation", confirm),
        ]
    };
    let res = a
        .post(
            "/account/password",
            &change("wrong password!", "new password 42", "new password 42"),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Current password is incorrect"));
    let res = a
        .post("/account/password", &change(PASSWORD, "short", "short"))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Password must be at least 8 characters"));
    let res = a
        .post(
            "/account/password",
            &change(PASSWORD, "new password 42", "new password 43"),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("does not match"));
    assert!(b.me().await.is_some(), "failed attempts change nothing");

    let res = a
        .post(
            "/account/password",
            &change(PASSWORD, "new password 42", "new password 42"),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/profile"));
    let a_new = res
        .set_cookie_value(SESSION_COOKIE)
        .expect("a new token for this session");
    assert_ne!(a_new, a_old);
    assert!(a.get("/profile").await.body.contains("Password changed."));
    assert!(a.me().await.is_some(), "this session continues");
    assert!(b.me().await.is_none(), "the other session ended");
    let replay = get_with_cookie(&app.raw(), &app.url("/me"), &cookie_header(&a_old)).await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "the old token died at once"
    );

    let c = app.browser();
    assert_eq!(
        c.sign_in("alice@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        c.sign_in("alice@example.com", "new password 42")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    app.stop().await;
}
