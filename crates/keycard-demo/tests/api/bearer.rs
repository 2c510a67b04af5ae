//! The JSON sign-in, `GET /me` with a bearer token, renewal, sign-out, and second factors over the API.

use reqwest::header::{SET_COOKIE, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};

use crate::common::{TestApp, PASSWORD};
use crate::Client;

#[tokio::test]
async fn a_json_sign_in_gives_a_token_that_me_accepts_and_sets_no_cookie() {
    let app = TestApp::start().await;
    app.browser().registered("cli@example.com").await;
    let c = Client::new(&app);
    let a = c
        .sign_in(serde_json::json!({"email": "cli@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    assert!(a.headers.get(SET_COOKIE).is_none(), "no cookie, ever");
    assert!(a.json["expires_at"].as_u64().is_some());
    let token = a.json["token"].as_str().unwrap().to_owned();
    let me = c.me(&token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json["email"], "cli@example.com");
    assert!(me.headers.get(SET_COOKIE).is_none());
    let out = c
        .send(Method::DELETE, "/api/session", Some(&token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let me = c.me(&token).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert!(me.headers[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    assert_eq!(me.json["error"], "not signed in");
}

#[tokio::test]
async fn wrong_passwords_are_json_401s_and_throttled_like_the_form() {
    let app = TestApp::start().await;
    app.browser().registered("cli@example.com").await;
    let c = Client::new(&app);
    let mut limited = false;
    for _ in 0..30 {
        let a = c
            .sign_in(serde_json::json!({"email": "cli@example.com", "password": "nope nope nope"}))
            .await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            assert!(a.json["error"].as_str().is_some());
            break;
        }
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert!(a.headers.get(WWW_AUTHENTICATE).is_some());
    }
    assert!(limited, "the login throttle counts API sign-ins");
}

#[tokio::test]
async fn renewal_hands_the_client_a_new_token_in_set_auth_token() {
    let app = TestApp::start().await;
    app.browser().registered("cli@example.com").await;
    let c = Client::new(&app);
    let old = c.token("cli@example.com").await;
    app.advance(16 * 60);
    let me = c.me(&old).await;
    assert_eq!(me.status, StatusCode::OK);
    let new = me.headers["set-auth-token"].to_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(c.me(&new).await.status, StatusCode::OK);
    // Revocation from the browser ends it like any session.
    let b = app.browser();
    b.signed_in("cli@example.com").await;
    let p = b.post("/sessions/delete-others", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(c.me(&new).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn with_a_second_factor_the_api_needs_its_code() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("cli@example.com").await;
    let setup = b.get("/account/totp").await;
    let secret = between(&setup.body, r#"id="totp-secret">"#, "<");
    let ticket = between(&setup.body, r#"name="ticket" value=""#, "\"");
    let secret = totp_rs::Secret::try_from_base32(&secret)
        .unwrap()
        .as_bytes()
        .to_vec();
    let totp = &app.app.state.second.totp;
    let now = || keycard::Clock::now(&app.clock);
    let on = b
        .post(
            "/account/totp",
            &[
                ("ticket", &ticket),
                ("code", &totp.code_at(&secret, now()).unwrap()),
            ],
        )
        .await;
    assert_eq!(on.status, StatusCode::OK);
    app.advance(30);
    let c = Client::new(&app);
    let a = c
        .sign_in(serde_json::json!({"email": "cli@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json["second_factor_required"], true);
    assert!(a.json.get("token").is_none());
    let a = c
        .sign_in(
            serde_json::json!({"email": "cli@example.com", "password": PASSWORD, "code": "000000"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let code = totp.code_at(&secret, now()).unwrap();
    let a = c
        .sign_in(
            serde_json::json!({"email": "cli@example.com", "password": PASSWORD, "code": code}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    assert_eq!(
        c.me(a.json["token"].as_str().unwrap()).await.json["factors"],
        serde_json::json!(["totp"])
    );
}

fn between(html: &str, start: &str, end: &str) -> String {
    let from = html.find(start).expect("start marker") + start.len();
    let len = html[from..].find(end).expect("end marker");
    html[from..from + len].to_owned()
}
