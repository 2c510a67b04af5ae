//! CSRF on every state-changing form (`web/csrf`, keycard-axum's layer): a valid token, bound to the
//! session once signed in, and no cross-site marker; the CSRF cookie replaced at sign-in and sign-out;
//! GET never changes state. And W1 (issue 9): the attacker's own CSRF cookie and token, a foreign
//! `Origin`, `Sec-Fetch-Site`.

use keycard_demo::domain::users::Plan;
use reqwest::StatusCode;

use crate::common::{TestApp, PASSWORD, SESSION_COOKIE};
use crate::db_plan;

#[tokio::test]
async fn state_changing_posts_need_a_valid_csrf_token_and_no_cross_site_marker() {
    let app = TestApp::start().await;
    app.browser().registered("alice@example.com").await;
    let b = app.browser();
    let token = b.csrf().await;
    let form = |t: &str| {
        vec![
            ("_csrf_token", t.to_owned()),
            ("email", "alice@example.com".to_owned()),
            ("password", PASSWORD.to_owned()),
        ]
    };
    // Sign-in (login CSRF): missing, wrong, another browser's token.
    let missing = b
        .post_raw(
            "/session",
            &[("email", "alice@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = b
        .client
        .post(app.url("/session"))
        .form(&form("AAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let stranger_token = app.browser().csrf().await;
    let res = b
        .client
        .post(app.url("/session"))
        .form(&form(&stranger_token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A token without its cookie.
    let res = app
        .raw()
        .post(app.url("/session"))
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The right token, but the browser says the request came from another site.
    let res = b
        .client
        .post(app.url("/session"))
        .header("sec-fetch-site", "cross-site")
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(b.me().await.is_none(), "none of those signed in");
    // Same-origin with the right token goes through.
    let res = b
        .client
        .post(app.url("/session"))
        .header("sec-fetch-site", "same-origin")
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(b.me().await.is_some());

    // Signed in: plan change, password change, sign-out, revocation without a token are refused.
    for path in [
        "/plan",
        "/account/password",
        "/session/delete",
        "/sessions/delete-others",
        "/registration",
    ] {
        let res = b
            .post_raw(path, &[("plan", "pro"), ("password", "x")])
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(db_plan(&app, "alice@example.com").await, Plan::Free);
    assert!(b.me().await.is_some(), "still signed in");

    // The header form works for non-form clients.
    let token = b.csrf().await;
    let res = b
        .client
        .post(app.url("/session/delete"))
        .header("x-csrf-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(b.me().await.is_none());
    app.stop().await;
}

#[tokio::test]
async fn sign_in_replaces_the_csrf_cookie() {
    let app = TestApp::start().await;
    let b = app.browser();
    let before_token = b.csrf().await;
    let before = b.cookie("keycard_csrf").unwrap();
    b.registered("alice@example.com").await;
    let after = b.cookie("keycard_csrf").unwrap();
    assert_ne!(before, after);
    // A token from before sign-in no longer works.
    let res = b
        .post_raw("/plan", &[("_csrf_token", &before_token), ("plan", "pro")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn get_never_changes_state() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    for path in [
        "/session/delete",
        "/plan?plan=pro",
        "/sessions/delete-others",
        "/account/password",
        "/registration?email=x@y.z&password=12345678&password_confirmation=12345678",
        "/session?email=alice@example.com&password=x",
    ] {
        let res = b.get(path).await;
        assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
    }
    assert!(b.me().await.is_some());
    assert_eq!(db_plan(&app, "alice@example.com").await, Plan::Free);
    app.stop().await;
}

#[tokio::test]
async fn sign_out_replaces_the_csrf_cookie_and_the_sessions_tokens_die() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let signed_in_token = b.csrf().await;
    let before = b.cookie("keycard_csrf").unwrap();
    assert_eq!(b.sign_out().await.status, StatusCode::SEE_OTHER);
    let after = b.cookie("keycard_csrf").unwrap();
    assert_ne!(before, after, "rotated at sign-out");
    // The signed-in session's token is useless now, for sign-in as much as for anything else.
    let res = b
        .post_raw(
            "/session",
            &[
                ("_csrf_token", &signed_in_token),
                ("email", "alice@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    b.signed_in("alice@example.com").await;
    app.stop().await;
}

/// The attacker's own anonymous CSRF cookie and the token that goes with it, from a fresh browser of
/// theirs: what they would plant in a victim's browser from a sibling subdomain or over plain http.
async fn attackers_pair(app: &TestApp) -> (String, String) {
    let attacker = app.browser_as("attacker");
    let token = attacker.csrf().await;
    let cookie = attacker
        .cookie("keycard_csrf")
        .expect("an anonymous CSRF cookie");
    (cookie, token)
}

/// W1, signed in: the victim's session cookie plus the attacker's planted CSRF cookie and token. This
/// used to pass (the token was bound only to the CSRF cookie): `POST /plan` was accepted. The token of a
/// signed-in request must now be that session's, so it fails, even from the app's own origin.
#[tokio::test]
async fn w1_a_planted_csrf_cookie_and_token_cannot_act_for_a_signed_in_victim() {
    let app = TestApp::start().await;
    let (cookie, token) = attackers_pair(&app).await;
    let victim = app.browser();
    victim.registered("victim@example.com").await;
    victim.plant("keycard_csrf", &cookie);
    assert_eq!(
        victim.cookie("keycard_csrf"),
        Some(cookie.clone()),
        "planted"
    );
    let origin = app.base.clone();
    for (path, form) in [
        ("/plan", vec![("plan", "pro")]),
        ("/sessions/delete-others", vec![]),
        ("/session/delete", vec![]),
        (
            "/account/password",
            vec![
                ("current_password", PASSWORD),
                ("password", "attacker chose this"),
                ("password_confirmation", "attacker chose this"),
            ],
        ),
    ] {
        let mut fields = vec![("_csrf_token", token.as_str())];
        fields.extend(form);
        for headers in [vec![], vec![("origin", origin.as_str())]] {
            let res = victim.post_with_headers(path, &fields, &headers).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{path} {headers:?}");
            assert!(
                res.body.contains("security token"),
                "{path}: the refusal page"
            );
        }
    }
    assert_eq!(db_plan(&app, "victim@example.com").await, Plan::Free);
    assert_eq!(victim.me().await.unwrap()["email"], "victim@example.com");
    let c = app.browser();
    c.signed_in("victim@example.com").await; // the password did not change
    app.stop().await;
}

/// W1, login CSRF: the victim is anonymous and carries the attacker's planted CSRF cookie; the attacker's
/// page posts the attacker's own credentials with the matching token, to sign the victim into the
/// attacker's account. The token check alone passes (the pair is genuine); the browser's `Origin`,
/// `Referer` and `Sec-Fetch-Site` say where the form came from, and each is refused.
#[tokio::test]
async fn w1_login_csrf_into_the_attackers_account_is_refused() {
    let app = TestApp::start().await;
    app.browser().registered("mallory@example.com").await;
    let (cookie, token) = attackers_pair(&app).await;
    let victim = app.browser();
    victim.plant("keycard_csrf", &cookie);
    let form = [
        ("_csrf_token", token.as_str()),
        ("email", "mallory@example.com"),
        ("password", PASSWORD),
    ];
    let port = app.addr.port();
    let sibling = format!("http://evil.localhost:{port}");
    let other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1));
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("origin", "http://evil.example")],
        vec![("origin", &sibling)],
        vec![("origin", &other_port)],
        vec![("origin", "null")],
        vec![("referer", "http://evil.example/login-csrf.html")],
        vec![
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://evil.example"),
        ],
        vec![("sec-fetch-site", "same-site"), ("origin", &sibling)],
        vec![("sec-fetch-site", "same-site")],
        vec![("sec-fetch-site", "cross-site")],
    ];
    for headers in &cases {
        let res = victim.post_with_headers("/session", &form, headers).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(
            res.body.contains("another site"),
            "{headers:?}: {}",
            res.body
        );
        assert!(
            res.set_cookie_value(SESSION_COOKIE).is_none(),
            "{headers:?}"
        );
        assert!(victim.me().await.is_none(), "{headers:?}: not signed in");
    }
    // What stands in the way is the origin, not a broken test pair: the same planted pair, from the app's
    // own origin, is a sign-in. (A browser on the attacker's page never sends that; with secure cookies
    // the `__Host-` prefix also keeps a sibling subdomain or plain http from planting the cookie.)
    let own = [
        ("origin", app.base.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    let res = victim.post_with_headers("/session", &form, &own).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    app.stop().await;
}

/// W1's last part: a foreign `Origin` and `Sec-Fetch-Site: same-site` were accepted with a valid token.
#[tokio::test]
async fn w1_a_foreign_origin_or_same_site_is_refused_even_with_the_victims_own_token() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let token = b.csrf().await;
    let form = [("_csrf_token", token.as_str()), ("plan", "pro")];
    let port = app.addr.port();
    let sibling = format!("http://www.localhost:{port}");
    for headers in [
        vec![("origin", "http://evil.example")],
        vec![("origin", sibling.as_str())],
        vec![("referer", "http://evil.example/")],
        vec![("sec-fetch-site", "same-site")],
        vec![("sec-fetch-site", "cross-site")],
    ] {
        let res = b.post_with_headers("/plan", &form, &headers).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{headers:?}");
    }
    assert_eq!(db_plan(&app, "alice@example.com").await, Plan::Free);
    // The app's own origins: the bound address, and localhost on the same port.
    let localhost = format!("http://localhost:{port}");
    for origin in [app.base.as_str(), localhost.as_str()] {
        let headers = [("origin", origin), ("sec-fetch-site", "same-origin")];
        let token = b.csrf().await;
        let form = [("_csrf_token", token.as_str()), ("plan", "pro")];
        let res = b.post_with_headers("/plan", &form, &headers).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{origin}");
    }
    let referer = format!("{}/plan/edit", app.base);
    let token = b.csrf().await;
    let form = [("_csrf_token", token.as_str()), ("plan", "free")];
    let res = b
        .post_with_headers("/plan", &form, &[("referer", referer.as_str())])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(db_plan(&app, "alice@example.com").await, Plan::Free);
    app.stop().await;
}
