//! `CsrfLayer` and `CsrfToken` (issue 9, item 3) through a real router: the token is bound to the session
//! once signed in and to the anonymous CSRF cookie before, rotated at sign-in and sign-out, and a
//! state-changing request must also come from the app's own origin.

mod common;

use std::collections::HashMap;

use axum::body::Body;
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{header, Request, Response, StatusCode};
use keycard_axum::{Auth, AuthError, CookieConfig, CsrfConfig, CsrfLayer, CsrfToken, SessionLayer};
use tower::ServiceExt;

use common::*;

const ORIGIN: &str = "http://app.test";
const CSRF: &str = "keycard_csrf";

async fn form(csrf: CsrfToken) -> String {
    csrf.to_string()
}

async fn login(auth: Auth<User>) -> Result<String, AuthError> {
    auth.create(user(1, "free")).await?;
    Ok("in".into())
}

/// A sign-in that always starts a new session (what an app's sign-in form does).
async fn relogin(auth: Auth<User>) -> Result<String, AuthError> {
    auth.delete().await?;
    auth.create(user(1, "free")).await?;
    Ok("in".into())
}

async fn logout(auth: Auth<User>) -> Result<&'static str, AuthError> {
    auth.delete().await?;
    Ok("out")
}

async fn echo(Form(f): Form<HashMap<String, String>>) -> String {
    f.get("x").cloned().unwrap_or_default()
}

struct App {
    router: Router,
    h: Harness,
}

fn app_with(config: CsrfConfig) -> App {
    let h = harness();
    let router = Router::new()
        .route("/form", get(form))
        .route("/login", post(login))
        .route("/relogin", post(relogin))
        .route("/logout", post(logout))
        .route("/echo", post(echo))
        .layer(CsrfLayer::<User>::new(SECRET, config))
        .layer(
            SessionLayer::new(h.cache.clone()).with_config(CookieConfig::insecure_for_localhost()),
        );
    App { router, h }
}

fn app() -> App {
    app_with(CsrfConfig::new(ORIGIN).insecure_for_localhost())
}

/// A browser's cookies, by hand.
#[derive(Default, Clone)]
struct Jar(HashMap<String, String>);

impl Jar {
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
    fn take(&mut self, res: &Response<Body>) {
        for c in set_cookies(res) {
            if c.value().is_empty() {
                self.0.remove(c.name());
            } else {
                self.0.insert(c.name().to_owned(), c.value().to_owned());
            }
        }
    }
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

impl App {
    async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(req).await.unwrap()
    }

    /// GET /form: a token, and the jar updated.
    async fn token(&self, jar: &mut Jar) -> String {
        let res = self.send(get_req("/form", jar)).await;
        assert_eq!(res.status(), StatusCode::OK);
        jar.take(&res);
        body(res).await
    }

    /// POST a form with `token` (if any) and extra headers; the jar takes the response's cookies.
    async fn post(
        &self,
        path: &str,
        jar: &mut Jar,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Response<Body> {
        let mut fields = vec![("x".to_owned(), "kept".to_owned())];
        if let Some(t) = token {
            fields.push(("_csrf_token".to_owned(), t.to_owned()));
        }
        let body = serde_urlencoded(&fields);
        let mut b = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, jar.header());
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let res = self.send(b.body(Body::from(body)).unwrap()).await;
        jar.take(&res);
        res
    }
}

fn get_req(path: &str, jar: &Jar) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, jar.header())
        .body(Body::empty())
        .unwrap()
}

fn serde_urlencoded(fields: &[(String, String)]) -> String {
    let mut s = form_urlencoded_serializer();
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

fn form_urlencoded_serializer() -> ::form_urlencoded::Serializer<'static, String> {
    ::form_urlencoded::Serializer::new(String::new())
}

#[tokio::test]
async fn an_anonymous_form_needs_the_token_of_its_own_csrf_cookie_and_keeps_its_body() {
    let a = app();
    let mut jar = Jar::default();
    let token = a.token(&mut jar).await;
    let cookie = jar
        .get(CSRF)
        .expect("the page set the anonymous CSRF cookie");
    assert_eq!(token.len(), 86);

    let res = a.post("/echo", &mut jar, Some(&token), &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, "kept", "the handler still reads the form");
    assert_eq!(
        jar.get(CSRF),
        Some(cookie.clone()),
        "no rotation without a session change"
    );

    for (why, t) in [
        ("none", None),
        ("garbage", Some("AAAA")),
        ("another page's", Some(&*"A".repeat(86))),
    ] {
        let res = a.post("/echo", &mut jar, t, &[]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{why}");
    }
    // The right token without its cookie, and with another browser's cookie.
    let res = a
        .post("/echo", &mut Jar::default(), Some(&token), &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let mut other = Jar::default();
    a.token(&mut other).await;
    let res = a.post("/echo", &mut other, Some(&token), &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The header works as well as the field.
    let res = a
        .send(
            Request::post("/logout")
                .header(header::COOKIE, jar.header())
                .header("x-csrf-token", &token)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Safe methods are never checked.
    assert_eq!(
        a.send(get_req("/form", &Jar::default())).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_page_gets_a_differently_masked_token_and_all_of_them_work() {
    let a = app();
    let mut jar = Jar::default();
    let t1 = a.token(&mut jar).await;
    let t2 = a.token(&mut jar).await;
    assert_ne!(t1, t2, "masked afresh (BREACH)");
    for t in [&t1, &t2] {
        assert_eq!(
            a.post("/echo", &mut jar, Some(t), &[]).await.status(),
            StatusCode::OK
        );
    }
}

/// W1: the victim is signed in; the attacker planted their own anonymous CSRF cookie (from a sibling
/// subdomain or over plain http) and sends the token that goes with it. It used to pass (the token was
/// bound only to the CSRF cookie); now a signed-in request needs this session's token.
#[tokio::test]
async fn signed_in_the_token_is_the_sessions_and_a_planted_anonymous_pair_fails() {
    let a = app();
    let mut attacker = Jar::default();
    let attacker_token = a.token(&mut attacker).await;
    let attacker_cookie = attacker.get(CSRF).unwrap();

    let mut victim = Jar::default();
    let t = a.token(&mut victim).await;
    assert_eq!(
        a.post("/login", &mut victim, Some(&t), &[]).await.status(),
        StatusCode::OK
    );
    victim.0.insert(CSRF.into(), attacker_cookie);
    let res = a
        .post(
            "/echo",
            &mut victim,
            Some(&attacker_token),
            &[("origin", ORIGIN)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // The session's own token passes, with or without the planted cookie.
    let own = a.token(&mut victim).await;
    let res = a
        .post("/echo", &mut victim, Some(&own), &[("origin", ORIGIN)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    victim.0.remove(CSRF);
    assert_eq!(
        a.post("/echo", &mut victim, Some(&own), &[]).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn sign_in_and_sign_out_rotate_the_cookie_and_the_token() {
    let a = app();
    let mut jar = Jar::default();
    let anon_token = a.token(&mut jar).await;
    let anon_cookie = jar.get(CSRF).unwrap();

    let res = a.post("/login", &mut jar, Some(&anon_token), &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let after_in = jar.get(CSRF).expect("a new anonymous CSRF cookie");
    assert_ne!(after_in, anon_cookie, "rotated at sign-in");
    // The token from before sign-in is dead, even with its old cookie put back.
    let mut replay = jar.clone();
    replay.0.insert(CSRF.into(), anon_cookie.clone());
    assert_eq!(
        a.post("/echo", &mut replay, Some(&anon_token), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let session_token = a.token(&mut jar).await;
    assert_eq!(
        jar.get(CSRF),
        Some(after_in.clone()),
        "pages of a session set no CSRF cookie"
    );
    assert_eq!(
        a.post("/echo", &mut jar, Some(&session_token), &[])
            .await
            .status(),
        StatusCode::OK
    );

    // A sync (`create` with the signed-in user: same session, new session cookie) keeps the token, so
    // the user's other tabs keep working after a plan change.
    let session_cookie = jar.get(COOKIE).unwrap();
    assert_eq!(
        a.post("/login", &mut jar, Some(&session_token), &[])
            .await
            .status(),
        StatusCode::OK
    );
    assert_ne!(jar.get(COOKIE).unwrap(), session_cookie);
    assert_eq!(
        a.post("/echo", &mut jar, Some(&session_token), &[])
            .await
            .status(),
        StatusCode::OK
    );
    // A new sign-in (a new session) has new tokens.
    let session_cookie = jar.get(COOKIE).unwrap();
    assert_eq!(
        a.post("/relogin", &mut jar, Some(&session_token), &[])
            .await
            .status(),
        StatusCode::OK
    );
    assert_ne!(jar.get(COOKIE).unwrap(), session_cookie);
    assert_eq!(
        a.post("/echo", &mut jar, Some(&session_token), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let token = a.token(&mut jar).await;
    let before_out = jar.get(CSRF).unwrap();
    let res = a.post("/logout", &mut jar, Some(&token), &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let after_out = jar.get(CSRF).expect("a new anonymous CSRF cookie");
    assert_ne!(after_out, before_out, "rotated at sign-out");
    // Neither the session's token nor the browser's anonymous token from before sign-in works now.
    assert_eq!(
        a.post("/echo", &mut jar, Some(&token), &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        a.post("/echo", &mut jar, Some(&anon_token), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // A fresh anonymous token for the new cookie works.
    let fresh = a.token(&mut jar).await;
    assert_eq!(
        a.post("/echo", &mut jar, Some(&fresh), &[]).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_token_rendered_after_signing_in_in_the_same_request_is_the_new_sessions() {
    let h = harness();
    let router = Router::new()
        .route(
            "/in",
            post(|auth: Auth<User>, _first: CsrfToken| async move {
                auth.create(user(1, "free")).await?;
                Ok::<_, AuthError>(())
            }),
        )
        .route("/form", get(form))
        .route("/echo", post(echo))
        .layer(CsrfLayer::<User>::new(
            SECRET,
            CsrfConfig::new(ORIGIN).insecure_for_localhost(),
        ))
        .layer(
            SessionLayer::new(h.cache.clone()).with_config(CookieConfig::insecure_for_localhost()),
        );
    let a = App { router, h };
    let mut jar = Jar::default();
    let t = a.token(&mut jar).await;
    assert_eq!(
        a.post("/in", &mut jar, Some(&t), &[]).await.status(),
        StatusCode::OK
    );
    let t = a.token(&mut jar).await;
    assert_eq!(
        a.post("/echo", &mut jar, Some(&t), &[]).await.status(),
        StatusCode::OK
    );
}

/// W1's other half: login CSRF. The attacker's own anonymous pair is planted, so the token check alone
/// would pass; the request comes from the attacker's page, and the browser says so.
#[tokio::test]
async fn a_foreign_origin_referer_or_fetch_site_is_refused_even_with_a_valid_token() {
    let a = app();
    let mut jar = Jar::default();
    let token = a.token(&mut jar).await;
    for headers in [
        vec![("origin", "http://evil.test")],
        vec![("origin", "http://sub.app.test")],
        vec![("origin", "https://app.test")],
        vec![("origin", "http://app.test:8080")],
        vec![("origin", "null")],
        vec![("origin", "http://app.test/")],
        vec![("origin", ORIGIN), ("origin", "http://evil.test")],
        vec![("referer", "http://evil.test/app.test")],
        vec![("referer", "http://app.test.evil.test/")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("sec-fetch-site", "same-site"), ("origin", ORIGIN)],
        vec![("sec-fetch-site", "something-new")],
    ] {
        let res = a
            .post("/login", &mut jar.clone(), Some(&token), &headers)
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(
            set_cookies(&res).is_empty(),
            "{headers:?}: nothing was signed in"
        );
    }
    assert_eq!(a.h.cache.sessions("1").await.unwrap().len(), 0);
    // The app's own pages pass.
    for headers in [
        vec![("origin", ORIGIN), ("sec-fetch-site", "same-origin")],
        vec![("origin", "HTTP://APP.test:80")],
        vec![("referer", "http://app.test/form?x=1")],
        vec![("sec-fetch-site", "none")],
        vec![],
    ] {
        let res = a
            .post("/echo", &mut jar.clone(), Some(&token), &headers)
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{headers:?}");
    }
}

#[tokio::test]
async fn same_site_and_missing_origin_are_configurable() {
    let a = app_with(
        CsrfConfig::new(ORIGIN)
            .with_allowed_origin("http://admin.app.test")
            .with_same_site_allowed(true)
            .with_origin_required(true)
            .insecure_for_localhost(),
    );
    let mut jar = Jar::default();
    let token = a.token(&mut jar).await;
    let ok = [
        ("sec-fetch-site", "same-site"),
        ("origin", "http://admin.app.test"),
    ];
    assert_eq!(
        a.post("/echo", &mut jar, Some(&token), &ok).await.status(),
        StatusCode::OK
    );
    let cross = [("sec-fetch-site", "cross-site"), ("origin", ORIGIN)];
    assert_eq!(
        a.post("/echo", &mut jar, Some(&token), &cross)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        a.post("/echo", &mut jar, Some(&token), &[]).await.status(),
        StatusCode::FORBIDDEN,
        "no Origin, no Referer"
    );
}

#[tokio::test]
async fn origin_from_the_host_header_is_an_explicit_opt_in() {
    let a = app_with(CsrfConfig::from_host_header().insecure_for_localhost());
    let mut jar = Jar::default();
    let token = a.token(&mut jar).await;
    let same = [("host", "app.test"), ("origin", "http://app.test")];
    assert_eq!(
        a.post("/echo", &mut jar, Some(&token), &same)
            .await
            .status(),
        StatusCode::OK
    );
    let foreign = [("host", "app.test"), ("origin", "http://evil.test")];
    assert_eq!(
        a.post("/echo", &mut jar, Some(&token), &foreign)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn secure_by_default_the_cookie_is_host_prefixed_and_secure() {
    let a = app_with(CsrfConfig::new("https://app.test"));
    let res = a.send(get_req("/form", &Jar::default())).await;
    let c = set_cookies(&res).pop().expect("the anonymous CSRF cookie");
    assert_eq!(c.name(), "__Host-keycard_csrf");
    assert_eq!(c.secure(), Some(true));
    assert_eq!(c.http_only(), Some(true));
    assert_eq!(c.path(), Some("/"));
    assert_eq!(c.domain(), None);
    // The unprefixed name (what a sibling subdomain could set over http) is not read.
    let token = body(res).await;
    let mut jar = Jar::default();
    jar.0.insert(CSRF.into(), c.value().to_owned());
    let origin = [("origin", "https://app.test")];
    assert_eq!(
        a.post("/echo", &mut jar, Some(&token), &origin)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let mut jar = Jar::default();
    jar.0
        .insert("__Host-keycard_csrf".into(), c.value().to_owned());
    assert_eq!(
        a.post("/echo", &mut jar, Some(&token), &origin)
            .await
            .status(),
        StatusCode::OK
    );
    // An http:// origin with Secure cookies is refused at start-up.
    assert!(CsrfLayer::<User>::try_new(SECRET, CsrfConfig::new("http://app.test")).is_err());
    assert!(CsrfLayer::<User>::try_new([0u8; 10], CsrfConfig::new("https://app.test")).is_err());
}

#[tokio::test]
async fn an_oversized_form_is_413_before_the_handler() {
    let a = app_with(
        CsrfConfig::new(ORIGIN)
            .insecure_for_localhost()
            .with_max_form_bytes(100),
    );
    let mut jar = Jar::default();
    let token = a.token(&mut jar).await;
    let big = format!("x={}&_csrf_token={token}", "a".repeat(200));
    let req = |chunked: bool| {
        let mut b = Request::post("/echo")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, jar.header());
        // Without `Content-Length` the layer finds out while reading.
        if !chunked {
            b = b.header(header::CONTENT_LENGTH, big.len());
        }
        b.body(Body::from(big.clone())).unwrap()
    };
    assert_eq!(
        a.send(req(false)).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        a.send(req(true)).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn without_a_session_layer_or_a_working_store_nothing_passes() {
    let h = harness();
    let lonely = Router::new()
        .route("/form", get(form))
        .route("/echo", post(echo))
        .layer(CsrfLayer::<User>::new(
            SECRET,
            CsrfConfig::new(ORIGIN).insecure_for_localhost(),
        ));
    let res = lonely
        .clone()
        .oneshot(get_req("/form", &Jar::default()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let token_only = Router::new().route("/form", get(form));
    let res = token_only
        .oneshot(get_req("/form", &Jar::default()))
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "CsrfToken without CsrfLayer"
    );

    // The store is down: the session the token must match is unknown, so a POST is a 503, never a pass.
    let a = App {
        router: Router::new()
            .route("/form", get(form))
            .route("/echo", post(echo))
            .layer(CsrfLayer::<User>::new(
                SECRET,
                CsrfConfig::new(ORIGIN).insecure_for_localhost(),
            ))
            .layer(
                SessionLayer::new(h.cache.clone())
                    .with_config(CookieConfig::insecure_for_localhost()),
            ),
        h,
    };
    let session = a.h.login(1).await;
    let mut jar = Jar::default();
    jar.0.insert(COOKIE.into(), session);
    let token = a.token(&mut jar).await;
    a.h.fail_store(true);
    let res = a.post("/echo", &mut jar, Some(&token), &[]).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        a.send(get_req("/form", &jar)).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    a.h.fail_store(false);
    assert_eq!(
        a.post("/echo", &mut jar, Some(&token), &[]).await.status(),
        StatusCode::OK
    );
}
