//! `GET /sessions`, `POST /sessions/{id}/delete`, `POST /sessions/delete-others`
//! (`web/routes/sessions.rs`): a user's own sessions, listed with device names and times, and ended.

use reqwest::StatusCode;

use crate::common::TestApp;
use crate::session_id_of;

#[tokio::test]
async fn sessions_can_be_listed_and_ended() {
    let app = TestApp::start().await;
    let a = app.browser_as("UA-one");
    let b = app.browser_as("UA-two");
    let c = app.browser_as("UA-three");
    a.registered("alice@example.com").await;
    b.signed_in("alice@example.com").await;
    c.signed_in("alice@example.com").await;
    let mallory = app.browser_as("UA-mallory");
    mallory.registered("mallory@example.com").await;

    let list = a.get("/sessions").await;
    assert_eq!(list.status, StatusCode::OK);
    for ua in ["UA-one", "UA-two", "UA-three"] {
        assert!(list.body.contains(ua), "{ua} listed");
    }
    assert!(!list.body.contains("UA-mallory"));
    assert_eq!(list.body.matches("This session").count(), 1);
    assert!(list.body.contains("127.0.0.1"));
    assert!(list.body.contains(" UTC"));
    assert_eq!(list.body.matches(r#"<tr id="session-"#).count(), 3);
    let ids = ["UA-one", "UA-two", "UA-three"].map(|ua| session_id_of(&list.body, ua));
    assert!(list
        .body
        .contains(&format!(r#"<tr id="session-{}" class="current">"#, ids[0])));

    // Nobody can end somebody else's session.
    let res = mallory
        .post(&format!("/sessions/{}/delete", ids[2]), &[])
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(c.me().await.is_some());
    let res = a.post("/sessions/not-an-id/delete", &[]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    let res = a.post(&format!("/sessions/{}/delete", ids[1]), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/sessions"));
    assert!(b.me().await.is_none(), "b ended");
    assert!(c.me().await.is_some());

    let res = a.post("/sessions/delete-others", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(a
        .get("/sessions")
        .await
        .body
        .contains("Signed out 1 other session."));
    assert!(c.me().await.is_none(), "c ended");
    assert!(a.me().await.is_some(), "this one stays");
    assert!(mallory.me().await.is_some(), "other users are untouched");

    // Ending the current session signs out.
    let res = a.post(&format!("/sessions/{}/delete", ids[0]), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/"));
    assert!(a.me().await.is_none());
    app.stop().await;
}

#[tokio::test]
async fn sessions_show_device_names_and_relative_times_with_the_exact_time_on_hover() {
    let app = TestApp::start().await;
    let chrome = app.browser_as(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    );
    chrome.registered("alice@example.com").await;
    app.advance(150);
    let iphone = app.browser_as(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    );
    iphone.signed_in("alice@example.com").await;
    let list = iphone.get("/sessions").await;
    assert!(list.body.contains(">Chrome on Linux<"), "{}", list.body);
    assert!(list.body.contains(">Safari on iPhone<"));
    assert!(list.body.contains(">2 minutes ago</time>"), "{}", list.body);
    assert!(list.body.contains(">just now</time>"));
    assert!(list.body.contains(">in 30 minutes</time>"));
    // The exact time on hover, and machine-readable.
    assert!(list.body.contains(r#"<time datetime=""#));
    assert!(list.body.contains(r#" UTC">"#));
    assert!(list.body.contains("2 active sessions"));
    app.stop().await;
}
