//! W12, the owner locked out of fixes: wrong sign-ins from 20 addresses fill the account's counter
//! (20 per hour), and the signed-in owner's own re-authentication (`/session/confirm`) and password
//! change (its current-password check) used to answer 429 for the hour, since they counted on that
//! counter too. Now a password check made by a signed-in session counts on the session's own counter
//! (`MAX_FAILURES_PER_SESSION` per 15 minutes) and the address's, never the account's.

use std::net::{IpAddr, Ipv4Addr};

use keycard_demo::domain::throttle::{MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_SESSION};
use reqwest::StatusCode;

use crate::common::{Browser, Page, TestApp, PASSWORD};

async fn confirm(b: &Browser, password: &str) -> Page {
    b.post(
        "/session/confirm",
        &[("password", password), ("return_to", "/profile")],
    )
    .await
}

async fn change_password(app: &TestApp, b: &Browser, current: &str, new: &str) -> Page {
    let token = b.csrf().await;
    b.post_with_headers(
        "/account/password",
        &[
            ("_csrf_token", token.as_str()),
            ("current_password", current),
            ("password", new),
            ("password_confirmation", new),
        ],
        &[("Referer", &app.url("/profile"))],
    )
    .await
}

#[tokio::test]
async fn strangers_filling_the_account_counter_do_not_lock_the_signed_in_owner_out() {
    let app = TestApp::start().await;
    let owner = app.browser();
    owner.registered("alice@example.com").await;
    let laptop = app.browser_from(IpAddr::V4(Ipv4Addr::new(127, 80, 0, 1)));
    laptop.signed_in("alice@example.com").await;

    // Wrong sign-ins for alice from 20 addresses fill the account counter...
    for i in 0..MAX_FAILURES_PER_ACCOUNT {
        let stranger = app.browser_from(IpAddr::V4(Ipv4Addr::new(127, 81, 0, i as u8 + 1)));
        let res = stranger
            .sign_in("alice@example.com", "wrong password!")
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "stranger {i}");
    }
    // ...so a sign-in of the account from anywhere, even with the right password, waits (the trade-off
    // of an account counter, unchanged).
    let elsewhere = app.browser_from(IpAddr::V4(Ipv4Addr::new(127, 82, 0, 1)));
    assert_eq!(
        elsewhere
            .sign_in("alice@example.com", PASSWORD)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );

    // The signed-in owner still confirms the password (sudo mode)...
    let res = confirm(&owner, PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some("/profile"));

    // ...and guesses in a session are bounded per session: 5 wrong, then 429 with Retry-After, even
    // for the right password.
    for i in 0..MAX_FAILURES_PER_SESSION {
        let res = confirm(&owner, "wrong password!").await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "wrong confirmation {i}"
        );
    }
    let res = confirm(&owner, PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.body);
    assert!(res.headers.contains_key("retry-after"));
    let res = change_password(&app, &owner, PASSWORD, "a brand new passphrase").await;
    assert_eq!(
        res.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the session's counter also guards its password change: {}",
        res.body
    );

    // That session only: the owner's other session confirms and changes the password.
    let res = confirm(&laptop, PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = change_password(&app, &laptop, PASSWORD, "a brand new passphrase").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some("/profile"));
    assert!(
        laptop.me().await.is_some(),
        "still signed in after the change"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_full_account_counter_does_not_refuse_the_owners_password_change() {
    let app = TestApp::start().await;
    let owner = app.browser();
    owner.registered("bob@example.com").await;
    for i in 0..MAX_FAILURES_PER_ACCOUNT {
        let stranger = app.browser_from(IpAddr::V4(Ipv4Addr::new(127, 83, 0, i as u8 + 1)));
        let res = stranger.sign_in("bob@example.com", "wrong password!").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "stranger {i}");
    }
    // Signed in moments ago (sudo fresh): the change checks the current password in this session.
    let res = change_password(&app, &owner, PASSWORD, "a brand new passphrase").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some("/profile"));
    app.stop().await;
}
