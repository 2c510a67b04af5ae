//! Races against deletes (invariant 2): nothing a concurrent renewal, `sync`, `put_user` or sign-in does brings a deleted session or user back.

use super::prelude::*;

const RACE_ROUNDS: u32 = 150;

/// Check that user `uid` is entirely gone: no session listed, not cached, `put_user` refused, none of
/// `cookies` resolves.
async fn assert_gone(h: &Harness, uid: u32, cookies: &[String], what: &str) {
    for c in cookies {
        h.must_not_fetch(c, what).await;
    }
    assert!(
        h.sessions(uid).await.is_empty(),
        "{what}: a session came back"
    );
    assert_eq!(
        h.put(user(uid, "zombie")).await,
        PutOutcome::NotCached,
        "{what}: the user record came back"
    );
    assert!(
        !h.user_ids().await.contains(&uid),
        "{what}: users() lists a deleted user"
    );
}

/// Invariant 2 (and 3): a renewing fetch racing a sign-out or a revoke never brings the session back:
/// the delete always finds the session (through the current or the grace token), and neither the old nor
/// the successor token works afterwards.
pub async fn deleted_session_stays_deleted_when_a_renewal_races_the_delete(h: Harness) {
    for i in 0..RACE_ROUNDS {
        let s = h.sign_in(user(i, "racer")).await;
        let old = s.cookie.into_string();
        h.advance(RENEW);
        let barrier = Arc::new(Barrier::new(3));
        let renew = {
            let (cache, b, c) = (h.cache.clone(), barrier.clone(), old.clone());
            tokio::spawn(async move {
                b.wait().await;
                cache.fetch(&c).await.unwrap()
            })
        };
        let renew2 = {
            let (cache, b, c) = (h.cache.clone(), barrier.clone(), old.clone());
            tokio::spawn(async move {
                b.wait().await;
                cache.fetch(&c).await.unwrap()
            })
        };
        let by_token = i % 2 == 0;
        let (cache, c, id) = (h.cache.clone(), old.clone(), s.session.session_id);
        barrier.wait().await;
        let deleted = if by_token {
            cache.delete(&c).await.unwrap() == Some(id)
        } else {
            cache.delete_session(&id).await.unwrap()
        };
        assert!(deleted, "round {i}: the delete must find the session");
        let mut cookies = vec![old];
        for r in [renew.await.unwrap(), renew2.await.unwrap()] {
            if let Some(c) = r.and_then(|a| a.renewed) {
                cookies.push(c.into_string());
            }
        }
        assert_gone(&h, i, &cookies, &format!("round {i}")).await;
    }
}

/// Invariant 2 (and 4): `sync` racing a revoke never re-creates the session or the user; if `sync` won,
/// its new cookie dies with the session.
pub async fn deleted_session_stays_deleted_when_sync_races_the_delete(h: Harness) {
    for i in 0..RACE_ROUNDS {
        let s = h.sign_in(user(i, "racer")).await;
        let id = s.session.session_id;
        let barrier = Arc::new(Barrier::new(2));
        let sync = {
            let (cache, b) = (h.cache.clone(), barrier.clone());
            tokio::spawn(async move {
                b.wait().await;
                if i % 2 == 0 {
                    cache
                        .sync(&id, user(i, "synced"))
                        .await
                        .unwrap()
                        .map(|s| s.cookie)
                } else {
                    cache.regenerate(&id).await.unwrap().map(|(c, _)| c)
                }
            })
        };
        barrier.wait().await;
        assert!(h.cache.delete_session(&id).await.unwrap(), "round {i}");
        let mut cookies = vec![s.cookie.into_string()];
        cookies.extend(sync.await.unwrap().map(|c| c.into_string()));
        assert_gone(&h, i, &cookies, &format!("round {i}")).await;
    }
}

/// Invariants 2, 7: a background `put_user` racing "log out everywhere" never re-creates the user record.
pub async fn deleted_user_stays_deleted_when_put_user_races_the_delete(h: Harness) {
    for i in 0..RACE_ROUNDS {
        let a = h.sign_in(user(i, "racer")).await;
        let b = h.sign_in(user(i, "racer")).await;
        let barrier = Arc::new(Barrier::new(3));
        let mut puts = Vec::new();
        for n in 0..2 {
            let (cache, bar) = (h.cache.clone(), barrier.clone());
            puts.push(tokio::spawn(async move {
                bar.wait().await;
                cache.put_user(user(i, &format!("bg-{n}"))).await.unwrap()
            }));
        }
        barrier.wait().await;
        assert_eq!(
            h.cache.delete_user_sessions(&key(i), None).await.unwrap(),
            2
        );
        for p in puts {
            let out = p.await.unwrap();
            assert!(
                matches!(out, PutOutcome::Updated | PutOutcome::NotCached),
                "round {i}: {out:?}"
            );
        }
        let cookies = [a.cookie.into_string(), b.cookie.into_string()];
        assert_gone(&h, i, &cookies, &format!("round {i}")).await;
    }
}

/// Invariants 2, 1: a sign-in racing "log out everywhere" ends either deleted or live, never half: if its
/// session survived, it is listed, its user is cached and `put_user` reaches it; if not, nothing is left.
pub async fn sign_in_racing_delete_user_sessions_leaves_a_consistent_user(h: Harness) {
    for i in 0..RACE_ROUNDS {
        let first = h.sign_in(user(i, "first")).await;
        let barrier = Arc::new(Barrier::new(2));
        let create = {
            let (cache, b) = (h.cache.clone(), barrier.clone());
            tokio::spawn(async move {
                b.wait().await;
                cache
                    .create(user(i, "second"), SessionMetadata::default())
                    .await
                    .unwrap()
            })
        };
        barrier.wait().await;
        let n = h.cache.delete_user_sessions(&key(i), None).await.unwrap();
        let second = create.await.unwrap();
        h.must_not_fetch(first.cookie.as_str(), "first session")
            .await;
        match h.fetch(second.cookie.as_str()).await {
            Some(a) => {
                assert_eq!(n, 1, "round {i}");
                assert_eq!(*a.user, user(i, "second"));
                assert_eq!(h.session_ids(i).await, vec![second.session.session_id]);
                assert!(h.users().await.contains(&user(i, "second")), "round {i}");
                assert_eq!(h.put(user(i, "later")).await, PutOutcome::Updated);
                assert_eq!(
                    h.must_fetch(second.cookie.as_str(), "second")
                        .await
                        .user
                        .name,
                    "later"
                );
                h.cache
                    .delete_session(&second.session.session_id)
                    .await
                    .unwrap();
            }
            None => {
                assert_eq!(n, 2, "round {i}");
                assert_gone(&h, i, &[second.cookie.into_string()], &format!("round {i}")).await;
            }
        }
    }
}

/// Invariants 2, 3, 4, 7: renewals, `sync`, `regenerate` and `put_user` all racing one "log out
/// everywhere": the delete finds the one session, and afterwards no token any of them produced works and
/// no record is left.
pub async fn deleted_session_stays_deleted_when_everything_races_the_delete(h: Harness) {
    for i in 0..RACE_ROUNDS / 2 {
        let s = h.sign_in(user(i, "racer")).await;
        let old = s.cookie.into_string();
        let id = s.session.session_id;
        h.advance(RENEW);
        let barrier = Arc::new(Barrier::new(8));
        let mut tasks = Vec::new();
        for k in 0..7u32 {
            let (cache, b, c) = (h.cache.clone(), barrier.clone(), old.clone());
            tasks.push(tokio::spawn(async move {
                b.wait().await;
                let cookie = match k {
                    0..=3 => cache.fetch(&c).await.unwrap().and_then(|a| a.renewed),
                    4 => cache
                        .sync(&id, user(i, "s"))
                        .await
                        .unwrap()
                        .map(|s| s.cookie),
                    5 => cache.regenerate(&id).await.unwrap().map(|(c, _)| c),
                    _ => {
                        cache.put_user(user(i, "bg")).await.unwrap();
                        None
                    }
                };
                cookie.map(|c| c.into_string())
            }));
        }
        barrier.wait().await;
        assert_eq!(
            h.cache.delete_user_sessions(&key(i), None).await.unwrap(),
            1
        );
        let mut cookies = vec![old];
        for t in tasks {
            cookies.extend(t.await.unwrap());
        }
        assert_gone(&h, i, &cookies, &format!("round {i}")).await;
    }
}
