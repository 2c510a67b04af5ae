//! "Remember me" in the demo (issue 12, item 1): the sign-in form's `remember_me` checkbox starts a
//! series; a browser whose session cookie is gone (closed) is signed back in by its remember-me cookie
//! (once for any number of tabs), not fresh for sudo mode; sign-out, "forget" on the sessions page, a
//! password change and a copied cookie end series; `REMEMBER_SECS` sets the lifetime.
//!
//! "Closing the browser" is a new [`Browser`] given only the remember-me cookie: what a real browser
//! keeps of a persistent cookie when it drops its session cookies.

mod common;

use common::remembered::{
    live_sessions, remembered, reopened, sign_in_remembered, REMEMBER_COOKIE,
};
use common::{TestApp, PASSWORD, SESSION_COOKIE};
use reqwest::StatusCode;

#[tokio::test]
async fn the_checkbox_sets_a_persistent_cookie_for_remember_secs_and_without_it_there_is_none() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("plain@example.com").await;
    b.sign_out().await;
    let p = b.sign_in("plain@example.com", PASSWORD).await;
    assert!(p.set_cookie_value(REMEMBER_COOKIE).is_none(), "not ticked");
    b.sign_out().await;
    let p = sign_in_remembered(&b, "plain@example.com").await;
    let header = p
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("{REMEMBER_COOKIE}=")))
        .expect("a remember-me cookie");
    assert!(header.contains("Max-Age=2592000"), "30 days: {header}");
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Lax"));
    let page = b.get("/session/new").await;
    assert!(page.body.contains(r#"name="remember_me""#), "the checkbox");
}

#[tokio::test]
async fn a_reopened_browser_is_signed_back_in_once_for_sixteen_tabs_and_is_not_fresh_for_sudo() {
    let app = TestApp::start().await;
    let (_b, cookie) = remembered(&app, "tabs@example.com").await;
    assert_eq!(live_sessions(&app, "tabs@example.com").await, 1);
    let reopened = reopened(&app, &cookie);
    let tabs: Vec<_> = (0..16)
        .map(|_| {
            let client = reopened.client.clone();
            let url = app.url("/me");
            tokio::spawn(async move { client.get(url).send().await.expect("GET /me") })
        })
        .collect();
    let mut winners = 0;
    for tab in tabs {
        let res = tab.await.expect("tab");
        assert_eq!(res.status(), StatusCode::OK, "every tab is served");
        if res
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap_or("").starts_with(SESSION_COOKIE))
        {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "one tab signed the browser back in");
    assert_eq!(
        live_sessions(&app, "tabs@example.com").await,
        1,
        "one new session, which replaced the older session of its series (issue 18, W10)"
    );
    assert_ne!(
        reopened.cookie(REMEMBER_COOKIE).as_deref(),
        Some(cookie.as_str()),
        "the remember-me token rotated"
    );
    // The remembered session has no fresh proof of password: sudo mode asks for it.
    let p = reopened.post("/sessions/delete-others", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(
        p.location().unwrap_or("").starts_with("/session/confirm"),
        "{:?}",
        p.location()
    );
}

#[tokio::test]
async fn sign_out_ends_the_series_and_clears_the_cookie() {
    let app = TestApp::start().await;
    let (b, cookie) = remembered(&app, "out@example.com").await;
    let p = b.sign_out().await;
    let cleared = p
        .set_cookies()
        .into_iter()
        .any(|c| c.starts_with(&format!("{REMEMBER_COOKIE}=;")) && c.contains("Max-Age=0"));
    assert!(cleared, "{:?}", p.set_cookies());
    assert!(reopened(&app, &cookie).me().await.is_none());
}

#[tokio::test]
async fn a_copied_cookie_used_after_the_owner_ends_every_session_of_the_user() {
    let app = TestApp::start().await;
    let (owner, cookie) = remembered(&app, "victim@example.com").await;
    let thief = reopened(&app, &cookie);
    assert!(thief.me().await.is_some(), "the thief gets in first");
    app.advance(11); // past the 10 s grace for concurrent tabs
    let victim = reopened(&app, &cookie);
    assert!(victim.me().await.is_none(), "theft detected");
    assert!(thief.me().await.is_none(), "the thief's session ended");
    assert!(
        owner.me().await.is_none(),
        "every session of the user ended"
    );
    assert_eq!(live_sessions(&app, "victim@example.com").await, 0);
}

#[tokio::test]
async fn the_sessions_page_lists_remembered_browsers_and_forgetting_one_signs_it_out() {
    let app = TestApp::start().await;
    let (here, _) = remembered(&app, "list@example.com").await;
    let there = app.browser_as("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0");
    sign_in_remembered(&there, "list@example.com").await;
    let page = here.get("/sessions").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Remembered browsers"));
    assert_eq!(
        page.body.matches(r#"id="series-"#).count(),
        2,
        "{}",
        page.body
    );
    assert!(page.body.contains("This browser"));
    // The other browser's row is the one without the "This browser" mark.
    let rows: Vec<&str> = page.body.split(r#"<tr id="series-"#).skip(1).collect();
    let other = rows
        .iter()
        .find(|r| !r.contains("This browser"))
        .expect("the other browser's row");
    let id = &other[..32];
    let p = here
        .post(&format!("/sessions/remembered/{id}/delete"), &[])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), Some("/sessions"));
    assert!(there.me().await.is_none(), "its session ended with it");
    assert!(here.me().await.is_some());
    let p = here
        .post(&format!("/sessions/remembered/{id}/delete"), &[])
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "already forgotten");
}

#[tokio::test]
async fn a_password_change_ends_every_remembered_browser() {
    let app = TestApp::start().await;
    let (here, _) = remembered(&app, "pw@example.com").await;
    let there = app.browser();
    sign_in_remembered(&there, "pw@example.com").await;
    let there_cookie = there.cookie(REMEMBER_COOKIE).expect("remembered");
    let token = here.csrf().await;
    let new = "an entirely new passphrase";
    let p = here
        .post_with_headers(
            "/account/password",
            &[
                ("_csrf_token", token.as_str()),
                ("current_password", PASSWORD),
                ("password", new),
                ("password_confirmation", new),
            ],
            &[("Referer", &app.url("/profile"))],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(here.me().await.is_some(), "this browser stays signed in");
    assert!(reopened(&app, &there_cookie).me().await.is_none());
    let page = here.get("/sessions").await;
    assert!(
        page.body.contains("No browser is remembered"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn remember_secs_sets_the_lifetime() {
    let app = TestApp::start_with(|c| c.remember = std::time::Duration::from_secs(120)).await;
    let (_b, cookie) = remembered(&app, "short@example.com").await;
    app.advance(121);
    assert!(reopened(&app, &cookie).me().await.is_none(), "expired");
}
