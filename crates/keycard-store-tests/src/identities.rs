//! The linked-identity suite: what every [`IdentityStore`] must do, run by
//! [`identity_suite!`](crate::identity_suite). The linking step races for real (a multi-thread runtime).

use std::future::Future;
use std::sync::Arc;

use keycard::identity::{IdentityRecord, IdentityStore, LinkOutcome};
use keycard::Timestamp;

/// Runs one test over a fresh store from `factory` (the skip rule of the conformance suite).
pub fn run<F, Fut, S, T, TFut>(suite: &str, test_name: &'static str, factory: F, test: T)
where
    F: FnOnce(&'static str) -> Fut,
    Fut: Future<Output = Result<S, String>>,
    S: IdentityStore,
    T: FnOnce(Arc<dyn IdentityStore>) -> TFut,
    TFut: Future<Output = ()>,
{
    crate::harness::run_over(suite, test_name, factory, |store| test(Arc::new(store)));
}

const T0: Timestamp = Timestamp(1_800_000_000_000);

fn identity(provider: &str, subject: &str, user_key: &str, at: u64) -> IdentityRecord {
    IdentityRecord {
        provider: provider.to_owned(),
        subject: subject.to_owned(),
        user_key: user_key.to_owned(),
        email: Some(format!("{subject}@example.com")),
        created_at: Timestamp(T0.0 + at),
        last_used_at: None,
    }
}

/// One user per (provider, subject): sixteen users race to link the same pair, exactly one is
/// `Linked` and every other is told whose it is; the same subject at another provider is another
/// identity.
pub async fn an_identity_links_to_one_user_under_concurrent_links(s: Arc<dyn IdentityStore>) {
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let user = format!("u{i}");
                (
                    user.clone(),
                    s.link(identity("idp", "sub-1", &user, 0)).await,
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut told = Vec::new();
    for t in tasks {
        let (user, outcome) = t.await.expect("task");
        match outcome.expect("link") {
            LinkOutcome::Linked => winners.push(user),
            LinkOutcome::Taken { user_key } => told.push(user_key),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one link wins");
    assert!(
        told.iter().all(|u| *u == winners[0]),
        "the losers learn the owner"
    );
    let found = s.find_identity("idp", "sub-1").await.expect("find");
    assert_eq!(found.map(|r| r.user_key), Some(winners[0].clone()));
    assert_eq!(
        s.link(identity("other", "sub-1", "u99", 0))
            .await
            .expect("link"),
        LinkOutcome::Linked,
        "the same subject at another provider is another identity"
    );
    assert_eq!(s.find_identity("idp", "sub-2").await.expect("find"), None);
}

/// Identities are listed oldest first (all fields kept), touched on use, unlinked only by their own
/// user, and all removed with the account.
pub async fn identities_are_listed_touched_and_unlinked_by_their_user(s: Arc<dyn IdentityStore>) {
    let mut b = identity("idp", "b", "u1", 20);
    b.email = None;
    s.link(b.clone()).await.expect("link");
    s.link(identity("corp", "a", "u1", 10)).await.expect("link");
    s.link(identity("idp", "c", "u2", 5)).await.expect("link");
    let listed = s.identities("u1").await.expect("list");
    assert_eq!(listed, vec![identity("corp", "a", "u1", 10), b.clone()]);
    let later = Timestamp(T0.0 + 1000);
    assert!(s.touch_identity("idp", "b", later).await.expect("touch"));
    assert!(!s.touch_identity("idp", "zz", later).await.expect("touch"));
    assert_eq!(
        s.find_identity("idp", "b")
            .await
            .expect("find")
            .and_then(|r| r.last_used_at),
        Some(later)
    );
    assert!(
        !s.unlink("u2", "idp", "b").await.expect("unlink"),
        "not u2's"
    );
    assert!(s.find_identity("idp", "b").await.expect("find").is_some());
    assert!(s.unlink("u1", "idp", "b").await.expect("unlink"));
    assert!(!s.unlink("u1", "idp", "b").await.expect("unlink"), "gone");
    assert_eq!(s.find_identity("idp", "b").await.expect("find"), None);
    assert_eq!(s.unlink_all("u1").await.expect("all"), 1);
    assert!(s.identities("u1").await.expect("list").is_empty());
    assert_eq!(
        s.identities("u2").await.expect("list").len(),
        1,
        "u2 keeps hers"
    );
    assert_eq!(
        s.link(identity("idp", "b", "u3", 30)).await.expect("link"),
        LinkOutcome::Linked,
        "an unlinked identity can be linked again"
    );
}

/// Expands to `mod identities` with one `#[test]` per linked-identity behaviour, each over a fresh
/// [`IdentityStore`] from `$factory` (the conformance suite's rules). Invoke it once per file.
///
/// ```
/// keycard_store_tests::identity_suite!(|_test: &'static str| async {
///     Ok::<_, String>(keycard::identity::MemoryIdentities::new())
/// });
/// ```
#[macro_export]
macro_rules! identity_suite {
    ($factory:expr $(,)?) => {
        $crate::__identity_tests!($factory;
            an_identity_links_to_one_user_under_concurrent_links,
            identities_are_listed_touched_and_unlinked_by_their_user,
        );
    };
}

/// Implementation detail of [`identity_suite!`](crate::identity_suite).
#[doc(hidden)]
#[macro_export]
macro_rules! __identity_tests {
    ($factory:expr; $($name:ident),+ $(,)?) => {
        /// The keycard linked-identity suite (`keycard_store_tests::identities`), over this crate's store.
        mod identities {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    $crate::identities::run(
                        concat!("identities::", stringify!($name)),
                        stringify!($name),
                        $factory,
                        $crate::identities::$name,
                    );
                }
            )+
        }
    };
}
