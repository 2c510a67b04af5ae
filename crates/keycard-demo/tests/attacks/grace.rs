//! V3: a request served from a replaced token (a remember-me cookie another tab just redeemed, a session
//! token just renewed) reads as the user and changes nothing; its grace answers are bounded in number.

use reqwest::StatusCode;

use crate::common::remembered::{live_sessions, remembered, reopened};
use crate::common::{TestApp, SESSION_COOKIE};

/// The finding: the owner's browser redeems its remember-me cookie; a copy replayed inside the grace
/// window tried a plan change, the account refresh, "sign out all others", a sign-out. Each is refused
/// (409) and writes nothing; the owner stays signed in with the plan they had; once the window is over
/// the copy is theft, which ends every session.
#[tokio::test]
async fn a_copied_remember_me_cookie_in_the_grace_window_cannot_change_anything() {
    let app = TestApp::start().await;
    let (_old, cookie) = remembered(&app, "grace@example.com").await;
    let owner = reopened(&app, &cookie);
    assert_eq!(
        owner.plan().await.as_deref(),
        Some("free"),
        "signed back in"
    );
    let thief = reopened(&app, &cookie);
    assert!(thief.me().await.is_some(), "a grace answer reads");
    for (path, form) in [
        ("/plan", &[("plan", "pro")][..]),
        ("/account/refresh", &[][..]),
        ("/sessions/delete-others", &[][..]),
        ("/session/delete", &[][..]),
    ] {
        let p = thief.post(path, form).await;
        assert_eq!(p.status, StatusCode::CONFLICT, "{path}: {}", p.body);
        assert!(p.set_cookie_value(SESSION_COOKIE).is_none(), "{path}");
    }
    assert_eq!(live_sessions(&app, "grace@example.com").await, 1);
    assert_eq!(
        owner.plan().await.as_deref(),
        Some("free"),
        "nothing changed"
    );
    app.advance(11); // past the 10 s remember-me grace
    assert!(thief.me().await.is_none(), "the copy is theft now");
    assert!(owner.me().await.is_none(), "theft ends every session");
}

/// A copy replayed in the window is served a bounded number of times (16 by default), then not at all.
#[tokio::test]
async fn remember_me_grace_answers_are_bounded_in_number() {
    let app = TestApp::start().await;
    let (_old, cookie) = remembered(&app, "bounded@example.com").await;
    let owner = reopened(&app, &cookie);
    assert!(owner.me().await.is_some());
    let copy = reopened(&app, &cookie);
    let mut served = 0;
    for _ in 0..40 {
        if copy.me().await.is_some() {
            served += 1;
        }
    }
    assert_eq!(served, keycard::remember::DEFAULT_REMEMBER_GRACE_USES);
    assert!(owner.me().await.is_some(), "the owner is untouched");
}

/// The same shape for a session token in its renewal grace: a plan change from the replaced token
/// (which would rotate the session and leave the rightful holder signed out after the grace) is refused;
/// the holder of the current token keeps the session.
#[tokio::test]
async fn a_replaced_session_token_cannot_sync_during_its_grace() {
    let app = TestApp::start().await;
    let owner = app.browser();
    owner.registered("renewed@example.com").await;
    let old = owner.session_cookie().expect("signed in");
    app.advance(app.config.policy.renewal_interval.as_secs());
    assert!(owner.me().await.is_some());
    assert_ne!(owner.session_cookie(), Some(old.clone()), "renewed");
    let copy = app.browser();
    copy.plant(SESSION_COOKIE, &old);
    assert!(copy.me().await.is_some(), "a grace answer reads");
    let p = copy.post("/plan", &[("plan", "pro")]).await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.body);
    app.advance(app.config.policy.grace.as_secs() + 1);
    assert_eq!(
        owner.plan().await.as_deref(),
        Some("free"),
        "still signed in"
    );
}
