//! Renewal and grace (invariant 3): rotation after the renewal interval, one winner, the grace token's limits.

use super::prelude::*;

/// Invariant 3: before the renewal interval a read writes nothing: no new cookie, same token, same deadlines.
pub async fn fetch_before_the_renewal_interval_does_not_renew(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    h.advance(RENEW - MS);
    for _ in 0..3 {
        let a = h.must_fetch(s.cookie.as_str(), "inside the interval").await;
        assert!(a.renewed.is_none());
        assert_eq!(a.token_use, TokenUse::Current);
        assert_eq!(*a.session, *s.session);
    }
    assert_eq!(
        h.session(1, &s.session.session_id).await.unwrap(),
        *s.session
    );
}

/// Invariant 3: the first read at the renewal interval rotates: a new cookie that works, `renewed_at` and
/// the idle deadline move to now, the absolute deadline and the session's identity do not, and the old
/// token resolves to the same session as a grace token.
pub async fn fetch_after_the_renewal_interval_rotates_the_token(h: Harness) {
    let s = h
        .sign_in_with(user(1, "ann"), meta("Safari/17", "198.51.100.7"))
        .await;
    let old = s.cookie.as_str().to_owned();
    h.advance(RENEW);
    let now = h.now();
    let a = h.must_fetch(&old, "due").await;
    let new = a.renewed.expect("renewed").into_string();
    assert_ne!(new, old);
    assert_eq!(a.token_use, TokenUse::Current);
    assert_eq!(*a.user, user(1, "ann"));
    let r = &a.session;
    assert_eq!(r.session_id, s.session.session_id);
    assert_eq!(r.created_at, s.session.created_at);
    assert_eq!(r.renewed_at, now);
    assert_eq!(r.idle_deadline, now.saturating_add(IDLE));
    assert_eq!(r.absolute_deadline, s.session.absolute_deadline);
    assert_eq!(r.metadata, s.session.metadata);
    assert_eq!(r.current_token, h.hash_of(&new));

    let b = h.must_fetch(&new, "successor").await;
    assert_eq!(b.token_use, TokenUse::Current);
    assert!(b.renewed.is_none(), "the successor is fresh");
    assert_eq!(b.session.session_id, s.session.session_id);
    let listed = h.session(1, &s.session.session_id).await.unwrap();
    assert_eq!(listed.renewed_at, now);
    assert_eq!(listed.idle_deadline, now.saturating_add(IDLE));

    let g = h.must_fetch(&old, "replaced token inside grace").await;
    assert_eq!(g.token_use, TokenUse::Grace);
    assert!(g.renewed.is_none());
    assert_eq!(g.session.session_id, s.session.session_id);

    // The session now lives to the moved idle deadline, past the original one.
    h.clock.set(s.session.idle_deadline);
    h.must_fetch(&new, "past the original idle deadline").await;
}

/// Invariant 3: 32 requests racing with the same stale token all succeed, exactly one rotates (the
/// others resolve the replaced token as a grace token), and all resolve to the same session. Repeated.
pub async fn many_concurrent_fetches_with_a_stale_token_have_exactly_one_winner(h: Harness) {
    const TASKS: usize = 32;
    for round in 0..12u32 {
        let s = h.sign_in(user(round, "racer")).await;
        let old = s.cookie.into_string();
        h.advance(RENEW);
        let barrier = Arc::new(Barrier::new(TASKS));
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let (cache, barrier, old) = (h.cache.clone(), barrier.clone(), old.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                cache.fetch(&old).await
            }));
        }
        let mut winners = Vec::new();
        let mut grace = 0;
        for t in tasks {
            let a = t
                .await
                .unwrap()
                .expect("no store error")
                .unwrap_or_else(|| panic!("round {round}: a racing request was signed out"));
            assert_eq!(a.session.session_id, s.session.session_id);
            match (a.renewed, a.token_use) {
                (Some(c), TokenUse::Current) => winners.push(c.into_string()),
                (None, TokenUse::Grace) => grace += 1,
                (r, u) => panic!(
                    "round {round}: unexpected outcome renewed={} use={u:?}",
                    r.is_some()
                ),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one successor");
        assert_eq!(grace, TASKS - 1);
        let a = h.must_fetch(&winners[0], "the successor").await;
        assert_eq!(a.token_use, TokenUse::Current);
        assert!(a.renewed.is_none());
        assert_eq!(
            h.must_fetch(&old, "the replaced token").await.token_use,
            TokenUse::Grace
        );
    }
}

/// Invariant 3: the replaced token works until the end of the grace window (same session, same user) and
/// not a millisecond later; after that it cannot sign out either. The successor is unaffected.
pub async fn grace_token_works_inside_the_window_and_dies_after(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    h.advance(GRACE - MS);
    let g = h.must_fetch(&old, "last grace millisecond").await;
    assert_eq!(g.token_use, TokenUse::Grace);
    assert_eq!(g.session.session_id, s.session.session_id);
    assert_eq!(*g.user, user(1, "ann"));
    h.advance(MS);
    h.must_not_fetch(&old, "grace window over").await;
    assert_eq!(h.cache.delete(&old).await.unwrap(), None);
    let a = h.must_fetch(&new, "successor after grace").await;
    assert_eq!(a.token_use, TokenUse::Current);
}

/// Invariant 3: the replaced token can neither move the session's deadlines, nor rotate it, nor slide its
/// own grace window by being used; the successor stays the current token and rotates on schedule, which
/// kills the older token for good.
pub async fn grace_token_cannot_extend_or_rotate_the_session(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let after_renewal = h.session(1, &s.session.session_id).await.unwrap();
    for _ in 0..9 {
        h.advance(Duration::from_secs(1));
        let g = h.must_fetch(&old, "inside grace").await;
        assert_eq!(g.token_use, TokenUse::Grace);
        assert!(g.renewed.is_none(), "a grace token must never rotate");
        assert_eq!(*g.session, after_renewal, "a grace token must not write");
    }
    assert_eq!(
        h.session(1, &s.session.session_id).await.unwrap(),
        after_renewal
    );
    h.advance(GRACE - Duration::from_secs(9));
    h.must_not_fetch(&old, "used all through its window, still dies on time")
        .await;

    // The successor rotates on schedule; the first token stays dead.
    h.clock.set(after_renewal.renewed_at.saturating_add(RENEW));
    let a = h.must_fetch(&new, "successor due").await;
    let newer = a.renewed.expect("the successor rotates").into_string();
    h.must_not_fetch(&old, "the first token").await;
    assert_eq!(
        h.must_fetch(&new, "second grace").await.token_use,
        TokenUse::Grace
    );
    assert_eq!(
        h.must_fetch(&newer, "third token").await.token_use,
        TokenUse::Current
    );
}
