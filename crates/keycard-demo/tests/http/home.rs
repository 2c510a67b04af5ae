//! `GET /` and `GET /healthz` (`web/routes/home.rs`, `web/routes/health.rs`): the pages an anonymous
//! visitor reaches, where the signed-in ones send them, and a forged flash on the home page.

use reqwest::StatusCode;

use crate::common::{Browser, TestApp};

#[tokio::test]
async fn pages_for_anonymous_visitors_and_health() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b.get("/healthz").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, "ok");
    assert!(res.set_cookies().is_empty(), "no cookie work on /healthz");

    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    for link in [
        "/registration/new",
        "/session/new",
        "/profile",
        "/me",
        "/plan/edit",
        "/pro",
        "/sessions",
        "/healthz",
    ] {
        assert!(home.body.contains(&format!(r#"href="{link}""#)), "{link}");
    }
    assert_eq!(home.headers["cache-control"], "no-store");
    for path in ["/profile", "/plan/edit", "/pro", "/sessions"] {
        let res = b.get(path).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.location(), Some("/session/new"), "{path}");
    }
    // Anonymous POSTs (with a valid token) are sent to sign in too.
    for path in ["/plan", "/account/password", "/sessions/delete-others"] {
        let res = b.post(path, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.location(), Some("/session/new"), "{path}");
    }
    let res = b.post("/session/delete", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/nowhere").await.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn a_forged_flash_is_ignored() {
    let app = TestApp::start().await;
    let b: Browser = app.browser();
    b.plant("keycard_flash", "SGFja2Vk.AAAA");
    let home = b.get("/").await;
    assert!(!home.body.contains("Hacked"));
    assert!(home
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("keycard_flash=") && c.contains("Max-Age=0")));
    app.stop().await;
}
