//! Every ceremony token is answered once: a replay is refused, and of concurrent finishes exactly one
//! gets the ceremony (the one-time record's redemption), whatever node or task they run on.

use std::sync::Arc;

use keycard_passkey::{BrowserReply, PasskeyError};
use tokio::sync::Barrier;

use crate::common::{reply, Site, SoftAuthenticator, ORIGIN};

#[tokio::test]
async fn a_sign_in_answer_replayed_is_refused() {
    let site = Site::new();
    let mut phone = SoftAuthenticator::synced(ORIGIN);
    site.register(&mut phone, "42", "Phone").await;
    let ceremony = site.passkeys.start_sign_in().await.unwrap();
    let credential = phone.assert(&ceremony.options).unwrap();
    site.passkeys
        .finish_sign_in(reply(&ceremony, &credential))
        .await
        .unwrap();
    let again = site
        .passkeys
        .finish_sign_in(reply(&ceremony, &credential))
        .await;
    assert!(
        matches!(again, Err(PasskeyError::CeremonyExpired)),
        "{again:?}"
    );
}

#[tokio::test]
async fn an_answer_to_one_ceremony_does_not_finish_another() {
    let site = Site::new();
    let mut phone = SoftAuthenticator::synced(ORIGIN);
    site.register(&mut phone, "42", "Phone").await;
    let first = site.passkeys.start_sign_in().await.unwrap();
    let credential = phone.assert(&first.options).unwrap();
    let second = site.passkeys.start_sign_in().await.unwrap();
    // The signed answer carries the first challenge: presented with the second token, it is refused,
    // and the second ceremony is used up.
    let crossed = site
        .passkeys
        .finish_sign_in(BrowserReply {
            token: &second.token,
            credential: &credential,
        })
        .await;
    assert!(
        matches!(crossed, Err(PasskeyError::Rejected { .. })),
        "{crossed:?}"
    );
    site.passkeys
        .finish_sign_in(reply(&first, &credential))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_failed_finish_uses_the_ceremony_up() {
    let site = Site::new();
    let mut phone = SoftAuthenticator::synced(ORIGIN);
    site.register(&mut phone, "42", "Phone").await;
    let ceremony = site.passkeys.start_sign_in().await.unwrap();
    let credential = phone.assert(&ceremony.options).unwrap();
    let garbage = site
        .passkeys
        .finish_sign_in(reply(&ceremony, "{not json"))
        .await;
    assert!(
        matches!(garbage, Err(PasskeyError::MalformedResponse { .. })),
        "{garbage:?}"
    );
    let late = site
        .passkeys
        .finish_sign_in(reply(&ceremony, &credential))
        .await;
    assert!(
        matches!(late, Err(PasskeyError::CeremonyExpired)),
        "{late:?}"
    );
}

/// Sixteen finishes of one answer at once (two worker threads): one signs in, fifteen find the
/// ceremony gone; the passkey's stored state is written once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_finishes_of_one_ceremony_have_exactly_one_winner() {
    const RACERS: usize = 16;
    for flow in ["sign_in", "second_step", "register"] {
        let site = Site::new();
        let mut key = SoftAuthenticator::new(ORIGIN);
        site.register(&mut key, "9", "Key").await;
        let (ceremony, credential) = match flow {
            "sign_in" => {
                let c = site.passkeys.start_sign_in().await.unwrap();
                let cred = key.assert(&c.options).unwrap();
                (c, cred)
            }
            "second_step" => {
                let c = site.passkeys.start_second_step("9").await.unwrap();
                let cred = key.assert(&c.options).unwrap();
                (c, cred)
            }
            _ => {
                let c = site.start_registration("9").await;
                let cred = SoftAuthenticator::new(ORIGIN).register(&c.options).unwrap();
                (c, cred)
            }
        };
        let barrier = Arc::new(Barrier::new(RACERS));
        let mut tasks = Vec::new();
        for _ in 0..RACERS {
            let (passkeys, barrier) = (site.passkeys.clone(), barrier.clone());
            let (token, credential) = (ceremony.token.clone(), credential.clone());
            tasks.push(tokio::spawn(async move {
                let reply = BrowserReply {
                    token: &token,
                    credential: &credential,
                };
                barrier.wait().await;
                match flow {
                    "sign_in" => passkeys.finish_sign_in(reply).await.map(|_| ()),
                    "second_step" => passkeys.finish_second_step("9", reply).await.map(|_| ()),
                    _ => passkeys
                        .finish_registration("9", "Other", reply)
                        .await
                        .map(|_| ()),
                }
            }));
        }
        let (mut won, mut expired) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => won += 1,
                Err(PasskeyError::CeremonyExpired) => expired += 1,
                Err(e) => panic!("{flow}: {e:?}"),
            }
        }
        assert_eq!((won, expired), (1, RACERS - 1), "{flow}");
    }
}
