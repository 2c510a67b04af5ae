//! Sudo mode (invariant 4 and the session record's `authenticated_at`): a session remembers when its user
//! last proved their password; renewals and `sync` keep that instant, `reauthenticate` moves it to now and
//! rotates the token like any privilege change.

use super::prelude::*;

/// A sign-in records its proof of password; renewal, `sync` and `regenerate` keep it.
pub async fn sign_in_records_its_proof_and_renewal_or_sync_keep_it(h: Harness) {
    let signed_in_at = h.now();
    let (s, _old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    assert_eq!(s.session.authenticated_at, Some(signed_in_at));
    let renewed = h.must_fetch(&new, "renewed").await;
    assert_eq!(
        renewed.session.authenticated_at,
        Some(signed_in_at),
        "renewal is not a proof"
    );
    h.advance(RENEW);
    let synced = h
        .cache
        .sync(&s.session.session_id, user(1, "ann-pro"))
        .await
        .unwrap()
        .expect("live");
    assert_eq!(
        synced.session.authenticated_at,
        Some(signed_in_at),
        "sync is not a proof"
    );
    let (cookie, regenerated) = h
        .cache
        .regenerate(&s.session.session_id)
        .await
        .unwrap()
        .expect("live");
    assert_eq!(regenerated.authenticated_at, Some(signed_in_at));
    let read = h.must_fetch(cookie.as_str(), "regenerated").await;
    assert_eq!(read.session.authenticated_at, Some(signed_in_at));
}

/// `reauthenticate` records a fresh proof and rotates the token at once (the old cookie and its grace
/// token die), keeping the session's identity, deadlines and cached user.
pub async fn reauthenticate_records_a_fresh_proof_and_kills_the_old_tokens(h: Harness) {
    let signed_in_at = h.now();
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    h.advance(GRACE / 2);
    let proved_at = h.now();
    assert!(proved_at > signed_in_at);
    let (cookie, again) = h
        .cache
        .reauthenticate(&s.session.session_id)
        .await
        .unwrap()
        .expect("live session");
    h.must_not_fetch(&old, "grace token after re-authentication")
        .await;
    h.must_not_fetch(&new, "current token before re-authentication")
        .await;
    let a = h
        .must_fetch(cookie.as_str(), "re-authenticated cookie")
        .await;
    for r in [&*a.session, &*again] {
        assert_eq!(r.authenticated_at, Some(proved_at));
        assert_eq!(r.session_id, s.session.session_id);
        assert_eq!(r.created_at, s.session.created_at);
        assert_eq!(r.absolute_deadline, s.session.absolute_deadline);
        assert_eq!(r.previous_token, None, "no grace after a privilege change");
    }
    assert_eq!(*a.user, user(1, "ann"));
    // The proof survives the session's own renewals.
    h.advance(RENEW);
    let renewed = h.must_fetch(cookie.as_str(), "due").await;
    assert!(renewed.renewed.is_some());
    assert_eq!(renewed.session.authenticated_at, Some(proved_at));
}

/// `reauthenticate` of a session that ended creates nothing.
pub async fn reauthenticate_of_an_ended_session_creates_nothing(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    assert!(h.cache.delete_session(&s.session.session_id).await.unwrap());
    assert!(h
        .cache
        .reauthenticate(&s.session.session_id)
        .await
        .unwrap()
        .is_none());
    assert!(h.sessions(1).await.is_empty());
    assert_eq!(h.put(user(1, "x")).await, PutOutcome::NotCached);
}
