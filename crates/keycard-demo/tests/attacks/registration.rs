//! W9, registration starves sign-in: 40 connections posting registrations for 4 s had turned every
//! correct sign-in into a 503 (registration was not throttled, and its password hashes shared the
//! hashing queue with sign-in's verifications). Now registrations are counted per client address
//! (`MAX_REGISTRATIONS_PER_ADDRESS` per hour, then 429 with `Retry-After`), and new hashes run on a lane
//! of the hasher's own, so a sign-in keeps its permits whatever the registrations do.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keycard_demo::domain::throttle::MAX_REGISTRATIONS_PER_ADDRESS;
use reqwest::StatusCode;

use keycard_demo::domain::users::find_with_password_by_email;

use crate::common::{random_hex, Browser, Page, TestApp, PASSWORD};

fn retry_after_secs(page: &Page) -> u64 {
    page.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{} without a Retry-After: {:?}", page.status, page.headers))
}

#[tokio::test]
async fn registrations_from_one_address_past_the_limit_answer_429_with_retry_after() {
    let app = TestApp::start().await;
    let here = IpAddr::V4(Ipv4Addr::new(127, 50, 0, 1));
    for i in 0..MAX_REGISTRATIONS_PER_ADDRESS {
        app.browser_from(here)
            .registered(&format!("user{i}@example.com"))
            .await;
    }
    // Past the limit: refused before the password is hashed, the same page for a new email and a taken
    // one, with no trace of what was typed.
    for email in ["fresh@example.com", "user0@example.com"] {
        let res = app.browser_from(here).register(email, PASSWORD).await;
        assert_eq!(
            res.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{email}: {}",
            res.body
        );
        let secs = retry_after_secs(&res);
        assert!(secs > 0 && secs <= 3600, "Retry-After {secs}");
        assert!(
            res.body
                .contains("Too many accounts were created from your network"),
            "{}",
            res.body
        );
        assert!(
            !res.body.contains(email),
            "the refusal echoes nothing typed"
        );
    }
    assert!(
        find_with_password_by_email(app.db(), "fresh@example.com")
            .await
            .expect("db")
            .is_none(),
        "nothing was created"
    );
    // A form the checks refuse costs no hash and is answered as before (not counted, not refused).
    let weak = app
        .browser_from(here)
        .register("weak@example.com", "12345678")
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Another address is not limited; sign-ins from this one are not either.
    app.browser_from(IpAddr::V4(Ipv4Addr::new(127, 50, 0, 2)))
        .registered("other@example.com")
        .await;
    app.browser_from(here).signed_in("user1@example.com").await;
    // The window ends.
    app.advance(3600);
    app.browser_from(here).registered("later@example.com").await;
    app.stop().await;
}

/// One flooding browser: registrations of fresh accounts until `stop` or `deadline`
/// (whichever first; the loop also stops after 1,000 posts). Counts the answers it got.
async fn flood(
    b: Browser,
    stop: Arc<AtomicBool>,
    deadline: Instant,
    answered: Arc<AtomicUsize>,
    busy: Arc<AtomicUsize>,
) -> Vec<StatusCode> {
    let mut token = b.csrf().await;
    let mut seen = Vec::new();
    for _ in 0..1_000 {
        if stop.load(Ordering::Relaxed) || Instant::now() >= deadline {
            break;
        }
        let email = format!("flood-{}@example.com", random_hex(6));
        let form = [
            ("_csrf_token", token.as_str()),
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
        ];
        let res = b.post_raw("/registration", &form).await;
        answered.fetch_add(1, Ordering::Relaxed);
        if res.status == StatusCode::SERVICE_UNAVAILABLE {
            busy.fetch_add(1, Ordering::Relaxed);
        }
        if res.status == StatusCode::SEE_OTHER {
            token = b.csrf().await; // signed in now: a session-bound token, as a browser would get
        }
        seen.push(res.status);
    }
    seen
}

#[tokio::test]
async fn a_flood_of_registrations_never_turns_a_correct_sign_in_into_503() {
    let app = TestApp::start().await;
    app.browser_from(IpAddr::V4(Ipv4Addr::new(127, 61, 0, 1)))
        .registered("alice@example.com")
        .await;
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, busy) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    // 40 connections, each from its own address (so the per-address limit does not stop them: only
    // the hashing lane stands between them and the sign-ins), for at most 20 s.
    let deadline = Instant::now() + Duration::from_secs(20);
    let tasks: Vec<_> = (0..40u8)
        .map(|i| {
            let ip = IpAddr::V4(Ipv4Addr::new(127, 60, 0, i + 1));
            tokio::spawn(flood(
                app.browser_from(ip),
                stop.clone(),
                deadline,
                answered.clone(),
                busy.clone(),
            ))
        })
        .collect();
    // Sign in only once the flood has filled the hashing queue (a registration answered 503), at most
    // 15 s from now.
    let waited = Instant::now();
    while busy.load(Ordering::Relaxed) == 0 && waited.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let full_before = busy.load(Ordering::Relaxed);
    let mut sign_ins = Vec::new();
    for i in 0..5u8 {
        let alice = app.browser_from(IpAddr::V4(Ipv4Addr::new(127, 62, 0, i + 1)));
        let started = Instant::now();
        let res = alice.sign_in("alice@example.com", PASSWORD).await;
        sign_ins.push((res.status, started.elapsed()));
        assert_eq!(
            res.status,
            StatusCode::SEE_OTHER,
            "sign-in {i} during the registration flood: {}",
            res.body
        );
        assert!(alice.me().await.is_some(), "signed in");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let still_flooding = !stop.load(Ordering::Relaxed) && Instant::now() < deadline;
    stop.store(true, Ordering::Relaxed);
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.extend(t.await.expect("flood task"));
    }
    let count = |s: StatusCode| statuses.iter().filter(|x| **x == s).count();
    eprintln!(
        "w9: {} registrations posted ({} created, {} busy 503, {} refused 429); the sign-ins answered {sign_ins:?}",
        statuses.len(),
        count(StatusCode::SEE_OTHER),
        count(StatusCode::SERVICE_UNAVAILABLE),
        count(StatusCode::TOO_MANY_REQUESTS),
    );
    assert!(
        full_before > 0,
        "the flood filled the hashing lane before the sign-ins"
    );
    assert!(still_flooding, "the sign-ins ran during the flood");
    assert!(
        statuses.iter().all(|s| matches!(
            *s,
            StatusCode::SEE_OTHER | StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
        )),
        "every registration answered 303, 503 or 429"
    );
    app.stop().await;
}
