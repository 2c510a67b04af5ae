//! The throttle suite: what every [`ThrottleStore`] must do, run by [`throttle_suite!`](crate::throttle_suite).
//!
//! Each test gets a fresh store from the factory (the same rules as the conformance suite's: isolated,
//! `Err` only when the backend cannot be reached) and passes its own `now`, so no test sleeps: a store
//! must read time from the `now` it is given, not from its own clock.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use keycard::throttle::{Limit, Reservation, ThrottleKey, ThrottleStore};
use keycard::Timestamp;

const LIMIT: Limit = Limit::new(5, Duration::from_secs(60));
const T0: Timestamp = Timestamp(1_800_000_000_000);

fn key(n: u8) -> ThrottleKey {
    ThrottleKey([n; 32])
}

fn at(secs: u64) -> Timestamp {
    T0.saturating_add(Duration::from_secs(secs))
}

async fn reserve(s: &dyn ThrottleStore, k: &ThrottleKey, now: Timestamp) -> Reservation {
    s.reserve(k, LIMIT, now).await.expect("reserve")
}

/// Runs one throttle test over a fresh store from `factory` (skipped or failed by the
/// [skip rule](crate::skip) when the factory cannot reach its backend).
pub fn run<F, Fut, S, T, TFut>(suite: &str, test_name: &'static str, factory: F, test: T)
where
    F: FnOnce(&'static str) -> Fut,
    Fut: Future<Output = Result<S, String>>,
    S: ThrottleStore,
    T: FnOnce(Arc<dyn ThrottleStore>) -> TFut,
    TFut: Future<Output = ()>,
{
    crate::harness::run_over(suite, test_name, factory, |store| test(Arc::new(store)));
}

/// `max` attempts are counted; the next is refused with the time left in the window.
pub async fn counts_up_to_the_limit_then_refuses_with_the_time_left(s: Arc<dyn ThrottleStore>) {
    for i in 0..LIMIT.max {
        assert_eq!(
            reserve(&*s, &key(1), at(0)).await,
            Reservation::Counted,
            "attempt {i}"
        );
    }
    assert_eq!(
        reserve(&*s, &key(1), at(15)).await,
        Reservation::Limited {
            retry_after: Duration::from_secs(45)
        }
    );
}

/// A window that ended is replaced by a new one at the next attempt.
pub async fn a_new_window_opens_once_the_last_one_ended(s: Arc<dyn ThrottleStore>) {
    for _ in 0..LIMIT.max {
        reserve(&*s, &key(1), at(0)).await;
    }
    assert!(matches!(
        reserve(&*s, &key(1), at(59)).await,
        Reservation::Limited { .. }
    ));
    assert_eq!(reserve(&*s, &key(1), at(60)).await, Reservation::Counted);
    for _ in 1..LIMIT.max {
        assert_eq!(reserve(&*s, &key(1), at(61)).await, Reservation::Counted);
    }
    assert_eq!(
        reserve(&*s, &key(1), at(100)).await,
        Reservation::Limited {
            retry_after: Duration::from_secs(20)
        },
        "the new window runs from its first attempt"
    );
}

/// Any number of concurrent reservations count exactly `max`.
pub async fn concurrent_reservations_count_exactly_the_limit(s: Arc<dyn ThrottleStore>) {
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.reserve(&key(7), LIMIT, at(0)).await })
        })
        .collect();
    let mut counted = 0;
    for t in tasks {
        if t.await.expect("task").expect("reserve") == Reservation::Counted {
            counted += 1;
        }
    }
    assert_eq!(counted, LIMIT.max);
}

/// A refund gives one attempt back, never below zero, and nothing once the window ended.
pub async fn refund_gives_one_attempt_back(s: Arc<dyn ThrottleStore>) {
    for _ in 0..LIMIT.max {
        reserve(&*s, &key(1), at(0)).await;
    }
    s.refund(&key(1), at(1)).await.expect("refund");
    assert_eq!(reserve(&*s, &key(1), at(2)).await, Reservation::Counted);
    assert!(matches!(
        reserve(&*s, &key(1), at(2)).await,
        Reservation::Limited { .. }
    ));
    // Refunds of a key never counted, or many more than counted, are harmless.
    s.refund(&key(2), at(0)).await.expect("refund unknown");
    reserve(&*s, &key(3), at(0)).await;
    for _ in 0..10 {
        s.refund(&key(3), at(0)).await.expect("refund");
    }
    for _ in 0..LIMIT.max {
        assert_eq!(reserve(&*s, &key(3), at(1)).await, Reservation::Counted);
    }
    assert!(matches!(
        reserve(&*s, &key(3), at(1)).await,
        Reservation::Limited { .. }
    ));
}

/// `clear` forgets one key and no other.
pub async fn clear_forgets_one_key(s: Arc<dyn ThrottleStore>) {
    for _ in 0..LIMIT.max {
        reserve(&*s, &key(1), at(0)).await;
        reserve(&*s, &key(2), at(0)).await;
    }
    s.clear(&key(1)).await.expect("clear");
    assert_eq!(reserve(&*s, &key(1), at(1)).await, Reservation::Counted);
    assert!(matches!(
        reserve(&*s, &key(2), at(1)).await,
        Reservation::Limited { .. }
    ));
}

/// A sweep never removes a running window.
pub async fn sweep_keeps_running_windows(s: Arc<dyn ThrottleStore>) {
    for _ in 0..LIMIT.max {
        reserve(&*s, &key(1), at(0)).await;
    }
    reserve(&*s, &key(2), at(30)).await;
    let removed = s.sweep_throttle(at(45)).await.expect("sweep");
    assert_eq!(removed, 0, "nothing had ended");
    assert!(matches!(
        reserve(&*s, &key(1), at(45)).await,
        Reservation::Limited { .. }
    ));
    let removed = s.sweep_throttle(at(60)).await.expect("sweep");
    assert!(
        removed <= 1,
        "only key 1's window had ended: removed {removed}"
    );
    for _ in 1..LIMIT.max {
        assert_eq!(reserve(&*s, &key(2), at(60)).await, Reservation::Counted);
    }
    assert!(matches!(
        reserve(&*s, &key(2), at(60)).await,
        Reservation::Limited { .. }
    ));
}

/// Expands to `mod throttle` with one `#[test]` per throttle behaviour, each over a fresh
/// [`ThrottleStore`] from `$factory` (`Fn(&'static str) -> impl Future<Output = Result<S, String>>`,
/// the conformance suite's rules). Invoke it once per file.
///
/// ```
/// keycard_store_tests::throttle_suite!(|_test: &'static str| async {
///     Ok::<_, String>(keycard::throttle::MemoryThrottle::new())
/// });
/// ```
#[macro_export]
macro_rules! throttle_suite {
    ($factory:expr $(,)?) => {
        $crate::__throttle_tests!($factory;
            counts_up_to_the_limit_then_refuses_with_the_time_left,
            a_new_window_opens_once_the_last_one_ended,
            concurrent_reservations_count_exactly_the_limit,
            refund_gives_one_attempt_back,
            clear_forgets_one_key,
            sweep_keeps_running_windows,
        );
    };
}

/// Implementation detail of [`throttle_suite!`](crate::throttle_suite).
#[doc(hidden)]
#[macro_export]
macro_rules! __throttle_tests {
    ($factory:expr; $($name:ident),+ $(,)?) => {
        /// The keycard throttle suite (`keycard_store_tests::throttle`), over this crate's store.
        mod throttle {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    $crate::throttle::run(
                        concat!("throttle::", stringify!($name)),
                        stringify!($name),
                        $factory,
                        $crate::throttle::$name,
                    );
                }
            )+
        }
    };
}
