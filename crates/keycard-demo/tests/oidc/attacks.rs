//! The attacks on the code flow: each refused with a clear page, nobody signed in, nothing created.

use reqwest::StatusCode;

use crate::common::{Page, TestApp};
use crate::provider::{provider, TestProvider};
use crate::{app, sign_in_with, signed_in_as, through_provider, user_count, Account};

/// The page of a refused ID token (or an issuer the provider contradicts).
const UNVERIFIED: &str = "could not be verified";
/// The page of a used, forged or foreign `state`.
const EXPIRED: &str = "expired or was already used";

async fn refused(
    app: &TestApp,
    b: &crate::common::Browser,
    res: &Page,
    status: StatusCode,
    says: &str,
) {
    assert_eq!(res.status, status, "{}", res.body);
    assert!(res.body.contains(says), "says {says:?}: {}", res.body);
    assert!(
        res.set_cookies()
            .iter()
            .any(|c| c.starts_with("keycard_oidc=;")),
        "the flow cookie is cleared"
    );
    assert_eq!(signed_in_as(b).await, None, "nobody signed in");
    assert_eq!(user_count(app).await, 0, "nothing created");
}

/// A sign-in whose token response the provider was told to change with `mode`.
async fn tampered(app: &TestApp, p: &TestProvider, mode: &str, says: &str, reason: &str) {
    let b = app.browser();
    let account = Account::new(&format!("{mode}@example.com"));
    p.tamper(&account.sub, mode).await;
    let res = sign_in_with(&b, app, p, "test", &account).await;
    refused(app, &b, &res, StatusCode::BAD_REQUEST, says).await;
    code(&res, reason);
}

/// The page names the check that failed.
fn code(res: &Page, code: &str) {
    assert!(
        res.body.contains(&format!("Error code: {code}.")),
        "{code}: {}",
        res.body
    );
}

#[tokio::test]
async fn an_id_token_for_another_client_is_refused() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    tampered(&app, &p, "foreign_aud", UNVERIFIED, "wrong_audience").await;
}

#[tokio::test]
async fn a_swapped_nonce_is_refused() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    tampered(&app, &p, "nonce", UNVERIFIED, "nonce_mismatch").await;
}

#[tokio::test]
async fn a_token_signed_by_an_unknown_key_is_refused_after_one_jwks_refetch() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    tampered(&app, &p, "unknown_key", UNVERIFIED, "unknown_key").await;
}

#[tokio::test]
async fn an_id_token_from_another_issuer_is_refused() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    tampered(&app, &p, "issuer", UNVERIFIED, "issuer_mismatch").await;
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    tampered(&app, &p, "expired", UNVERIFIED, "expired").await;
}

#[tokio::test]
async fn a_token_endpoint_error_is_a_provider_error() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    tampered(
        &app,
        &p,
        "token_error",
        "answered with an error",
        "provider_error",
    )
    .await;
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused_before_the_provider_is_used() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    let b = app.browser();
    let res = b.get("/auth/oidc/third").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    assert!(res.body.contains(UNVERIFIED));
    code(&res, "issuer_mismatch");
    assert!(res.location().is_none(), "not sent to the provider");
    let res = b.get("/auth/oidc/nope").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_denied_consent_and_a_provider_error_are_refused() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    for (decision, says, reason) in [
        ("deny", "You declined", "denied"),
        ("error", "answered with an error", "provider_error"),
    ] {
        let b = app.browser();
        let start = b.get("/auth/oidc/test").await;
        let back = through_provider(
            &b,
            &app,
            &p,
            start,
            &Account::new("no@example.com"),
            decision,
        )
        .await;
        assert!(back.contains("error="), "{back}");
        let res = b.get(&back).await;
        refused(&app, &b, &res, StatusCode::BAD_REQUEST, says).await;
        code(&res, reason);
    }
}

#[tokio::test]
async fn a_replayed_state_is_refused() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    let b = app.browser();
    let account = Account::new("replay@example.com");
    let start = b.get("/auth/oidc/test").await;
    let back = through_provider(&b, &app, &p, start, &account, "allow").await;
    let first = b.get(&back).await;
    assert_eq!(first.location(), Some("/profile"), "{}", first.body);
    b.sign_out().await;
    // The same redirect again (from the history, a log, a proxy): the flow is used up.
    let again = b.get(&back).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert!(again.body.contains(EXPIRED));
    code(&again, "flow_expired");
    assert_eq!(signed_in_as(&b).await, None);
    // A state nobody issued, and none at all.
    for path in [
        "/auth/oidc/test/callback?state=forged&code=x",
        "/auth/oidc/test/callback?code=x",
    ] {
        let res = b.get(path).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        assert!(res.body.contains(EXPIRED));
    }
}

/// Login CSRF: an attacker's own redirect back, opened in the victim's browser, signs nobody in.
#[tokio::test]
async fn a_callback_in_another_browser_is_refused() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    let attacker = app.browser();
    let start = attacker.get("/auth/oidc/test").await;
    let back = through_provider(
        &attacker,
        &app,
        &p,
        start,
        &Account::new("attacker@example.com"),
        "allow",
    )
    .await;
    let victim = app.browser();
    let res = victim.get(&back).await;
    refused(&app, &victim, &res, StatusCode::BAD_REQUEST, EXPIRED).await;
    code(&res, "browser_mismatch");
    // And it is used up for the attacker too.
    let res = attacker.get(&back).await;
    refused(&app, &attacker, &res, StatusCode::BAD_REQUEST, EXPIRED).await;
    code(&res, "flow_expired");
}

/// The provider rotates its signing key: the demo refetches the JWKS on the unknown `kid` and goes on.
#[tokio::test]
async fn a_rotated_signing_key_is_fetched_and_accepted() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    let b = app.browser();
    let res = sign_in_with(&b, &app, &p, "test", &Account::new("before@example.com")).await;
    assert_eq!(res.location(), Some("/profile"), "{}", res.body);
    p.rotate().await;
    let b = app.browser();
    let res = sign_in_with(&b, &app, &p, "test", &Account::new("after@example.com")).await;
    assert_eq!(
        res.location(),
        Some("/profile"),
        "after rotation: {}",
        res.body
    );
    assert_eq!(signed_in_as(&b).await.as_deref(), Some("after@example.com"));
}
