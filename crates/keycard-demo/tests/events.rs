//! `GET /events` (issue 12, item 3): a server-sent-events stream that says `ended` and closes when its
//! session ends, whoever ended it.

mod common;

use std::time::Duration;

use common::{Browser, TestApp, PASSWORD};
use reqwest::StatusCode;

/// Open `/events` for `b` and read it until the server closes it (in a task); the first chunk is checked
/// to be the `open` event before this returns, so the stream is up.
async fn open_events(app: &TestApp, b: &Browser) -> tokio::task::JoinHandle<String> {
    let mut res = b
        .client
        .get(app.url("/events"))
        .send()
        .await
        .expect("GET /events");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    while !text.contains("event: open") {
        let chunk = tokio::time::timeout(Duration::from_secs(30), res.chunk())
            .await
            .expect("the open event")
            .expect("the stream")
            .expect("a chunk before the end");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    tokio::spawn(async move {
        while let Ok(Some(chunk)) = res.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        text
    })
}

async fn ended_with(stream: tokio::task::JoinHandle<String>) -> String {
    let text = tokio::time::timeout(Duration::from_secs(30), stream)
        .await
        .expect("the stream closes once the session ended")
        .expect("reader task");
    let data = text
        .split("event: ended\n")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("no ended event in {text:?}"));
    data.trim_start_matches("data: ").to_owned()
}

#[tokio::test]
async fn a_revoked_session_is_told_and_its_stream_closes() {
    let app = TestApp::start().await;
    let me = app.browser();
    let laptop = app.browser();
    me.registered("alice@example.com").await;
    laptop.signed_in("alice@example.com").await;
    let stream = open_events(&app, &laptop).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !stream.is_finished(),
        "the stream stays open while the session lives"
    );

    let res = me.post("/sessions/delete-others", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let reason = ended_with(stream).await;
    assert!(matches!(reason.as_str(), "revoked" | "gone"), "{reason}");
    app.stop().await;
}

#[tokio::test]
async fn a_password_change_elsewhere_ends_the_stream() {
    let app = TestApp::start().await;
    let me = app.browser();
    let phone = app.browser();
    me.registered("bob@example.com").await;
    phone.signed_in("bob@example.com").await;
    let stream = open_events(&app, &phone).await;
    let res = me
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", "a brand new passphrase"),
                ("password_confirmation", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let reason = ended_with(stream).await;
    assert!(
        matches!(reason.as_str(), "revoked" | "credentials_changed" | "gone"),
        "{reason}"
    );
    app.stop().await;
}

#[tokio::test]
async fn signing_out_ends_the_own_stream_and_anonymous_visitors_get_401() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("carol@example.com").await;
    let stream = open_events(&app, &b).await;
    b.sign_out().await;
    let reason = ended_with(stream).await;
    assert!(matches!(reason.as_str(), "signed_out" | "gone"), "{reason}");
    assert_eq!(b.get("/events").await.status, StatusCode::UNAUTHORIZED);
    // The profile page carries the listener (a file: no inline script under the CSP).
    b.signed_in("carol@example.com").await;
    let profile = b.get("/profile").await;
    assert!(profile
        .body
        .contains(r#"<script src="/static/session-events.js" defer></script>"#));
    let js = b.get("/static/session-events.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.body.contains("new EventSource('/events')"));
    app.stop().await;
}
