//! Issue 18, V3: a request served from a replaced token (a remember-me cookie another request just
//! redeemed, a session token another request just renewed) reads as the user and changes nothing: no
//! sign-in, sync, rotation or sign-out, so a copied cookie replayed in the window cannot mint itself a
//! fresh session, sign the owner out, or escape theft detection. Against a real router (memory store).

mod common;

use std::time::Duration;

use http::StatusCode;
use keycard::SessionMetadata;

use common::browser::{app, Jar, GRACE};
use common::{body, set_cookies, user};

/// The attack of the finding: the owner's browser redeems the remember-me cookie; the thief replays a
/// copy inside the grace window and tries every identity write. Each is refused with 409 and writes
/// nothing; the owner stays signed in; once the window is over the copy is theft, which ends it all.
#[tokio::test]
async fn a_copied_remember_me_cookie_in_the_grace_window_reads_but_cannot_sign_in_sync_or_sign_out()
{
    let a = app();
    let mut owner = a.remembered_browser().await;
    owner.restart();
    let mut thief = Jar {
        session: None,
        remember: owner.remember.clone(),
    };
    assert_eq!(
        a.visit("GET", "/me", &mut owner).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        a.live_sessions().await,
        1,
        "the redemption's (it replaced the older session of its series)"
    );

    let res = a.send("GET", "/me", &thief).await;
    assert_eq!(res.status(), StatusCode::OK, "a grace answer reads");
    assert!(set_cookies(&res).is_empty());
    for (method, path) in [
        ("POST", "/sync"),
        ("POST", "/login-plain/7"),
        ("POST", "/login/7"),
        ("POST", "/reauth"),
        ("POST", "/others"),
        ("POST", "/logout"),
    ] {
        let res = a.visit(method, path, &mut thief).await;
        assert_eq!(res.status(), StatusCode::CONFLICT, "{method} {path}");
        assert!(set_cookies(&res).is_empty(), "{method} {path}: no cookie");
    }
    assert_eq!(a.live_sessions().await, 1, "nothing created or ended");
    let res = a.send("GET", "/me", &owner).await;
    assert_eq!(
        body(res).await,
        "7:free",
        "the owner is signed in, not synced"
    );

    a.clock.advance(GRACE + Duration::from_secs(1));
    assert_eq!(
        a.visit("GET", "/me", &mut thief).await.status(),
        StatusCode::UNAUTHORIZED,
        "after the window the copy is theft"
    );
    assert_eq!(a.live_sessions().await, 0, "theft ends every session");
}

/// A replaced remember-me token answers a bounded number of grace requests, then none.
#[tokio::test]
async fn grace_answers_of_a_remember_me_cookie_are_bounded() {
    let a = app();
    let mut owner = a.remembered_browser().await;
    owner.restart();
    let copy = owner.clone();
    assert_eq!(
        a.visit("GET", "/me", &mut owner).await.status(),
        StatusCode::OK
    );
    let allowed = keycard::remember::DEFAULT_REMEMBER_GRACE_USES;
    for i in 0..allowed {
        assert_eq!(
            a.send("GET", "/me", &copy).await.status(),
            StatusCode::OK,
            "{i}"
        );
    }
    let res = a.send("GET", "/me", &copy).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "past the bound");
    assert!(set_cookies(&res).is_empty(), "the cookie is left alone");
    assert_eq!(a.send("GET", "/me", &owner).await.status(), StatusCode::OK);
}

/// The same rule for a session token in its renewal grace: a request with the replaced token may read,
/// but a sync from it (which would issue a new cookie and sign the rightful holder out after the grace)
/// is refused; the holder of the current token goes on.
#[tokio::test]
async fn a_replaced_session_token_in_its_grace_window_reads_but_cannot_sync_or_sign_out() {
    let a = app();
    let signed = a
        .cache
        .create(user(7, "free"), SessionMetadata::default())
        .await
        .unwrap();
    let old = Jar {
        session: Some(signed.cookie.as_str().to_owned()),
        remember: None,
    };
    a.clock.advance(a.cache.policy().renewal_interval);
    let mut owner = old.clone();
    let res = a.visit("GET", "/me", &mut owner).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_ne!(owner.session, old.session, "renewed");

    assert_eq!(a.send("GET", "/me", &old).await.status(), StatusCode::OK);
    for path in ["/sync", "/logout", "/reauth", "/login-plain/7"] {
        let res = a.send("POST", path, &old).await;
        assert_eq!(res.status(), StatusCode::CONFLICT, "{path}");
        assert!(set_cookies(&res).is_empty(), "{path}: no cookie");
    }
    a.clock
        .advance(a.cache.policy().grace + Duration::from_secs(1));
    let res = a.send("GET", "/me", &owner).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the rightful holder is still signed in"
    );
    assert_eq!(body(res).await, "7:free", "and nothing was synced");
}

/// W11: a remembered session (no recent password proof) cannot end another session or forget another
/// browser; with a fresh proof it can. Ending its own session (signing out) needs none.
#[tokio::test]
async fn ending_another_session_needs_a_recent_password_proof() {
    let a = app();
    let mut victim = a.remembered_browser().await;
    let victim_session = a
        .cache
        .fetch(victim.session.as_ref().unwrap())
        .await
        .unwrap()
        .unwrap()
        .session;
    let mut remembered = a.remembered_browser().await;
    remembered.restart();
    assert_eq!(
        a.visit("GET", "/me", &mut remembered).await.status(),
        StatusCode::OK
    );
    let end = format!("/sessions/{}/end", victim_session.session_id.to_hex());
    let series = format!(
        "/series/{}/end",
        victim_session.remember_series.unwrap().to_hex()
    );
    for path in [&end, &series, &"/others".to_owned()] {
        let res = a.visit("POST", path, &mut remembered).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        a.visit("GET", "/me", &mut victim).await.status(),
        StatusCode::OK
    );
    // A password confirmation makes the session fresh: now it may.
    assert_eq!(
        a.visit("POST", "/reauth", &mut remembered).await.status(),
        StatusCode::OK
    );
    let res = a.visit("POST", &end, &mut remembered).await;
    assert_eq!(body(res).await, "true");
    assert_eq!(
        a.send("GET", "/me", &victim).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
