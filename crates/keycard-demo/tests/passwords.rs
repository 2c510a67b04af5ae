//! Passwords against the real demo router (issue 9, W6/W7): the library's `PasswordPolicy` at registration
//! and at a password change, a new password equal to the current one, and what registering a taken email
//! answers (the trade-off the guide's "Passwords and registration" explains).
//!
//! Runs on every store `.ci/run` gives the HTTP suite (`KEYCARD_TEST_DATABASE`, `KEYCARD_TEST_CACHE`).

mod common;

use common::{Browser, Page, TestApp, PASSWORD, SESSION_COOKIE};
use keycard_demo::domain::users;
use reqwest::StatusCode;

/// The passwords the attack run registered with.
const WEAK: [(&str, &str); 3] = [
    (
        "password",
        "Password is on a list of common or breached passwords; choose another",
    ),
    (
        "12345678",
        "Password is on a list of common or breached passwords; choose another",
    ),
    ("        ", "Password must be more than spaces"),
];

const NEW_PASSWORD: &str = "plum orbit gravel 42";

async fn change_password(browser: &Browser, current: &str, new: &str) -> Page {
    browser
        .post(
            "/account/password",
            &[
                ("current_password", current),
                ("password", new),
                ("password_confirmation", new),
            ],
        )
        .await
}

async fn exists(app: &TestApp, email: &str) -> bool {
    users::find_with_password_by_email(app.db(), email)
        .await
        .expect("select")
        .is_some()
}

#[tokio::test]
async fn registration_refuses_common_and_blank_passwords() {
    let app = TestApp::start().await;
    for (i, (weak, message)) in WEAK.into_iter().enumerate() {
        let b = app.browser();
        let email = format!("weak{i}@example.com");
        let res = b.register(&email, weak).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{weak:?}");
        assert!(res.body.contains(message), "{weak:?}: {}", res.body);
        assert!(res.set_cookie_value(SESSION_COOKIE).is_none(), "{weak:?}");
        assert!(b.me().await.is_none(), "{weak:?}: not signed in");
        assert!(!exists(&app, &email).await, "{weak:?}: no account");
    }
    // Case does not get a listed password through, and neither does the email itself.
    let b = app.browser();
    let res = b.register("case@example.com", "PassWord").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("common or breached"));
    let res = b.register("case@example.com", "Case@Example.com").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Password must not be your email address"));
    // A passphrase passes.
    b.registered("case@example.com").await;
    app.stop().await;
}

#[tokio::test]
async fn password_change_refuses_common_and_blank_passwords() {
    let app = TestApp::start().await;
    let a = app.browser();
    let other = app.browser();
    a.registered("alice@example.com").await;
    other.signed_in("alice@example.com").await;
    for (weak, message) in WEAK {
        let res = change_password(&a, PASSWORD, weak).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{weak:?}");
        assert!(res.body.contains(message), "{weak:?}: {}", res.body);
        assert!(!res.body.contains("Current password is incorrect"));
    }
    assert!(a.me().await.is_some(), "still signed in");
    assert!(other.me().await.is_some(), "a refused change ends nothing");
    let c = app.browser();
    assert_eq!(
        c.sign_in("alice@example.com", "12345678").await.status,
        StatusCode::UNAUTHORIZED
    );
    c.signed_in("alice@example.com").await;
    app.stop().await;
}

#[tokio::test]
async fn password_change_refuses_new_password_equal_to_current() {
    let app = TestApp::start().await;
    let a = app.browser();
    let other = app.browser();
    a.registered("alice@example.com").await;
    other.signed_in("alice@example.com").await;

    let res = change_password(&a, PASSWORD, PASSWORD).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body
            .contains("Password must be different from your current one"),
        "{}",
        res.body
    );
    assert!(other.me().await.is_some(), "no change, no session ended");

    // With a wrong current password the form says that, not "different from your current one".
    let res = change_password(&a, "not my password", "not my password").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Current password is incorrect"));
    assert!(!res.body.contains("different from your current one"));

    let res = change_password(&a, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(
        other.me().await.is_none(),
        "the real change ends the others"
    );
    app.stop().await;
}

/// The pinned trade-off (the guide's "Passwords and registration"): without email the demo cannot make a
/// taken address look like a fresh sign-up, which signs in at once. What it does guarantee: nothing about the
/// address is looked at until every field passed, so a weak password gets the same answer for a taken and a
/// fresh address; the taken answer is a plain 422 that signs nobody in and changes nothing of the account.
#[tokio::test]
async fn taken_email_is_only_told_after_every_check_passed_and_changes_nothing() {
    let app = TestApp::start().await;
    let owner = app.browser();
    owner.registered("bob@example.com").await;

    let attacker = app.browser();
    for (weak, message) in WEAK {
        let taken = attacker.register("bob@example.com", weak).await;
        let fresh = attacker.register("nobody@example.com", weak).await;
        assert_eq!(taken.status, fresh.status, "{weak:?}");
        for res in [&taken, &fresh] {
            assert!(res.body.contains(message), "{weak:?}");
            assert!(!res.body.contains("taken"), "{weak:?}: {}", res.body);
        }
    }
    let res = attacker
        .post(
            "/registration",
            &[
                ("email", "bob@example.com"),
                ("password", NEW_PASSWORD),
                ("password_confirmation", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!res.body.contains("taken"), "{}", res.body);

    // Every field passes: now, and only now, the address is told to be taken.
    let res = attacker.register(" BOB@example.com", NEW_PASSWORD).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Email has already been taken"));
    assert!(res.set_cookie_value(SESSION_COOKIE).is_none());
    assert!(attacker.me().await.is_none(), "nobody is signed in");

    // The account is untouched: its password, its sessions.
    assert!(owner.me().await.is_some());
    let c = app.browser();
    assert_eq!(
        c.sign_in("bob@example.com", NEW_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    c.signed_in("bob@example.com").await;
    assert!(!exists(&app, "nobody@example.com").await);
    app.stop().await;
}
