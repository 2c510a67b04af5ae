//! The linking policy and the settings' rules, without a provider: `Oidc::sign_in`, `link`,
//! `link_new_account` and `unlink` over memory stores, on identities the crate's test constructor makes
//! (what `Oidc::finish` returns after a verified ID token).

use std::sync::Arc;

use keycard::identity::{IdentityStore, MemoryIdentities};
use keycard::onetime::MemoryOneTime;
use keycard_oidc::{ExistingAccount, Intent, Oidc, OidcError, ProviderConfig, SignIn, Verified};

fn oidc() -> (Oidc, Arc<MemoryIdentities>) {
    let ids = Arc::new(MemoryIdentities::new());
    let config = |name: &str, trust: bool| {
        ProviderConfig::new(
            name,
            "https://idp.example",
            "client",
            "https://app.example/cb",
        )
        .trust_email(trust)
    };
    let oidc = Oidc::new(
        vec![config("Trusted", true), config("Untrusted", false)],
        Arc::new(MemoryOneTime::new()),
        ids.clone(),
        &[7u8; 64],
    )
    .expect("configured");
    (oidc, ids)
}

fn verified(provider: &str, sub: &str, email: Option<&str>, email_verified: bool) -> Verified {
    Verified::for_tests(
        provider,
        sub,
        email,
        email_verified,
        provider == "trusted",
        Intent::SignIn,
    )
}

fn account(key: &str, confirmed: bool) -> Option<ExistingAccount> {
    Some(ExistingAccount {
        user_key: key.to_owned(),
        email_confirmed: confirmed,
    })
}

#[tokio::test]
async fn an_email_links_or_creates_only_when_provider_token_and_account_all_vouch() {
    let (oidc, ids) = oidc();
    let v = verified("trusted", "s1", Some("a@example.com"), true);
    assert_eq!(
        oidc.sign_in(&v, account("u1", true))
            .await
            .expect("sign in"),
        SignIn::User {
            user_key: "u1".into(),
            linked_now: true
        }
    );
    // Linked now: the same identity signs in as u1 whatever account the email names later.
    assert_eq!(
        oidc.sign_in(&v, None).await.expect("sign in"),
        SignIn::User {
            user_key: "u1".into(),
            linked_now: false
        }
    );
    let refused = [
        (
            verified("trusted", "s2", Some("b@example.com"), true),
            account("u2", false),
        ),
        (
            verified("trusted", "s3", Some("b@example.com"), false),
            account("u2", true),
        ),
        (
            verified("untrusted", "s4", Some("b@example.com"), true),
            account("u2", true),
        ),
    ];
    for (v, acc) in refused {
        assert_eq!(
            oidc.sign_in(&v, acc).await.expect("policy"),
            SignIn::PasswordFirst,
            "{v:?}"
        );
    }
    for v in [
        verified("trusted", "s5", Some("c@example.com"), false),
        verified("untrusted", "s6", Some("c@example.com"), true),
        verified("trusted", "s7", None, true),
    ] {
        assert_eq!(
            oidc.sign_in(&v, None).await.expect("policy"),
            SignIn::NoTrustedEmail,
            "{v:?}"
        );
    }
    let new = verified("trusted", "s8", Some("d@example.com"), true);
    assert_eq!(
        oidc.sign_in(&new, None).await.expect("policy"),
        SignIn::CreateAccount {
            email: "d@example.com".into()
        }
    );
    oidc.link_new_account(&new, "u8").await.expect("linked");
    assert_eq!(ids.identities("u8").await.expect("list").len(), 1);
    assert_eq!(
        ids.identities("u2").await.expect("list").len(),
        0,
        "nothing linked to u2"
    );
}

#[tokio::test]
async fn a_link_needs_the_user_who_began_it_and_an_identity_nobody_else_has() {
    let (oidc, _) = oidc();
    let mine = Verified::for_tests(
        "trusted",
        "s1",
        None,
        false,
        true,
        Intent::Link {
            user_key: "u1".into(),
        },
    );
    assert!(matches!(
        oidc.link(&mine, "u2").await,
        Err(OidcError::BrowserMismatch)
    ));
    oidc.link(&mine, "u1").await.expect("linked");
    oidc.link(&mine, "u1")
        .await
        .expect("linking it again is fine");
    let theirs = Verified::for_tests(
        "trusted",
        "s1",
        None,
        false,
        true,
        Intent::Link {
            user_key: "u2".into(),
        },
    );
    assert!(matches!(
        oidc.link(&theirs, "u2").await,
        Err(OidcError::IdentityTaken)
    ));
    let sign_in = verified("trusted", "s9", None, false);
    assert!(
        matches!(
            oidc.link(&sign_in, "u1").await,
            Err(OidcError::BrowserMismatch)
        ),
        "a sign-in flow links nothing"
    );
}

#[tokio::test]
async fn the_last_way_to_sign_in_is_never_unlinked() {
    let (oidc, ids) = oidc();
    let a = Verified::for_tests(
        "trusted",
        "a",
        None,
        false,
        true,
        Intent::Link {
            user_key: "u1".into(),
        },
    );
    let b = Verified::for_tests(
        "untrusted",
        "b",
        None,
        false,
        false,
        Intent::Link {
            user_key: "u1".into(),
        },
    );
    oidc.link(&a, "u1").await.expect("a");
    assert!(matches!(
        oidc.unlink("u1", "trusted", "a", false).await,
        Err(OidcError::LastSignInMethod)
    ));
    assert!(
        matches!(
            oidc.unlink("u2", "trusted", "a", true).await,
            Err(OidcError::UnknownIdentity)
        ),
        "not u2's"
    );
    oidc.link(&b, "u1").await.expect("b");
    oidc.unlink("u1", "trusted", "a", false)
        .await
        .expect("another identity remains");
    assert!(matches!(
        oidc.unlink("u1", "untrusted", "b", false).await,
        Err(OidcError::LastSignInMethod)
    ));
    oidc.unlink("u1", "untrusted", "b", true)
        .await
        .expect("a password remains");
    assert!(ids.identities("u1").await.expect("list").is_empty());
}

#[test]
fn unusable_configurations_are_refused() {
    let make = |providers: Vec<ProviderConfig>| {
        Oidc::new(
            providers,
            Arc::new(MemoryOneTime::new()),
            Arc::new(MemoryIdentities::new()),
            &[7u8; 64],
        )
    };
    let p =
        |name: &str, issuer: &str| ProviderConfig::new(name, issuer, "c", "https://app.example/cb");
    assert!(matches!(
        make(vec![p("a b", "https://i.example")]),
        Err(OidcError::Config { .. })
    ));
    assert!(matches!(
        make(vec![p("a", "not a url")]),
        Err(OidcError::Config { .. })
    ));
    assert!(matches!(
        make(vec![
            p("A", "https://i.example"),
            p("a", "https://j.example")
        ]),
        Err(OidcError::Config { .. })
    ));
    let short = Oidc::new(
        vec![],
        Arc::new(MemoryOneTime::new()),
        Arc::new(MemoryIdentities::new()),
        &[7u8; 8],
    );
    assert!(matches!(short, Err(OidcError::Config { .. })));
    let ok = make(vec![p("Google", "https://accounts.google.com")]).expect("fine");
    assert_eq!(
        ok.provider("GOOGLE").map(|p| p.key),
        Some("google".to_owned())
    );
    assert!(
        !format!("{:?}", p("x", "https://i.example").with_secret("hunter2")).contains("hunter2")
    );
}

#[tokio::test]
async fn a_callback_with_no_live_flow_is_refused_before_the_provider_is_asked() {
    let (oidc, _) = oidc();
    // The issuer is unreachable: were the provider asked, this would be `ProviderUnavailable`.
    for state in [None, Some("forged")] {
        let r = oidc
            .finish(
                "trusted",
                keycard_oidc::Callback {
                    state,
                    code: Some("c"),
                    error: None,
                    browser_binding: Some("b"),
                },
            )
            .await;
        assert!(matches!(r, Err(OidcError::FlowExpired)), "{r:?}");
    }
    let r = oidc.finish("nope", keycard_oidc::Callback::default()).await;
    assert!(matches!(r, Err(OidcError::UnknownProvider)));
}
