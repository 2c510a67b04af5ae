//! The remember-me suite: what every [`RememberStore`] must do, run by
//! [`remember_suite!`](crate::remember_suite) through [`RememberMe`] with a manual clock.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use keycard::remember::{Redeemed, RememberMe, RememberPolicy, RememberStore};
use keycard::{ManualClock, Timestamp};

use crate::fixtures::{user, user_c, SECRET};

const TTL: Duration = Duration::from_secs(3600);
const GRACE: Duration = Duration::from_secs(30);

/// The service over `store`, on `clock`.
fn remember(store: Arc<dyn RememberStore>, clock: &ManualClock) -> RememberMe {
    RememberMe::new(store, &SECRET)
        .expect("the kit's secret")
        .with_policy(RememberPolicy {
            ttl: TTL,
            grace: GRACE,
            ..RememberPolicy::default()
        })
        .with_clock(Arc::new(clock.clone()))
}

fn clock() -> ManualClock {
    ManualClock::new(Timestamp(1_800_000_000_000))
}

/// Runs one remember-me test over a fresh store from `factory` (the skip rule of the conformance suite).
pub fn run<F, Fut, S, T, TFut>(suite: &str, test_name: &'static str, factory: F, test: T)
where
    F: FnOnce(&'static str) -> Fut,
    Fut: Future<Output = Result<S, String>>,
    S: RememberStore,
    T: FnOnce(Arc<dyn RememberStore>) -> TFut,
    TFut: Future<Output = ()>,
{
    crate::harness::run_over(suite, test_name, factory, |store| test(Arc::new(store)));
}

/// A redemption of the current token rotates it: the new cookie redeems next, the old one only inside
/// the grace window (as a concurrent tab), and the deadline moves with every redemption.
pub async fn redeeming_rotates_the_token_and_moves_the_deadline(s: Arc<dyn RememberStore>) {
    let clock = clock();
    let r = remember(s, &clock);
    let (first, created) = r.issue(&user(1, "ann")).await.expect("issue");
    assert_eq!(created.expires_at, clock.now_ts().saturating_add(TTL));
    clock.advance(Duration::from_secs(600));
    let (second, series) = match r.redeem(first.as_str()).await.expect("redeem") {
        Redeemed::Rotated { cookie, series } => (cookie, series),
        other => panic!("expected Rotated, got {other:?}"),
    };
    assert_ne!(second, first);
    assert_eq!(series.series_id, created.series_id);
    assert_eq!(series.user_key, "u1");
    assert_eq!(
        series.expires_at,
        clock.now_ts().saturating_add(TTL),
        "the deadline moved"
    );
    assert!(matches!(
        r.redeem(first.as_str()).await.expect("grace"),
        Redeemed::Grace { .. }
    ));
    assert!(matches!(
        r.redeem(second.as_str()).await.expect("next"),
        Redeemed::Rotated { .. }
    ));
    let listed = r.series("u1").await.expect("series");
    assert_eq!(listed.len(), 1, "one series, however often it rotates");
}

/// Any number of tabs redeeming one token at once: exactly one rotation, every other answer is the
/// grace answer (nobody is signed out).
pub async fn concurrent_redemptions_of_one_token_have_exactly_one_winner(
    s: Arc<dyn RememberStore>,
) {
    let clock = clock();
    let r = remember(s, &clock);
    let (cookie, _) = r.issue(&user(1, "ann")).await.expect("issue");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let r = r.clone();
            let c = cookie.as_str().to_owned();
            tokio::spawn(async move { r.redeem(&c).await })
        })
        .collect();
    let (mut rotated, mut grace) = (0, 0);
    for t in tasks {
        match t.await.expect("task").expect("redeem") {
            Redeemed::Rotated { .. } => rotated += 1,
            Redeemed::Grace { .. } => grace += 1,
            other => panic!("a tab got {other:?}"),
        }
    }
    assert_eq!((rotated, grace), (1, 15));
}

/// A token the series moved on from, outside the grace window, means the cookie was copied: theft, and
/// the whole series ends (the thief's newer cookie dies too).
pub async fn a_replayed_old_token_is_theft_and_ends_the_series(s: Arc<dyn RememberStore>) {
    let clock = clock();
    let r = remember(s, &clock);
    let (stolen, _) = r.issue(&user(1, "ann")).await.expect("issue");
    let thief = match r.redeem(stolen.as_str()).await.expect("redeem") {
        Redeemed::Rotated { cookie, .. } => cookie,
        other => panic!("expected Rotated, got {other:?}"),
    };
    clock.advance(GRACE);
    match r.redeem(stolen.as_str()).await.expect("replay") {
        Redeemed::Theft { user_key } => assert_eq!(user_key, "u1"),
        other => panic!("expected Theft, got {other:?}"),
    }
    assert!(matches!(
        r.redeem(thief.as_str()).await.expect("after"),
        Redeemed::Unknown
    ));
    assert!(r.series("u1").await.expect("series").is_empty());
}

/// Sign-out ends its own series; "forget the user" ends every series of that user and no other's.
pub async fn forget_ends_one_series_and_forget_user_every_series_of_the_user(
    s: Arc<dyn RememberStore>,
) {
    let clock = clock();
    let r = remember(s, &clock);
    let (a, _) = r.issue(&user(1, "ann")).await.expect("issue");
    let (b, _) = r.issue(&user(1, "ann")).await.expect("issue");
    clock.advance(Duration::from_millis(1));
    let (c, _) = r.issue(&user(1, "ann")).await.expect("issue");
    let (other, _) = r.issue(&user(2, "bob")).await.expect("issue");
    assert_eq!(r.series("u1").await.expect("series").len(), 3);
    assert_eq!(
        r.forget(a.as_str()).await.expect("forget"),
        Some("u1".into())
    );
    assert!(matches!(
        r.redeem(a.as_str()).await.expect("a"),
        Redeemed::Unknown
    ));
    assert_eq!(r.forget(a.as_str()).await.expect("again"), None);
    assert_eq!(r.forget_user("u1", None).await.expect("forget user"), 2);
    for gone in [&b, &c] {
        assert!(matches!(
            r.redeem(gone.as_str()).await.expect("gone"),
            Redeemed::Unknown
        ));
    }
    assert!(matches!(
        r.redeem(other.as_str()).await.expect("other user"),
        Redeemed::Rotated { .. }
    ));
}

/// "Sign out everywhere else" keeps the asking browser's series and ends the user's others; a store that
/// routes by user puts its tag in every series id of that user.
pub async fn forget_user_except_keeps_one_series_and_ids_carry_the_route_tag(
    s: Arc<dyn RememberStore>,
) {
    let clock = clock();
    let r = remember(s.clone(), &clock);
    let (keep, kept) = r.issue(&user(1, "ann")).await.expect("issue");
    let (other, _) = r.issue(&user(1, "ann")).await.expect("issue");
    let (bob, _) = r.issue(&user(2, "bob")).await.expect("issue");
    assert_eq!(r.series_of(keep.as_str()), Some(kept.series_id));
    assert_eq!(
        r.forget_user("u1", Some(&kept.series_id))
            .await
            .expect("forget others"),
        1
    );
    assert!(matches!(
        r.redeem(other.as_str()).await.expect("other"),
        Redeemed::Unknown
    ));
    for alive in [&keep, &bob] {
        assert!(matches!(
            r.redeem(alive.as_str()).await.expect("alive"),
            Redeemed::Rotated { .. }
        ));
    }
    if let Some(tag) = s.route_tag("u1") {
        for listed in r.series("u1").await.expect("series") {
            assert_eq!(listed.series_id.route_tag(), tag, "the user's tag");
        }
    }
}

/// A series not redeemed before its deadline is gone: unknown, unlisted, swept.
pub async fn an_expired_series_is_unknown_unlisted_and_swept(s: Arc<dyn RememberStore>) {
    let clock = clock();
    let r = remember(s, &clock);
    let (old, _) = r.issue(&user(1, "ann")).await.expect("issue");
    clock.advance(TTL / 2);
    let (young, _) = r.issue(&user(1, "ann")).await.expect("issue");
    clock.advance(TTL / 2);
    assert_eq!(
        r.series("u1").await.expect("series").len(),
        1,
        "only the young one"
    );
    let swept = r.sweep().await.expect("sweep");
    assert!(swept <= 1, "at most the expired one: {swept}");
    assert!(matches!(
        r.redeem(old.as_str()).await.expect("old"),
        Redeemed::Unknown
    ));
    assert!(matches!(
        r.redeem(young.as_str()).await.expect("young"),
        Redeemed::Rotated { .. }
    ));
}

/// A forged, foreign-keyed or malformed cookie is unknown, and a series records the credentials it began
/// with.
pub async fn forged_cookies_are_unknown_and_series_carry_the_credentials(
    s: Arc<dyn RememberStore>,
) {
    let clock = clock();
    let r = remember(s.clone(), &clock);
    let foreign = RememberMe::new(s, &[0x77; 64]).expect("secret");
    let (cookie, series) = r.issue(&user_c(1, "ann", 1, 1)).await.expect("issue");
    assert!(matches!(
        foreign.redeem(cookie.as_str()).await.expect("foreign"),
        Redeemed::Unknown
    ));
    let mut forged = cookie.as_str().to_owned().into_bytes();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");
    assert!(matches!(
        r.redeem(&forged).await.expect("forged"),
        Redeemed::Unknown
    ));
    assert!(matches!(
        r.redeem("short").await.expect("short"),
        Redeemed::Unknown
    ));
    assert!(Redeemed::still_valid(&series, &user_c(1, "ann", 1, 1)));
    assert!(
        !Redeemed::still_valid(&series, &user_c(1, "ann", 2, 2)),
        "a password change"
    );
}

/// Issue 18, W13: a redemption whose store call failed may or may not have written its rotation. Its
/// retry cookie redeems either way, long after the grace window, and is never taken for theft.
pub async fn a_retry_cookie_redeems_whether_or_not_the_failed_write_happened(
    s: Arc<dyn RememberStore>,
) {
    let clock = clock();
    let r = remember(s, &clock);
    // The write happened (its answer was lost): the series moved on to the successor.
    let (written, _) = r.issue(&user(1, "ann")).await.expect("issue");
    assert!(matches!(
        r.redeem(written.as_str())
            .await
            .expect("the write that happened"),
        Redeemed::Rotated { .. }
    ));
    // The write never happened: the series still holds the presented token.
    let (lost, _) = r.issue(&user(2, "bob")).await.expect("issue");
    clock.advance(GRACE * 3);
    for (cookie, who) in [(&written, "u1"), (&lost, "u2")] {
        let retry = r
            .retry_cookie(cookie.as_str())
            .expect("a well-signed cookie");
        assert_ne!(&retry, cookie, "a retry cookie is a cookie of its own");
        let next = match r.redeem(retry.as_str()).await.expect("retry") {
            Redeemed::Rotated { cookie, series } => {
                assert_eq!(series.user_key, who);
                cookie
            }
            other => panic!("{who}: expected Rotated, got {other:?}"),
        };
        assert!(
            matches!(
                r.redeem(next.as_str()).await.expect("next"),
                Redeemed::Rotated { .. }
            ),
            "{who}: the retry's new cookie redeems"
        );
    }
}

/// A retry cookie that failed again gives a retry cookie of the next depth: a paused store runs both
/// queued redemptions in turn, and the browser still gets back in. Concurrent tabs presenting one retry
/// cookie have one winner, the rest are grace. A retry cookie signed by another key is unknown.
pub async fn retry_cookies_chain_have_one_winner_and_are_signed(s: Arc<dyn RememberStore>) {
    let clock = clock();
    let r = remember(s.clone(), &clock);
    let (cookie, _) = r.issue(&user(1, "ann")).await.expect("issue");
    // Both the first redemption and the retry after it were written, neither answer arrived.
    assert!(matches!(
        r.redeem(cookie.as_str()).await.expect("first"),
        Redeemed::Rotated { .. }
    ));
    let retry = r.retry_cookie(cookie.as_str()).expect("retry");
    assert!(matches!(
        r.redeem(retry.as_str()).await.expect("second"),
        Redeemed::Rotated { .. }
    ));
    let again = r.retry_cookie(retry.as_str()).expect("retry of a retry");
    clock.advance(GRACE * 3);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let r = r.clone();
            let c = again.as_str().to_owned();
            tokio::spawn(async move { r.redeem(&c).await })
        })
        .collect();
    let (mut rotated, mut grace) = (0, 0);
    for t in tasks {
        match t.await.expect("task").expect("redeem") {
            Redeemed::Rotated { .. } => rotated += 1,
            Redeemed::Grace { .. } => grace += 1,
            other => panic!("a tab got {other:?}"),
        }
    }
    assert_eq!((rotated, grace), (1, 7));
    let foreign = RememberMe::new(s, &[0x77; 64]).expect("secret");
    let forged = foreign.retry_cookie(cookie.as_str());
    assert!(
        forged.is_none(),
        "only this key's cookies have retry cookies"
    );
    let (other, _) = foreign.issue(&user(2, "bob")).await.expect("issue");
    let foreign_retry = foreign.retry_cookie(other.as_str()).expect("its own");
    assert!(matches!(
        r.redeem(foreign_retry.as_str())
            .await
            .expect("foreign retry"),
        Redeemed::Unknown
    ));
}

/// Issue 24 (found by the soak): a chain of failed redemptions, whichever of them wrote, still signs
/// the browser back in. Each attempt of the chain either reached the store (and rotated the series, its
/// answer lost) or never did (a dropped link); the browser holds the retry cookie of the last failure.
/// Every combination of up to `MAX_RETRY_CHAIN` failures redeems, long after any grace window, and is
/// never taken for theft; the new cookie redeems again.
pub async fn a_chain_of_failed_redemptions_redeems_whichever_of_them_wrote(
    s: Arc<dyn RememberStore>,
) {
    let clock = clock();
    let r = remember(s, &clock);
    let depth = keycard::remember::MAX_RETRY_CHAIN;
    let mut id = 0;
    for pattern in 0..(1u32 << depth) {
        for failures in 1..=depth {
            let wrote: Vec<bool> = (0..failures).map(|i| pattern & (1 << i) != 0).collect();
            if pattern >> failures != 0 {
                continue; // each pattern once per length
            }
            id += 1;
            let who = format!("u{id}");
            let (mut cookie, _) = r.issue(&user(id, "ann")).await.expect("issue");
            for &w in &wrote {
                if w {
                    // The attempt reached the store; its answer (the new cookie) was lost.
                    let got = r.redeem(cookie.as_str()).await.expect("a written attempt");
                    assert!(
                        matches!(got, Redeemed::Rotated { .. }),
                        "{who} {wrote:?}: a written attempt rotates, got {got:?}"
                    );
                }
                cookie = r
                    .retry_cookie(cookie.as_str())
                    .expect("a well-signed cookie");
            }
            clock.advance(GRACE * 3);
            let next = match r.redeem(cookie.as_str()).await.expect("the retry") {
                Redeemed::Rotated { cookie, series } => {
                    assert_eq!(series.user_key, who);
                    cookie
                }
                other => {
                    panic!("{who} (attempts wrote: {wrote:?}): expected Rotated, got {other:?}")
                }
            };
            assert!(
                matches!(
                    r.redeem(next.as_str()).await.expect("next"),
                    Redeemed::Rotated { .. }
                ),
                "{who} {wrote:?}: the retry's new cookie redeems"
            );
        }
    }
}

/// A redemption whose presented token and alternates all miss a series that was never rotated (no
/// previous token) is theft, not a store error (the Redis script once compared a missing field).
pub async fn alternates_that_miss_a_never_rotated_series_are_theft(s: Arc<dyn RememberStore>) {
    let clock = clock();
    let r = remember(s.clone(), &clock);
    let (_, series) = r.issue(&user(1, "ann")).await.expect("issue");
    let now = clock.now_ts();
    let plan = keycard::remember::RedeemPlan {
        alternates: [Some(keycard::token::TokenHash([8; 32])), None, None],
        next_token: keycard::token::TokenHash([7; 32]),
        now,
        grace_until: now,
        expires_at: now,
    };
    let got = s
        .redeem(&series.series_id, &keycard::token::TokenHash([9; 32]), plan)
        .await
        .expect("an answer, not a store error");
    assert!(
        matches!(got, keycard::remember::Redemption::Theft { .. }),
        "got {got:?}"
    );
}

trait NowTs {
    fn now_ts(&self) -> Timestamp;
}

impl NowTs for ManualClock {
    fn now_ts(&self) -> Timestamp {
        keycard::Clock::now(self)
    }
}

/// Expands to `mod remember` with one `#[test]` per remember-me behaviour, each over a fresh
/// [`RememberStore`] from `$factory` (the conformance suite's rules). Invoke it once per file.
///
/// ```
/// keycard_store_tests::remember_suite!(|_test: &'static str| async {
///     Ok::<_, String>(keycard::remember::MemoryRemember::new())
/// });
/// ```
#[macro_export]
macro_rules! remember_suite {
    ($factory:expr $(,)?) => {
        $crate::__remember_tests!($factory;
            redeeming_rotates_the_token_and_moves_the_deadline,
            concurrent_redemptions_of_one_token_have_exactly_one_winner,
            a_replayed_old_token_is_theft_and_ends_the_series,
            forget_ends_one_series_and_forget_user_every_series_of_the_user,
            forget_user_except_keeps_one_series_and_ids_carry_the_route_tag,
            an_expired_series_is_unknown_unlisted_and_swept,
            forged_cookies_are_unknown_and_series_carry_the_credentials,
            a_retry_cookie_redeems_whether_or_not_the_failed_write_happened,
            retry_cookies_chain_have_one_winner_and_are_signed,
            a_chain_of_failed_redemptions_redeems_whichever_of_them_wrote,
            alternates_that_miss_a_never_rotated_series_are_theft,
        );
    };
}

/// Implementation detail of [`remember_suite!`](crate::remember_suite).
#[doc(hidden)]
#[macro_export]
macro_rules! __remember_tests {
    ($factory:expr; $($name:ident),+ $(,)?) => {
        /// The keycard remember-me suite (`keycard_store_tests::remember`), over this crate's store.
        mod remember {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    $crate::remember::run(
                        concat!("remember::", stringify!($name)),
                        stringify!($name),
                        $factory,
                        $crate::remember::$name,
                    );
                }
            )+
        }
    };
}
