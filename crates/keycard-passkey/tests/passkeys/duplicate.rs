//! A credential id is registered once, to one account: the spec's "reject a credential id known for any
//! user" (#sctn-registering-a-new-credential).

use keycard_passkey::PasskeyError;

use crate::common::{
    authenticator::b64, reply, AuthenticatorError, Site, SoftAuthenticator, ORIGIN,
};

#[tokio::test]
async fn an_authenticator_with_a_passkey_here_is_excluded_from_registering_another() {
    let site = Site::new();
    let mut phone = SoftAuthenticator::new(ORIGIN);
    site.register(&mut phone, "1", "Phone").await;
    let ceremony = site.start_registration("1").await;
    assert_eq!(
        phone.register(&ceremony.options),
        Err(AuthenticatorError::Excluded)
    );
}

#[tokio::test]
async fn a_credential_id_registered_to_anybody_is_refused() {
    let site = Site::new();
    let mut phone = SoftAuthenticator::new(ORIGIN);
    let id = site.register(&mut phone, "1", "Phone").await;
    let raw = phone.credentials[0].id.clone();

    // A client that claims the victim's credential id for a credential of its own: for another account
    // (so the victim's next sign-in would land there), and for the same account past the exclusion.
    for user in ["2", "1"] {
        let mut liar = SoftAuthenticator::new(ORIGIN);
        liar.next_id = Some(raw.clone());
        let ceremony = site.start_registration(user).await;
        let credential = liar.register(&ceremony.options).unwrap();
        let result = site
            .passkeys
            .finish_registration(user, "Mine", reply(&ceremony, &credential))
            .await;
        assert!(
            matches!(result, Err(PasskeyError::AlreadyRegistered)),
            "user {user}: {result:?}"
        );
    }
    let ones: Vec<String> = site
        .passkeys
        .list("1")
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ones, [id]);
    assert!(site.passkeys.list("2").await.unwrap().is_empty());
}

#[tokio::test]
async fn of_two_concurrent_registrations_of_one_credential_id_one_wins() {
    let site = Site::new();
    let id = vec![0xab; 32];
    let mut finishes = Vec::new();
    for user in ["4", "5"] {
        let mut authenticator = SoftAuthenticator::new(ORIGIN);
        authenticator.next_id = Some(id.clone());
        let ceremony = site.start_registration(user).await;
        let credential = authenticator.register(&ceremony.options).unwrap();
        let passkeys = site.passkeys.clone();
        finishes.push(tokio::spawn(async move {
            let reply = keycard_passkey::BrowserReply {
                token: &ceremony.token,
                credential: &credential,
            };
            passkeys.finish_registration(user, "Key", reply).await
        }));
    }
    let mut won = 0;
    for f in finishes {
        match f.await.unwrap() {
            Ok(record) => {
                won += 1;
                assert_eq!(b64(&record.id), b64(&id));
            }
            Err(PasskeyError::AlreadyRegistered) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(won, 1);
}
