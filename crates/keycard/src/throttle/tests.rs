use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::clock::{ManualClock, Timestamp};

const SECRET: [u8; 64] = [9; 64];

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("an address"))
}

fn throttle(clock: &ManualClock) -> (LoginThrottle, Arc<MemoryThrottle>) {
    let store = Arc::new(MemoryThrottle::new());
    let t = LoginThrottle::new(store.clone(), &SECRET)
        .expect("secret")
        .with_clock(Arc::new(clock.clone()));
    (t, store)
}

fn limited_scope(r: Result<Attempt, ThrottleError>) -> Scope {
    match r {
        Err(ThrottleError::Limited { scope, .. }) => scope,
        other => panic!("expected Limited, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_attempts_for_one_pair_never_pass_the_limit() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let (t, _) = throttle(&clock);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.begin("a@x", ip("10.0.0.1")).await })
        })
        .collect();
    let mut counted = 0;
    for task in tasks {
        if task.await.expect("task").is_ok() {
            counted += 1;
        }
    }
    assert_eq!(counted, 5, "exactly per_pair.max attempts reserved");
}

#[tokio::test]
async fn account_is_limited_across_addresses() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let (t, _) = throttle(&clock);
    for i in 0..20 {
        let a = t.begin("a@x", ip(&format!("10.0.{i}.1"))).await;
        assert!(a.is_ok(), "attempt {i}");
    }
    assert_eq!(
        limited_scope(t.begin("a@x", ip("10.9.9.9")).await),
        Scope::Account
    );
    assert!(
        t.begin("b@x", ip("10.9.9.9")).await.is_ok(),
        "another account"
    );
    clock.advance(Duration::from_secs(3600));
    assert!(t.begin("a@x", ip("10.9.9.9")).await.is_ok(), "window over");
}

#[tokio::test]
async fn address_is_limited_across_accounts_and_ipv6_counts_by_its_64() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let (t, _) = throttle(&clock);
    for i in 0..100 {
        // Every attempt from another address of one /64.
        let a = t
            .begin(&format!("u{i}@x"), ip(&format!("2001:db8::{i:x}")))
            .await;
        assert!(a.is_ok(), "attempt {i}");
    }
    assert_eq!(
        limited_scope(t.begin("new@x", ip("2001:db8::ffff")).await),
        Scope::Address
    );
    assert!(
        t.begin("new@x", ip("2001:db8:1::1")).await.is_ok(),
        "another /64"
    );
}

#[tokio::test]
async fn a_refused_attempt_gives_back_what_it_counted() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let (t, _) = throttle(&clock);
    for _ in 0..5 {
        let _ = t.begin("a@x", ip("10.0.0.1")).await.expect("counted");
    }
    // Refused on the pair: the account counter must not be used up by refusals.
    for _ in 0..50 {
        assert_eq!(
            limited_scope(t.begin("a@x", ip("10.0.0.1")).await),
            Scope::Pair
        );
    }
    for i in 0..15 {
        assert!(t.begin("a@x", ip(&format!("10.1.{i}.1"))).await.is_ok());
    }
}

#[tokio::test]
async fn success_clears_the_pair_and_gives_its_attempt_back() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let (t, _) = throttle(&clock);
    for _ in 0..4 {
        let _ = t.begin("a@x", ip("10.0.0.1")).await.expect("counted");
    }
    let ok = t.begin("a@x", ip("10.0.0.1")).await.expect("counted");
    t.succeeded(ok).await.expect("succeeded");
    for _ in 0..5 {
        let _ = t
            .begin("a@x", ip("10.0.0.1"))
            .await
            .expect("a fresh pair window");
    }
    assert_eq!(
        limited_scope(t.begin("a@x", ip("10.0.0.1")).await),
        Scope::Pair
    );
}

#[tokio::test]
async fn refusal_reports_the_time_until_the_window_ends() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let (t, _) = throttle(&clock);
    for _ in 0..5 {
        let _ = t.begin("a@x", None).await.expect("counted");
    }
    clock.advance(Duration::from_secs(60));
    let e = t.begin("a@x", None).await.expect_err("limited");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(14 * 60)));
}

#[tokio::test]
async fn a_login_over_the_limit_is_refused_before_anything_is_stored() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let (t, store) = throttle(&clock);
    let long = "a".repeat(60 * 1024);
    for _ in 0..200 {
        match t.begin(&long, ip("10.0.0.1")).await {
            Err(ThrottleError::LoginTooLong { len, max }) => {
                assert_eq!((len, max), (60 * 1024, 254))
            }
            other => panic!("expected LoginTooLong, got {other:?}"),
        }
    }
    assert!(store.is_empty());
}

#[tokio::test]
async fn a_full_table_refuses_new_keys_until_windows_end() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let store = MemoryThrottle::with_max_keys(2);
    let limit = Limit::new(5, Duration::from_secs(10));
    let (a, b, c) = (
        ThrottleKey([1; 32]),
        ThrottleKey([2; 32]),
        ThrottleKey([3; 32]),
    );
    let now = clock.now_ts();
    assert_eq!(
        store.reserve(&a, limit, now).await.ok(),
        Some(Reservation::Counted)
    );
    assert_eq!(
        store.reserve(&b, limit, now).await.ok(),
        Some(Reservation::Counted)
    );
    assert!(store.reserve(&c, limit, now).await.is_err(), "full");
    assert_eq!(
        store.reserve(&a, limit, now).await.ok(),
        Some(Reservation::Counted),
        "known key"
    );
    let later = now.saturating_add(Duration::from_secs(10));
    assert_eq!(
        store.reserve(&c, limit, later).await.ok(),
        Some(Reservation::Counted)
    );
    assert_eq!(store.len(), 1, "the ended windows were dropped");
}

#[tokio::test]
async fn a_full_account_counter_does_not_stop_the_owners_checks_in_a_session() {
    // W12: wrong sign-ins from 20 addresses fill the account counter...
    let clock = ManualClock::new(Timestamp(1_000_000));
    let (t, _) = throttle(&clock);
    for i in 0..20 {
        let _ = t
            .begin("a@x", ip(&format!("10.0.{i}.1")))
            .await
            .expect("counted");
    }
    assert_eq!(
        limited_scope(t.begin("a@x", ip("10.9.9.9")).await),
        Scope::Account
    );
    // ...and the owner, signed in elsewhere, still checks their password in their session.
    let session = crate::token::SessionId([7; 16]);
    let check = t
        .begin_in_session("a@x", &session, ip("10.9.9.9"))
        .await
        .expect("a session's checks are not on the account counter");
    t.succeeded(check).await.expect("succeeded");
    // And a right password in the session gives back nothing to the account counter: still full.
    assert_eq!(
        limited_scope(t.begin("a@x", ip("10.8.8.8")).await),
        Scope::Account
    );
}

#[tokio::test]
async fn a_session_gets_its_own_few_checks_and_other_sessions_are_not_affected() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let (t, _) = throttle(&clock);
    let (mine, other) = (
        crate::token::SessionId([1; 16]),
        crate::token::SessionId([2; 16]),
    );
    assert_eq!(t.limits().per_session.max, 5);
    for _ in 0..5 {
        let _ = t
            .begin_in_session("a@x", &mine, ip("10.0.0.1"))
            .await
            .expect("counted");
    }
    assert_eq!(
        limited_scope(t.begin_in_session("a@x", &mine, ip("10.0.0.1")).await),
        Scope::Session
    );
    // The same session from another address is still this session.
    assert_eq!(
        limited_scope(t.begin_in_session("a@x", &mine, ip("10.0.0.2")).await),
        Scope::Session
    );
    // Another session of the same user, and sign-ins of the same account, are not affected.
    assert!(t
        .begin_in_session("a@x", &other, ip("10.0.0.1"))
        .await
        .is_ok());
    assert!(t.begin("a@x", ip("10.0.0.3")).await.is_ok());
    // The window ends.
    clock.advance(Duration::from_secs(15 * 60));
    assert!(t
        .begin_in_session("a@x", &mine, ip("10.0.0.1"))
        .await
        .is_ok());
}

#[tokio::test]
async fn a_right_password_in_a_session_forgets_its_failures() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let (t, _) = throttle(&clock);
    let s = crate::token::SessionId([3; 16]);
    for _ in 0..4 {
        let _ = t.begin_in_session("a@x", &s, None).await.expect("counted");
    }
    let ok = t.begin_in_session("a@x", &s, None).await.expect("counted");
    t.succeeded(ok).await.expect("succeeded");
    for _ in 0..5 {
        let _ = t
            .begin_in_session("a@x", &s, None)
            .await
            .expect("a fresh window");
    }
    assert!(t.begin_in_session("a@x", &s, None).await.is_err());
}

#[tokio::test]
async fn checks_in_sessions_count_on_the_address_counter() {
    // One address guessing through many sessions is still bounded by the spraying counter.
    let clock = ManualClock::new(Timestamp(1_000_000));
    let (t, _) = throttle(&clock);
    for i in 0..100u8 {
        let s = crate::token::SessionId([i; 16]);
        let _ = t
            .begin_in_session("a@x", &s, ip("2001:db8::1"))
            .await
            .expect("counted");
    }
    let fresh = crate::token::SessionId([200; 16]);
    assert_eq!(
        limited_scope(t.begin_in_session("a@x", &fresh, ip("2001:db8::2")).await),
        Scope::Address
    );
}

fn rate(clock: &ManualClock, store: Arc<MemoryThrottle>, name: &'static str) -> RateLimit {
    RateLimit::new(
        store,
        &SECRET,
        name,
        Limit::new(3, Duration::from_secs(3600)),
    )
    .expect("secret")
    .with_clock(Arc::new(clock.clone()))
}

fn is_limited(r: Result<Counted, RateLimitError>) -> Option<Duration> {
    match r {
        Err(RateLimitError::Limited { retry_after }) => Some(retry_after),
        _ => None,
    }
}

#[tokio::test]
async fn a_rate_limit_counts_every_request_per_address_and_ipv6_by_its_64() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let r = rate(&clock, Arc::new(MemoryThrottle::new()), "registration");
    let addr = |s: &str| s.parse::<IpAddr>().expect("an address");
    for i in 0..3 {
        let _ = r
            .hit_address(addr(&format!("2001:db8::{i}")))
            .await
            .expect("counted");
    }
    clock.advance(Duration::from_secs(600));
    assert_eq!(
        is_limited(r.hit_address(addr("2001:db8::ffff")).await),
        Some(Duration::from_secs(3000)),
        "the same /64, until the window ends"
    );
    assert!(
        r.hit_address(addr("2001:db8:1::1")).await.is_ok(),
        "another /64"
    );
    assert!(r.hit_address(addr("10.0.0.1")).await.is_ok());
    clock.advance(Duration::from_secs(3000));
    assert!(
        r.hit_address(addr("2001:db8::1")).await.is_ok(),
        "window over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_never_pass_a_rate_limit() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let r = rate(&clock, Arc::new(MemoryThrottle::new()), "registration");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let r = r.clone();
            tokio::spawn(async move { r.hit_address([10, 0, 0, 1].into()).await.is_ok() })
        })
        .collect();
    let mut counted = 0;
    for t in tasks {
        counted += usize::from(t.await.expect("task"));
    }
    assert_eq!(counted, 3);
}

#[tokio::test]
async fn rate_limits_with_other_names_and_the_login_throttle_never_share_counters() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let store = Arc::new(MemoryThrottle::new());
    let registration = rate(&clock, store.clone(), "registration");
    let mail = rate(&clock, store.clone(), "mail");
    let a: IpAddr = [10, 0, 0, 1].into();
    for _ in 0..3 {
        let _ = registration.hit_address(a).await.expect("counted");
    }
    assert!(is_limited(registration.hit_address(a).await).is_some());
    assert!(mail.hit_address(a).await.is_ok(), "another name");
    assert!(
        registration.hit("10.0.0.1").await.is_ok(),
        "a subject is not an address"
    );
    let login = LoginThrottle::new(store, &SECRET)
        .expect("secret")
        .with_clock(Arc::new(clock.clone()));
    assert!(login.begin("a@x", Some(a)).await.is_ok());
}

#[tokio::test]
async fn a_request_given_back_frees_its_place() {
    let clock = ManualClock::new(Timestamp(1_000_000));
    let r = rate(&clock, Arc::new(MemoryThrottle::new()), "registration");
    for _ in 0..2 {
        let _ = r.hit("alice@example.com").await.expect("counted");
    }
    let busy = r.hit("alice@example.com").await.expect("counted");
    r.give_back(busy).await.expect("given back");
    assert!(r.hit("alice@example.com").await.is_ok());
    assert!(is_limited(r.hit("alice@example.com").await).is_some());
}

#[test]
fn a_short_secret_is_refused() {
    assert!(LoginThrottle::new(Arc::new(MemoryThrottle::new()), &[1; 16]).is_err());
    let limit = Limit::new(1, Duration::from_secs(1));
    assert!(RateLimit::new(Arc::new(MemoryThrottle::new()), &[1; 16], "x", limit).is_err());
}

trait NowTs {
    fn now_ts(&self) -> Timestamp;
}
impl NowTs for ManualClock {
    fn now_ts(&self) -> Timestamp {
        crate::clock::Clock::now(self)
    }
}
