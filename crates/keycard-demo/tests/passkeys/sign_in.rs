//! "Sign in with a passkey": no email typed, no second step; single use, bound to the origin, rate
//! limited.

use reqwest::StatusCode;

use crate::common::TestApp;
use crate::{answer, ceremony, sign_in_with, with_passkey};

#[tokio::test]
async fn the_sign_in_page_offers_a_passkey_and_loads_its_script_from_a_file() {
    let app = TestApp::start().await;
    let page = app.browser().get("/session/new").await;
    assert!(
        page.body.contains("Sign in with a passkey"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains(r#"data-options="/session/passkey/options""#));
    assert!(page
        .body
        .contains(r#"<script src="/static/passkeys.js" defer></script>"#));
    assert!(!page.body.contains("<script>"), "no inline script (CSP)");
    let script = app.browser().get("/static/passkeys.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.headers["content-type"]
        .to_str()
        .expect("type")
        .starts_with("text/javascript"));
    assert!(script.body.contains("navigator.credentials.create"));
}

#[tokio::test]
async fn a_passkey_signs_in_with_no_email_and_no_second_step() {
    let app = TestApp::start().await;
    let (owner, mut key, _) = with_passkey(&app, "ada@example.com").await;
    let b = app.browser();
    let c = ceremony(&b, "/session/passkey/options").await;
    assert!(
        c["options"]["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "no account named: {c}"
    );
    assert_eq!(c["options"]["publicKey"]["rpId"], "localhost");
    let credential = key.assert(&c["options"]).expect("an assertion");
    let signed = answer(&b, "/session/passkey", &c, &credential, &[]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert_eq!(signed.location(), Some("/profile"));
    let me = b.me().await.expect("signed in");
    assert_eq!(me["email"], "ada@example.com");
    // The list says when it was used.
    app.advance(120);
    let list = owner.get("/account/passkeys").await;
    assert!(!list.body.contains(">never<"), "{}", list.body);
    assert!(list.body.contains("2 minutes ago"), "{}", list.body);
}

#[tokio::test]
async fn a_sign_in_answer_is_single_use() {
    let app = TestApp::start().await;
    let (_, mut key, _) = with_passkey(&app, "ada@example.com").await;
    let b = app.browser();
    let c = ceremony(&b, "/session/passkey/options").await;
    let credential = key.assert(&c["options"]).expect("an assertion");
    let first = answer(&b, "/session/passkey", &c, &credential, &[]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let thief = app.browser();
    let again = answer(&thief, "/session/passkey", &c, &credential, &[]).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(
        again.body.contains("timed out or was already used"),
        "{}",
        again.body
    );
    assert!(thief.me().await.is_none());
}

#[tokio::test]
async fn an_answer_made_for_another_origin_signs_nobody_in() {
    let app = TestApp::start().await;
    let (_, mut key, _) = with_passkey(&app, "ada@example.com").await;
    key.origin = "https://phishing.example".into();
    let b = app.browser();
    let refused = sign_in_with(&b, &mut key).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.body.contains("was not accepted"),
        "{}",
        refused.body
    );
    assert!(b.me().await.is_none());
}

#[tokio::test]
async fn passkey_sign_ins_begun_are_limited_per_client() {
    let app = TestApp::start().await;
    let b = app.browser();
    let limit = keycard_demo::domain::throttle::PASSKEY_STARTS_PER_CLIENT.max;
    for _ in 0..limit {
        ceremony(&b, "/session/passkey/options").await;
    }
    let refused = b.post("/session/passkey/options", &[]).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key("retry-after"));
}
