//! An answer made for another site is refused: another origin in the client data (a phishing page
//! relaying the ceremony), another relying party id in the authenticator data.

use keycard_passkey::PasskeyError;

use crate::common::{reply, Site, SoftAuthenticator, ORIGIN};

fn wrong_origin<T: std::fmt::Debug>(r: Result<T, PasskeyError>) {
    assert!(matches!(r, Err(PasskeyError::WrongOrigin)), "{r:?}");
}

#[tokio::test]
async fn a_registration_from_another_origin_is_refused() {
    let site = Site::new();
    for origin in [
        "https://evil.example",
        "https://example.com.evil.example",
        "http://example.com",
        "https://example.com:8443",
        "https://app.example.com",
    ] {
        let mut phish = SoftAuthenticator::new(origin);
        let ceremony = site.start_registration("1").await;
        let credential = phish.register(&ceremony.options).unwrap();
        wrong_origin(
            site.passkeys
                .finish_registration("1", "K", reply(&ceremony, &credential))
                .await,
        );
    }
    assert!(site.passkeys.list("1").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_sign_in_from_another_origin_or_relying_party_is_refused() {
    let site = Site::new();
    let mut key = SoftAuthenticator::synced(ORIGIN);
    site.register(&mut key, "1", "Key").await;

    key.origin = "https://evil.example".into();
    let ceremony = site.passkeys.start_sign_in().await.unwrap();
    let credential = key.assert(&ceremony.options).unwrap();
    wrong_origin(
        site.passkeys
            .finish_sign_in(reply(&ceremony, &credential))
            .await,
    );

    let ceremony = site.passkeys.start_second_step("1").await.unwrap();
    let credential = key.assert(&ceremony.options).unwrap();
    wrong_origin(
        site.passkeys
            .finish_second_step("1", reply(&ceremony, &credential))
            .await,
    );

    // The right origin, but the authenticator signs for another relying party id.
    key.origin = ORIGIN.into();
    key.credentials[0].rp_id = "evil.example".into();
    let ceremony = site.passkeys.start_sign_in().await.unwrap();
    let mut options = ceremony.options.clone();
    options["publicKey"]["rpId"] = "evil.example".into();
    let credential = key.assert(&options).unwrap();
    wrong_origin(
        site.passkeys
            .finish_sign_in(reply(&ceremony, &credential))
            .await,
    );
}

#[tokio::test]
async fn an_unverified_user_is_refused() {
    let site = Site::new();
    let mut key = SoftAuthenticator::new(ORIGIN);
    site.register(&mut key, "1", "Key").await;
    key.verifies_user = false;
    let ceremony = site.passkeys.start_sign_in().await.unwrap();
    let credential = key.assert(&ceremony.options).unwrap();
    let result = site
        .passkeys
        .finish_sign_in(reply(&ceremony, &credential))
        .await;
    assert!(
        matches!(result, Err(PasskeyError::Rejected { .. })),
        "{result:?}"
    );

    let ceremony = site.start_registration("2").await;
    let credential = key.register(&ceremony.options).unwrap();
    let result = site
        .passkeys
        .finish_registration("2", "K", reply(&ceremony, &credential))
        .await;
    assert!(
        matches!(result, Err(PasskeyError::Rejected { .. })),
        "{result:?}"
    );
}
