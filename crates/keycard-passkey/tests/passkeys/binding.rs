//! A ceremony finishes only as what it was begun as: its purpose, its user, this server's token, within
//! its lifetime.

use std::time::Duration;

use keycard::Clock;
use keycard_passkey::{BrowserReply, PasskeyError, CEREMONY_TTL};

use crate::common::{reply, Site, SoftAuthenticator, ORIGIN};

fn expired<T: std::fmt::Debug>(r: Result<T, PasskeyError>) {
    assert!(matches!(r, Err(PasskeyError::CeremonyExpired)), "{r:?}");
}

#[tokio::test]
async fn a_ceremony_of_one_purpose_is_refused_for_another() {
    let site = Site::new();
    let mut key = SoftAuthenticator::new(ORIGIN);
    site.register(&mut key, "1", "Key").await;

    let sign_in = site.passkeys.start_sign_in().await.unwrap();
    let credential = key.assert(&sign_in.options).unwrap();
    expired(
        site.passkeys
            .finish_second_step("1", reply(&sign_in, &credential))
            .await,
    );
    expired(
        site.passkeys
            .finish_registration("1", "K", reply(&sign_in, &credential))
            .await,
    );
    // Refused without being consumed: the purpose is checked before the record is taken.
    site.passkeys
        .finish_sign_in(reply(&sign_in, &credential))
        .await
        .unwrap();

    let second = site.passkeys.start_second_step("1").await.unwrap();
    let credential = key.assert(&second.options).unwrap();
    expired(
        site.passkeys
            .finish_sign_in(reply(&second, &credential))
            .await,
    );
    site.passkeys
        .finish_second_step("1", reply(&second, &credential))
        .await
        .unwrap();

    let registration = site.start_registration("1").await;
    let credential = SoftAuthenticator::new(ORIGIN)
        .register(&registration.options)
        .unwrap();
    expired(
        site.passkeys
            .finish_sign_in(reply(&registration, &credential))
            .await,
    );
    expired(
        site.passkeys
            .finish_second_step("1", reply(&registration, &credential))
            .await,
    );
}

#[tokio::test]
async fn a_ceremony_begun_for_one_user_does_not_finish_for_another() {
    let site = Site::new();
    let mut ann = SoftAuthenticator::new(ORIGIN);
    let mut bob = SoftAuthenticator::new(ORIGIN);
    site.register(&mut ann, "ann", "Ann's key").await;
    site.register(&mut bob, "bob", "Bob's key").await;

    // Bob's second step, begun after Bob's password, answered and presented as Ann's.
    let ceremony = site.passkeys.start_second_step("bob").await.unwrap();
    let credential = bob.assert(&ceremony.options).unwrap();
    let result = site
        .passkeys
        .finish_second_step("ann", reply(&ceremony, &credential))
        .await;
    assert!(
        matches!(result, Err(PasskeyError::CeremonyMismatch)),
        "{result:?}"
    );
    expired(
        site.passkeys
            .finish_second_step("bob", reply(&ceremony, &credential))
            .await,
    );

    // Ann's second step answered with Bob's passkey: not one of hers.
    let ceremony = site.passkeys.start_second_step("ann").await.unwrap();
    let mut forced = ceremony.options.clone();
    forced["publicKey"]["allowCredentials"] = serde_json::json!([]);
    let credential = bob.assert(&forced).unwrap();
    let result = site
        .passkeys
        .finish_second_step("ann", reply(&ceremony, &credential))
        .await;
    assert!(
        matches!(result, Err(PasskeyError::UnknownCredential)),
        "{result:?}"
    );

    // A registration begun for Ann, finished in Bob's session.
    let ceremony = site.start_registration("ann").await;
    let credential = SoftAuthenticator::new(ORIGIN)
        .register(&ceremony.options)
        .unwrap();
    let result = site
        .passkeys
        .finish_registration("bob", "New", reply(&ceremony, &credential))
        .await;
    assert!(
        matches!(result, Err(PasskeyError::CeremonyMismatch)),
        "{result:?}"
    );
    assert_eq!(site.passkeys.list("ann").await.unwrap().len(), 1);
    assert_eq!(site.passkeys.list("bob").await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_ceremony_dies_after_its_lifetime() {
    let site = Site::new();
    let mut key = SoftAuthenticator::synced(ORIGIN);
    site.register(&mut key, "1", "Key").await;

    let ceremony = site.passkeys.start_sign_in().await.unwrap();
    assert_eq!(
        ceremony.expires_at,
        site.clock.now().saturating_add(CEREMONY_TTL)
    );
    let credential = key.assert(&ceremony.options).unwrap();
    site.clock.advance(CEREMONY_TTL - Duration::from_millis(1));
    let fresh = site.passkeys.start_sign_in().await.unwrap();
    let fresh_credential = key.assert(&fresh.options).unwrap();
    site.clock.advance(Duration::from_millis(1));
    expired(
        site.passkeys
            .finish_sign_in(reply(&ceremony, &credential))
            .await,
    );
    // One begun later is still live.
    site.passkeys
        .finish_sign_in(reply(&fresh, &fresh_credential))
        .await
        .unwrap();

    let registration = site.start_registration("1").await;
    let credential = SoftAuthenticator::new(ORIGIN)
        .register(&registration.options)
        .unwrap();
    site.clock.advance(CEREMONY_TTL);
    expired(
        site.passkeys
            .finish_registration("1", "Late", reply(&registration, &credential))
            .await,
    );
}

#[tokio::test]
async fn a_token_this_server_did_not_issue_is_refused() {
    let site = Site::new();
    let mut key = SoftAuthenticator::synced(ORIGIN);
    site.register(&mut key, "1", "Key").await;
    let ceremony = site.passkeys.start_sign_in().await.unwrap();
    let credential = key.assert(&ceremony.options).unwrap();

    let mut tampered = ceremony.token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for token in ["", "forged", tampered.as_str(), &"A".repeat(86)] {
        expired(
            site.passkeys
                .finish_sign_in(BrowserReply {
                    token,
                    credential: &credential,
                })
                .await,
        );
    }
    // Another site's secret signs other tokens.
    let other = {
        let config = keycard_passkey::PasskeyConfig::new(
            crate::common::RP_ID,
            "Other",
            keycard_passkey::Url::parse(ORIGIN).unwrap(),
        );
        keycard_passkey::Passkeys::new(
            config,
            site.one_time.clone(),
            site.factors.clone(),
            &[0x77; 64],
        )
        .unwrap()
    };
    expired(other.finish_sign_in(reply(&ceremony, &credential)).await);
    site.passkeys
        .finish_sign_in(reply(&ceremony, &credential))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_new_registration_supersedes_the_unfinished_one() {
    let site = Site::new();
    let first = site.start_registration("1").await;
    let first_credential = SoftAuthenticator::new(ORIGIN)
        .register(&first.options)
        .unwrap();
    let second = site.start_registration("1").await;
    expired(
        site.passkeys
            .finish_registration("1", "Old", reply(&first, &first_credential))
            .await,
    );
    let credential = SoftAuthenticator::new(ORIGIN)
        .register(&second.options)
        .unwrap();
    site.passkeys
        .finish_registration("1", "New", reply(&second, &credential))
        .await
        .unwrap();
    // Another user's registration is not touched by this one's.
    let other = site.start_registration("2").await;
    site.start_registration("1").await;
    let credential = SoftAuthenticator::new(ORIGIN)
        .register(&other.options)
        .unwrap();
    site.passkeys
        .finish_registration("2", "Theirs", reply(&other, &credential))
        .await
        .unwrap();
}
