//! Background `put_user` (invariant 7) and no resurrection (invariant 2): what a write may not create, extend or replace.

use super::prelude::*;

/// Invariants 7, 2: `put_user` for a user with no session writes nothing: no user record appears, and a
/// later sign-in with an older version is not vetoed by it.
pub async fn put_user_for_a_user_without_sessions_stores_nothing(h: Harness) {
    let bob = h.sign_in(user(2, "bob")).await;
    assert_eq!(h.put(user_v(1, "ghost", 100)).await, PutOutcome::NotCached);
    assert_eq!(h.users().await, vec![user(2, "bob")]);
    assert!(h.sessions(1).await.is_empty());

    let s = h.sign_in(user_v(1, "ann", 1)).await;
    assert_eq!(
        *h.must_fetch(s.cookie.as_str(), "later sign-in").await.user,
        user_v(1, "ann", 1),
        "the refused put_user left nothing behind to veto the sign-in"
    );
    assert_eq!(h.users().await, vec![user_v(1, "ann", 1), user(2, "bob")]);
    assert_eq!(
        *h.must_fetch(bob.cookie.as_str(), "bob").await.user,
        user(2, "bob")
    );
}

/// Invariants 7, 2, 8: once the user's last session has ended (sign-out, revoke, revoke-all, expiry), the
/// user counts as uncached: `put_user` reports `NotCached`, `users()` omits it, and the next sign-in shows
/// exactly the user it signed in with.
pub async fn put_user_after_the_last_session_ends_stores_nothing(h: Harness) {
    // 1: sign-out. 2: delete_session. 3: delete_user_sessions. 4: idle expiry (no sweep).
    let s1 = h.sign_in(user(1, "a")).await;
    let s2 = h.sign_in(user(2, "b")).await;
    let s3 = h.sign_in(user(3, "c")).await;
    let s4 = h.sign_in(user(4, "d")).await;
    h.advance(IDLE / 2);
    let s5 = h.sign_in(user(5, "e")).await; // stays live throughout

    assert!(h.cache.delete(s1.cookie.as_str()).await.unwrap().is_some());
    assert!(h
        .cache
        .delete_session(&s2.session.session_id)
        .await
        .unwrap());
    assert_eq!(
        h.cache.delete_user_sessions(&key(3), None).await.unwrap(),
        1
    );
    h.advance(IDLE / 2); // user 4's only session reaches its idle deadline

    for id in 1..=4 {
        assert_eq!(
            h.put(user(id, "ghost")).await,
            PutOutcome::NotCached,
            "user {id} has no live session"
        );
    }
    assert_eq!(h.user_ids().await, vec![5]);
    for s in [&s1, &s2, &s3, &s4] {
        h.must_not_fetch(s.cookie.as_str(), "ended session").await;
    }
    for id in 1..=4 {
        let again = h.sign_in(user(id, "back")).await;
        assert_eq!(
            *h.must_fetch(again.cookie.as_str(), "new sign-in")
                .await
                .user,
            user(id, "back")
        );
    }
    assert_eq!(
        *h.must_fetch(s5.cookie.as_str(), "e").await.user,
        user(5, "e")
    );
}

/// Invariants 7, 8: a user whose only remaining session has expired is uncached, even when a session that
/// would still be live (renewed further into the future) was revoked earlier: "live" is decided by the
/// sessions that are left, not by the longest deadline the user ever had.
pub async fn put_user_when_only_expired_sessions_remain_stores_nothing(h: Harness) {
    let expiring = h.sign_in(user_v(1, "ann", 1)).await;
    let renewed = h.sign_in(user_v(1, "ann", 1)).await;
    h.advance(IDLE / 2);
    let a = h.must_fetch(renewed.cookie.as_str(), "renews").await;
    assert!(a.renewed.is_some());
    assert!(h
        .cache
        .delete_session(&renewed.session.session_id)
        .await
        .unwrap());
    assert_eq!(h.session_ids(1).await, vec![expiring.session.session_id]);
    h.advance(IDLE / 2); // the remaining session reaches its idle deadline
                         // Nothing reads the user's sessions before put_user: a store must not rely on a listing to prune first.
    assert_eq!(
        h.put(user_v(1, "ghost", 9)).await,
        PutOutcome::NotCached,
        "no live session is left"
    );
    assert!(h.sessions(1).await.is_empty());
    assert!(h.users().await.is_empty());
    h.must_not_fetch(expiring.cookie.as_str(), "expired").await;
    // Whatever the refused write carried must not surface in (or veto) the next sign-in.
    let back = h.sign_in(user_v(1, "ann", 2)).await;
    assert_eq!(
        *h.must_fetch(back.cookie.as_str(), "next sign-in")
            .await
            .user,
        user_v(1, "ann", 2)
    );
}

/// Invariants 7, 8: `put_user` moves no deadline: the session still dies at its original idle deadline,
/// and its token and `renewed_at` are untouched.
pub async fn put_user_never_extends_the_idle_deadline(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let before = h.session(1, &s.session.session_id).await.unwrap();
    h.advance(IDLE - MS);
    assert_eq!(h.put(user(1, "ann-2")).await, PutOutcome::Updated);
    let after = h
        .session(1, &s.session.session_id)
        .await
        .expect("still live");
    assert_eq!(after, before, "put_user touched the session record");
    h.advance(MS);
    h.must_not_fetch(s.cookie.as_str(), "at the original idle deadline")
        .await;
    assert!(h.sessions(1).await.is_empty());
    assert_eq!(h.put(user(1, "ann-3")).await, PutOutcome::NotCached);
}

/// Invariants 7, 8, 3: however often `put_user` runs between renewals, the session dies at its absolute
/// deadline.
pub async fn put_user_never_extends_the_absolute_lifetime(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let absolute = s.session.absolute_deadline;
    let mut cookie = s.cookie.into_string();
    let mut n = 0;
    while h.now().saturating_add(RENEW) < absolute {
        h.advance(RENEW);
        if let Some(c) = h.must_fetch(&cookie, "renewing").await.renewed {
            cookie = c.into_string();
        }
        n += 1;
        assert_eq!(
            h.put(user(1, &format!("ann-{n}"))).await,
            PutOutcome::Updated
        );
        let rec = h.session(1, &s.session.session_id).await.unwrap();
        assert_eq!(rec.absolute_deadline, absolute);
        assert!(rec.idle_deadline <= absolute);
    }
    h.clock.set(absolute);
    assert_eq!(h.put(user(1, "late")).await, PutOutcome::NotCached);
    h.must_not_fetch(&cookie, "at the absolute deadline").await;
}

/// Invariant 7: `put_user` never replaces a newer version with an older one; an equal or newer version,
/// or an unversioned user, replaces it.
pub async fn put_user_never_replaces_a_newer_version(h: Harness) {
    let s = h.sign_in(user_v(1, "v5", 5)).await;
    let c = s.cookie.as_str();
    assert_eq!(h.put(user_v(1, "v3", 3)).await, PutOutcome::Stale);
    assert_eq!(
        *h.must_fetch(c, "after stale").await.user,
        user_v(1, "v5", 5)
    );
    assert_eq!(h.put(user_v(1, "v5-again", 5)).await, PutOutcome::Updated);
    assert_eq!(
        *h.must_fetch(c, "equal").await.user,
        user_v(1, "v5-again", 5)
    );
    assert_eq!(h.put(user_v(1, "v6", 6)).await, PutOutcome::Updated);
    assert_eq!(h.put(user_v(1, "v4", 4)).await, PutOutcome::Stale);
    assert_eq!(
        *h.must_fetch(c, "after newer").await.user,
        user_v(1, "v6", 6)
    );
    assert_eq!(h.users().await, vec![user_v(1, "v6", 6)]);
    assert_eq!(h.put(user(1, "unversioned")).await, PutOutcome::Updated);
    assert_eq!(
        *h.must_fetch(c, "unversioned").await.user,
        user(1, "unversioned")
    );
}

/// Invariants 7, 4: `sync` with an older version still rotates the token, but keeps the newer cached user.
pub async fn sync_never_replaces_a_newer_version(h: Harness) {
    let a = h.sign_in(user_v(1, "v5", 5)).await;
    let b = h.sign_in(user_v(1, "v5", 5)).await;
    let synced = h
        .cache
        .sync(&a.session.session_id, user_v(1, "v3", 3))
        .await
        .unwrap()
        .expect("live session");
    h.must_not_fetch(a.cookie.as_str(), "the token before sync")
        .await;
    assert_eq!(
        *h.must_fetch(synced.cookie.as_str(), "synced").await.user,
        user_v(1, "v5", 5)
    );
    assert_eq!(
        *h.must_fetch(b.cookie.as_str(), "other").await.user,
        user_v(1, "v5", 5)
    );
}

/// Invariant 7: a sign-in carrying an older version than the cached copy keeps the newer copy.
pub async fn sign_in_never_replaces_a_newer_version(h: Harness) {
    let a = h.sign_in(user_v(1, "v5", 5)).await;
    let b = h.sign_in(user_v(1, "v3", 3)).await;
    assert_eq!(
        *h.must_fetch(a.cookie.as_str(), "a").await.user,
        user_v(1, "v5", 5)
    );
    assert_eq!(
        *h.must_fetch(b.cookie.as_str(), "b").await.user,
        user_v(1, "v5", 5)
    );
}
