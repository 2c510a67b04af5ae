//! A passkey as the second step of a password sign-in, beside the code field of
//! `/session/two-factor`.

use reqwest::StatusCode;

use crate::common::{Browser, TestApp, PASSWORD};
use crate::{answer, ceremony, passkey_id, with_passkey};

/// Password sign-in of `email` in a new browser: it lands on the second step.
async fn password_step(app: &TestApp, email: &str) -> Browser {
    let b = app.browser();
    let p = b.sign_in(email, PASSWORD).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location(), Some("/session/two-factor"));
    b
}

#[tokio::test]
async fn a_password_sign_in_of_a_passkey_account_asks_for_the_passkey() {
    let app = TestApp::start().await;
    let (_, mut key, _) = with_passkey(&app, "ada@example.com").await;
    let b = password_step(&app, "ada@example.com").await;
    assert!(
        b.me().await.is_none(),
        "not signed in before the second step"
    );
    let page = b.get("/session/two-factor").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Use a passkey"), "{}", page.body);
    assert!(page
        .body
        .contains(r#"action="/session/two-factor/passkey""#));
    let c = ceremony(&b, "/session/two-factor/passkey/options").await;
    let allowed = c["options"]["publicKey"]["allowCredentials"]
        .as_array()
        .expect("the account's passkeys");
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0]["id"], passkey_id(&key, 0));
    let credential = key.assert(&c["options"]).expect("an assertion");
    let done = answer(&b, "/session/two-factor/passkey", &c, &credential, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some("/profile"));
    assert_eq!(b.me().await.expect("signed in")["email"], "ada@example.com");
}

#[tokio::test]
async fn another_accounts_passkey_does_not_answer_the_second_step() {
    let app = TestApp::start().await;
    let (_, mut ada_key, _) = with_passkey(&app, "ada@example.com").await;
    let (_, mut mallory_key, _) = with_passkey(&app, "mallory@example.com").await;
    let b = password_step(&app, "ada@example.com").await;
    let c = ceremony(&b, "/session/two-factor/passkey/options").await;
    // Mallory's authenticator answers although the options name only Ada's passkey.
    let theirs = mallory_key
        .assert_with(&c["options"], Some(0))
        .expect("an assertion");
    let refused = answer(&b, "/session/two-factor/passkey", &c, &theirs, &[]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(
        refused.body.contains("not registered here"),
        "{}",
        refused.body
    );
    assert!(b.me().await.is_none());
    // The login is still pending: Ada's passkey finishes it.
    let c = ceremony(&b, "/session/two-factor/passkey/options").await;
    let ours = ada_key.assert(&c["options"]).expect("an assertion");
    let done = answer(&b, "/session/two-factor/passkey", &c, &ours, &[]).await;
    assert_eq!(done.location(), Some("/profile"), "{}", done.body);
}

#[tokio::test]
async fn a_recovery_code_still_answers_the_second_step_of_a_passkey_account() {
    let app = TestApp::start().await;
    let (_, _, codes) = with_passkey(&app, "ada@example.com").await;
    let b = password_step(&app, "ada@example.com").await;
    let page = b.get("/session/two-factor").await;
    assert!(page.body.contains("Recovery code"), "{}", page.body);
    // The passkey is this account's only second factor: the page leads with it.
    let passkey_form = page.body.find(r#"action="/session/two-factor/passkey""#);
    let code_form = page.body.find(r#"action="/session/two-factor""#);
    assert!(
        passkey_form.is_some() && passkey_form < code_form,
        "the passkey comes before the recovery code: {}",
        page.body
    );
    let done = b.post("/session/two-factor", &[("code", &codes[0])]).await;
    assert_eq!(done.location(), Some("/profile"), "{}", done.body);
    assert!(b.me().await.is_some());
}

#[tokio::test]
async fn the_passkey_second_step_needs_a_pending_login() {
    let app = TestApp::start().await;
    let (_, mut key, _) = with_passkey(&app, "ada@example.com").await;
    let b = app.browser();
    let options = b.post("/session/two-factor/passkey/options", &[]).await;
    assert_eq!(options.status, StatusCode::UNAUTHORIZED);
    assert!(options.json()["error"]
        .as_str()
        .is_some_and(|e| e.contains("timed out")));
    // A sign-in ceremony's answer is no second step either.
    let c = ceremony(&b, "/session/passkey/options").await;
    let credential = key.assert(&c["options"]).expect("an assertion");
    let p = answer(&b, "/session/two-factor/passkey", &c, &credential, &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), Some("/session/new"));
    assert!(b.me().await.is_none());
}
