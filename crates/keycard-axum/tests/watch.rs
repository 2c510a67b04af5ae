//! `SessionWatch`: ends this node made are seen at once; ends made elsewhere at the next liveness check.

mod common;

use std::time::Duration;

use keycard::{EndReason, SessionMetadata};
use keycard_axum::SessionWatch;
use keycard_store_tests::Primitive;

use common::*;

#[tokio::test]
async fn a_sign_out_on_this_node_ends_the_watch_at_once() {
    let clock = keycard::ManualClock::new(keycard::Timestamp(1_700_000_000_000));
    let cache = cache_over(test_store(), clock);
    let s = cache
        .create(user(1, "free"), SessionMetadata::default())
        .await
        .unwrap();
    // A long interval: only the event can end the watch within the test's bound.
    let watch = SessionWatch::new(
        cache.clone(),
        s.session.session_id,
        s.session.user_key.to_string(),
    )
    .every(Duration::from_secs(3600));
    let ended = tokio::spawn(watch.ended());
    tokio::task::yield_now().await;
    cache.delete(s.cookie.as_str()).await.unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(30), ended)
        .await
        .expect("the watch ends")
        .unwrap();
    assert_eq!(reason, EndReason::SignedOut);
}

#[tokio::test]
async fn a_revocation_by_another_node_ends_the_watch_at_the_next_check() {
    let clock = keycard::ManualClock::new(keycard::Timestamp(1_700_000_000_000));
    let store = test_store();
    let node_a = cache_over(store.clone(), clock.clone());
    let node_b = cache_over(store.clone(), clock);
    let s = node_a
        .create(user(1, "free"), SessionMetadata::default())
        .await
        .unwrap();
    let other = node_a
        .create(user(1, "free"), SessionMetadata::default())
        .await
        .unwrap();
    let listed = store.calls_to(Primitive::Sessions); // the sign-ins' session cap
    let watch = SessionWatch::new(
        node_a.clone(),
        s.session.session_id,
        s.session.user_key.to_string(),
    )
    .every(Duration::from_millis(20));
    let ended = tokio::spawn(watch.ended());
    // An end of another session, and a user update, do not end it.
    node_a
        .delete_session(&other.session.session_id)
        .await
        .unwrap();
    node_a.put_user(user(1, "pro")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!ended.is_finished(), "the watched session is still live");
    // Node B's cache sends node A nothing: the liveness check sees it.
    node_b.delete_session(&s.session.session_id).await.unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(30), ended)
        .await
        .expect("the watch ends")
        .unwrap();
    assert_eq!(reason, EndReason::Gone);
    // Each liveness check read the one session watched, never the user's whole list (issue 18, W10).
    assert!(store.calls_to(Primitive::Session) > 0);
    assert_eq!(store.calls_to(Primitive::Sessions), listed);
}
