//! `CredentialsCache::events`: every end and change the cache makes is sent to its subscribers.

use keycard::{CredentialsCache, EndReason, MemoryStore, SessionEvent, SessionMetadata};
use keycard_store_tests::fixtures::{user, user_c, SECRET};
use keycard_store_tests::TestUser;
use tokio::sync::broadcast::error::TryRecvError;

fn cache() -> CredentialsCache<TestUser> {
    CredentialsCache::builder(MemoryStore::<TestUser>::new())
        .secret(SECRET)
        .build()
        .expect("cache")
}

fn next(rx: &mut tokio::sync::broadcast::Receiver<SessionEvent>) -> SessionEvent {
    rx.try_recv().expect("an event")
}

#[tokio::test]
async fn every_end_and_change_is_sent_to_subscribers() {
    let cache = cache();
    let mut rx = cache.events();
    let a = cache
        .create(user(1, "ann"), SessionMetadata::default())
        .await
        .unwrap();
    let b = cache
        .create(user(1, "ann"), SessionMetadata::default())
        .await
        .unwrap();
    let c = cache
        .create(user(1, "ann"), SessionMetadata::default())
        .await
        .unwrap();
    assert!(
        matches!(rx.try_recv(), Err(TryRecvError::Empty)),
        "sign-ins send nothing"
    );

    cache.put_user(user(1, "ann-pro")).await.unwrap();
    assert_eq!(
        next(&mut rx),
        SessionEvent::UserUpdated {
            user_key: "u1".into()
        }
    );
    cache
        .sync(&a.session.session_id, user(1, "ann-max"))
        .await
        .unwrap();
    assert_eq!(
        next(&mut rx),
        SessionEvent::UserUpdated {
            user_key: "u1".into()
        }
    );

    cache.delete(b.cookie.as_str()).await.unwrap();
    let ended = next(&mut rx);
    assert_eq!(
        ended.ends(&b.session.session_id, "u1"),
        Some(EndReason::SignedOut)
    );
    assert_eq!(
        ended.ends(&a.session.session_id, "u1"),
        None,
        "another session"
    );

    cache.delete_session(&c.session.session_id).await.unwrap();
    assert_eq!(
        next(&mut rx).ends(&c.session.session_id, "u1"),
        Some(EndReason::Revoked)
    );

    let d = cache
        .create(user(1, "ann"), SessionMetadata::default())
        .await
        .unwrap();
    cache
        .delete_user_sessions("u1", Some(&a.session.session_id))
        .await
        .unwrap();
    let all = next(&mut rx);
    assert_eq!(
        all.ends(&d.session.session_id, "u1"),
        Some(EndReason::Revoked)
    );
    assert_eq!(all.ends(&a.session.session_id, "u1"), None, "the one kept");

    // A session ended at its next read because the credentials changed.
    let e = cache
        .create(user_c(2, "bo", 1, 1), SessionMetadata::default())
        .await
        .unwrap();
    let f = cache
        .create(user_c(2, "bo", 1, 1), SessionMetadata::default())
        .await
        .unwrap();
    cache
        .sync(&e.session.session_id, user_c(2, "bo", 2, 2))
        .await
        .unwrap();
    assert_eq!(
        next(&mut rx),
        SessionEvent::UserUpdated {
            user_key: "u2".into()
        }
    );
    assert!(cache.fetch(f.cookie.as_str()).await.unwrap().is_none());
    assert_eq!(
        next(&mut rx).ends(&f.session.session_id, "u2"),
        Some(EndReason::CredentialsChanged)
    );
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
}
