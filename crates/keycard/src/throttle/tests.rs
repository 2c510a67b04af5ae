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

#[test]
fn a_short_secret_is_refused() {
    assert!(LoginThrottle::new(Arc::new(MemoryThrottle::new()), &[1; 16]).is_err());
}

trait NowTs {
    fn now_ts(&self) -> Timestamp;
}
impl NowTs for ManualClock {
    fn now_ts(&self) -> Timestamp {
        crate::clock::Clock::now(self)
    }
}
