//! The account's linked identities: link from settings (sudo), sign in with the linked identity,
//! unlink (sudo), and the last way to sign in that cannot be removed.

use reqwest::StatusCode;

use crate::common::{Browser, TestApp, PASSWORD};
use crate::provider::{provider, TestProvider};
use crate::{app, sign_in_with, signed_in_as, through_provider, Account};

/// How long sudo mode lasts in the tests' configuration (`SUDO_SECS`).
const SUDO_SECS: u64 = 600;

/// Link `account` at `key` to the signed-in user of `b` (in sudo mode): the demo's answer.
async fn link(
    b: &Browser,
    app: &TestApp,
    p: &TestProvider,
    key: &str,
    account: &Account,
) -> crate::common::Page {
    let start = b
        .post(&format!("/account/identities/{key}/link"), &[])
        .await;
    let back = through_provider(b, app, p, start, account, "allow").await;
    b.get(&back).await
}

async fn unlink(b: &Browser, key: &str, account: &Account) -> crate::common::Page {
    b.post(
        "/account/identities/unlink",
        &[("provider", key), ("subject", &account.sub)],
    )
    .await
}

#[tokio::test]
async fn linking_from_settings_needs_sudo_and_then_signs_in_as_that_user() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    let b = app.browser();
    b.registered("linker@example.com").await;
    app.advance(SUDO_SECS + 1);
    let page = b.get("/account/identities").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("id=\"link-confirm\""),
        "out of sudo mode"
    );
    let res = b.post("/account/identities/test/link", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        res.location()
            .is_some_and(|l| l.starts_with("/session/confirm")),
        "sudo first: {:?}",
        res.location()
    );
    let confirmed = b
        .post(
            "/session/confirm",
            &[("password", PASSWORD), ("return_to", "/account/identities")],
        )
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );

    // Any email, verified or not, trusted or not: the user proved both accounts are theirs.
    let account = Account::new("elsewhere@example.org").unverified();
    let res = link(&b, &app, &p, "other", &account).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some("/account/identities"));
    let page = b.get("/account/identities").await;
    assert!(page.body.contains("elsewhere@example.org"), "{}", page.body);
    assert!(page.body.contains(">Other<"));

    let fresh = app.browser();
    let res = sign_in_with(&fresh, &app, &p, "other", &account).await;
    assert_eq!(res.location(), Some("/profile"), "{}", res.body);
    assert_eq!(
        signed_in_as(&fresh).await.as_deref(),
        Some("linker@example.com")
    );

    // Another user cannot take it.
    let thief = app.browser();
    thief.registered("thief@example.com").await;
    let res = link(&thief, &app, &p, "other", &account).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(res.body.contains("linked to another account"));
}

#[tokio::test]
async fn the_last_way_to_sign_in_cannot_be_unlinked_and_unlinking_needs_sudo() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    let b = app.browser();
    let first = Account::new("only-provider@example.com");
    let res = sign_in_with(&b, &app, &p, "test", &first).await;
    assert_eq!(res.location(), Some("/profile"), "{}", res.body);

    // One identity, no password, no passkey: refused, and still there.
    let res = unlink(&b, "test", &first).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(res.body.contains("only way to sign in"));

    // A second identity: now either may go, but not both.
    let second = Account::new("second@example.net");
    let res = link(&b, &app, &p, "other", &second).await;
    assert_eq!(res.location(), Some("/account/identities"), "{}", res.body);
    let page = b.get("/account/identities").await;
    assert_eq!(page.body.matches("class=\"identity\"").count(), 2);
    assert!(!page.body.contains("Your only way to sign in"));

    // Out of sudo mode: to the confirmation first (the account has no password: it signs in again).
    app.advance(SUDO_SECS + 1);
    let res = unlink(&b, "test", &first).await;
    assert!(
        res.location()
            .is_some_and(|l| l.starts_with("/session/confirm")),
        "sudo first: {:?}",
        res.location()
    );
    let b = app.browser();
    let res = sign_in_with(&b, &app, &p, "other", &second).await;
    assert_eq!(res.location(), Some("/profile"), "{}", res.body);

    let res = unlink(&b, "test", &first).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some("/account/identities"));
    let res = unlink(&b, "other", &second).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "the last one stays");
    let page = b.get("/account/identities").await;
    assert_eq!(page.body.matches("class=\"identity\"").count(), 1);

    // The unlinked identity is unknown again: it signs in as the account with its (confirmed,
    // verified, trusted) email by the policy, which is this same account: linked anew.
    let again = app.browser();
    let res = sign_in_with(&again, &app, &p, "test", &first).await;
    assert_eq!(res.location(), Some("/profile"), "{}", res.body);
    assert_eq!(
        signed_in_as(&again).await.as_deref(),
        Some("only-provider@example.com")
    );
}
