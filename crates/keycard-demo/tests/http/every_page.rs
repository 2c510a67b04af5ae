//! What every page shares (`web/router.rs`'s layers, `web/error.rs`): the security headers on every
//! response (W3, issue 9), secure cookies everywhere behind HTTPS (W5), and a signed-in user's
//! navigation on the error pages.

use reqwest::StatusCode;

use crate::common::{self, get_with_cookie, TestApp, PASSWORD};
use crate::has_signed_in_nav;

/// Every page the demo serves, anonymous and signed in, with the statuses they answer.
pub(crate) async fn every_page(app: &TestApp) -> Vec<(String, common::Page)> {
    let mut pages = Vec::new();
    let anon = app.browser();
    for path in [
        "/",
        "/registration/new",
        "/session/new",
        "/profile",
        "/me",
        "/healthz",
        "/static/app.css",
        "/nowhere",
    ] {
        pages.push((format!("anonymous GET {path}"), anon.get(path).await));
    }
    pages.push((
        "CSRF refusal".into(),
        anon.post_raw("/session", &[("email", "x")]).await,
    ));
    pages.push((
        "failed sign-in".into(),
        anon.sign_in("nobody@example.com", PASSWORD).await,
    ));
    pages.push((
        "registration errors".into(),
        anon.post("/registration", &[("email", "bad")]).await,
    ));
    let b = app.browser();
    b.registered("alice@example.com").await;
    for path in ["/", "/profile", "/plan/edit", "/pro", "/sessions", "/me"] {
        pages.push((format!("signed-in GET {path}"), b.get(path).await));
    }
    pages.push((
        "plan errors".into(),
        b.post("/plan", &[("plan", "gold")]).await,
    ));
    pages.push((
        "password errors".into(),
        b.post("/account/password", &[("password", "x")]).await,
    ));
    pages.push((
        "plan update".into(),
        b.post("/plan", &[("plan", "pro")]).await,
    ));
    pages.push(("flash page".into(), b.get("/profile").await));
    pages.push(("pro page".into(), b.get("/pro").await));
    pages
}

#[tokio::test]
async fn w3_every_response_carries_the_security_headers() {
    let app = TestApp::start().await;
    for (what, page) in every_page(&app).await {
        let h = &page.headers;
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{what}: no CSP"))
            .to_str()
            .unwrap();
        for directive in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{what}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{what}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(h["referrer-policy"], "same-origin", "{what}");
        // Plain http on loopback: no HSTS (the secure configuration has its own test).
        assert!(h.get("strict-transport-security").is_none(), "{what}");
    }
    app.stop().await;
}

/// Behind an HTTPS proxy (here: the test talks plain http to the app, as the proxy would): every cookie
/// is `Secure` with the `__Host-` prefix, HSTS is sent, and forms must come from `PUBLIC_ORIGIN`.
#[tokio::test]
async fn w5_secure_configuration_marks_every_cookie_secure_and_host_prefixed() {
    const ORIGIN: &str = "https://demo.example";
    let app = TestApp::start_with(|c| {
        c.cookie_secure = true;
        c.public_origin = Some(ORIGIN.into());
    })
    .await;
    let raw = app.raw();
    let page = get_with_cookie(&raw, &app.url("/session/new"), "").await;
    assert_eq!(
        page.headers["strict-transport-security"],
        "max-age=31536000"
    );
    let csrf = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-keycard_csrf="))
        .expect("the CSRF cookie is __Host- prefixed");
    assert!(csrf.contains("; Secure") && csrf.contains("Path=/") && !csrf.contains("Domain"));
    let csrf_value = page.set_cookie_value("__Host-keycard_csrf").unwrap();
    let token = page.csrf_token();
    let register = |origin: &'static str| {
        let raw = raw.clone();
        let url = app.url("/registration");
        let cookie = format!("__Host-keycard_csrf={csrf_value}");
        let token = token.clone();
        async move {
            raw.post(url)
                .header("cookie", cookie)
                .header("origin", origin)
                .form(&[
                    ("_csrf_token", token.as_str()),
                    ("email", "alice@example.com"),
                    ("password", PASSWORD),
                    ("password_confirmation", PASSWORD),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // The plain-http origin of the same host is not the app's.
    let res = register("http://demo.example").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = register(ORIGIN).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("__Host-keycard_session="))
        .expect("the session cookie is __Host- prefixed");
    assert!(session.contains("; Secure"), "{session}");
    assert!(
        set.iter()
            .all(|c| c.starts_with("__Host-") && c.contains("Secure")),
        "{set:?}"
    );
    // The flash cookie too (sign-out sets one).
    let session_value = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-keycard_session=")
        .to_owned();
    let cookies = format!("__Host-keycard_session={session_value}");
    let page = get_with_cookie(&raw, &app.url("/profile"), &cookies).await;
    assert_eq!(page.status, StatusCode::OK);
    let res = raw
        .post(app.url("/session/delete"))
        .header("cookie", &cookies)
        .header("origin", ORIGIN)
        .form(&[("_csrf_token", page.csrf_token())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set: Vec<&str> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        set.iter().any(|c| c.starts_with("__Host-keycard_flash=")),
        "{set:?}"
    );
    assert!(
        set.iter()
            .all(|c| c.starts_with("__Host-") && c.contains("Secure")),
        "{set:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn error_pages_keep_a_signed_in_user_s_navigation() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;

    // The CSRF refusal (403): a form posted with a stale token.
    let res = b
        .post_raw("/plan", &[("_csrf_token", "stale"), ("plan", "pro")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("Request refused"));
    assert!(
        has_signed_in_nav(&res.body, "alice@example.com"),
        "{}",
        res.body
    );
    // Its sign-out form works.
    let token = res.csrf_token();
    let out = b
        .post_raw("/session/delete", &[("_csrf_token", token.as_str())])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(b.me().await.is_none());

    b.signed_in("alice@example.com").await;
    let res = b.get("/nowhere").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(has_signed_in_nav(&res.body, "alice@example.com"));
    let res = b
        .post("/sessions/00000000000000000000000000000000/delete", &[])
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(has_signed_in_nav(&res.body, "alice@example.com"));
    let res = b.get("/pro").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(has_signed_in_nav(&res.body, "alice@example.com"));

    // A visitor gets the visitor's navigation.
    let res = app.browser().get("/nowhere").await;
    assert!(res.body.contains(r#"href="/registration/new""#));
    assert!(!res.body.contains("Signed in as"));
    app.stop().await;
}
