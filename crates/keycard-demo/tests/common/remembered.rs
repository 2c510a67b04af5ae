//! A remembered browser in the demo: sign in with "Remember me", reopen the browser with only its
//! remember-me cookie, count a user's live sessions. Used by `tests/remember.rs` and `tests/attacks/`.

use keycard_demo::domain::users;
use reqwest::StatusCode;

use super::{Browser, Page, TestApp, PASSWORD};

pub const REMEMBER_COOKIE: &str = "keycard_remember";

pub async fn sign_in_remembered(b: &Browser, email: &str) -> Page {
    let p = b
        .post(
            "/session",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("remember_me", "on"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    p
}

/// A registered, remembered browser and its remember-me cookie.
pub async fn remembered(app: &TestApp, email: &str) -> (Browser, String) {
    let b = app.browser();
    b.registered(email).await;
    b.sign_out().await;
    sign_in_remembered(&b, email).await;
    let cookie = b.cookie(REMEMBER_COOKIE).expect("a remember-me cookie");
    (b, cookie)
}

/// The same browser after a restart: only the persistent remember-me cookie is left.
pub fn reopened(app: &TestApp, remember_cookie: &str) -> Browser {
    let b = app.browser();
    b.plant(REMEMBER_COOKIE, remember_cookie);
    b
}

pub async fn user_id(app: &TestApp, email: &str) -> String {
    users::find_with_password_by_email(app.db(), email)
        .await
        .expect("db")
        .expect("registered")
        .0
        .id
}

pub async fn live_sessions(app: &TestApp, email: &str) -> usize {
    let id = user_id(app, email).await;
    app.app
        .state
        .cache
        .sessions(&id)
        .await
        .expect("sessions")
        .len()
}
