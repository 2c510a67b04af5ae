//! What two nodes on one shared store, each with its own near cache, must show whatever carries their
//! invalidations: once node B's write has reached node A's channel, A never answers from the entry it
//! replaced. Each function is the body of one test; a store's test builds its two [`Node`]s (or skips)
//! and calls it, or [`near_two_node_tests!`](crate::near_two_node_tests) makes the test (through
//! [`run_two_nodes`]).

use std::future::Future;
use std::time::{Duration, Instant};

use keycard::{PutOutcome, SessionEvent, Store};

use super::{
    signed_in_and_warm_on_a, until_a_hit, until_seen_never_stale_after_invalidation, Node, BOUND,
};
use crate::{user, user_c, TestUser};

/// B revokes a session A serves from memory; once the invalidation arrived, A never answers it again.
/// Prints how many answers came from memory before the invalidation arrived.
pub async fn a_revocation_on_b_is_never_served_by_a<S: Store<TestUser>, L>(
    a: &Node<S, L>,
    b: &Node<S, L>,
) {
    let (cookie, sid) = signed_in_and_warm_on_a(a, b, 1).await;
    let received = a.near.channel().received();
    assert!(b.cache.delete_session(&sid).await.unwrap());
    let stale =
        until_seen_never_stale_after_invalidation(a, &cookie, received, |u| u.is_none()).await;
    println!("near_revoke: {stale} answers from memory before the invalidation arrived");
    assert!(a.cache.fetch(&cookie).await.unwrap().is_none());
}

/// B caches a new copy of the user; once the invalidation arrived, A answers the new one, and serves it
/// from memory again.
pub async fn a_put_user_on_b_is_never_served_stale_by_a<S: Store<TestUser>, L>(
    a: &Node<S, L>,
    b: &Node<S, L>,
) {
    let (cookie, _) = signed_in_and_warm_on_a(a, b, 1).await;
    let received = a.near.channel().received();
    assert_eq!(
        b.cache.put_user(user(1, "ann-pro")).await.unwrap(),
        PutOutcome::Updated
    );
    until_seen_never_stale_after_invalidation(a, &cookie, received, |u| {
        u.is_some_and(|u| u.name == "ann-pro")
    })
    .await;
    until_a_hit(a, &cookie).await;
    assert_eq!(
        a.cache.fetch(&cookie).await.unwrap().unwrap().user.name,
        "ann-pro"
    );
}

/// B caches the user with new credentials; once the invalidation arrived, the session A served is over.
pub async fn a_credential_change_on_b_ends_the_session_on_a<S: Store<TestUser>, L>(
    a: &Node<S, L>,
    b: &Node<S, L>,
) {
    let (cookie, _) = signed_in_and_warm_on_a(a, b, 1).await;
    let received = a.near.channel().received();
    b.cache.put_user(user_c(1, "ann", 2, 2)).await.unwrap();
    until_seen_never_stale_after_invalidation(a, &cookie, received, |u| u.is_none()).await;
    assert!(a.cache.fetch(&cookie).await.unwrap().is_none());
}

/// A's subscribers hear B's revocation as `SessionEvent::Changed` naming the session (or its user):
/// what lets a session watch on A end at once instead of at its next liveness check.
pub async fn a_events_report_a_revocation_made_on_b<S: Store<TestUser>, L>(
    a: &Node<S, L>,
    b: &Node<S, L>,
) {
    let (_cookie, sid) = signed_in_and_warm_on_a(a, b, 1).await;
    let mut events = a.cache.events();
    assert!(b.cache.delete_session(&sid).await.unwrap());
    let heard = tokio::time::timeout(BOUND, async {
        loop {
            match events.recv().await {
                Ok(e) if e.may_concern(&sid, "u1") => return e,
                Ok(_) => continue,
                Err(e) => panic!("events: {e}"),
            }
        }
    })
    .await
    .expect("A hears B's revocation");
    assert!(matches!(heard, SessionEvent::Changed { .. }), "{heard:?}");
}

/// The revocation lag over `trials` trials (users 100, 101, …), measured and printed (`label` first),
/// not asserted: from B's revocation returning to A's first answer without the session, while A serves
/// the session in a tight loop; no answer of A after the invalidation arrived is the revoked session.
pub async fn revocation_lag_is_printed_and_never_stale<S: Store<TestUser>, L>(
    a: &Node<S, L>,
    b: &Node<S, L>,
    label: &str,
    trials: u32,
) {
    let mut lags = Vec::new();
    let mut stale_total = 0;
    for i in 0..trials {
        let (cookie, sid) = signed_in_and_warm_on_a(a, b, 100 + i).await;
        let received = a.near.channel().received();
        assert!(b.cache.delete_session(&sid).await.unwrap());
        let revoked = Instant::now();
        stale_total +=
            until_seen_never_stale_after_invalidation(a, &cookie, received, |u| u.is_none()).await;
        lags.push(revoked.elapsed());
    }
    lags.sort();
    let at = |q: f64| lags[((lags.len() as f64 * q).ceil() as usize).clamp(1, lags.len()) - 1];
    println!(
        "{label}: revocation on B to A's first answer without the session, {trials} trials: \
         p50 {:?}, p99 {:?}, max {:?}; {stale_total} answers from memory before the invalidation arrived",
        at(0.50),
        at(0.99),
        lags[lags.len() - 1]
    );
}

/// After A's channel went down and B wrote user 1 as `ann-new`: every answer of A is `ann-new` (from
/// the store, or from an entry filled after A subscribed again) until A has subscribed again
/// (`subscriptions` reaches 2) and answers from memory, and by then some answers came from the store.
/// Then B's next write (user 1 as `ann-newer`) reaches A: the new subscription delivers.
pub async fn resubscribed_never_stale<S: Store<TestUser>, L>(
    a: &Node<S, L>,
    b: &Node<S, L>,
    cookie: &str,
    subscriptions: impl Fn() -> u64,
) {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let hits = a.near.stats().hits;
        let answer = a.cache.fetch(cookie).await.unwrap().expect("signed in");
        assert_eq!(
            answer.user.name, "ann-new",
            "no stale answer after the drop"
        );
        if a.near.stats().hits > hits && subscriptions() >= 2 {
            break; // resubscribed and serving from memory again
        }
        assert!(tokio::time::Instant::now() < deadline, "never resubscribed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(a.near.stats().bypassed > 0 || a.near.stats().misses > 0);

    // And the new subscription delivers: B's next write reaches A.
    let received = a.near.channel().received();
    b.cache.put_user(user(1, "ann-newer")).await.unwrap();
    until_seen_never_stale_after_invalidation(a, cookie, received, |u| {
        u.is_some_and(|u| u.name == "ann-newer")
    })
    .await;
}

/// Run `check` over the two nodes `two_nodes` makes for `test` (or nothing, when it applied the skip
/// rule), on a multi-thread tokio runtime of its own with 2 workers: what each test of
/// [`near_two_node_tests!`](crate::near_two_node_tests) does.
///
/// # Panics
/// When the check fails, or the runtime cannot be built.
pub fn run_two_nodes<S, L, F, Fut, C, CFut>(test: &'static str, two_nodes: F, check: C)
where
    F: FnOnce(&'static str) -> Fut,
    Fut: Future<Output = Option<(Node<S, L>, Node<S, L>)>>,
    C: FnOnce(Node<S, L>, Node<S, L>) -> CFut,
    CFut: Future<Output = ()>,
{
    crate::harness::test_runtime().block_on(async move {
        if let Some((a, b)) = two_nodes(test).await {
            check(a, b).await;
        }
    });
}

/// One `#[test]` per line, each running a check of [`near::two_nodes`](crate::near::two_nodes) over two
/// fresh nodes from the store's own factory (an `async fn(&str) -> Option<(Node, Node)>` that applies
/// the skip rule), under the test's own name, with the factory's tag (its table or key prefix, its
/// skip message) and the check's arguments after the two nodes, if it has any:
///
/// ```ignore
/// keycard_store_tests::near_two_node_tests! {
///     two_nodes;
///     /// A doc comment or any other attribute goes on the test.
///     fn a_revocation_on_node_b_is_never_served_by_node_a("near_revoke") => a_revocation_on_b_is_never_served_by_a;
///     fn revocation_lag_is_printed("near_lag") => revocation_lag_is_printed_and_never_stale("near_lag", 20);
/// }
/// ```
#[macro_export]
macro_rules! near_two_node_tests {
    ($two_nodes:path; $($(#[$attr:meta])* fn $test:ident($tag:literal) => $check:ident $(($($arg:expr),* $(,)?))?;)+) => {
        $(
            $(#[$attr])*
            #[test]
            fn $test() {
                $crate::near::two_nodes::run_two_nodes($tag, $two_nodes, |a, b| async move {
                    $crate::near::two_nodes::$check(&a, &b $($(, $arg)*)?).await;
                });
            }
        )+
    };
}
