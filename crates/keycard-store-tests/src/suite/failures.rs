//! Fail closed (invariant 6): while the store fails, every operation is an error, never a user and never "signed out".

use super::prelude::*;

/// Invariant 6: while the store fails, every operation is an error: never a user, never "signed out";
/// a due renewal does not happen; when the store recovers, the session is intact.
pub async fn store_errors_never_authenticate_and_never_sign_out(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let cookie = s.cookie.as_str();
    let id = s.session.session_id;
    h.advance(RENEW);
    h.spy.set_failing(true);
    assert!(
        h.cache.fetch(cookie).await.is_err(),
        "fetch must be Err, not Ok(None)"
    );
    assert!(h.cache.delete(cookie).await.is_err());
    assert!(h
        .cache
        .create(user(2, "b"), SessionMetadata::default())
        .await
        .is_err());
    assert!(h.cache.sync(&id, user(1, "x")).await.is_err());
    assert!(h.cache.regenerate(&id).await.is_err());
    assert!(h.cache.put_user(user(1, "x")).await.is_err());
    assert!(h.cache.delete_session(&id).await.is_err());
    assert!(h.cache.delete_user_sessions(&key(1), None).await.is_err());
    assert!(h.cache.sessions(&key(1)).await.is_err());
    assert!(h.cache.users().await.is_err());
    assert!(h.cache.sweep().await.is_err());
    // A forged cookie is still refused without asking the store.
    assert!(h.cache.fetch(&flip(cookie, 10)).await.unwrap().is_none());
    h.spy.set_failing(false);
    let a = h.must_fetch(cookie, "after the outage").await;
    assert_eq!(
        *a.user,
        user(1, "ann"),
        "no write went through during the outage"
    );
    assert_eq!(a.token_use, TokenUse::Current);
    assert!(
        a.renewed.is_some(),
        "the renewal happens now, not during the outage"
    );
    assert_eq!(h.user_ids().await, vec![1]);
}
