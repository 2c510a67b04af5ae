//! Revocation and listing (invariants 4, 8): "log out everywhere", revoking one session, `sessions()` and `users()`.

use super::prelude::*;

/// Invariant 4: "log out everywhere": every session of the user ends, grace tokens included; other
/// users are untouched; the user is no longer cached.
pub async fn delete_user_sessions_ends_every_session_of_the_user(h: Harness) {
    let (_, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let a2 = h.sign_in(user(1, "ann")).await;
    let a3 = h.sign_in(user(1, "ann")).await;
    let bob = h.sign_in(user(2, "bob")).await;
    assert_eq!(
        h.cache.delete_user_sessions(&key(1), None).await.unwrap(),
        3
    );
    for c in [
        &old,
        &new,
        &a2.cookie.into_string(),
        &a3.cookie.into_string(),
    ] {
        h.must_not_fetch(c, "after log-out everywhere").await;
    }
    assert!(h.sessions(1).await.is_empty());
    assert_eq!(h.put(user(1, "x")).await, PutOutcome::NotCached);
    assert_eq!(
        h.cache.delete_user_sessions(&key(1), None).await.unwrap(),
        0
    );
    assert_eq!(
        *h.must_fetch(bob.cookie.as_str(), "bob").await.user,
        user(2, "bob")
    );
    assert_eq!(h.user_ids().await, vec![2]);
}

/// Invariant 4: "log out everywhere else": every session but `except` ends; `except` keeps its token and
/// the cached user, which `put_user` can still update.
pub async fn delete_user_sessions_except_keeps_only_that_session(h: Harness) {
    let keep = h.sign_in(user(1, "ann")).await;
    let (_, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let other = h.sign_in(user(1, "ann")).await;
    assert_eq!(
        h.cache
            .delete_user_sessions(&key(1), Some(&keep.session.session_id))
            .await
            .unwrap(),
        2
    );
    for c in [&old, &new, &other.cookie.into_string()] {
        h.must_not_fetch(c, "after log-out everywhere else").await;
    }
    assert_eq!(h.session_ids(1).await, vec![keep.session.session_id]);
    assert_eq!(h.put(user(1, "ann-2")).await, PutOutcome::Updated);
    let a = h.must_fetch(keep.cookie.as_str(), "the kept session").await;
    assert_eq!(*a.user, user(1, "ann-2"));
    // `except` naming a session of another user deletes all of this user's sessions.
    let bob = h.sign_in(user(2, "bob")).await;
    assert_eq!(
        h.cache
            .delete_user_sessions(&key(1), Some(&bob.session.session_id))
            .await
            .unwrap(),
        1
    );
    h.must_not_fetch(keep.cookie.as_str(), "no longer excepted")
        .await;
    h.must_fetch(bob.cookie.as_str(), "bob").await;
}

/// Invariant 4: revoking one session by id ends it and both its tokens, and nothing else.
pub async fn delete_session_ends_one_session_and_both_its_tokens(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let other = h.sign_in(user(1, "ann")).await;
    assert!(h.cache.delete_session(&s.session.session_id).await.unwrap());
    h.must_not_fetch(&old, "revoked grace token").await;
    h.must_not_fetch(&new, "revoked current token").await;
    assert!(!h.cache.delete_session(&s.session.session_id).await.unwrap());
    assert!(!h
        .cache
        .delete_session(&SessionId::generate())
        .await
        .unwrap());
    assert_eq!(h.session_ids(1).await, vec![other.session.session_id]);
    h.must_fetch(other.cookie.as_str(), "the other session")
        .await;
}

/// Invariant 8: `sessions()` lists the user's live sessions oldest first, with their metadata and renewal
/// time, and hides revoked and expired ones.
pub async fn sessions_lists_live_sessions_oldest_first_with_metadata(h: Harness) {
    let t0 = h.now();
    let mut m1 = meta("Firefox/128", "192.0.2.1");
    m1.fields.insert("device".into(), "laptop".into());
    let s1 = h.sign_in_with(user(1, "ann"), m1.clone()).await;
    h.advance(Duration::from_secs(100));
    let s2 = h
        .sign_in_with(user(1, "ann"), meta("Safari/17", "192.0.2.2"))
        .await;
    h.advance(Duration::from_secs(100));
    let s3 = h
        .sign_in_with(user(1, "ann"), meta("curl/8", "192.0.2.3"))
        .await;
    let s4 = h
        .sign_in_with(user(1, "ann"), meta("Edge/1", "192.0.2.4"))
        .await;
    h.sign_in(user(2, "bob")).await;

    // t0+200: s1 is due and renews.
    h.must_fetch(s1.cookie.as_str(), "s1")
        .await
        .renewed
        .unwrap();
    let list = h.sessions(1).await;
    assert_eq!(list.len(), 4);
    assert_eq!(list[0].session_id, s1.session.session_id);
    assert_eq!(list[1].session_id, s2.session.session_id);
    assert!(list.windows(2).all(|w| w[0].created_at <= w[1].created_at));
    assert_eq!(*list[0].metadata, m1);
    assert_eq!(list[0].created_at, t0);
    assert_eq!(list[0].renewed_at, h.now());
    assert_eq!(list[1].metadata.user_agent.as_deref(), Some("Safari/17"));
    assert_eq!(list[1].metadata.ip.as_deref(), Some("192.0.2.2"));
    assert!(list.iter().all(|r| *r.user_key == key(1)));

    assert!(h
        .cache
        .delete_session(&s4.session.session_id)
        .await
        .unwrap());
    // t0+700: s2 (idle deadline t0+700) is dead; s1 renewed at t0+200 and s3 (created t0+200) live.
    h.clock
        .set(t0.saturating_add(IDLE + Duration::from_secs(100)));
    assert_eq!(
        h.session_ids(1).await,
        vec![s1.session.session_id, s3.session.session_id]
    );
    assert!(h.cache.sessions("nobody").await.unwrap().is_empty());
}

/// Invariants 1, 8: `users()` lists one copy per user that has a live session, the latest copy.
pub async fn users_lists_one_copy_per_user_with_a_live_session(h: Harness) {
    assert!(h.users().await.is_empty());
    h.sign_in(user(1, "ann")).await;
    h.sign_in(user(1, "ann")).await;
    let bob = h.sign_in(user(2, "bob")).await;
    h.put(user(1, "ann-2")).await;
    assert_eq!(h.users().await, vec![user(1, "ann-2"), user(2, "bob")]);
    h.cache.delete(bob.cookie.as_str()).await.unwrap();
    assert_eq!(h.users().await, vec![user(1, "ann-2")]);
    h.advance(IDLE);
    assert!(h.users().await.is_empty());
}
