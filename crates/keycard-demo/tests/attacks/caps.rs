//! W10: chained remember-me redemptions cannot pile up sessions, a user's live sessions are capped, and
//! a session holds a bounded number of `/events` streams.

use keycard::policy::DEFAULT_MAX_SESSIONS_PER_USER;
use reqwest::StatusCode;

use crate::common::remembered::{live_sessions, remembered, reopened, REMEMBER_COOKIE};
use crate::common::TestApp;

/// The finding: a remember-me cookie redeemed in a loop, the session cookie dropped each time, made a
/// session per redemption with no password. Now each redemption replaces the older session of its
/// series: one session, however long the chain.
#[tokio::test]
async fn chained_remember_me_redemptions_leave_one_session() {
    let app = TestApp::start().await;
    let (_b, mut cookie) = remembered(&app, "chain@example.com").await;
    for round in 0..30 {
        let b = reopened(&app, &cookie);
        assert!(b.me().await.is_some(), "round {round}");
        cookie = b.cookie(REMEMBER_COOKIE).expect("the rotated cookie");
    }
    assert_eq!(live_sessions(&app, "chain@example.com").await, 1);
}

/// Password sign-ins past the cap end the user's oldest sessions.
#[tokio::test]
async fn sign_ins_past_the_cap_end_the_oldest_sessions() {
    let app = TestApp::start().await;
    let first = app.browser();
    first.registered("many@example.com").await;
    for _ in 0..DEFAULT_MAX_SESSIONS_PER_USER + 3 {
        app.advance(1);
        app.browser().signed_in("many@example.com").await;
    }
    assert_eq!(
        live_sessions(&app, "many@example.com").await,
        DEFAULT_MAX_SESSIONS_PER_USER
    );
    assert!(first.me().await.is_none(), "the oldest ended");
}

/// A session may hold a handful of `/events` streams on one node; one more is 429, while another
/// session of the same user still gets its own.
#[tokio::test]
async fn a_session_holds_a_bounded_number_of_event_streams() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("streams@example.com").await;
    let max = keycard_axum::DEFAULT_MAX_WATCHES_PER_SESSION;
    let mut open = Vec::new();
    for i in 0..max {
        let res = b.client.get(app.url("/events")).send().await.expect("GET");
        assert_eq!(res.status(), StatusCode::OK, "stream {i}");
        open.push(res);
    }
    let res = b.client.get(app.url("/events")).send().await.expect("GET");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let other = app.browser();
    other.signed_in("streams@example.com").await;
    let res = other
        .client
        .get(app.url("/events"))
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), StatusCode::OK, "per session, not per user");
    drop(open);
}
