//! Remember-me limits through the cache (issue 18), run by
//! [`remember_sessions_suite!`](crate::remember_sessions_suite): a redemption replaces the older
//! sessions of its series (chained redemptions cannot pile up sessions), a replaced token answers a
//! bounded number of grace requests, and a redemption whose store call failed after writing answers a
//! retry cookie that signs the browser back in instead of looking like theft.

use std::sync::Arc;

use keycard::remember::{
    RedeemPlan, Redemption, RememberPolicy, RememberStore, SeriesId, SeriesRecord,
};
use keycard::token::TokenHash;
use keycard::{Remembered, SessionMetadata, StoreError, Timestamp};

use crate::fixtures::{test_policy, user};
use crate::remember_sessions::{Fixture, PlainSignIn, REMEMBER_GRACE};

fn series_of(f: &Fixture, cookie: &str) -> SeriesId {
    f.cache
        .remember()
        .expect("configured")
        .series_of(cookie)
        .expect("a signed remember-me cookie")
}

/// W10: a remember-me cookie redeemed again and again (the session cookie dropped each time) leaves one
/// session of its series, not one per redemption; the user's other sessions stay.
pub async fn chained_redemptions_leave_one_session_per_series(f: Fixture) {
    let (_, _, mut remember) = f.remember(user(1, "ann")).await;
    let other = f.cache.sign_in_plain_for_test(user(1, "ann")).await;
    let series = series_of(&f, &remember);
    for round in 0..6 {
        remember = match f.redeem(&remember, Some(user(1, "ann"))).await {
            Remembered::SignedIn {
                remember_cookie, ..
            } => remember_cookie.as_str().to_owned(),
            other => panic!("round {round}: expected SignedIn, got {other:?}"),
        };
    }
    let live = f.live("u1").await;
    let of_series = live
        .iter()
        .filter(|s| s.remember_series == Some(series))
        .count();
    assert_eq!(of_series, 1, "one session per series: {live:?}");
    assert!(live.iter().any(|s| s.session_id == other), "untouched");
    assert_eq!(live.len(), 2);
}

/// V3: a replaced remember-me token answers at most `grace_uses` grace requests; later ones are
/// anonymous (and leave the cookie alone), while the winner's session and cookie go on working.
pub async fn remember_me_grace_answers_are_bounded(f: Fixture) {
    let g = Fixture::with(
        f.stores.clone(),
        f.clock.clone(),
        test_policy(),
        RememberPolicy {
            grace: REMEMBER_GRACE,
            grace_uses: 2,
            ..RememberPolicy::default()
        },
    );
    let (_, first, remember) = g.remember(user(1, "ann")).await;
    assert!(g.cache.sign_out(&first.session_id).await.expect("out"));
    let (winner, next) = match g.redeem(&remember, Some(user(1, "ann"))).await {
        Remembered::SignedIn {
            signed_in,
            remember_cookie,
        } => (signed_in, remember_cookie),
        other => panic!("expected SignedIn, got {other:?}"),
    };
    for i in 0..2 {
        assert!(
            matches!(
                g.redeem(&remember, Some(user(1, "ann"))).await,
                Remembered::Grace { .. }
            ),
            "grace answer {i}"
        );
    }
    match g.redeem(&remember, Some(user(1, "ann"))).await {
        Remembered::GraceExhausted { user_key } => assert_eq!(user_key, "u1"),
        other => panic!("expected GraceExhausted, got {other:?}"),
    }
    assert!(g
        .cache
        .fetch(winner.cookie.as_str())
        .await
        .expect("fetch")
        .is_some());
    assert!(g
        .cache
        .sign_out(&winner.session.session_id)
        .await
        .expect("out"));
    assert!(matches!(
        g.redeem(next.as_str(), Some(user(1, "ann"))).await,
        Remembered::SignedIn { .. }
    ));
}

/// W13: the store wrote the rotation but the call failed (a timeout against a paused store). The error
/// carries a retry cookie; presented long after the grace window, it signs the browser back in rather
/// than ending every session as theft.
pub async fn a_redemption_that_failed_after_writing_answers_a_retry_cookie_that_signs_in(
    f: Fixture,
) {
    let (_, first, remember) = f.remember(user(1, "ann")).await;
    assert!(f.cache.sign_out(&first.session_id).await.expect("out"));
    let stalled = Fixture::with(
        (
            f.stores.0.clone(),
            Arc::new(WritesThenFails(f.stores.1.clone())),
        ),
        f.clock.clone(),
        test_policy(),
        RememberPolicy {
            grace: REMEMBER_GRACE,
            ..RememberPolicy::default()
        },
    );
    let failed = stalled
        .cache
        .redeem_remember_me(&remember, SessionMetadata::default(), |_key| async {
            Ok::<_, std::io::Error>(Some(user(1, "ann")))
        })
        .await
        .expect_err("the store call failed");
    let retry = failed
        .remember_cookie
        .expect("a retry cookie goes out with the 503");
    f.clock.advance(REMEMBER_GRACE * 3);
    match f.redeem(retry.as_str(), Some(user(1, "ann"))).await {
        Remembered::SignedIn { signed_in, .. } => {
            assert_eq!(&*signed_in.session.user_key, "u1");
            assert_eq!(
                f.live("u1").await.len(),
                1,
                "signed back in, not signed out"
            );
        }
        other => panic!("expected SignedIn, got {other:?}"),
    }
}

/// A [`RememberStore`] whose `redeem` writes, then fails, as a call that timed out after the store ran
/// it does.
struct WritesThenFails(Arc<dyn RememberStore>);

#[async_trait::async_trait]
impl RememberStore for WritesThenFails {
    async fn create_series(&self, series: SeriesRecord) -> Result<(), StoreError> {
        self.0.create_series(series).await
    }

    async fn redeem(
        &self,
        series_id: &SeriesId,
        presented: &TokenHash,
        plan: RedeemPlan,
    ) -> Result<Redemption, StoreError> {
        self.0.redeem(series_id, presented, plan).await?;
        Err(StoreError::new(
            crate::spy::SPY_BACKEND,
            "redeem",
            "timed out (after the store wrote)",
        ))
    }

    async fn delete_series(&self, series_id: &SeriesId) -> Result<Option<String>, StoreError> {
        self.0.delete_series(series_id).await
    }

    async fn delete_user_series(
        &self,
        user_key: &str,
        except: Option<&SeriesId>,
    ) -> Result<usize, StoreError> {
        self.0.delete_user_series(user_key, except).await
    }

    async fn series(
        &self,
        user_key: &str,
        now: Timestamp,
    ) -> Result<Vec<SeriesRecord>, StoreError> {
        self.0.series(user_key, now).await
    }

    async fn sweep_series(&self, now: Timestamp) -> Result<usize, StoreError> {
        self.0.sweep_series(now).await
    }

    fn route_tag(&self, user_key: &str) -> Option<keycard::RouteTag> {
        self.0.route_tag(user_key)
    }
}
