//! The whole code flow: sign up by provider, sign in again, and the linking rules of a first sign-in.

use reqwest::StatusCode;

use crate::common::{TestApp, PASSWORD};
use crate::provider::provider;
use crate::{app, sign_in_with, signed_in_as, through_provider, user_count, Account};

/// Mark `email`'s account confirmed, as its confirmation link would.
async fn confirm(app: &TestApp, email: &str) {
    sqlx::query("UPDATE users SET confirmed_at = 1, version = version + 1 WHERE email = $1")
        .bind(email)
        .execute(app.db())
        .await
        .expect("confirm");
}

#[tokio::test]
async fn a_trusted_verified_identity_signs_up_then_signs_in_again_as_the_same_user() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    let b = app.browser();
    let page = b.get("/session/new").await;
    assert!(page.body.contains("Sign in with Test"), "the button");
    assert!(page.body.contains(r#"href="/auth/oidc/test""#));

    let account = Account::new("new-by-provider@example.com");
    let res = sign_in_with(&b, &app, &p, "test", &account).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some("/profile"));
    assert_eq!(
        signed_in_as(&b).await.as_deref(),
        Some("new-by-provider@example.com")
    );
    assert_eq!(user_count(&app).await, 1, "an account was made");
    // Fresh for sudo mode, as a password sign-in is: the settings page's buttons act at once.
    let ids = b.get("/account/identities").await;
    assert_eq!(ids.status, StatusCode::OK);
    assert!(ids.body.contains("id=\"link-test\""), "in sudo mode");
    assert!(ids.body.contains("new-by-provider@example.com"));
    assert!(ids.body.contains("Your only way to sign in"));
    // The account has no password: a password sign-in fails like any wrong password.
    let other = app.browser();
    let refused = other.sign_in("new-by-provider@example.com", "").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let refused = other.sign_in("new-by-provider@example.com", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // Nor is there a password to confirm for sudo mode: the page says how instead.
    let confirm = b
        .post(
            "/session/confirm",
            &[("password", ""), ("return_to", "/profile")],
        )
        .await;
    assert_eq!(confirm.status, StatusCode::CONFLICT, "{}", confirm.body);
    assert!(confirm.body.contains("has no password"));

    // Again, in another browser: the same user, nothing new.
    let again = app.browser();
    let res = sign_in_with(&again, &app, &p, "test", &account).await;
    assert_eq!(res.location(), Some("/profile"), "{}", res.body);
    assert_eq!(
        signed_in_as(&again).await.as_deref(),
        Some("new-by-provider@example.com")
    );
    assert_eq!(user_count(&app).await, 1);
}

/// The same new identity's first sign-in in two tabs, their callbacks at once: one account, both tabs
/// signed in as it. (The tab that loses the race to create the account decides again on the account
/// the other made; it was told "sign in with your password first", on an account that has none.)
#[tokio::test]
async fn two_first_sign_ins_of_one_identity_at_once_make_one_account_and_sign_both_in() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    // Several rounds: each is one chance for both callbacks to look before either creates.
    const ROUNDS: usize = 4;
    for round in 0..ROUNDS {
        let email = format!("two-tabs-{round}@example.com");
        let account = Account::new(&email);
        let (a, b) = (app.browser(), app.browser());
        let start_a = a.get("/auth/oidc/test").await;
        let back_a = through_provider(&a, &app, &p, start_a, &account, "allow").await;
        let start_b = b.get("/auth/oidc/test").await;
        let back_b = through_provider(&b, &app, &p, start_b, &account, "allow").await;

        let (res_a, res_b) = tokio::join!(a.get(&back_a), b.get(&back_b));
        for (tab, res) in [("first", &res_a), ("second", &res_b)] {
            assert_eq!(
                res.location(),
                Some("/profile"),
                "round {round}, {tab} tab: {} {}",
                res.status,
                res.body
            );
        }
        assert_eq!(signed_in_as(&a).await.as_deref(), Some(email.as_str()));
        assert_eq!(signed_in_as(&b).await.as_deref(), Some(email.as_str()));
        assert_eq!(
            user_count(&app).await,
            round as i64 + 1,
            "one account a round"
        );
    }
}

#[tokio::test]
async fn a_confirmed_account_is_linked_by_a_trusted_verified_email() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    let owner = app.browser();
    owner.registered("confirmed@example.com").await;
    confirm(&app, "confirmed@example.com").await;

    let b = app.browser();
    let account = Account::new("confirmed@example.com");
    let res = sign_in_with(&b, &app, &p, "test", &account).await;
    assert_eq!(res.location(), Some("/profile"), "{}", res.body);
    assert_eq!(
        signed_in_as(&b).await.as_deref(),
        Some("confirmed@example.com")
    );
    assert_eq!(user_count(&app).await, 1, "linked, not created");
    let ids = b.get("/account/identities").await;
    assert!(ids.body.contains("class=\"identity\""), "{}", ids.body);
    // The password still works, so the identity may be unlinked.
    assert!(!ids.body.contains("Your only way to sign in"));
}

/// Every case where nothing may be linked or created gets the same page: it does not tell whether an
/// account has the email.
#[tokio::test]
async fn nothing_is_linked_or_created_unless_provider_token_and_account_all_vouch_for_the_email() {
    let Some(p) = provider() else { return };
    let app = app(&p).await;
    let owner = app.browser();
    owner.registered("unconfirmed@example.com").await;
    owner.sign_out().await;
    owner.registered("confirmed2@example.com").await;
    confirm(&app, "confirmed2@example.com").await;
    let before = user_count(&app).await;

    let cases = [
        (
            "test",
            Account::new("unconfirmed@example.com"),
            "the account's email is not confirmed",
        ),
        (
            "other",
            Account::new("confirmed2@example.com"),
            "the provider is not trusted for email",
        ),
        (
            "test",
            Account::new("confirmed2@example.com").unverified(),
            "the token does not say verified",
        ),
        (
            "test",
            Account::new("nobody@example.com").unverified(),
            "no account, an unverified email",
        ),
        (
            "other",
            Account::new("nobody2@example.com"),
            "no account, an untrusted provider",
        ),
        (
            "test",
            Account::new("x@example.com").without_email(),
            "no email at all",
        ),
    ];
    let mut messages = Vec::new();
    for (key, account, why) in cases {
        let b = app.browser();
        let res = sign_in_with(&b, &app, &p, key, &account).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{why}: {}", res.body);
        assert!(res.body.contains("sign in with your password"), "{why}");
        assert_eq!(signed_in_as(&b).await, None, "{why}: not signed in");
        let start = res.body.find("<main").unwrap_or(0);
        let main = &res.body[start..];
        let end = main.find("</main>").unwrap_or(main.len());
        messages.push(main[..end].to_owned());
    }
    assert!(
        messages.windows(2).all(|w| w[0] == w[1]),
        "one page for every case"
    );
    assert_eq!(user_count(&app).await, before, "nothing created");
    let none: i64 = {
        use sqlx::Row as _;
        sqlx::query("SELECT COUNT(*) AS n FROM keycard_identities")
            .fetch_one(app.db())
            .await
            .expect("count")
            .try_get("n")
            .expect("n")
    };
    assert_eq!(none, 0, "nothing linked");
}
