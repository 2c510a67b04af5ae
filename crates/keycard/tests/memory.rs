//! The conformance suite and the model test against the memory store (both from `keycard-store-tests`),
//! plus what only the memory store promises: it hands out the stored `Arc` itself (no copy), its memory is
//! bounded by live sessions, and a sweep shares its async worker instead of holding it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use keycard::store::NewSession;
use keycard::token::Token;
use keycard::{MemoryStore, SessionId, SessionMetadata, SessionRecord, Store, Timestamp};
use keycard_store_tests::fixtures::{IDLE, RENEW};
use keycard_store_tests::{key, user, Harness, TestUser};

/// A fresh memory store: the factory both suites run over.
async fn store(_test: &'static str) -> Result<MemoryStore<TestUser>, String> {
    Ok(MemoryStore::new())
}

keycard_store_tests::conformance_suite!(store);
keycard_store_tests::model_suite!(store);

/// A harness over a memory store the test can still inspect.
fn harness() -> (Harness, Arc<MemoryStore<TestUser>>) {
    let store = Arc::new(MemoryStore::<TestUser>::new());
    (Harness::from_arc(store.clone()), store)
}

/// Invariant 1: the memory store keeps the `Arc<U>` it was given and hands out that very allocation: every
/// session of the user reads the same pointer, before and after `put_user`.
#[tokio::test]
async fn fetch_returns_the_stored_arc_without_copying() {
    let (h, _) = harness();
    let a = h.sign_in(user(1, "ann")).await;
    let b = h.sign_in(user(1, "ann")).await;
    let fa = h.must_fetch(a.cookie.as_str(), "a").await;
    let fb = h.must_fetch(b.cookie.as_str(), "b").await;
    assert!(
        Arc::ptr_eq(&fa.user, &b.user),
        "the latest sign-in's Arc is the cached copy"
    );
    assert!(Arc::ptr_eq(&fa.user, &fb.user), "one copy for all sessions");

    let updated = Arc::new(user(1, "ann-pro"));
    h.cache.put_user(updated.clone()).await.unwrap();
    let fa = h.must_fetch(a.cookie.as_str(), "a").await;
    let fb = h.must_fetch(b.cookie.as_str(), "b").await;
    assert!(Arc::ptr_eq(&fa.user, &updated));
    assert!(Arc::ptr_eq(&fb.user, &updated));
    // The store holds one reference, each fetch result one, and `updated` one.
    assert_eq!(Arc::strong_count(&updated), 4);
}

/// Invariant 8: after a sweep the store holds exactly the live sessions, their live tokens (current, and
/// replaced ones inside their grace window) and the users that have a live session.
#[tokio::test]
async fn sweep_bounds_memory_by_live_sessions() {
    let (h, store) = harness();
    let mut early = Vec::new();
    for i in 0..200 {
        early.push(h.sign_in(user(i % 10, "early")).await);
    }
    h.advance(IDLE / 2);
    let mut late = Vec::new();
    for i in 0..100 {
        late.push(h.sign_in(user(100 + i % 5, "late")).await);
    }
    assert_eq!(store.len(), (300, 300, 15));
    h.advance(RENEW);
    // Renew 40 of the late sessions: each now also has a grace token.
    for s in &late[..40] {
        h.must_fetch(s.cookie.as_str(), "renew")
            .await
            .renewed
            .unwrap();
    }
    assert_eq!(store.len(), (300, 340, 15));
    h.advance(IDLE / 2 - RENEW); // the early sessions reach their idle deadline
    let stats = h.cache.sweep().await.unwrap();
    assert_eq!((stats.sessions, stats.users), (200, 10), "{stats:?}");
    // 200 expired current tokens, and the 40 replaced tokens whose grace windows are over too.
    assert_eq!(stats.tokens, 200 + 40, "{stats:?}");
    assert_eq!(store.len(), (100, 100, 5));
    for s in &early {
        h.must_not_fetch(s.cookie.as_str(), "swept").await;
    }
    for s in &late[40..] {
        h.must_fetch(s.cookie.as_str(), "live").await;
    }
}

/// Invariant 8: reading a user's sessions prunes the dead entries it meets, records included, without
/// waiting for a sweep.
#[tokio::test]
async fn listing_sessions_prunes_dead_records_without_a_sweep() {
    let (h, store) = harness();
    for _ in 0..20 {
        h.sign_in(user(1, "ann")).await;
    }
    h.advance(IDLE / 2);
    let live = h.sign_in(user(1, "ann")).await;
    h.advance(IDLE / 2);
    assert_eq!(store.len().0, 21);
    assert_eq!(h.session_ids(1).await, vec![live.session.session_id]);
    assert_eq!(store.len(), (1, 1, 1));
}

/// Invariant 8: deletes release every record at once: no sweep needed.
#[tokio::test]
async fn deletes_release_every_record_at_once() {
    let (h, store) = harness();
    let (s, _, _) = h.sign_in_and_renew(user(1, "ann")).await;
    h.sign_in(user(1, "ann")).await;
    let u = h.sign_in(user(2, "bob")).await;
    assert_eq!(store.len(), (3, 4, 2));
    assert!(h.cache.delete_session(&s.session.session_id).await.unwrap());
    assert_eq!(store.len(), (2, 2, 2));
    h.cache.delete(u.cookie.as_str()).await.unwrap();
    assert_eq!(store.len(), (1, 1, 1));
    h.cache.delete_user_sessions(&key(1), None).await.unwrap();
    assert_eq!(store.len(), (0, 0, 0));
    assert!(store.is_empty());
}

/// Invariant 8, and item "stores own their sweeping": a sweep of 100,000 expired sessions on a
/// current-thread runtime lets another task run while it works, at least once per 4,096 sessions removed.
/// The other task cannot run before the sweep yields (nothing else awaits in between), so every tick it
/// counts happened during the sweep: no clock or timing is involved.
#[tokio::test(flavor = "current_thread")]
async fn sweep_of_a_large_store_yields_to_other_tasks_while_it_works() {
    const SESSIONS: u32 = 100_000;
    let store = MemoryStore::<TestUser>::new();
    let t0 = Timestamp(1_700_000_000_000);
    for i in 0..SESSIONS {
        let session = SessionRecord {
            session_id: SessionId::generate(),
            user_key: key(i % 1_000).into(),
            created_at: t0,
            renewed_at: t0,
            idle_deadline: t0.saturating_add(IDLE),
            absolute_deadline: t0.saturating_add(IDLE * 2),
            current_token: Token::generate().hash(),
            previous_token: None,
            metadata: SessionMetadata::empty(),
            auth_fingerprint: None,
            authenticated_at: Some(t0),
            remember_series: None,
        };
        let user = Arc::new(user(i % 1_000, "swept"));
        store.create(NewSession { session, user }).await.unwrap();
    }
    let ticks = Arc::new(AtomicUsize::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                ticks.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
        }
    });
    assert_eq!(ticks.load(Ordering::SeqCst), 0, "nothing has yielded yet");

    let stats = store.sweep(t0.saturating_add(IDLE)).await.unwrap();
    let during = ticks.load(Ordering::SeqCst);
    ticker.abort();

    assert_eq!(
        (stats.sessions, stats.tokens, stats.users),
        (SESSIONS as usize, SESSIONS as usize, 1_000)
    );
    assert_eq!(store.len(), (0, 0, 0));
    assert!(
        during >= SESSIONS as usize / 4_096,
        "the other task ran {during} time(s) during a sweep of {SESSIONS} sessions"
    );
}

keycard_store_tests::throttle_suite!(|_test: &'static str| async {
    Ok::<_, String>(keycard::throttle::MemoryThrottle::new())
});

keycard_store_tests::remember_suite!(|_test: &'static str| async {
    Ok::<_, String>(keycard::remember::MemoryRemember::new())
});

keycard_store_tests::factor_suite!(|_test: &'static str| async {
    Ok::<_, String>(keycard::factor::MemoryFactors::new())
});

keycard_store_tests::one_time_suite!(|_test: &'static str| async {
    Ok::<_, String>(keycard::onetime::MemoryOneTime::new())
});

keycard_store_tests::remember_sessions_suite!(|_test: &'static str| async {
    let sessions: keycard_store_tests::DynStore = Arc::new(MemoryStore::<TestUser>::new());
    let series: Arc<dyn keycard::remember::RememberStore> =
        Arc::new(keycard::remember::MemoryRemember::new());
    Ok::<_, String>((sessions, series))
});

/// `CredentialsCache::fetch_ready` over the memory store: every answer is ready at once (no future to
/// await), the renewal included, and it is the answer `fetch` gives; a forged cookie reaches no store.
#[tokio::test]
async fn the_memory_store_answers_fetch_ready_at_once_renewal_included() {
    use keycard::Fetch;
    use keycard_store_tests::Primitive;
    let (h, _store) = harness();
    let ann = h.sign_in(user(1, "ann")).await;
    let before = h.spy.calls_to(Primitive::Fetch);
    let Fetch::Ready(Ok(Some(found))) = h.cache.fetch_ready(ann.cookie.as_str()) else {
        panic!("a live session in memory: expected a ready answer");
    };
    assert_eq!(found.user.name, "ann");
    assert!(found.renewed.is_none());
    assert_eq!(
        h.spy.calls_to(Primitive::Fetch),
        before + 1,
        "one store call"
    );
    h.advance(RENEW);
    let Fetch::Ready(Ok(Some(found))) = h.cache.fetch_ready(ann.cookie.as_str()) else {
        panic!("a renewal in memory: expected a ready answer");
    };
    let renewed = found.renewed.expect("the renewal is due");
    h.must_fetch(renewed.as_str(), "the renewed cookie").await;
    let calls = h.spy.calls();
    assert!(matches!(
        h.cache.fetch_ready("not a cookie"),
        Fetch::Ready(Ok(None))
    ));
    assert_eq!(h.spy.calls(), calls, "a refused cookie reaches no store");
}

keycard_store_tests::identity_suite!(|_test: &'static str| async {
    Ok::<_, String>(keycard::identity::MemoryIdentities::new())
});

/// The memory store tells a token's entry from a grace entry by its deadline (a current token's is the
/// end of time): a renewal whose grace window saturated the clock must still leave the new token current
/// and the old one in its grace, not let the grace entry stand in for the current one.
#[tokio::test]
async fn a_renewal_with_a_grace_window_to_the_end_of_time_keeps_both_tokens_apart() {
    use keycard::store::{FetchOutcome, NextToken, RenewalPlan, TokenUse};
    let store = MemoryStore::<TestUser>::new();
    let t0 = Timestamp(1_700_000_000_000);
    let old = Token::generate().hash();
    let session = SessionRecord {
        session_id: SessionId::generate(),
        user_key: key(1).into(),
        created_at: t0,
        renewed_at: t0,
        idle_deadline: t0.saturating_add(IDLE),
        absolute_deadline: t0.saturating_add(IDLE * 2),
        current_token: old,
        previous_token: None,
        metadata: SessionMetadata::empty(),
        auth_fingerprint: None,
        authenticated_at: Some(t0),
        remember_series: None,
    };
    let u = Arc::new(user(1, "free"));
    store.create(NewSession { session, user: u }).await.unwrap();
    let now = t0.saturating_add(RENEW);
    let plan = RenewalPlan {
        due_if_renewed_at_or_before: now,
        next_token: NextToken::new(),
        idle_deadline: now.saturating_add(IDLE),
        grace_until: Timestamp(u64::MAX),
    };
    let renewed = store.fetch(&old, now, &plan).await.unwrap();
    assert!(matches!(renewed, FetchOutcome::Found { renewed: true, .. }));
    let new = plan.next_token.hash();
    for (token, want) in [(new, TokenUse::Current), (old, TokenUse::Grace)] {
        let plan = RenewalPlan {
            due_if_renewed_at_or_before: Timestamp(0),
            next_token: NextToken::new(),
            idle_deadline: now.saturating_add(IDLE),
            grace_until: now,
        };
        match store.fetch(&token, now, &plan).await.unwrap() {
            FetchOutcome::Found { token_use, .. } => assert_eq!(token_use, want),
            other => panic!("{want:?} token: {other:?}"),
        }
    }
    assert_eq!(
        store.len(),
        (1, 2, 1),
        "one session, its two tokens, one user"
    );
}
