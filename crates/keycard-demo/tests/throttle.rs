//! The login throttle against the real demo router (issue 9, V2, W4, W2): attempts are reserved before the
//! password is checked, so parallel guesses cannot slip past the limit; one account is limited across
//! addresses; the hashing queue is bounded; oversized logins are refused before anything is stored.
//!
//! Runs on every store `.ci/run` gives the HTTP suites (`KEYCARD_TEST_DATABASE`, `KEYCARD_TEST_CACHE`):
//! the counters live in that store.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use common::{Browser, Page, TestApp, PASSWORD};
use keycard_demo::domain::throttle::{MAX_FAILURES, MAX_FAILURES_PER_ACCOUNT};
use reqwest::StatusCode;
use tokio::sync::Barrier;

/// Browsers that have each fetched a sign-in form (and CSRF pair), ready to post at once.
async fn ready(app: &TestApp, n: usize, ip: impl Fn(usize) -> IpAddr) -> Vec<(Browser, String)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let b = app.browser_from(ip(i));
        let token = b.csrf().await;
        out.push((b, token));
    }
    out
}

/// Post every browser's sign-in for `email(i)` with `password` at the same instant; the answers, in
/// browser order. With `retry_busy`, a `503` (the hashing queue was full: the password was not checked
/// and the attempt was given back) is retried by that browser, one at a time, until it gets another
/// answer, so the answers show the throttle alone.
async fn sign_in_all_at_once(
    browsers: Vec<(Browser, String)>,
    email: impl Fn(usize) -> String,
    password: &str,
    retry_busy: bool,
) -> Vec<Page> {
    let barrier = Arc::new(Barrier::new(browsers.len()));
    let tasks: Vec<_> = browsers
        .into_iter()
        .enumerate()
        .map(|(i, (b, token))| {
            let barrier = barrier.clone();
            let email = email(i);
            let password = password.to_owned();
            tokio::spawn(async move {
                barrier.wait().await;
                let form = [
                    ("_csrf_token", token.as_str()),
                    ("email", email.as_str()),
                    ("password", password.as_str()),
                ];
                let page = b.post_raw("/session", &form).await;
                (b, token, email, page)
            })
        })
        .collect();
    let mut pages = Vec::new();
    for t in tasks {
        let (b, token, email, mut page) = t.await.expect("sign-in task");
        for _ in 0..50 {
            if !retry_busy || page.status != StatusCode::SERVICE_UNAVAILABLE {
                break;
            }
            let form = [
                ("_csrf_token", token.as_str()),
                ("email", email.as_str()),
                ("password", password),
            ];
            page = b.post_raw("/session", &form).await;
        }
        pages.push(page);
    }
    pages
}

fn count(pages: &[Page], status: StatusCode) -> usize {
    pages.iter().filter(|p| p.status == status).count()
}

fn assert_retry_after(page: &Page) {
    let secs: u64 = page
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{} without a Retry-After: {:?}", page.status, page.headers));
    assert!(secs >= 1, "Retry-After {secs}");
}

async fn v2_parallel_guesses(n: usize) {
    let app = TestApp::start().await;
    app.browser().registered("alice@example.com").await;
    let one_address = |_| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7));
    let guesses = ready(&app, n, one_address).await;
    let pages = sign_in_all_at_once(
        guesses,
        |_| "alice@example.com".into(),
        "wrong password!",
        true,
    )
    .await;
    let (checked, throttled) = (
        count(&pages, StatusCode::UNAUTHORIZED),
        count(&pages, StatusCode::TOO_MANY_REQUESTS),
    );
    eprintln!("v2: {n} parallel wrong passwords from one address: {checked} checked (401), {throttled} refused (429)");
    assert_eq!(
        checked, MAX_FAILURES as usize,
        "exactly the per-pair limit of guesses may be checked, however many race"
    );
    assert_eq!(checked + throttled, n, "every answer is 401 or 429");
    for p in pages
        .iter()
        .filter(|p| p.status == StatusCode::TOO_MANY_REQUESTS)
    {
        assert_retry_after(p);
        assert!(
            p.body.contains("Too many failed sign-in attempts"),
            "{}",
            p.body
        );
    }
    // The right password from that address is refused too, unchecked, until the window ends.
    let b = app.browser_from(one_address(0));
    assert_eq!(
        b.sign_in("alice@example.com", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.stop().await;
}

#[tokio::test]
async fn v2_thirty_parallel_wrong_passwords_check_only_the_limit() {
    v2_parallel_guesses(30).await;
}

#[tokio::test]
async fn v2_a_hundred_parallel_wrong_passwords_check_only_the_limit() {
    v2_parallel_guesses(100).await;
}

#[tokio::test]
async fn w4_one_account_from_many_addresses_is_limited_across_them() {
    let app = TestApp::start().await;
    app.browser().registered("alice@example.com").await;
    let n = MAX_FAILURES_PER_ACCOUNT as usize + 10;
    let many = |i: usize| IpAddr::V4(Ipv4Addr::new(127, 20, (i / 200) as u8, (i % 200) as u8 + 1));
    let guesses = ready(&app, n, many).await;
    let pages = sign_in_all_at_once(
        guesses,
        |_| "alice@example.com".into(),
        "wrong password!",
        true,
    )
    .await;
    let (checked, throttled) = (
        count(&pages, StatusCode::UNAUTHORIZED),
        count(&pages, StatusCode::TOO_MANY_REQUESTS),
    );
    eprintln!("w4: {n} wrong passwords for one account from {n} addresses: {checked} checked, {throttled} refused");
    assert_eq!(
        checked, MAX_FAILURES_PER_ACCOUNT as usize,
        "the per-account limit holds across addresses"
    );
    assert_eq!(throttled, n - checked);
    // The refusal reads the same as the per-pair one: nothing about which limit, or about the account.
    let refused = pages
        .iter()
        .find(|p| p.status == StatusCode::TOO_MANY_REQUESTS)
        .expect("a refusal");
    assert!(
        refused.body.contains("Too many failed sign-in attempts"),
        "{}",
        refused.body
    );
    // Another account is not affected.
    app.browser_from(many(n + 1))
        .registered("bob@example.com")
        .await;
    app.stop().await;
}

#[tokio::test]
async fn w4_a_flood_of_sign_ins_meets_a_bounded_hashing_queue_not_an_endless_one() {
    let app = TestApp::start().await;
    app.browser().registered("alice@example.com").await;
    // 60 connections, random accounts, each from its own address: no counter refuses them, so only the
    // hashing queue stands between them and the real user's sign-in.
    let n = 60;
    let browsers = ready(&app, n, |i| {
        IpAddr::V4(Ipv4Addr::new(127, 30, 0, i as u8 + 1))
    })
    .await;
    let alice = app.browser_from(IpAddr::V4(Ipv4Addr::new(127, 31, 0, 1)));
    let alice_token = alice.csrf().await;
    let started = Instant::now();
    let flood_task = tokio::spawn(async move {
        let random = |i| format!("random{i}-{}@example.com", common::random_hex(4));
        sign_in_all_at_once(browsers, random, "some guess", false).await
    });
    let form = [
        ("_csrf_token", alice_token.as_str()),
        ("email", "alice@example.com"),
        ("password", PASSWORD),
    ];
    let mine = alice.post_raw("/session", &form).await;
    let mine_took = started.elapsed();
    let pages = flood_task.await.expect("flood");
    let flood_took = started.elapsed();
    let (checked, busy) = (
        count(&pages, StatusCode::UNAUTHORIZED),
        count(&pages, StatusCode::SERVICE_UNAVAILABLE),
    );
    eprintln!(
        "w4 flood: {n} random sign-ins: {checked} checked (401), {busy} refused at once (503 + Retry-After), \
         all answered in {flood_took:?}; the real sign-in answered {} in {mine_took:?}",
        mine.status
    );
    assert_eq!(checked + busy, n, "every flood answer is 401 or 503");
    assert!(
        busy > 0,
        "the hashing queue is bounded: a flood of {n} is not all queued"
    );
    for p in pages
        .iter()
        .filter(|p| p.status == StatusCode::SERVICE_UNAVAILABLE)
    {
        assert_retry_after(p);
    }
    // The real user either got in or was told to retry (never a wrong-password answer, never a hang).
    match mine.status {
        StatusCode::SEE_OTHER => assert!(alice.me().await.is_some()),
        StatusCode::SERVICE_UNAVAILABLE => {
            assert_retry_after(&mine);
            // Asked to retry: the retry after the flood works, and the refused attempt was not counted.
            alice.signed_in("alice@example.com").await;
        }
        other => panic!("the real sign-in answered {other}: {}", mine.body),
    }
    app.stop().await;
}

#[tokio::test]
async fn w2_oversized_emails_are_refused_before_anything_is_counted_or_stored() {
    let app = TestApp::start().await;
    let b = app.browser_from(IpAddr::V4(Ipv4Addr::new(127, 40, 0, 1)));
    let huge = format!("{}@example.com", "a".repeat(60 * 1024));
    for i in 0..200 {
        let res = b.sign_in(&huge, "whatever").await;
        // Never counted: were they, the sixth would be a 429.
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert!(
            res.body.contains("Invalid email or password"),
            "{}",
            res.body
        );
        assert!(
            res.body.len() < 16 * 1024,
            "the page does not echo the 60 KB email back"
        );
    }
    // Multi-byte characters across the limit are refused the same way (never cut mid-character).
    let wide = format!("a{}@example.com", "é".repeat(200));
    let res = b.sign_in(&wide, "whatever").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    // The address's own counter was not used either: a real account still signs in from there.
    app.browser().registered("alice@example.com").await;
    b.signed_in("alice@example.com").await;
    app.stop().await;
}
