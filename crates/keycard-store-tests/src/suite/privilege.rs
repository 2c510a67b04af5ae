//! Privilege changes (invariant 4): sign-out, `sync` and `regenerate` kill the old tokens at once.

use super::prelude::*;

/// Invariants 4, 3: signing out with the current token ends the session: the current token and the grace
/// token die at once.
pub async fn sign_out_kills_the_current_and_the_grace_token(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let other = h.sign_in(user(1, "ann")).await;
    assert_eq!(
        h.cache.delete(&new).await.unwrap(),
        Some(s.session.session_id)
    );
    h.must_not_fetch(&new, "signed-out current token").await;
    h.must_not_fetch(&old, "signed-out grace token").await;
    assert_eq!(h.session_ids(1).await, vec![other.session.session_id]);
    assert_eq!(h.cache.delete(&new).await.unwrap(), None);
    h.must_fetch(other.cookie.as_str(), "the user's other session")
        .await;
}

/// Invariants 4, 3: signing out with the grace token (a request the browser sent before it got the new
/// cookie) ends the session too, successor included.
pub async fn sign_out_through_the_grace_token_kills_the_current_token(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    assert_eq!(
        h.cache.delete(&old).await.unwrap(),
        Some(s.session.session_id)
    );
    h.must_not_fetch(&new, "successor after sign-out through grace")
        .await;
    h.must_not_fetch(&old, "grace token after sign-out").await;
    assert!(h.sessions(1).await.is_empty());
    assert_eq!(h.put(user(1, "x")).await, PutOutcome::NotCached);
}

/// Invariants 4, 1: `sync` kills the current and the grace token at once (no grace), and keeps the
/// session's identity: `session_id`, `created_at`, the absolute deadline and the metadata.
pub async fn sync_kills_the_old_tokens_at_once_and_keeps_the_session_identity(h: Harness) {
    let s = h
        .sign_in_with(user(1, "ann"), meta("Chrome/126", "203.0.113.9"))
        .await;
    let old = s.cookie.as_str().to_owned();
    h.advance(RENEW);
    let new = h
        .must_fetch(&old, "due")
        .await
        .renewed
        .unwrap()
        .into_string();
    h.advance(GRACE / 2); // inside the grace window
    let now = h.now();
    let synced = h
        .cache
        .sync(&s.session.session_id, user(1, "ann-pro"))
        .await
        .unwrap()
        .expect("live session");
    let newest = synced.cookie.as_str();
    h.must_not_fetch(&old, "grace token after sync").await;
    h.must_not_fetch(&new, "current token before sync").await;
    let a = h.must_fetch(newest, "sync's cookie").await;
    assert_eq!(a.token_use, TokenUse::Current);
    assert_eq!(*a.user, user(1, "ann-pro"));
    for r in [&*a.session, &*synced.session] {
        assert_eq!(r.session_id, s.session.session_id);
        assert_eq!(r.created_at, s.session.created_at);
        assert_eq!(r.absolute_deadline, s.session.absolute_deadline);
        assert_eq!(r.metadata, s.session.metadata);
        assert_eq!(r.renewed_at, now);
        assert_eq!(r.idle_deadline, now.saturating_add(IDLE));
        assert_eq!(r.current_token, h.hash_of(newest));
        assert_eq!(r.previous_token, None, "no grace after a privilege change");
    }
    assert_eq!(h.session_ids(1).await, vec![s.session.session_id]);
}

/// Invariant 4: `regenerate` (password change) kills the current and the grace token at once and keeps
/// the session and the cached user.
pub async fn regenerate_kills_the_old_tokens_at_once_and_keeps_the_cached_user(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let now = h.now();
    let (cookie, rec) = h
        .cache
        .regenerate(&s.session.session_id)
        .await
        .unwrap()
        .expect("live session");
    h.must_not_fetch(&old, "grace token after regenerate").await;
    h.must_not_fetch(&new, "current token before regenerate")
        .await;
    let a = h.must_fetch(cookie.as_str(), "regenerated cookie").await;
    assert_eq!(a.token_use, TokenUse::Current);
    assert_eq!(*a.user, user(1, "ann"));
    assert_eq!(rec.session_id, s.session.session_id);
    assert_eq!(rec.created_at, s.session.created_at);
    assert_eq!(rec.renewed_at, now);
    assert_eq!(rec.previous_token, None);
    assert_eq!(rec.current_token, h.hash_of(cookie.as_str()));
}

/// Invariants 2, 4: `sync` and `regenerate` of a session that was signed out, revoked, expired or never
/// existed return `None` and create nothing: no session, no token, no user record.
pub async fn sync_or_regenerate_of_a_dead_session_creates_nothing(h: Harness) {
    let signed_out = h.sign_in(user(1, "a")).await;
    let revoked = h.sign_in(user(2, "b")).await;
    let expiring = h.sign_in(user(3, "c")).await;
    h.cache.delete(signed_out.cookie.as_str()).await.unwrap();
    h.cache
        .delete_session(&revoked.session.session_id)
        .await
        .unwrap();
    h.advance(IDLE);
    let ids = [
        (1, signed_out.session.session_id),
        (2, revoked.session.session_id),
        (3, expiring.session.session_id),
        (4, SessionId::generate()),
    ];
    for (uid, id) in ids {
        assert!(h
            .cache
            .sync(&id, user(uid, "ghost"))
            .await
            .unwrap()
            .is_none());
        assert!(h.cache.regenerate(&id).await.unwrap().is_none());
        assert!(h.sessions(uid).await.is_empty(), "user {uid}");
        assert_eq!(h.put(user(uid, "ghost-2")).await, PutOutcome::NotCached);
    }
    assert!(h.users().await.is_empty());
    for s in [&signed_out, &revoked, &expiring] {
        h.must_not_fetch(s.cookie.as_str(), "dead session").await;
    }
}
