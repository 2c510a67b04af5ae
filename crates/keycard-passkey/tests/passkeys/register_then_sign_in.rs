//! A passkey registered, then used: to sign in with no username, and as a second step; what is stored
//! reads back through the factor store.

use keycard::Clock;
use keycard_passkey::PasskeyInfo;

use crate::common::{reply, Site, SoftAuthenticator, ORIGIN};

#[tokio::test]
async fn a_registered_passkey_signs_in_with_no_username() {
    let site = Site::new();
    let mut phone = SoftAuthenticator::synced(ORIGIN);
    let id = site.register(&mut phone, "42", "Phone").await;

    let ceremony = site.passkeys.start_sign_in().await.unwrap();
    assert_eq!(ceremony.options["mediation"], "conditional");
    assert_eq!(
        ceremony.options["publicKey"]["allowCredentials"],
        serde_json::json!([]),
        "nobody is named: the authenticator offers what it holds"
    );
    let credential = phone.assert(&ceremony.options).unwrap();
    let verified = site
        .passkeys
        .finish_sign_in(reply(&ceremony, &credential))
        .await
        .unwrap();
    assert_eq!(verified.user_key, "42");
    assert_eq!(verified.passkey_id, id);
    assert!(verified.user_verified);
    assert!(
        verified.backup_eligible && verified.backed_up,
        "a synced passkey"
    );
    assert_eq!(verified.counter, 0);
}

#[tokio::test]
async fn a_registered_passkey_answers_the_second_step() {
    let site = Site::new();
    let mut key = SoftAuthenticator::new(ORIGIN);
    let id = site.register(&mut key, "7", "Security key").await;

    let ceremony = site.passkeys.start_second_step("7").await.unwrap();
    assert!(
        ceremony.options.get("mediation").is_none(),
        "a dialog, not autofill"
    );
    let allowed = &ceremony.options["publicKey"]["allowCredentials"];
    assert_eq!(allowed.as_array().map(Vec::len), Some(1));
    assert_eq!(allowed[0]["id"], id.as_str(), "only the user's passkeys");

    let credential = key.assert(&ceremony.options).unwrap();
    let verified = site
        .passkeys
        .finish_second_step("7", reply(&ceremony, &credential))
        .await
        .unwrap();
    assert_eq!(verified.user_key, "7");
    assert_eq!(verified.passkey_id, id);
    assert!(!verified.backup_eligible);
}

#[tokio::test]
async fn registration_asks_for_a_discoverable_verified_credential_and_excludes_the_accounts_own() {
    let site = Site::new();
    let ceremony = site.start_registration("1").await;
    let pk = &ceremony.options["publicKey"];
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(pk["authenticatorSelection"]["requireResidentKey"], true);
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(pk["rp"]["id"], "example.com");
    assert_eq!(pk["user"]["name"], "user1@example.com");
    assert!(pk
        .get("excludeCredentials")
        .is_none_or(|e| e == &serde_json::json!([])));

    let mut phone = SoftAuthenticator::new(ORIGIN);
    let id = site.register(&mut phone, "1", "Phone").await;
    let again = site.start_registration("1").await;
    let excluded = &again.options["publicKey"]["excludeCredentials"];
    assert_eq!(excluded[0]["id"], id.as_str());
    assert_eq!(
        again.options["publicKey"]["user"]["id"], pk["user"]["id"],
        "one user handle per account"
    );
}

#[tokio::test]
async fn the_stored_passkey_round_trips_through_the_factor_store() {
    let site = Site::new();
    let mut phone = SoftAuthenticator::new(ORIGIN);
    let mut laptop = SoftAuthenticator::synced(ORIGIN);
    let t0 = site.clock.now();
    let phone_id = site.register(&mut phone, "42", "  Phone\u{7}  ").await;
    site.clock.advance(std::time::Duration::from_secs(60));
    let laptop_id = site.register(&mut laptop, "42", "").await;

    let listed = site.passkeys.list("42").await.unwrap();
    let names: Vec<(&str, &str)> = listed
        .iter()
        .map(|p: &PasskeyInfo| (p.id.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (phone_id.as_str(), "Phone"),
            (laptop_id.as_str(), "Passkey")
        ]
    );
    assert_eq!(listed[0].created_at, t0);
    assert_eq!(listed[0].last_used_at, None);

    // The records the store holds are what a later sign-in reads: the data is the credential.
    let records = site.factors.passkeys("42").await.unwrap();
    assert_eq!(
        site.factors
            .passkey_owner(&records[1].id)
            .await
            .unwrap()
            .as_deref(),
        Some("42")
    );
    let data: serde_json::Value = serde_json::from_slice(&records[0].data).unwrap();
    assert_eq!(data["v"], 1);
    assert!(data["passkey"]["cred"]["cred_id"].is_string());

    site.clock.advance(std::time::Duration::from_secs(60));
    let ceremony = site.passkeys.start_sign_in().await.unwrap();
    let credential = laptop.assert(&ceremony.options).unwrap();
    let verified = site
        .passkeys
        .finish_sign_in(reply(&ceremony, &credential))
        .await
        .unwrap();
    assert_eq!(verified.passkey_id, laptop_id);
    let listed = site.passkeys.list("42").await.unwrap();
    assert_eq!(
        listed[1].last_used_at,
        Some(site.clock.now()),
        "the use is recorded"
    );
    assert_eq!(listed[0].last_used_at, None);
}

#[tokio::test]
async fn a_user_needs_a_name_and_one_stands_in_for_the_other() {
    use keycard_passkey::{PasskeyError, PasskeyUser};
    let site = Site::new();
    let start = |name: &'static str, display_name: &'static str| {
        let passkeys = site.passkeys.clone();
        async move {
            passkeys
                .start_registration(PasskeyUser {
                    key: "1",
                    name,
                    display_name,
                })
                .await
        }
    };
    let c = start("ann@example.com", " ").await.unwrap();
    assert_eq!(
        c.options["publicKey"]["user"]["displayName"],
        "ann@example.com"
    );
    let c = start("", "Ann").await.unwrap();
    assert_eq!(c.options["publicKey"]["user"]["name"], "Ann");
    let none = start(" ", "").await;
    assert!(
        matches!(none, Err(PasskeyError::UserWithoutName)),
        "{none:?}"
    );
}
