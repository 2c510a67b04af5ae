//! Personal access tokens: made in sudo mode, shown once, read `/me`, never rotate, listed and revoked.

use reqwest::StatusCode;

use crate::common::TestApp;
use crate::Client;

fn token_in(html: &str) -> String {
    let marker = r#"id="token">"#;
    let from = html.find(marker).expect("the token") + marker.len();
    let len = html[from..].find('<').expect("end");
    html[from..from + len].to_owned()
}

#[tokio::test]
async fn a_personal_token_is_shown_once_reads_me_and_never_rotates() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("dev@example.com").await;
    let made = b
        .post("/account/tokens", &[("name", "deploy"), ("days", "30")])
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let token = token_in(&made.body);
    assert!(token.starts_with("kcpat_"), "a prefix secret scanners find");
    let list = b.get("/account/tokens").await;
    assert!(list.body.contains("deploy"));
    assert!(!list.body.contains(&token), "shown once");
    let sessions = b.get("/sessions").await;
    assert!(
        sessions.body.contains("Personal token"),
        "listed with the sessions"
    );

    let c = Client::new(&app);
    for _ in 0..4 {
        app.advance(20 * 60);
        let me = c.me(&token).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.json);
        assert_eq!(me.json["email"], "dev@example.com");
        assert!(me.headers.get("set-auth-token").is_none(), "never rotated");
    }
}

#[tokio::test]
async fn a_personal_token_is_never_sudo_and_revoking_it_ends_it() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("dev@example.com").await;
    let made = b
        .post("/account/tokens", &[("name", "ci"), ("days", "1")])
        .await;
    let token = token_in(&made.body);
    let c = Client::new(&app);
    // With the token a client may read, never reach a sudo page.
    let page = c
        .send(reqwest::Method::GET, "/account/totp", Some(&token), None)
        .await;
    assert_ne!(page.status, StatusCode::OK, "no sudo for a token");
    let list = b.get("/account/tokens").await;
    let marker = "/account/tokens/";
    let from = list.body.find(marker).expect("a revoke form") + marker.len();
    let id = &list.body[from..from + 32];
    let out = b.post(&format!("/account/tokens/{id}/delete"), &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(c.me(&token).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_needs_sudo_to_make_and_a_sane_lifetime() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("dev@example.com").await;
    let bad = b
        .post("/account/tokens", &[("name", "x"), ("days", "9999")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unnamed = b
        .post("/account/tokens", &[("name", " "), ("days", "3")])
        .await;
    assert_eq!(unnamed.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.advance(601);
    let late = b
        .post("/account/tokens", &[("name", "x"), ("days", "3")])
        .await;
    assert_eq!(late.status, StatusCode::SEE_OTHER, "sudo first");
    assert!(late
        .location()
        .is_some_and(|l| l.starts_with("/session/confirm") || l == "/profile"));
}

#[tokio::test]
async fn a_password_change_revokes_every_token() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("dev@example.com").await;
    let made = b
        .post("/account/tokens", &[("name", "ci"), ("days", "7")])
        .await;
    let token = token_in(&made.body);
    let c = Client::new(&app);
    assert_eq!(c.me(&token).await.status, StatusCode::OK);
    let changed = b
        .post(
            "/account/password",
            &[
                ("current_password", crate::common::PASSWORD),
                ("password", "another horse battery staple"),
                ("password_confirmation", "another horse battery staple"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert_eq!(c.me(&token).await.status, StatusCode::UNAUTHORIZED);
}
