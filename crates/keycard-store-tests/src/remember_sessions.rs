//! The remember-me sessions suite: remember-me through the [`CredentialsCache`], over a session store
//! and a [`RememberStore`] (usually one object implementing both), run by
//! [`remember_sessions_suite!`](crate::remember_sessions_suite). Where [`remember_suite!`](crate::remember_suite)
//! checks the series alone, this checks what they do to sessions: a redeemed session belongs to its
//! series and is not fresh for sudo mode, concurrent tabs make one session, theft and "log out
//! everywhere" end series and sessions together, a password change ends the series; and the limits of
//! issue 18 (`remember_limits`): one session per series, bounded grace, retry cookies.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use keycard::remember::{RememberPolicy, RememberStore};
use keycard::{CredentialsCache, ManualClock, Policy, Remembered, SessionMetadata, SessionRecord};

use crate::fixtures::{test_policy, user, user_c, TestUser, GRACE, RENEW, SECRET};
use crate::harness::DynStore;
pub use crate::remember_limits::*;

/// The remember-me grace window of the suite (a replaced token is a concurrent tab this long).
pub(crate) const REMEMBER_GRACE: Duration = Duration::from_secs(30);

/// The two stores a test runs over.
pub type Stores = (DynStore, Arc<dyn RememberStore>);

/// One store that keeps both sessions and series (the SQL and Redis stores), as the two handles a test
/// needs: `sqlite_store(test).await.map(both)`.
pub fn both<S>(store: S) -> Stores
where
    S: keycard::Store<TestUser> + RememberStore,
{
    let store = Arc::new(store);
    (store.clone(), store)
}

/// A cache with remember-me over `stores`, on a manual clock.
#[derive(Clone)]
pub struct Fixture {
    /// The cache.
    pub cache: CredentialsCache<TestUser>,
    /// Its clock.
    pub clock: ManualClock,
    /// The stores under the cache.
    pub stores: Stores,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture").finish_non_exhaustive()
    }
}

impl Fixture {
    fn new(stores: Stores) -> Fixture {
        let remember = RememberPolicy {
            ttl: Duration::from_secs(30 * 24 * 3600),
            grace: REMEMBER_GRACE,
            ..RememberPolicy::default()
        };
        Fixture::with(stores, ManualClock::starting_now(), test_policy(), remember)
    }

    /// A cache over `stores` with these policies.
    pub(crate) fn with(
        stores: Stores,
        clock: ManualClock,
        policy: Policy,
        remember: RememberPolicy,
    ) -> Fixture {
        let cache = CredentialsCache::builder_arc(stores.0.clone())
            .secret(SECRET)
            .policy(policy)
            .clock(clock.clone())
            .remember_arc(stores.1.clone())
            .remember_policy(remember)
            .build()
            .expect("the test configuration is valid");
        Fixture {
            cache,
            clock,
            stores,
        }
    }

    pub(crate) async fn remember(&self, u: TestUser) -> (String, Arc<SessionRecord>, String) {
        let r = self
            .cache
            .create_and_remember(u, SessionMetadata::default())
            .await
            .expect("create_and_remember");
        (
            r.signed_in.cookie.as_str().to_owned(),
            r.signed_in.session,
            r.remember_cookie.as_str().to_owned(),
        )
    }

    /// Redeem `cookie` with a loader that finds `found`.
    pub(crate) async fn redeem(
        &self,
        cookie: &str,
        found: Option<TestUser>,
    ) -> Remembered<TestUser> {
        self.cache
            .redeem_remember_me(cookie, SessionMetadata::default(), |_key| async move {
                Ok::<_, std::io::Error>(found)
            })
            .await
            .expect("redeem")
    }

    pub(crate) async fn live(&self, user_key: &str) -> Vec<SessionRecord> {
        self.cache.sessions(user_key).await.expect("sessions")
    }
}

/// Runs one test over fresh stores from `factory` (the skip rule of the conformance suite).
pub fn run<F, Fut, T, TFut>(suite: &str, test_name: &'static str, factory: F, test: T)
where
    F: FnOnce(&'static str) -> Fut,
    Fut: Future<Output = Result<Stores, String>>,
    T: FnOnce(Fixture) -> TFut,
    TFut: Future<Output = ()>,
{
    crate::harness::run_over(suite, test_name, factory, |stores| {
        test(Fixture::new(stores))
    });
}

/// A sign-in that ticks "remember me" makes a session of a new series, and the session keeps its
/// series across renewal and `sync`.
pub async fn a_remembered_sign_in_belongs_to_its_series_across_renewal_and_sync(f: Fixture) {
    let (cookie, session, remember) = f.remember(user(1, "ann")).await;
    let series = f
        .cache
        .remember()
        .expect("configured")
        .series_of(&remember)
        .expect("a signed remember-me cookie");
    assert_eq!(session.remember_series, Some(series));
    assert!(session.authenticated_at.is_some(), "a password sign-in");
    f.clock.advance(RENEW);
    let renewed = f.cache.fetch(&cookie).await.expect("fetch").expect("live");
    assert!(renewed.renewed.is_some(), "a renewal was due");
    assert_eq!(renewed.session.remember_series, Some(series));
    let synced = f
        .cache
        .sync(&session.session_id, user(1, "ann-pro"))
        .await
        .expect("sync")
        .expect("live");
    assert_eq!(synced.session.remember_series, Some(series));
    let listed = f.live("u1").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].remember_series, Some(series));
}

/// Redeeming signs the browser back in with a new session of the same series that has no proof of
/// password (sudo mode asks again), and the rotated cookie redeems next time.
pub async fn redeeming_signs_in_a_new_session_of_the_series_that_is_not_fresh(f: Fixture) {
    let (_, first, remember) = f.remember(user(1, "ann")).await;
    assert!(f.cache.sign_out(&first.session_id).await.expect("sign out"));
    let (signed, next) = match f.redeem(&remember, Some(user(1, "ann"))).await {
        Remembered::SignedIn {
            signed_in,
            remember_cookie,
        } => (signed_in, remember_cookie),
        other => panic!("expected SignedIn, got {other:?}"),
    };
    assert_ne!(signed.session.session_id, first.session_id);
    assert_eq!(signed.session.remember_series, first.remember_series);
    assert_eq!(signed.session.authenticated_at, None, "no password checked");
    let read = f
        .cache
        .fetch(signed.cookie.as_str())
        .await
        .expect("fetch")
        .expect("the new session is live");
    assert_eq!(read.session.session_id, signed.session.session_id);
    assert_eq!(read.session.authenticated_at, None);
    assert!(f
        .cache
        .sign_out(&signed.session.session_id)
        .await
        .expect("out"));
    assert!(matches!(
        f.redeem(next.as_str(), Some(user(1, "ann"))).await,
        Remembered::SignedIn { .. }
    ));
}

/// Sixteen tabs reopening at once with one remember-me token: one new session, every other tab is served
/// as the user (grace), nobody is signed out.
pub async fn concurrent_redemptions_make_one_session_and_sign_nobody_out(f: Fixture) {
    let (_, first, remember) = f.remember(user(1, "ann")).await;
    assert!(f.cache.sign_out(&first.session_id).await.expect("sign out"));
    let tabs: Vec<_> = (0..16)
        .map(|_| {
            let f = f.clone();
            let cookie = remember.clone();
            tokio::spawn(async move { f.redeem(&cookie, Some(user(1, "ann"))).await })
        })
        .collect();
    let (mut signed_in, mut grace) = (0, 0);
    for tab in tabs {
        match tab.await.expect("tab") {
            Remembered::SignedIn { .. } => signed_in += 1,
            Remembered::Grace { user } => {
                assert_eq!(*user, crate::fixtures::user(1, "ann"));
                grace += 1
            }
            other => panic!("a tab was not served: {other:?}"),
        }
    }
    assert_eq!((signed_in, grace), (1, 15));
    assert_eq!(f.live("u1").await.len(), 1, "one new session");
}

/// A token the series moved on from, presented after the grace window (a copied cookie): every session
/// and every series of the user ends, the thief's and the victim's.
pub async fn a_replayed_remember_me_token_ends_every_session_and_series_of_the_user(f: Fixture) {
    let (_, first, stolen) = f.remember(user(1, "ann")).await;
    let (_, _, _other_browser) = f.remember(user(1, "ann")).await;
    f.cache.sign_in_plain_for_test(user(1, "ann")).await;
    assert!(f.cache.sign_out(&first.session_id).await.expect("out"));
    let Remembered::SignedIn { .. } = f.redeem(&stolen, Some(user(1, "ann"))).await else {
        panic!("the thief redeems first");
    };
    assert_eq!(f.live("u1").await.len(), 3);
    f.clock.advance(REMEMBER_GRACE);
    match f.redeem(&stolen, Some(user(1, "ann"))).await {
        Remembered::Theft { user_key } => assert_eq!(user_key, "u1"),
        other => panic!("expected Theft, got {other:?}"),
    }
    assert!(f.live("u1").await.is_empty(), "every session ended");
    assert!(f
        .cache
        .remembered(&user(1, "ann"))
        .await
        .expect("series")
        .is_empty());
}

/// Ending one series ends its sessions and no other; "sign out everywhere else" keeps this browser's
/// series and ends the others; "everywhere" ends them all.
pub async fn ending_a_series_ends_its_sessions_and_log_out_elsewhere_keeps_this_browsers(
    f: Fixture,
) {
    let (_, s1, r1) = f.remember(user(1, "ann")).await;
    let (_, s2, r2) = f.remember(user(1, "ann")).await;
    let plain = f.cache.sign_in_plain_for_test(user(1, "ann")).await;
    let series2 = s2.remember_series.expect("remembered");
    assert_eq!(f.cache.end_series(&series2).await.expect("end"), Some(1));
    assert_eq!(f.cache.end_series(&series2).await.expect("again"), None);
    let ids: Vec<_> = f.live("u1").await.iter().map(|s| s.session_id).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&s1.session_id) && ids.contains(&plain));
    assert!(matches!(
        f.redeem(&r2, Some(user(1, "ann"))).await,
        Remembered::Unknown
    ));
    let (_, _, r3) = f.remember(user(1, "ann")).await;
    let ended = f
        .cache
        .delete_user_sessions("u1", Some(&s1.session_id))
        .await
        .expect("log out elsewhere");
    assert_eq!(ended, 2);
    assert!(matches!(
        f.redeem(&r3, Some(user(1, "ann"))).await,
        Remembered::Unknown
    ));
    let kept = f.cache.remembered(&user(1, "ann")).await.expect("series");
    assert_eq!(kept.len(), 1, "this browser's series");
    assert_eq!(Some(kept[0].series_id), s1.remember_series);
    f.cache
        .delete_user_sessions("u1", None)
        .await
        .expect("log out everywhere");
    assert!(matches!(
        f.redeem(&r1, Some(user(1, "ann"))).await,
        Remembered::Unknown
    ));
}

/// A password change (a new credential fingerprint) ends the series: not listed, not redeemable, and
/// redeeming it removes it.
pub async fn a_password_change_ends_the_users_series(f: Fixture) {
    let before = user_c(1, "ann", 1, 1);
    let after = user_c(1, "ann", 2, 2);
    let (_, session, remember) = f.remember(before.clone()).await;
    assert_eq!(f.cache.remembered(&before).await.expect("series").len(), 1);
    f.cache
        .sync(&session.session_id, after.clone())
        .await
        .expect("sync")
        .expect("live");
    assert!(f.cache.remembered(&after).await.expect("series").is_empty());
    f.clock.advance(GRACE);
    assert!(matches!(
        f.redeem(&remember, Some(after.clone())).await,
        Remembered::Unknown
    ));
    assert!(f
        .cache
        .remember()
        .expect("configured")
        .series("u1")
        .await
        .expect("series")
        .is_empty());
}

/// A user who no longer exists is not signed back in, and their series ends.
pub async fn a_missing_user_is_not_signed_back_in(f: Fixture) {
    let (_, session, remember) = f.remember(user(1, "ann")).await;
    assert!(f.cache.sign_out(&session.session_id).await.expect("out"));
    assert!(matches!(
        f.redeem(&remember, None).await,
        Remembered::Unknown
    ));
    assert!(f.live("u1").await.is_empty());
    assert!(matches!(
        f.redeem(&remember, Some(user(1, "ann"))).await,
        Remembered::Unknown
    ));
}

pub(crate) trait PlainSignIn {
    async fn sign_in_plain_for_test(&self, u: TestUser) -> keycard::SessionId;
}

impl PlainSignIn for CredentialsCache<TestUser> {
    async fn sign_in_plain_for_test(&self, u: TestUser) -> keycard::SessionId {
        self.create(u, SessionMetadata::default())
            .await
            .expect("create")
            .session
            .session_id
    }
}

/// Expands to `mod remember_sessions` with one `#[test]` per behaviour, each over fresh stores from
/// `$factory`, which returns the session store and the remember-me store (often one object, twice).
///
/// ```
/// use std::sync::Arc;
/// keycard_store_tests::remember_sessions_suite!(|_test: &'static str| async {
///     let sessions: keycard_store_tests::DynStore = Arc::new(keycard::MemoryStore::new());
///     let series: Arc<dyn keycard::remember::RememberStore> =
///         Arc::new(keycard::remember::MemoryRemember::new());
///     Ok::<_, String>((sessions, series))
/// });
/// ```
#[macro_export]
macro_rules! remember_sessions_suite {
    ($factory:expr $(,)?) => {
        $crate::__remember_sessions_tests!($factory;
            a_remembered_sign_in_belongs_to_its_series_across_renewal_and_sync,
            redeeming_signs_in_a_new_session_of_the_series_that_is_not_fresh,
            concurrent_redemptions_make_one_session_and_sign_nobody_out,
            a_replayed_remember_me_token_ends_every_session_and_series_of_the_user,
            ending_a_series_ends_its_sessions_and_log_out_elsewhere_keeps_this_browsers,
            a_password_change_ends_the_users_series,
            a_missing_user_is_not_signed_back_in,
            chained_redemptions_leave_one_session_per_series,
            remember_me_grace_answers_are_bounded,
            a_redemption_that_failed_after_writing_answers_a_retry_cookie_that_signs_in,
        );
    };
}

/// Implementation detail of [`remember_sessions_suite!`](crate::remember_sessions_suite).
#[doc(hidden)]
#[macro_export]
macro_rules! __remember_sessions_tests {
    ($factory:expr; $($name:ident),+ $(,)?) => {
        /// The keycard remember-me sessions suite (`keycard_store_tests::remember_sessions`).
        mod remember_sessions {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    $crate::remember_sessions::run(
                        concat!("remember_sessions::", stringify!($name)),
                        stringify!($name),
                        $factory,
                        $crate::remember_sessions::$name,
                    );
                }
            )+
        }
    };
}
