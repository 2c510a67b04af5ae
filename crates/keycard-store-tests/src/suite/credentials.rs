//! Credential-bound sessions: a session lives only while the cached user's credential fingerprint is the
//! one it was signed in with (`keycard::user`, "Credential-bound sessions").

use keycard::CreateError;

use super::prelude::*;

/// Three sessions of one user, signed in with credentials generation 1 at version 1.
async fn three_sessions(h: &Harness) -> Vec<String> {
    let mut cookies = Vec::new();
    for _ in 0..3 {
        cookies.push(h.sign_in(user_c(1, "ann", 1, 1)).await.cookie.into_string());
    }
    cookies
}

/// Invariants 4, 1: a `sync` that caches new credentials (the password change's own session) keeps the
/// syncing session, which takes the new fingerprint, and ends every other session of the user at once:
/// they resolve to nothing and are gone from the listing.
pub async fn a_sync_with_new_credentials_ends_every_other_session_and_keeps_its_own(h: Harness) {
    let cookies = three_sessions(&h).await;
    let bob = h.sign_in(user_c(2, "bob", 1, 1)).await.cookie.into_string();
    let own = h.must_fetch(&cookies[0], "the changing session").await;
    let synced = h
        .cache
        .sync(&own.session.session_id, user_c(1, "ann", 2, 2))
        .await
        .expect("sync")
        .expect("the session is live");
    let now = h
        .must_fetch(
            synced.cookie.as_str(),
            "the session that changed the credentials",
        )
        .await;
    assert_eq!(*now.user, user_c(1, "ann", 2, 2));
    for c in &cookies[1..] {
        h.must_not_fetch(c, "another session of the user after the change")
            .await;
    }
    assert_eq!(h.session_ids(1).await, vec![own.session.session_id]);
    h.must_fetch(&bob, "another user's session").await;
}

/// Invariants 7, 4: `put_user` with new credentials (an admin's password reset, a job) ends every session
/// of the user at once; `put_user` with the same credentials ends none.
pub async fn put_user_with_new_credentials_ends_every_session_and_same_credentials_none(
    h: Harness,
) {
    let cookies = three_sessions(&h).await;
    assert_eq!(h.put(user_c(1, "ann-pro", 2, 1)).await, PutOutcome::Updated);
    for c in &cookies {
        assert_eq!(
            h.must_fetch(c, "same credentials").await.user.name,
            "ann-pro"
        );
    }
    assert_eq!(h.put(user_c(1, "ann-pro", 3, 2)).await, PutOutcome::Updated);
    for c in &cookies {
        h.must_not_fetch(c, "after a credential change by put_user")
            .await;
    }
    assert!(h.sessions(1).await.is_empty());
}

/// V1, invariant 2: a sign-in that checked the old password (it carries the old version and credentials)
/// is refused once a newer copy with new credentials is cached, writes nothing, and a sign-in with the new
/// credentials works.
pub async fn a_sign_in_checked_against_old_credentials_is_refused_once_new_ones_are_cached(
    h: Harness,
) {
    let changer = h.sign_in(user_c(1, "ann", 1, 1)).await;
    h.cache
        .sync(&changer.session.session_id, user_c(1, "ann", 2, 2))
        .await
        .expect("sync")
        .expect("live");
    let before = h.session_ids(1).await;
    match h
        .cache
        .create(user_c(1, "ann", 1, 1), SessionMetadata::default())
        .await
    {
        Err(CreateError::CredentialsChanged) => {}
        other => panic!("a sign-in with the old credentials must be refused, got {other:?}"),
    }
    assert_eq!(h.session_ids(1).await, before, "nothing was written");
    let fresh = h.sign_in(user_c(1, "ann", 2, 2)).await;
    h.must_fetch(fresh.cookie.as_str(), "a sign-in with the new credentials")
        .await;
}

/// V1, invariants 2, 4: sign-ins that checked the old password race the password change (its `sync`):
/// whichever way each one is ordered against it, none leaves a live session: created before, it is ended
/// by the change; created after, it is refused. The changing session stays. Repeated.
pub async fn sign_ins_racing_a_credential_change_never_leave_a_live_session(h: Harness) {
    for round in 0..5u64 {
        let base = round * 2;
        let changer = h.sign_in(user_c(1, "ann", base + 1, 1)).await;
        const RACERS: usize = 8;
        let barrier = Arc::new(Barrier::new(RACERS + 1));
        let mut tasks = Vec::new();
        for _ in 0..RACERS {
            let (cache, barrier) = (h.cache.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                cache
                    .create(user_c(1, "ann", base + 1, 1), SessionMetadata::default())
                    .await
            }));
        }
        barrier.wait().await;
        let synced = h
            .cache
            .sync(&changer.session.session_id, user_c(1, "ann", base + 2, 2))
            .await
            .expect("sync")
            .expect("live");
        for t in tasks {
            match t.await.expect("racer") {
                Ok(signed) => {
                    h.must_not_fetch(signed.cookie.as_str(), "a sign-in with the old password")
                        .await
                }
                Err(CreateError::CredentialsChanged) => {}
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        h.must_fetch(
            synced.cookie.as_str(),
            "the session that changed the password",
        )
        .await;
        assert_eq!(h.session_ids(1).await, vec![synced.session.session_id]);
        // Next round from a clean slate (its first sign-in carries a newer version).
        h.cache
            .delete_user_sessions(&key(1), None)
            .await
            .expect("clean up");
    }
}

/// Invariants 2, 4: a session already ended by a credential change cannot come back by syncing (a
/// request of its own that was in flight when the password changed): the sync finds no session, and the
/// listing still holds only the session that made the change.
pub async fn a_session_ended_by_new_credentials_cannot_sync_its_way_back(h: Harness) {
    let changer = h.sign_in(user_c(1, "ann", 1, 1)).await;
    let other = h.sign_in(user_c(1, "ann", 1, 1)).await;
    h.cache
        .sync(&changer.session.session_id, user_c(1, "ann", 2, 2))
        .await
        .expect("sync")
        .expect("live");
    let back = h
        .cache
        .sync(&other.session.session_id, user_c(1, "ann", 3, 2))
        .await
        .expect("sync");
    assert!(
        back.is_none(),
        "a session ended by the change does not adopt the new credentials"
    );
    h.must_not_fetch(other.cookie.as_str(), "the ended session")
        .await;
    assert_eq!(h.session_ids(1).await, vec![changer.session.session_id]);
}
