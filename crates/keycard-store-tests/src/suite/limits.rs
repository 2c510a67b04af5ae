//! Limits (issue 18): a liveness check reads one session, a sign-in past the per-user cap ends the
//! oldest sessions, and a replaced token answers a bounded number of grace requests.

use keycard::{CredentialsCache, Policy};

use super::prelude::*;

/// A cache over the harness' store (through its spy) with another policy.
fn cache_with(h: &Harness, policy: Policy) -> CredentialsCache<TestUser> {
    CredentialsCache::builder_arc(h.spy.clone())
        .secret(SECRET)
        .policy(policy)
        .clock(h.clock.clone())
        .build()
        .expect("the test configuration is valid")
}

/// W10: `session(user, id)` answers one live session of that user with one store call, and nothing for
/// another user's id, an ended or an expired session, or one whose credentials changed.
pub async fn session_answers_one_live_session_of_its_user_in_one_store_call(h: Harness) {
    let a = h.sign_in(user_c(1, "ann", 1, 1)).await;
    for _ in 0..5 {
        h.sign_in(user_c(1, "ann", 1, 1)).await;
    }
    let bob = h.sign_in(user(2, "bob")).await;
    let before = h.spy.calls();
    let found = h
        .cache
        .session(&key(1), &a.session.session_id)
        .await
        .expect("session")
        .expect("live");
    assert_eq!(h.spy.calls(), before + 1, "one store call");
    assert_eq!(found.session_id, a.session.session_id);
    assert_eq!(&*found.user_key, key(1));
    let read = |uid: u32, id: SessionId| {
        let cache = h.cache.clone();
        async move { cache.session(&key(uid), &id).await.expect("session") }
    };
    assert!(read(1, bob.session.session_id).await.is_none(), "not ann's");
    assert!(read(2, bob.session.session_id).await.is_some());
    assert!(h
        .cache
        .sign_out(&bob.session.session_id)
        .await
        .expect("out"));
    assert!(read(2, bob.session.session_id).await.is_none(), "ended");
    // New credentials cached through another session: this one is dead.
    let other = h.sign_in(user_c(1, "ann", 1, 1)).await;
    h.cache
        .sync(&other.session.session_id, user_c(1, "ann", 2, 2))
        .await
        .expect("sync")
        .expect("live");
    assert!(
        read(1, a.session.session_id).await.is_none(),
        "old credentials"
    );
    assert!(read(1, other.session.session_id).await.is_some());
    h.advance(IDLE);
    assert!(read(1, other.session.session_id).await.is_none(), "expired");
}

/// W10: with a cap of 3 live sessions per user, a fourth sign-in ends the user's oldest session, and
/// other users are untouched.
pub async fn a_sign_in_past_the_cap_ends_the_oldest_sessions(h: Harness) {
    let capped = cache_with(&h, test_policy().with_max_sessions_per_user(Some(3)));
    let mut cookies = Vec::new();
    let bob = capped
        .create(user(2, "bob"), SessionMetadata::default())
        .await
        .expect("bob");
    for _ in 0..5 {
        h.advance(MS);
        let s = capped
            .create(user(1, "ann"), SessionMetadata::default())
            .await
            .expect("sign in");
        cookies.push(s.cookie.into_string());
    }
    assert_eq!(h.sessions(1).await.len(), 3, "capped");
    for old in &cookies[..2] {
        h.must_not_fetch(old, "one of the two oldest").await;
    }
    for young in &cookies[2..] {
        h.must_fetch(young, "one of the three youngest").await;
    }
    h.must_fetch(bob.cookie.as_str(), "another user").await;
}

/// V3: a token replaced by a renewal answers at most `grace_uses` requests in its grace window, then
/// none; the current token and other sessions are not affected.
pub async fn grace_answers_are_bounded_per_replaced_token(h: Harness) {
    let bounded = cache_with(&h, test_policy().with_grace_uses(3));
    let s = bounded
        .create(user(1, "ann"), SessionMetadata::default())
        .await
        .expect("sign in");
    let old = s.cookie.into_string();
    let other = bounded
        .create(user(1, "ann"), SessionMetadata::default())
        .await
        .expect("sign in")
        .cookie
        .into_string();
    h.advance(RENEW);
    let new = bounded
        .fetch(&old)
        .await
        .expect("fetch")
        .expect("renewal")
        .renewed
        .expect("renewed")
        .into_string();
    for i in 0..3 {
        let a = bounded.fetch(&old).await.expect("fetch");
        assert_eq!(
            a.map(|a| a.token_use),
            Some(TokenUse::Grace),
            "grace answer {i}"
        );
    }
    assert!(
        bounded.fetch(&old).await.expect("fetch").is_none(),
        "past the bound: anonymous"
    );
    assert!(bounded.fetch(&new).await.expect("fetch").is_some());
    assert!(bounded.fetch(&other).await.expect("fetch").is_some());
}
