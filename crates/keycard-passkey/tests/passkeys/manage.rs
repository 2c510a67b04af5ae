//! The settings page: list, rename, remove, and the rule that an account keeps a way to sign in.

use std::sync::Arc;

use keycard_passkey::{can_remove, PasskeyError};
use tokio::sync::Barrier;

use crate::common::{reply, Site, SoftAuthenticator, ORIGIN};

#[test]
fn the_last_way_to_sign_in_may_not_be_removed() {
    assert!(
        !can_remove(1, false),
        "the only passkey of an account with no password"
    );
    assert!(can_remove(1, true), "a password is left");
    assert!(can_remove(2, false), "another passkey is left");
    assert!(!can_remove(0, false));
}

#[tokio::test]
async fn rename_and_remove_touch_only_the_accounts_own_passkeys() {
    let site = Site::new();
    let mut ann = SoftAuthenticator::new(ORIGIN);
    let mut bob = SoftAuthenticator::new(ORIGIN);
    let ann_id = site.register(&mut ann, "ann", "Phone").await;
    let bob_id = site.register(&mut bob, "bob", "Key").await;

    site.passkeys
        .rename("ann", &ann_id, " Work phone ")
        .await
        .unwrap();
    assert_eq!(
        site.passkeys.list("ann").await.unwrap()[0].name,
        "Work phone"
    );
    for (user, id) in [
        ("ann", bob_id.as_str()),
        ("ann", "not base64!"),
        ("ann", ""),
    ] {
        let r = site.passkeys.rename(user, id, "Mine").await;
        assert!(matches!(r, Err(PasskeyError::UnknownCredential)), "{r:?}");
        let r = site.passkeys.remove(user, id, true).await;
        assert!(matches!(r, Err(PasskeyError::UnknownCredential)), "{r:?}");
    }
    assert_eq!(site.passkeys.list("bob").await.unwrap()[0].name, "Key");

    // Ann has no password: her only passkey stays.
    let r = site.passkeys.remove("ann", &ann_id, false).await;
    assert!(matches!(r, Err(PasskeyError::LastSignInMethod)), "{r:?}");
    // With a password, it goes, and it no longer signs in.
    site.passkeys.remove("ann", &ann_id, true).await.unwrap();
    assert!(site.passkeys.list("ann").await.unwrap().is_empty());
    let ceremony = site.passkeys.start_sign_in().await.unwrap();
    let credential = ann.assert(&ceremony.options).unwrap();
    let r = site
        .passkeys
        .finish_sign_in(reply(&ceremony, &credential))
        .await;
    assert!(matches!(r, Err(PasskeyError::UnknownCredential)), "{r:?}");
    let r = site.passkeys.start_second_step("ann").await;
    assert!(matches!(r, Err(PasskeyError::NoPasskeys)), "{r:?}");
}

/// Two removals of an account's last two passkeys at once (no password): at least one passkey stays,
/// whatever the interleaving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_removals_leave_a_way_to_sign_in() {
    for _ in 0..20 {
        let site = Site::new();
        let mut ids = Vec::new();
        for name in ["Phone", "Laptop"] {
            ids.push(
                site.register(&mut SoftAuthenticator::new(ORIGIN), "1", name)
                    .await,
            );
        }
        let barrier = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = ids
            .iter()
            .map(|id| {
                let (passkeys, barrier, id) = (site.passkeys.clone(), barrier.clone(), id.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    passkeys.remove("1", &id, false).await
                })
            })
            .collect();
        let mut removed = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => removed += 1,
                Err(PasskeyError::LastSignInMethod) => {}
                Err(e) => panic!("{e:?}"),
            }
        }
        let left = site.passkeys.list("1").await.unwrap().len();
        assert!(left >= 1, "no way to sign in left");
        assert_eq!(left, 2 - removed);
    }
}
