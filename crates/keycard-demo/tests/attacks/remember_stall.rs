//! W13: a remember-me redemption that timed out on a paused Redis sent no cookie, and the retry after
//! the grace window was taken for theft: the user was signed out everywhere. Now the 503 carries a retry
//! cookie, which redeems whether or not the stalled write happened. On a Redis of the test's own
//! (SIGSTOP pauses it with the redemption queued; SIGCONT runs it after the client gave up).

use std::time::Duration;

use keycard_demo::config::CacheBackend;
use reqwest::StatusCode;

use crate::common::procs::OwnRedis;
use crate::common::remembered::{remembered, reopened, REMEMBER_COOKIE};
use crate::common::TestApp;

#[tokio::test]
async fn a_redemption_that_timed_out_on_a_paused_redis_is_retried_without_a_false_theft() {
    let Some(redis) = OwnRedis::start_or_skip("attacks::remember_stall", &[]).await else {
        return;
    };
    let url = redis.url();
    let app = TestApp::start_with(|c| {
        c.cache = CacheBackend::Redis {
            url,
            key_prefix: "stall:".into(),
        };
        c.cache_near = false;
    })
    .await;
    let (_b, cookie) = remembered(&app, "stall@example.com").await;
    let browser = reopened(&app, &cookie);
    redis.pause();
    let p = browser.get("/me").await;
    redis.resume();
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE, "{}", p.body);
    let sent = p.set_cookie_value(REMEMBER_COOKIE);
    assert!(sent.is_some(), "the 503 carries a retry cookie");
    // The queued redemption ran when Redis resumed; the browser comes back long after the grace.
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.advance(60);
    let p = browser.get("/me").await;
    assert_eq!(
        p.status,
        StatusCode::OK,
        "signed back in, not signed out: {}",
        p.body
    );
}
