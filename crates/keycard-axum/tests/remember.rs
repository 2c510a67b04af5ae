//! Remember-me through the layer: a browser whose session ended signs back in with its remember-me
//! cookie (a new session, not fresh for sudo mode, both cookies rotated), concurrent tabs share one new
//! session, a copied cookie ends everything, sign-out and "log out elsewhere" end series.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use http::{header, Request, StatusCode};
use tower::ServiceExt;

use common::browser::{app, Jar, GRACE, REMEMBER};
use common::{body, set_cookies};

#[tokio::test]
async fn a_closed_browser_is_signed_back_in_with_a_new_session_and_rotated_cookies() {
    let a = app();
    let mut jar = a.remembered_browser().await;
    let first = jar.clone();
    let remember_cookie = set_cookies(&a.send("POST", "/login/7", &Jar::default()).await)
        .into_iter()
        .find(|c| c.name() == REMEMBER)
        .expect("a remember-me cookie");
    assert_eq!(remember_cookie.http_only(), Some(true));
    assert_eq!(
        remember_cookie.max_age(),
        Some(cookie::time::Duration::seconds(30 * 24 * 3600)),
        "persistent for the series' lifetime"
    );

    jar.restart();
    let res = a.visit("GET", "/me", &mut jar).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, "7:free");
    assert!(jar.session.is_some(), "a new session cookie");
    assert_ne!(
        jar.remember, first.remember,
        "the remember-me token rotated"
    );
    // The new session is a remembered one: no proof of password, so sudo mode asks again.
    assert_eq!(
        a.send("GET", "/danger", &jar).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        a.send("GET", "/me", &jar).await.status(),
        StatusCode::OK,
        "and the new session cookie works on its own"
    );
}

#[tokio::test]
async fn sixteen_tabs_reopening_at_once_are_all_served_and_share_one_new_session() {
    let a = app();
    let mut jar = a.remembered_browser().await;
    // The session ends (expiry, say) and the browser is closed.
    let old = jar.session.clone().unwrap();
    let s = a.cache.fetch(&old).await.unwrap().unwrap().session;
    a.cache.sign_out(&s.session_id).await.unwrap();
    jar.restart();

    let tabs: Vec<_> = (0..16)
        .map(|_| {
            let app = a.app.clone();
            let cookie = jar.header().unwrap();
            tokio::spawn(async move {
                let req = Request::get("/me")
                    .header(header::COOKIE, cookie)
                    .body(Body::empty())
                    .unwrap();
                app.oneshot(req).await.unwrap()
            })
        })
        .collect();
    let mut with_cookies = 0;
    for tab in tabs {
        let res = tab.await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "every tab is served");
        if !set_cookies(&res).is_empty() {
            with_cookies += 1;
            assert_eq!(set_cookies(&res).len(), 2, "the winner sets both cookies");
        }
        assert_eq!(body(res).await, "7:free");
    }
    assert_eq!(with_cookies, 1, "one winner");
    assert_eq!(a.live_sessions().await, 1, "one new session");
}

#[tokio::test]
async fn a_copied_remember_me_cookie_ends_every_session_and_series_of_the_user() {
    let a = app();
    let mut victim = a.remembered_browser().await;
    let mut thief = victim.clone();
    thief.restart();
    victim.restart();
    // The thief uses the copy first; the victim comes back after the grace window.
    assert_eq!(
        a.visit("GET", "/me", &mut thief).await.status(),
        StatusCode::OK
    );
    a.clock.advance(GRACE + Duration::from_secs(1));
    let res = a.visit("GET", "/me", &mut victim).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(victim.remember, None, "the cookie is cleared");
    assert_eq!(a.live_sessions().await, 0, "the thief's session ended too");
    assert_eq!(
        a.send("GET", "/me", &thief).await.status(),
        StatusCode::UNAUTHORIZED
    );
    thief.restart();
    assert_eq!(
        a.send("GET", "/me", &thief).await.status(),
        StatusCode::UNAUTHORIZED,
        "the thief's rotated cookie is dead: the series is gone"
    );
}

#[tokio::test]
async fn sign_out_clears_both_cookies_and_the_remember_me_cookie_no_longer_signs_in() {
    let a = app();
    let mut jar = a.remembered_browser().await;
    let kept = jar.clone();
    let res = a.visit("POST", "/logout", &mut jar).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!((jar.session.as_ref(), jar.remember.as_ref()), (None, None));
    let mut replay = kept;
    replay.restart();
    let res = a.visit("GET", "/me", &mut replay).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        replay.remember, None,
        "a dead remember-me cookie is cleared"
    );
}

#[tokio::test]
async fn log_out_elsewhere_keeps_this_browsers_series_and_ends_the_others() {
    let a = app();
    let mut here = a.remembered_browser().await;
    let mut there = a.remembered_browser().await;
    let res = a.visit("POST", "/others", &mut here).await;
    assert_eq!(body(res).await, "1");
    there.restart();
    assert_eq!(
        a.visit("GET", "/me", &mut there).await.status(),
        StatusCode::UNAUTHORIZED,
        "the other device cannot sign itself back in"
    );
    here.restart();
    assert_eq!(
        a.visit("GET", "/me", &mut here).await.status(),
        StatusCode::OK,
        "this browser still can"
    );
}

#[tokio::test]
async fn ending_a_series_on_the_sessions_page_ends_its_sessions() {
    let a = app();
    let mut here = a.remembered_browser().await;
    let there = a.remembered_browser().await;
    let listed = body(a.visit("GET", "/series", &mut here).await).await;
    let ids: Vec<&str> = listed.split(',').collect();
    assert_eq!(ids.len(), 2);
    let there_session = a
        .cache
        .fetch(there.session.as_ref().unwrap())
        .await
        .unwrap()
        .unwrap()
        .session;
    let theirs = there_session.remember_series.unwrap().to_hex();
    let res = a
        .visit("POST", &format!("/series/{theirs}/end"), &mut here)
        .await;
    assert_eq!(body(res).await, "true");
    assert_eq!(
        a.send("GET", "/me", &there).await.status(),
        StatusCode::UNAUTHORIZED,
        "its session ended with it"
    );
    assert_eq!(a.send("GET", "/me", &here).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_database_outage_during_redemption_answers_503_and_still_sends_the_rotated_cookie() {
    let a = app();
    let mut jar = a.remembered_browser().await;
    jar.restart();
    let before = jar.remember.clone();
    a.users.down.store(true, Ordering::SeqCst);
    let res = a.visit("GET", "/me", &mut jar).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(jar.remember.is_some() && jar.remember != before, "rotated");
    a.users.down.store(false, Ordering::SeqCst);
    a.clock.advance(GRACE * 2);
    assert_eq!(
        a.visit("GET", "/me", &mut jar).await.status(),
        StatusCode::OK,
        "the browser kept the series: no false theft"
    );
}

#[tokio::test]
async fn a_forged_remember_me_cookie_is_anonymous_and_reaches_no_session_store() {
    let a = app();
    let jar = a.remembered_browser().await;
    let mut forged = Jar {
        session: None,
        remember: jar.remember.map(|v| {
            let mut b = v.into_bytes();
            b[5] = if b[5] == b'A' { b'B' } else { b'A' };
            String::from_utf8(b).unwrap()
        }),
    };
    let calls = a.store.calls();
    let res = a.visit("GET", "/me", &mut forged).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(forged.remember, None, "cleared");
    assert_eq!(a.store.calls(), calls, "no session store call");
}

#[tokio::test]
async fn a_plain_sign_in_of_another_user_ends_the_series_of_the_earlier_remember_me_cookie() {
    let a = app();
    let mut jar = a.remembered_browser().await;
    let earlier = jar.clone();
    let res = a.visit("POST", "/login-plain/8", &mut jar).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(jar.remember, None, "not remembered this time");
    let mut replay = earlier;
    replay.restart();
    assert_eq!(
        a.send("GET", "/me", &replay).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_tab_served_in_the_grace_window_cannot_sign_out_and_the_browser_signs_out_with_its_new_cookie(
) {
    let a = app();
    let mut jar = a.remembered_browser().await;
    jar.restart();
    let stale = jar.clone();
    // One tab redeems and rotates; another, still holding the old token, signs out in the grace window:
    // a grace request is read-only (issue 18, V3), so it is refused and changes nothing.
    assert_eq!(
        a.visit("GET", "/me", &mut jar).await.status(),
        StatusCode::OK
    );
    let res = a.send("POST", "/logout", &stale).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(set_cookies(&res).is_empty(), "no cookie changed");
    assert_eq!(a.send("GET", "/me", &jar).await.status(), StatusCode::OK);
    // The retry, with the cookies the browser holds now, signs out and ends the series.
    let res = a.visit("POST", "/logout", &mut jar).await;
    assert_eq!(res.status(), StatusCode::OK);
    let mut replay = stale;
    replay.remember = jar.remember.clone().or(replay.remember);
    assert_eq!(
        a.send("GET", "/me", &replay).await.status(),
        StatusCode::UNAUTHORIZED,
        "the series ended"
    );
}
