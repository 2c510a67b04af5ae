//! W11: a remembered session (signed back in by its cookie: no fresh password proof) could end the
//! owner's other sessions one by one, though "sign out all others" asks for the password. Every way of
//! ending another session or forgetting another browser now needs sudo mode.

use reqwest::StatusCode;

use crate::common::remembered::{remembered, reopened, user_id};
use crate::common::{TestApp, PASSWORD};

#[tokio::test]
async fn a_remembered_session_cannot_end_another_session_or_forget_another_browser() {
    let app = TestApp::start().await;
    let (owner, _cookie) = remembered(&app, "gap@example.com").await;
    let id = user_id(&app, "gap@example.com").await;
    let owners = app.app.state.cache.sessions(&id).await.expect("sessions");
    assert_eq!(owners.len(), 1);
    let (session, series) = (
        owners[0].session_id.to_hex(),
        owners[0].remember_series.expect("remembered").to_hex(),
    );
    // Another browser of the same person: remembered, signed back in without a password.
    let (_elsewhere, other_cookie) = {
        let b = app.browser();
        crate::common::remembered::sign_in_remembered(&b, "gap@example.com").await;
        let c = b
            .cookie(crate::common::remembered::REMEMBER_COOKIE)
            .unwrap();
        (b, c)
    };
    let intruder = reopened(&app, &other_cookie);
    assert!(intruder.me().await.is_some());
    for path in [
        format!("/sessions/{session}/delete"),
        format!("/sessions/remembered/{series}/delete"),
        "/sessions/delete-others".to_owned(),
    ] {
        let p = intruder.post(&path, &[]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            p.location().unwrap_or("").starts_with("/session/confirm"),
            "{path}: {:?}",
            p.location()
        );
    }
    assert!(owner.me().await.is_some(), "the owner's session lives");
    // With the password confirmed, the same request goes through.
    let p = intruder
        .post(
            "/session/confirm",
            &[("password", PASSWORD), ("return_to", "/sessions")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = intruder
        .post(&format!("/sessions/{session}/delete"), &[])
        .await;
    assert_eq!(p.location(), Some("/sessions"));
    assert!(owner.me().await.is_none());
}
