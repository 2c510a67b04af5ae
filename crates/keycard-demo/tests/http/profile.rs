//! `GET /profile`, `GET /me` (`web/routes/profile.rs`): the cached user as JSON, and the session behind
//! it as those pages see it: renewal, the grace window, the idle and absolute lifetimes, and tampered,
//! malformed or duplicate cookies (anonymous, never a 500).

use std::time::Duration;

use keycard::Policy;
use reqwest::header::HeaderValue;
use reqwest::StatusCode;

use crate::common::{get_with_cookie, TestApp, SESSION_COOKIE};
use crate::cookie_header;

#[tokio::test]
async fn me_is_json_from_the_cached_user_or_a_401_json() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b.get("/me").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.json(), serde_json::json!({"error": "not signed in"}));
    b.registered("alice@example.com").await;
    let res = b.get("/me").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(res.headers["cache-control"], "no-store");
    assert_eq!(
        res.json(),
        serde_json::json!({"email": "alice@example.com", "plan": "free", "version": 1, "confirmed": false, "factors": []})
    );
    app.stop().await;
}

fn short_policy(c: &mut keycard_demo::config::Config) {
    c.policy = Policy::default()
        .with_idle_ttl(Duration::from_secs(60))
        .with_renewal_interval(Duration::from_secs(20))
        .with_grace(Duration::from_secs(5))
        .with_absolute_ttl(Duration::from_secs(100));
}

#[tokio::test]
async fn renewal_rotates_the_token_and_the_old_one_works_only_inside_the_grace_window() {
    let app = TestApp::start_with(short_policy).await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let first = b.session_cookie().unwrap();
    let client = app.raw();

    app.advance(10);
    let res = b.get("/me").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.set_cookie_value(SESSION_COOKIE).is_none(),
        "no rotation before the renewal interval"
    );

    app.advance(11); // 21 s after sign-in
    let res = b.get("/me").await;
    assert_eq!(res.status, StatusCode::OK);
    let second = res
        .set_cookie_value(SESSION_COOKIE)
        .expect("the first request after the renewal interval rotates the token");
    assert_ne!(second, first);

    // A parallel request still carrying the old token, inside the grace window: same session, no rotation.
    let res = get_with_cookie(&client, &app.url("/me"), &cookie_header(&first)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["email"], "alice@example.com");
    assert!(res.set_cookie_value(SESSION_COOKIE).is_none());

    app.advance(6); // grace over
    let res = get_with_cookie(&client, &app.url("/me"), &cookie_header(&first)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = get_with_cookie(&client, &app.url("/me"), &cookie_header(&second)).await;
    assert_eq!(res.status, StatusCode::OK);

    // Idle: no request for longer than the idle lifetime since the last renewal.
    app.advance(61);
    assert!(b.me().await.is_none());
    app.stop().await;
}

#[tokio::test]
async fn the_absolute_lifetime_ends_even_an_active_session() {
    let app = TestApp::start_with(short_policy).await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    for _ in 0..4 {
        app.advance(21);
        assert!(b.me().await.is_some(), "renewed while active");
    }
    app.advance(21); // 105 s after sign-in
    assert!(b.me().await.is_none());
    app.stop().await;
}

#[tokio::test]
async fn tampered_malformed_and_duplicate_cookies_are_anonymous_never_500() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let good = b.session_cookie().unwrap();
    let client = app.raw();
    let me = app.url("/me");

    let mut chars: Vec<char> = good.chars().collect();
    chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let cases = [
        cookie_header(&tampered),
        cookie_header(&good[..good.len() - 1]),
        cookie_header(&format!("{good}A")),
        cookie_header(""),
        cookie_header(&"A".repeat(4 * 1024)),
        cookie_header(&"A".repeat(16 * 1024)),
        format!("{}; {}", cookie_header(&good), cookie_header(&good)),
        format!("{}; {}", cookie_header(&good), cookie_header(&tampered)),
    ];
    for (i, cookie) in cases.iter().enumerate() {
        let res = get_with_cookie(&client, &me, cookie).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "case {i}");
        let res = get_with_cookie(&client, &app.url("/profile"), cookie).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "case {i}");
    }
    // Not UTF-8.
    let res = client
        .get(&me)
        .header(
            "cookie",
            HeaderValue::from_bytes(b"keycard_session=\xff\xfe\xfd").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The good cookie still works.
    let res = get_with_cookie(&client, &me, &cookie_header(&good)).await;
    assert_eq!(res.status, StatusCode::OK);
    app.stop().await;
}
