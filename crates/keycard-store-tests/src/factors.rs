//! The second-factor suite: what every [`FactorStore`] must do, run by
//! [`factor_suite!`](crate::factor_suite). The claiming steps race for real (a multi-thread runtime).

use std::future::Future;
use std::sync::Arc;

use keycard::factor::{FactorStore, PasskeyRecord, TotpRecord};
use keycard::token::TokenHash;
use keycard::Timestamp;

/// Runs one test over a fresh store from `factory` (the skip rule of the conformance suite).
pub fn run<F, Fut, S, T, TFut>(suite: &str, test_name: &'static str, factory: F, test: T)
where
    F: FnOnce(&'static str) -> Fut,
    Fut: Future<Output = Result<S, String>>,
    S: FactorStore,
    T: FnOnce(Arc<dyn FactorStore>) -> TFut,
    TFut: Future<Output = ()>,
{
    crate::harness::run_over(suite, test_name, factory, |store| test(Arc::new(store)));
}

const T0: Timestamp = Timestamp(1_800_000_000_000);

fn totp() -> TotpRecord {
    TotpRecord {
        sealed_secret: vec![0xff, 0, 1, 2, 3],
        enabled_at: T0,
        last_step: None,
    }
}

fn passkey(id: &[u8], name: &str) -> PasskeyRecord {
    PasskeyRecord {
        id: id.to_vec(),
        name: name.to_owned(),
        data: vec![1, 2, 3, 0xff],
        created_at: T0,
        last_used_at: None,
    }
}

fn code(n: u8) -> TokenHash {
    TokenHash([n; 32])
}

/// A TOTP time step is accepted once: sixteen concurrent claims of one step, exactly one wins; an earlier
/// step is a replay; a later one is accepted. Turning TOTP off forgets it, bytes of the sealed secret
/// come back unchanged.
pub async fn a_totp_step_is_claimed_once_under_concurrent_claims(s: Arc<dyn FactorStore>) {
    assert!(!s.claim_totp_step("u1", 1).await.expect("claim"), "no TOTP");
    s.set_totp("u1", Some(totp())).await.expect("set");
    assert_eq!(s.totp("u1").await.expect("totp"), Some(totp()));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.claim_totp_step("u1", 100).await })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        if t.await.expect("task").expect("claim") {
            won += 1;
        }
    }
    assert_eq!(won, 1, "exactly one claim of step 100");
    assert!(
        !s.claim_totp_step("u1", 99).await.expect("claim"),
        "an earlier step"
    );
    assert!(s.claim_totp_step("u1", 101).await.expect("claim"));
    assert_eq!(
        s.totp("u1").await.expect("totp").and_then(|t| t.last_step),
        Some(101)
    );
    assert!(s.totp("u2").await.expect("totp").is_none(), "per user");
    s.set_totp("u1", None).await.expect("off");
    assert!(s.totp("u1").await.expect("totp").is_none());
}

/// A recovery code is used once: sixteen concurrent uses, exactly one succeeds; the count goes down; a
/// new set replaces the old one entirely.
pub async fn a_recovery_code_is_used_once_under_concurrent_uses(s: Arc<dyn FactorStore>) {
    s.set_recovery_codes("u1", (0..10).map(code).collect())
        .await
        .expect("set");
    assert_eq!(s.recovery_codes_left("u1").await.expect("left"), 10);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.use_recovery_code("u1", &code(3)).await })
        })
        .collect();
    let mut used = 0;
    for t in tasks {
        if t.await.expect("task").expect("use") {
            used += 1;
        }
    }
    assert_eq!(used, 1);
    assert_eq!(s.recovery_codes_left("u1").await.expect("left"), 9);
    assert!(
        !s.use_recovery_code("u2", &code(4)).await.expect("use"),
        "per user"
    );
    s.set_recovery_codes("u1", vec![code(50)])
        .await
        .expect("regenerate");
    assert!(
        !s.use_recovery_code("u1", &code(4)).await.expect("use"),
        "replaced"
    );
    assert!(s.use_recovery_code("u1", &code(50)).await.expect("use"));
    assert_eq!(s.recovery_codes_left("u1").await.expect("left"), 0);
}

/// Passkeys: added, listed oldest first, found by credential id (whoever owns it), updated after a use,
/// renamed, removed; a credential id is registered once across every user.
pub async fn passkeys_are_kept_found_by_id_and_unique(s: Arc<dyn FactorStore>) {
    s.add_passkey("u1", passkey(b"cred-a", "Phone"))
        .await
        .expect("add");
    s.add_passkey("u1", passkey(b"cred-b", "Key"))
        .await
        .expect("add");
    assert!(
        s.add_passkey("u2", passkey(b"cred-a", "Stolen"))
            .await
            .is_err(),
        "unique id"
    );
    let listed = s.passkeys("u1").await.expect("list");
    assert_eq!(
        listed.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["Phone", "Key"]
    );
    assert_eq!(listed[0], passkey(b"cred-a", "Phone"));
    assert_eq!(
        s.passkey_owner(b"cred-b").await.expect("owner").as_deref(),
        Some("u1")
    );
    assert_eq!(s.passkey_owner(b"nope").await.expect("owner"), None);
    let later = Timestamp(T0.0 + 1000);
    assert!(s
        .update_passkey("u1", b"cred-a", vec![9], later)
        .await
        .expect("update"));
    assert!(
        !s.update_passkey("u2", b"cred-a", vec![9], later)
            .await
            .expect("update"),
        "not u2's"
    );
    assert!(s
        .rename_passkey("u1", b"cred-a", "Old phone")
        .await
        .expect("rename"));
    let a = &s.passkeys("u1").await.expect("list")[0];
    assert_eq!(
        (a.name.as_str(), a.data.as_slice(), a.last_used_at),
        ("Old phone", &[9u8][..], Some(later))
    );
    assert!(
        !s.remove_passkey("u2", b"cred-b").await.expect("remove"),
        "not u2's"
    );
    assert!(s.remove_passkey("u1", b"cred-b").await.expect("remove"));
    let f = s.factors("u1").await.expect("factors");
    assert_eq!((f.totp, f.passkeys), (false, 1));
    assert!(f.second_step_required());
    assert!(!s
        .factors("u9")
        .await
        .expect("factors")
        .second_step_required());
}

/// Expands to `mod factors` with one `#[test]` per second-factor behaviour, each over a fresh
/// [`FactorStore`] from `$factory` (the conformance suite's rules). Invoke it once per file.
///
/// ```
/// keycard_store_tests::factor_suite!(|_test: &'static str| async {
///     Ok::<_, String>(keycard::factor::MemoryFactors::new())
/// });
/// ```
#[macro_export]
macro_rules! factor_suite {
    ($factory:expr $(,)?) => {
        $crate::__factor_tests!($factory;
            a_totp_step_is_claimed_once_under_concurrent_claims,
            a_recovery_code_is_used_once_under_concurrent_uses,
            passkeys_are_kept_found_by_id_and_unique,
        );
    };
}

/// Implementation detail of [`factor_suite!`](crate::factor_suite).
#[doc(hidden)]
#[macro_export]
macro_rules! __factor_tests {
    ($factory:expr; $($name:ident),+ $(,)?) => {
        /// The keycard second-factor suite (`keycard_store_tests::factors`), over this crate's store.
        mod factors {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    $crate::factors::run(
                        concat!("factors::", stringify!($name)),
                        stringify!($name),
                        $factory,
                        $crate::factors::$name,
                    );
                }
            )+
        }
    };
}
