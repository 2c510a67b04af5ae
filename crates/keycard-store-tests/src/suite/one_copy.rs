//! One cached user (invariant 1): `put_user`, `sync` and sign-in replace the one copy every session reads.

use super::prelude::*;

/// Invariant 1: `put_user` replaces the one cached copy; every session of that user sees it, no other
/// user's session does.
pub async fn put_user_is_seen_by_every_session_of_the_user(h: Harness) {
    let mut ann = Vec::new();
    for _ in 0..3 {
        ann.push(h.sign_in(user(1, "ann")).await.cookie.into_string());
    }
    let bob = h.sign_in(user(2, "bob")).await.cookie.into_string();

    assert_eq!(h.put(user(1, "ann-pro")).await, PutOutcome::Updated);
    for c in &ann {
        let a = h.must_fetch(c, "ann's session").await;
        assert_eq!(*a.user, user(1, "ann-pro"));
        assert!(a.renewed.is_none(), "put_user does not rotate anything");
    }
    assert_eq!(*h.must_fetch(&bob, "bob").await.user, user(2, "bob"));
    assert_eq!(h.users().await, vec![user(1, "ann-pro"), user(2, "bob")]);
}

/// Invariant 1: one `put_user` is one store call, and it reaches every one of 300 sessions.
pub async fn put_user_reaches_hundreds_of_sessions_with_one_store_call(h: Harness) {
    let mut cookies = Vec::new();
    for _ in 0..300 {
        cookies.push(h.sign_in(user(1, "ann")).await.cookie.into_string());
    }
    let before = h.spy.calls();
    assert_eq!(h.put(user(1, "ann-pro")).await, PutOutcome::Updated);
    assert_eq!(h.spy.calls(), before + 1);
    for c in &cookies {
        assert_eq!(h.must_fetch(c, "session").await.user.name, "ann-pro");
    }
    assert_eq!(
        h.users().await.len(),
        1,
        "one cached copy, not one per session"
    );
}

/// Invariants 1, 4: `sync` through one session updates the one cached copy: all of the user's sessions see
/// it, and only the synced session's token rotates.
pub async fn sync_through_one_session_is_seen_by_every_session_of_the_user(h: Harness) {
    let a = h.sign_in(user(1, "ann")).await;
    let b = h.sign_in(user(1, "ann")).await;
    let c = h.sign_in(user(2, "cid")).await;
    let synced = h
        .cache
        .sync(&a.session.session_id, user(1, "ann-pro"))
        .await
        .unwrap()
        .expect("live session");
    let via_a = h.must_fetch(synced.cookie.as_str(), "synced session").await;
    assert_eq!(*via_a.user, user(1, "ann-pro"));
    let via_b = h.must_fetch(b.cookie.as_str(), "the other session").await;
    assert_eq!(*via_b.user, user(1, "ann-pro"));
    assert_eq!(
        via_b.token_use,
        TokenUse::Current,
        "b's token was not rotated"
    );
    assert_eq!(
        *h.must_fetch(c.cookie.as_str(), "c").await.user,
        user(2, "cid")
    );
}

/// Invariant 1: signing in again replaces the cached copy for the sessions the user already has.
pub async fn sign_in_replaces_the_cached_user_for_every_session(h: Harness) {
    let a = h.sign_in(user(1, "ann")).await;
    let b = h.sign_in(user(1, "ann-renamed")).await;
    assert_eq!(
        *h.must_fetch(a.cookie.as_str(), "a").await.user,
        user(1, "ann-renamed")
    );
    assert_eq!(
        *h.must_fetch(b.cookie.as_str(), "b").await.user,
        user(1, "ann-renamed")
    );
    assert_eq!(h.users().await, vec![user(1, "ann-renamed")]);
}
