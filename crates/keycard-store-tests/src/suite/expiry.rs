//! Expiry and sweeping (invariant 8): deadlines enforced on every read, sweeps that remove what died and nothing else.

use super::prelude::*;

/// Invariant 8: a session not renewed dies at exactly its idle deadline, for every operation, swept or not.
pub async fn idle_session_expires_at_its_idle_deadline(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let t = h.sign_in(user(1, "ann")).await;
    h.advance(IDLE - MS);
    assert_eq!(h.sessions(1).await.len(), 2, "alive one millisecond before");
    h.advance(MS);
    h.must_not_fetch(s.cookie.as_str(), "at the idle deadline")
        .await;
    assert!(h.sessions(1).await.is_empty());
    assert!(h.users().await.is_empty());
    assert_eq!(h.put(user(1, "x")).await, PutOutcome::NotCached);
    assert!(h
        .cache
        .sync(&t.session.session_id, user(1, "y"))
        .await
        .unwrap()
        .is_none());
    assert!(h
        .cache
        .regenerate(&t.session.session_id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(h.cache.delete(t.cookie.as_str()).await.unwrap(), None);
    h.must_not_fetch(t.cookie.as_str(), "the other session")
        .await;
}

/// Invariants 8, 3: renewals push the idle deadline but never past the absolute deadline; the session
/// (and its grace token) dies at the absolute deadline however active it is, and `regenerate` cannot
/// pass it either.
pub async fn absolute_lifetime_cannot_be_passed_by_renewals(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let absolute = s.session.absolute_deadline;
    let mut cookie = s.cookie.into_string();
    let mut previous = None;
    let mut renewals = 0;
    while h.now().saturating_add(RENEW) < absolute {
        h.advance(RENEW);
        let a = h.must_fetch(&cookie, "active session").await;
        if let Some(c) = a.renewed {
            previous = Some(std::mem::replace(&mut cookie, c.into_string()));
            renewals += 1;
        }
        assert_eq!(a.session.absolute_deadline, absolute);
        assert!(
            a.session.idle_deadline <= absolute,
            "idle deadline past the absolute one"
        );
    }
    assert!(renewals >= 10);
    h.clock.set(absolute.saturating_sub(Duration::from_secs(5)));
    let (c, rec) = h
        .cache
        .regenerate(&s.session.session_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rec.idle_deadline, absolute,
        "regenerate caps at the absolute deadline"
    );
    cookie = c.into_string();
    h.clock.set(absolute.saturating_sub(MS));
    h.must_fetch(&cookie, "last millisecond").await;
    h.clock.set(absolute);
    h.must_not_fetch(&cookie, "at the absolute deadline").await;
    if let Some(p) = previous {
        h.must_not_fetch(&p, "older token at the absolute deadline")
            .await;
    }
    assert!(h.sessions(1).await.is_empty());
}

/// Invariant 8: the per-user index never lists a dead session, and does not drop a live one: a session
/// renewed past its original idle deadline stays listed.
pub async fn index_never_lists_dead_sessions_and_keeps_renewed_ones(h: Harness) {
    let t0 = h.now();
    let s1 = h.sign_in(user(1, "ann")).await;
    let mut doomed = Vec::new();
    for _ in 0..20 {
        doomed.push(h.sign_in(user(1, "ann")).await);
    }
    h.advance(Duration::from_secs(300));
    let s2 = h.sign_in(user(1, "ann")).await;
    h.advance(Duration::from_secs(200));
    h.must_fetch(s1.cookie.as_str(), "s1 renews at t0+500")
        .await
        .renewed
        .unwrap();
    h.clock.set(t0.saturating_add(IDLE)); // the original deadline of s1 and the 20 doomed ones
    assert_eq!(
        h.session_ids(1).await,
        vec![s1.session.session_id, s2.session.session_id]
    );
    h.clock.set(t0.saturating_add(Duration::from_secs(900))); // s2's idle deadline
    assert_eq!(h.session_ids(1).await, vec![s1.session.session_id]);
    let s3 = h.sign_in(user(1, "ann")).await;
    assert_eq!(
        h.session_ids(1).await,
        vec![s1.session.session_id, s3.session.session_id]
    );
    for d in &doomed {
        h.must_not_fetch(d.cookie.as_str(), "expired session").await;
    }
    // Revoking everything counts the live sessions; dead ones are not resurrected to be counted.
    let n = h.cache.delete_user_sessions(&key(1), None).await.unwrap();
    assert!(n >= 2, "both live sessions are deleted (got {n})");
    assert!(h.sessions(1).await.is_empty());
}

/// Invariants 8, 2: a sweep removes expired sessions, their tokens and users left without a live session;
/// afterwards `put_user` cannot bring such a user back and their cookies stay dead.
pub async fn sweep_removes_expired_records_and_put_user_does_not_resurrect_them(h: Harness) {
    let a1 = h.sign_in(user(1, "ann")).await;
    let a2 = h.sign_in(user(1, "ann")).await;
    h.advance(IDLE / 2);
    let bob = h.sign_in(user(2, "bob")).await;
    h.advance(IDLE / 2); // both of ann's sessions expire now; bob's lives on
    let stats = h.cache.sweep().await.unwrap();
    if stats != SweepStats::default() {
        assert_eq!(stats.sessions, 2, "{stats:?}");
        assert_eq!(stats.users, 1, "{stats:?}");
        assert!(stats.tokens >= 2, "{stats:?}");
    }
    assert_eq!(h.put(user(1, "ghost")).await, PutOutcome::NotCached);
    assert_eq!(h.users().await, vec![user(2, "bob")]);
    assert!(h.sessions(1).await.is_empty());
    h.must_not_fetch(a1.cookie.as_str(), "swept").await;
    h.must_not_fetch(a2.cookie.as_str(), "swept").await;
    assert!(h
        .cache
        .sync(&a1.session.session_id, user(1, "g"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        *h.must_fetch(bob.cookie.as_str(), "bob").await.user,
        user(2, "bob")
    );

    let again = h.cache.sweep().await.unwrap();
    assert_eq!((again.sessions, again.users), (0, 0), "{again:?}");
    let back = h.sign_in(user(1, "ann-back")).await;
    assert_eq!(
        *h.must_fetch(back.cookie.as_str(), "new sign-in").await.user,
        user(1, "ann-back")
    );
}

/// Invariants 8, 3: sweeping never removes a live session, a live user, or a token inside its grace
/// window; after the window it may drop the replaced token, and the successor keeps working.
pub async fn sweep_removes_nothing_live(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let other = h.sign_in(user(2, "bob")).await;
    let stats = h.cache.sweep().await.unwrap();
    assert_eq!(
        (stats.sessions, stats.users, stats.tokens),
        (0, 0, 0),
        "{stats:?}"
    );
    assert_eq!(
        h.must_fetch(&old, "grace after sweep").await.token_use,
        TokenUse::Grace
    );
    h.advance(GRACE);
    let stats = h.cache.sweep().await.unwrap();
    assert_eq!((stats.sessions, stats.users), (0, 0), "{stats:?}");
    assert!(stats.tokens <= 1, "{stats:?}");
    h.must_not_fetch(&old, "after grace").await;
    let a = h.must_fetch(&new, "successor").await;
    assert_eq!(a.session.session_id, s.session.session_id);
    h.must_fetch(other.cookie.as_str(), "bob").await;
    assert_eq!(h.user_ids().await, vec![1, 2]);
}
