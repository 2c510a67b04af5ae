//! The signature counter: stored after each use, and a counter that does not move past the stored one
//! refused as a possible clone (#sctn-sign-counter), the stored credential left as it was.

use keycard_passkey::PasskeyError;

use crate::common::{reply, Site, SoftAuthenticator, ORIGIN};

async fn stored_counter(site: &Site, user: &str) -> u64 {
    let records = site.factors.passkeys(user).await.unwrap();
    let data: serde_json::Value = serde_json::from_slice(&records[0].data).unwrap();
    data["passkey"]["cred"]["counter"].as_u64().unwrap()
}

async fn sign_in(site: &Site, key: &mut SoftAuthenticator) -> Result<u32, PasskeyError> {
    let ceremony = site.passkeys.start_sign_in().await.unwrap();
    let credential = key.assert(&ceremony.options).unwrap();
    site.passkeys
        .finish_sign_in(reply(&ceremony, &credential))
        .await
        .map(|v| v.counter)
}

#[tokio::test]
async fn the_sign_counter_is_stored_after_each_use() {
    let site = Site::new();
    let mut key = SoftAuthenticator::new(ORIGIN);
    site.register(&mut key, "1", "Key").await;
    assert_eq!(stored_counter(&site, "1").await, 0);
    assert_eq!(sign_in(&site, &mut key).await.unwrap(), 1);
    assert_eq!(stored_counter(&site, "1").await, 1);
    assert_eq!(sign_in(&site, &mut key).await.unwrap(), 2);
    let ceremony = site.passkeys.start_second_step("1").await.unwrap();
    let credential = key.assert(&ceremony.options).unwrap();
    let v = site
        .passkeys
        .finish_second_step("1", reply(&ceremony, &credential))
        .await
        .unwrap();
    assert_eq!(v.counter, 3);
    assert_eq!(stored_counter(&site, "1").await, 3);
}

#[tokio::test]
async fn a_counter_that_went_backwards_is_refused_and_nothing_is_written() {
    let site = Site::new();
    let mut key = SoftAuthenticator::new(ORIGIN);
    site.register(&mut key, "1", "Key").await;
    for _ in 0..5 {
        sign_in(&site, &mut key).await.unwrap();
    }
    assert_eq!(stored_counter(&site, "1").await, 5);
    let used_at = site.passkeys.list("1").await.unwrap()[0].last_used_at;

    // A clone of the key, copied when its counter was 2: its next signature says 3.
    key.credentials[0].counter = 2;
    site.clock.advance(std::time::Duration::from_secs(5));
    let cloned = sign_in(&site, &mut key).await;
    assert!(
        matches!(cloned, Err(PasskeyError::CounterRegressed)),
        "{cloned:?}"
    );
    // A counter equal to the stored one is refused too.
    key.credentials[0].counter = 4;
    let equal = sign_in(&site, &mut key).await;
    assert!(
        matches!(equal, Err(PasskeyError::CounterRegressed)),
        "{equal:?}"
    );
    // And in the second step.
    key.credentials[0].counter = 0;
    let ceremony = site.passkeys.start_second_step("1").await.unwrap();
    let credential = key.assert(&ceremony.options).unwrap();
    let result = site
        .passkeys
        .finish_second_step("1", reply(&ceremony, &credential))
        .await;
    assert!(
        matches!(result, Err(PasskeyError::CounterRegressed)),
        "{result:?}"
    );

    assert_eq!(
        stored_counter(&site, "1").await,
        5,
        "the stored credential is left as it was"
    );
    assert_eq!(
        site.passkeys.list("1").await.unwrap()[0].last_used_at,
        used_at
    );

    // The genuine key, one past the stored counter, still signs in.
    key.credentials[0].counter = 5;
    assert_eq!(sign_in(&site, &mut key).await.unwrap(), 6);
}

#[tokio::test]
async fn a_synced_passkey_without_a_counter_signs_in_again_and_again() {
    let site = Site::new();
    let mut phone = SoftAuthenticator::synced(ORIGIN);
    site.register(&mut phone, "1", "Phone").await;
    for _ in 0..3 {
        assert_eq!(sign_in(&site, &mut phone).await.unwrap(), 0);
    }
    assert_eq!(stored_counter(&site, "1").await, 0);
}
