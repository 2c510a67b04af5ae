//! `GET /session/new`, `POST /session`, `POST /session/delete` (`web/routes/session.rs`): sign-in and its
//! refusals (one answer for an unknown email and a wrong password, the login throttle per account and
//! address, behind a proxy or not), Pow's password hashes upgraded at sign-in, a session cookie planted
//! before sign-in, and what the sign-in page says when a session ended.

use std::net::IpAddr;

use keycard_axum::ClientIpSource;
use keycard_demo::domain::users;
use reqwest::StatusCode;

use crate::common::{self, get_with_cookie, TestApp, PASSWORD, SESSION_COOKIE};
use crate::{cookie_header, session_id_of};

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_401() {
    let app = TestApp::start().await;
    app.browser().registered("alice@example.com").await;
    let b = app.browser();
    let unknown = b.sign_in("nobody@example.com", PASSWORD).await;
    let wrong = b.sign_in("alice@example.com", "wrong password!").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.body.contains("Invalid email or password."));
    // Byte for byte the same page, apart from the email the visitor typed, which is shown back, and the
    // CSRF token, which is masked afresh for every response (two identical requests differ there too).
    let same = |page: &common::Page, email: &str| {
        page.body
            .replace(email, "EMAIL")
            .replace(&page.csrf_token(), "TOKEN")
    };
    assert_eq!(
        same(&unknown, "nobody@example.com"),
        same(&wrong, "alice@example.com")
    );
    assert!(unknown.set_cookie_value(SESSION_COOKIE).is_none());
    assert!(wrong.set_cookie_value(SESSION_COOKIE).is_none());
    app.stop().await;
}

#[tokio::test]
async fn sign_in_is_throttled_per_account_and_address() {
    let app = TestApp::start().await;
    app.browser().registered("alice@example.com").await;
    let b = app.browser();
    for i in 0..keycard_demo::domain::throttle::MAX_FAILURES {
        let res = b.sign_in("alice@example.com", "wrong password!").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Locked now, even with the right password: nothing is checked.
    let res = b.sign_in("alice@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.body.contains("Too many failed sign-in attempts"));
    let retry: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    // The email is normalized before it is counted.
    let res = b.sign_in(" ALICE@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);

    // Another address is not locked out (no lockout of the real user by a stranger).
    let elsewhere = app.browser_from("127.0.0.2".parse::<IpAddr>().unwrap());
    elsewhere.signed_in("alice@example.com").await;
    // Another account from the same address is not locked out either.
    b.registered("bob@example.com").await;

    // After the window, the pair may try again.
    app.advance(15 * 60);
    let b2 = app.browser();
    b2.signed_in("alice@example.com").await;
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_throttle_bucket() {
    // One reverse proxy in front (every request's TCP peer is 127.0.0.1), configured as such.
    let app = TestApp::start_with(|c| c.client_ip = ClientIpSource::RightmostForwardedFor).await;
    app.browser().registered("alice@example.com").await;
    let guesser = app.browser_behind_proxy("203.0.113.7");
    for i in 0..keycard_demo::domain::throttle::MAX_FAILURES {
        let res = guesser
            .sign_in("alice@example.com", "wrong password!")
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = guesser.sign_in("alice@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);

    // Alice, behind the same proxy, has a bucket of her own: she signs in.
    let alice = app.browser_behind_proxy("198.51.100.20");
    alice.signed_in("alice@example.com").await;
    // The session layer took her address by the same rule.
    let sessions = alice.get("/sessions").await;
    assert_eq!(sessions.status, StatusCode::OK);
    assert!(sessions.body.contains("198.51.100.20"), "{}", sessions.body);
    // The proxy appends to what the client sent: only the rightmost entry counts, so a guesser cannot
    // pick a fresh bucket by sending one of its own.
    let spoofing = app.browser_behind_proxy("10.9.9.9, 203.0.113.7");
    let res = spoofing.sign_in("alice@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

#[tokio::test]
async fn without_a_trusted_proxy_x_forwarded_for_does_not_open_a_new_throttle_bucket() {
    // The default (`connect-info`): the TCP peer counts, whatever `X-Forwarded-For` says.
    let app = TestApp::start().await;
    app.browser().registered("alice@example.com").await;
    for i in 0..keycard_demo::domain::throttle::MAX_FAILURES {
        let b = app.browser_behind_proxy(&format!("203.0.113.{i}"));
        let res = b.sign_in("alice@example.com", "wrong password!").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = app
        .browser_behind_proxy("198.51.100.20")
        .sign_in("alice@example.com", PASSWORD)
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

#[tokio::test]
async fn a_pow_hash_verifies_and_is_upgraded_to_argon2id_on_sign_in() {
    // PBKDF2-SHA512, 100,000 iterations: computed with Python's hashlib.pbkdf2_hmac.
    const POW_HASH: &str = "$pbkdf2-sha512$100000$bGF0Y2hrZXktZGVtby1wdw==$Qqt/Iugj3GSCbrEqTnUD4IdHDecAiBexdxvJnLq6hQPVPioa0QtDGxrniPvknDOi5Lulsu3HKO0fHka6eS2YFw==";
    let app = TestApp::start().await;
    let user = users::create(app.db(), "pow@example.com", POW_HASH, 1)
        .await
        .expect("insert a user migrated from Pow");
    let b = app.browser();
    assert_eq!(
        b.sign_in("pow@example.com", "wrong password!").await.status,
        StatusCode::UNAUTHORIZED
    );
    b.signed_in("pow@example.com").await;
    let stored = users::password_hash(app.db(), &user.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.starts_with("$argon2id$"), "rehashed: {stored}");
    let again = app.browser();
    again.signed_in("pow@example.com").await;
    app.stop().await;
}

#[tokio::test]
async fn a_cookie_planted_before_sign_in_is_not_the_one_after() {
    let app = TestApp::start().await;
    // The attacker signs in to their own account and plants that cookie in the victim's browser.
    let attacker = app.browser();
    attacker.registered("mallory@example.com").await;
    let planted = attacker.session_cookie().unwrap();
    let victim = app.browser();
    victim.plant(SESSION_COOKIE, &planted);
    assert_eq!(victim.me().await.unwrap()["email"], "mallory@example.com");

    victim.registered("victim@example.com").await;
    let after = victim.session_cookie().unwrap();
    assert_ne!(after, planted);
    assert_eq!(victim.me().await.unwrap()["email"], "victim@example.com");
    // The planted cookie does not lead into the victim's account (its session ended at the sign-in).
    let res = get_with_cookie(&app.raw(), &app.url("/me"), &cookie_header(&planted)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);

    // A made-up cookie value planted before sign-in is replaced as well.
    let other = app.browser();
    other.plant(SESSION_COOKIE, &"A".repeat(86));
    other.signed_in("victim@example.com").await;
    assert_ne!(other.session_cookie().unwrap(), "A".repeat(86));
    assert!(other.me().await.is_some());
    app.stop().await;
}

#[tokio::test]
async fn the_sign_in_page_says_why_a_session_ended_once() {
    let app = TestApp::start().await;
    let phone = app.browser_as("phone");
    let laptop = app.browser_as("laptop");
    phone.registered("alice@example.com").await;
    laptop.signed_in("alice@example.com").await;

    // Revoked from the laptop: the phone's next page sends it to sign in, which says why.
    let list = laptop.get("/sessions").await;
    let phone_id = session_id_of(&list.body, "phone");
    laptop
        .post(&format!("/sessions/{phone_id}/delete"), &[])
        .await;
    let res = phone.get("/profile").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/session/new"));
    let sign_in = phone.get("/session/new").await;
    assert!(
        sign_in.body.contains("Your session has ended: you were signed out on another device, it expired, or your password was changed."),
        "{}",
        sign_in.body
    );
    assert!(
        sign_in
            .set_cookies()
            .iter()
            .any(|c| c.starts_with(&format!("{SESSION_COOKIE}=")) && c.contains("Max-Age=0")),
        "the dead cookie is cleared"
    );
    assert!(
        !phone
            .get("/session/new")
            .await
            .body
            .contains("Your session has ended"),
        "said once"
    );

    // A password change elsewhere ends it too; a plain sign-out is no surprise and says nothing.
    phone.signed_in("alice@example.com").await;
    let res = laptop
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", "new password 42"),
                ("password_confirmation", "new password 42"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/plan/edit").await.status, StatusCode::SEE_OTHER);
    assert!(phone
        .get("/session/new")
        .await
        .body
        .contains("Your session has ended"));
    laptop.sign_out().await;
    assert!(!laptop
        .get("/session/new")
        .await
        .body
        .contains("Your session has ended"));
    assert!(!app
        .browser()
        .get("/session/new")
        .await
        .body
        .contains("Your session has ended"));
    app.stop().await;
}
