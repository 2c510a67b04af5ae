//! The near cache (`keycard::store::near`) over the memory store: the conformance suite and the model test
//! pass unchanged through it with its channel confirmed (one node: every write goes through the wrapper,
//! which evicts what it changes at once), and what it promises on its own: a warm cache sends no call to
//! the store, an unconfirmed or lapsed channel sends every call there, an invalidation from the channel
//! evicts the user or the session it names.

use std::sync::Arc;
use std::time::{Duration, Instant};

use keycard::store::near::{Invalidation, NearCache, NearConfig};
use keycard::{MemoryStore, Store};
use keycard_store_tests::{user, Harness, Primitive, SpyStore, TestUser};

type Spy = SpyStore<MemoryStore<TestUser>>;

/// A near cache whose channel is confirmed for a day: the one-node case.
fn confirmed<S: Store<TestUser>>(inner: Arc<S>) -> NearCache<TestUser, S> {
    let near = NearCache::from_arc(
        inner,
        NearConfig::default().with_lease(Duration::from_secs(86_400)),
    );
    near.channel().confirm(Instant::now());
    near
}

async fn store(_test: &'static str) -> Result<NearCache<TestUser, MemoryStore<TestUser>>, String> {
    Ok(confirmed(Arc::new(MemoryStore::new())))
}

keycard_store_tests::conformance_suite!(store);
keycard_store_tests::model_suite!(store);

/// A harness over a near cache over a spy over a memory store: the spy counts what reaches the store.
fn near_over_spy() -> (Harness, NearCache<TestUser, Spy>, Arc<Spy>) {
    let spy = Arc::new(SpyStore::new(MemoryStore::<TestUser>::new()));
    let near = NearCache::from_arc(
        spy.clone(),
        NearConfig::default().with_lease(Duration::from_secs(86_400)),
    );
    (Harness::new(near.clone()), near, spy)
}

#[tokio::test]
async fn a_warm_near_cache_answers_a_hot_fetch_with_no_store_call() {
    let (h, near, spy) = near_over_spy();
    near.channel().confirm(Instant::now());
    let ann = h.sign_in(user(1, "ann")).await;
    let cookie = ann.cookie.as_str();
    h.must_fetch(cookie, "the first fetch fills").await;
    let before = spy.calls_to(Primitive::Fetch);
    for _ in 0..100 {
        assert_eq!(h.must_fetch(cookie, "hot").await.user.name, "ann");
    }
    assert_eq!(
        spy.calls_to(Primitive::Fetch),
        before,
        "no store call when warm"
    );
    assert!(near.stats().hits >= 100, "{:?}", near.stats());
}

#[tokio::test]
async fn an_unconfirmed_channel_sends_every_fetch_to_the_store() {
    let (h, near, spy) = near_over_spy();
    let ann = h.sign_in(user(1, "ann")).await;
    for _ in 0..5 {
        h.must_fetch(ann.cookie.as_str(), "unconfirmed").await;
    }
    assert_eq!(spy.calls_to(Primitive::Fetch), 5);
    assert_eq!(near.stats().hits, 0);
    assert_eq!(near.stats().bypassed, 5);
}

#[tokio::test]
async fn a_lapsed_lease_sends_every_fetch_to_the_store() {
    let spy = Arc::new(SpyStore::new(MemoryStore::<TestUser>::new()));
    let near = NearCache::from_arc(
        spy.clone(),
        NearConfig::default().with_lease(Duration::from_millis(50)),
    );
    let h = Harness::new(near.clone());
    // Confirmed for a lease that ended before now: the channel has not shown it is live since.
    near.channel()
        .confirm(Instant::now().checked_sub(Duration::from_secs(1)).unwrap());
    assert!(!near.channel().is_confirmed());
    let ann = h.sign_in(user(1, "ann")).await;
    h.must_fetch(ann.cookie.as_str(), "lapsed").await;
    h.must_fetch(ann.cookie.as_str(), "lapsed").await;
    assert_eq!(spy.calls_to(Primitive::Fetch), 2);
    assert_eq!(near.stats().hits, 0);
}

#[tokio::test]
async fn a_channel_that_goes_down_flushes_and_serves_from_the_store_until_confirmed_again() {
    let (h, near, spy) = near_over_spy();
    let channel = near.channel();
    channel.confirm(Instant::now());
    let ann = h.sign_in(user(1, "ann")).await;
    let cookie = ann.cookie.as_str();
    h.must_fetch(cookie, "fill").await;
    h.must_fetch(cookie, "hit").await;
    assert_eq!(spy.calls_to(Primitive::Fetch), 1);

    channel.down();
    // Changed behind the near cache's back while it was down (as a missed message would be).
    spy.inner()
        .put_user(Arc::new(user(1, "ann2")), h.now())
        .await
        .unwrap();
    assert_eq!(h.must_fetch(cookie, "down").await.user.name, "ann2");
    assert_eq!(spy.calls_to(Primitive::Fetch), 2, "down: to the store");
    assert_eq!(h.must_fetch(cookie, "down").await.user.name, "ann2");
    assert_eq!(spy.calls_to(Primitive::Fetch), 3, "down: nothing kept");

    channel.confirm(Instant::now());
    assert_eq!(h.must_fetch(cookie, "refill").await.user.name, "ann2");
    assert_eq!(h.must_fetch(cookie, "hit again").await.user.name, "ann2");
    assert_eq!(spy.calls_to(Primitive::Fetch), 4);
    assert_eq!(near.stats().downs, 1);
}

#[tokio::test]
async fn an_invalidation_from_the_channel_evicts_the_user_or_the_session_it_names() {
    let (h, near, spy) = near_over_spy();
    let channel = near.channel();
    channel.confirm(Instant::now());
    let ann = h.sign_in(user(1, "ann")).await;
    let cookie = ann.cookie.as_str();
    h.must_fetch(cookie, "fill").await;

    // Another node's put_user: the shared store changed, the message has not arrived yet.
    spy.inner()
        .put_user(Arc::new(user(1, "ann2")), h.now())
        .await
        .unwrap();
    assert_eq!(
        h.must_fetch(cookie, "before").await.user.name,
        "ann",
        "no message yet"
    );
    channel.invalidate(Invalidation::User(keycard_store_tests::key(1)));
    assert_eq!(channel.received(), 1);
    assert_eq!(h.must_fetch(cookie, "after").await.user.name, "ann2");

    // Another node's revocation of this one session.
    spy.inner()
        .delete_session(&ann.session.session_id)
        .await
        .unwrap();
    channel.invalidate(Invalidation::Session(ann.session.session_id));
    h.must_not_fetch(cookie, "revoked elsewhere").await;
}

#[tokio::test]
async fn writes_through_the_wrapper_evict_at_once_with_no_channel_message() {
    let (h, near, _spy) = near_over_spy();
    near.channel().confirm(Instant::now());
    let ann = h.sign_in(user(1, "ann")).await;
    let cookie = ann.cookie.as_str();
    h.must_fetch(cookie, "fill").await;
    assert_eq!(h.put(user(1, "ann2")).await, keycard::PutOutcome::Updated);
    assert_eq!(
        h.must_fetch(cookie, "after put_user").await.user.name,
        "ann2"
    );
    h.cache
        .delete_session(&ann.session.session_id)
        .await
        .unwrap();
    h.must_not_fetch(cookie, "after delete_session").await;
    assert_eq!(near.channel().received(), 0);
}

/// A store that, during every `fetch`, lets an invalidation arrive (as another node's write would, while
/// this node's store call is in flight) and then answers with what it had read before.
struct InvalidatedDuringFetch {
    inner: MemoryStore<TestUser>,
    channel: std::sync::OnceLock<keycard::store::near::NearChannel>,
}

#[async_trait::async_trait]
impl Store<TestUser> for InvalidatedDuringFetch {
    async fn create(
        &self,
        new: keycard::store::NewSession<TestUser>,
    ) -> Result<keycard::CreateOutcome, keycard::StoreError> {
        self.inner.create(new).await
    }
    async fn fetch(
        &self,
        token: &keycard::token::TokenHash,
        now: keycard::Timestamp,
        plan: &keycard::store::RenewalPlan,
    ) -> Result<keycard::store::FetchOutcome<TestUser>, keycard::StoreError> {
        let read = self.inner.fetch(token, now, plan).await;
        if let Some(c) = self.channel.get() {
            c.invalidate(Invalidation::User(keycard_store_tests::key(1)));
        }
        read
    }
    async fn rotate(
        &self,
        rotation: keycard::store::Rotation<TestUser>,
    ) -> Result<Option<Arc<keycard::SessionRecord>>, keycard::StoreError> {
        self.inner.rotate(rotation).await
    }
    async fn put_user(
        &self,
        u: Arc<TestUser>,
        now: keycard::Timestamp,
    ) -> Result<keycard::PutOutcome, keycard::StoreError> {
        self.inner.put_user(u, now).await
    }
    async fn delete_by_token(
        &self,
        t: &keycard::token::TokenHash,
        now: keycard::Timestamp,
    ) -> Result<Option<(keycard::SessionId, String)>, keycard::StoreError> {
        self.inner.delete_by_token(t, now).await
    }
    async fn delete_session(
        &self,
        id: &keycard::SessionId,
    ) -> Result<Option<String>, keycard::StoreError> {
        self.inner.delete_session(id).await
    }
    async fn delete_user_sessions(
        &self,
        key: &str,
        except: Option<&keycard::SessionId>,
    ) -> Result<usize, keycard::StoreError> {
        self.inner.delete_user_sessions(key, except).await
    }
    async fn sessions(
        &self,
        key: &str,
        now: keycard::Timestamp,
    ) -> Result<Vec<keycard::SessionRecord>, keycard::StoreError> {
        self.inner.sessions(key, now).await
    }
    async fn users(
        &self,
        now: keycard::Timestamp,
    ) -> Result<Vec<Arc<TestUser>>, keycard::StoreError> {
        self.inner.users(now).await
    }
    async fn sweep(
        &self,
        now: keycard::Timestamp,
    ) -> Result<keycard::SweepStats, keycard::StoreError> {
        self.inner.sweep(now).await
    }
}

#[tokio::test]
async fn an_answer_read_before_an_invalidation_that_arrived_during_the_call_is_not_kept() {
    let store = Arc::new(InvalidatedDuringFetch {
        inner: MemoryStore::new(),
        channel: std::sync::OnceLock::new(),
    });
    let near = confirmed(store.clone());
    let h = Harness::new(near.clone());
    let ann = h.sign_in(user(1, "ann")).await;
    store.channel.set(near.channel()).unwrap();
    for _ in 0..3 {
        h.must_fetch(ann.cookie.as_str(), "from the store").await;
    }
    let s = near.stats();
    assert_eq!((s.hits, s.fills, s.fills_refused), (0, 0, 3), "{s:?}");
}

/// `CredentialsCache::fetch_ready` over the near cache: a warm hit is ready at once with no store call;
/// an unconfirmed channel or a miss is left pending, and finishing it answers as `fetch` does.
#[tokio::test]
async fn fetch_ready_answers_a_warm_hit_at_once_and_leaves_the_rest_pending() {
    use keycard::Fetch;
    let (h, near, spy) = near_over_spy();
    let ann = h.sign_in(user(1, "ann")).await;
    let cookie = ann.cookie.as_str();
    let Fetch::Pending(pending) = h.cache.fetch_ready(cookie) else {
        panic!("an unconfirmed channel: expected a pending fetch");
    };
    let found = pending.finish().await.expect("fetch").expect("live");
    assert_eq!(found.user.name, "ann");
    assert_eq!(spy.calls_to(Primitive::Fetch), 1);
    near.channel().confirm(Instant::now());
    let Fetch::Pending(pending) = h.cache.fetch_ready(cookie) else {
        panic!("a cold near cache: expected a pending fetch");
    };
    pending
        .finish()
        .await
        .expect("fetch")
        .expect("live (and filled)");
    assert_eq!(spy.calls_to(Primitive::Fetch), 2);
    match h.cache.fetch_ready(cookie) {
        Fetch::Ready(Ok(Some(found))) => assert_eq!(found.user.name, "ann"),
        other => panic!("a warm near cache: expected a ready hit, got {other:?}"),
    }
    assert_eq!(spy.calls_to(Primitive::Fetch), 2, "a hit reaches no store");
    assert_eq!(near.stats().hits, 1);
}
