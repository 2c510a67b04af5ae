//! The near-cache kit: what a store's tests of [`NearCache`] over its own invalidation channel share
//! (`keycard-sqlx`'s `tests/postgres_near*.rs`, `keycard-redis`'s `tests/redis_near/`), written once.
//!
//! - [`Node`]: one app node of a two-node test, a near cache over a [`SpyStore`] over the node's own
//!   store, fed by the store's invalidation source and confirmed, with a [`CredentialsCache`] on top;
//! - waits that poll for what they wait for within [`BOUND`], never a timed assertion: [`until`],
//!   [`until_a_hit`], [`signed_in_and_warm_on_a`];
//! - [`until_seen_never_stale_after_invalidation`]: the near cache's promise between nodes, checked on
//!   every answer until a write of the other node is seen;
//! - [`two_nodes`]: the two-node behaviours every channel must show (a revocation, a `put_user`, a
//!   credential change, events, the revocation lag, a channel that comes back), as functions a store's
//!   test calls with its own two nodes, and [`near_two_node_tests!`](crate::near_two_node_tests), which
//!   makes the plain ones tests of the store's own (named as the store wants);
//! - [`outage`]: fail closed while the shared store is down or hung, and serve from memory again after.
//!
//! Behind the `near` feature (keycard's near cache).
//!
//! ```ignore
//! type Node = keycard_store_tests::near::Node<MyStore, Arc<MyListenerStatus>>;
//!
//! async fn node(url: &str, prefix: &str) -> Node {
//!     let store = MyStore::connect(url, prefix).await.expect("reachable: the store opens");
//!     let source = MyInvalidations::new(&store);
//!     let status = source.status();
//!     Node::start(store, near_config(), status, |channel| source.start(channel)).await
//! }
//!
//! /// Two nodes on one server and one key prefix, or `None` after the skip rule.
//! async fn two_nodes(test: &str) -> Option<(Node, Node)> {
//!     let url = my_url_or_skip(test).await?;
//!     let prefix = keycard_store_tests::services::unique_prefix(test);
//!     Some((node(&url, &prefix).await, node(&url, &prefix).await))
//! }
//!
//! keycard_store_tests::near_two_node_tests! {
//!     two_nodes;
//!     fn a_put_user_on_node_b_is_never_served_stale_by_node_a("near_put") => a_put_user_on_b_is_never_served_stale_by_a;
//! }
//! ```

pub mod outage;
pub mod two_nodes;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use keycard::store::near::{NearCache, NearChannel, NearConfig};
use keycard::{CachedUser, CredentialsCache, SessionId, Store};

use crate::{user, SpyStore, TestUser};

/// How long any wait of the kit may take at most (a loaded 2-core machine).
pub const BOUND: Duration = Duration::from_secs(60);

/// The signing secret of every [`Node`]'s cache: the nodes of a test share it, as an app's nodes do.
const NODE_SECRET: [u8; 64] = [0x5a; 64];

/// One app node: its near cache over a spy over its own store, its invalidation source's status, its
/// credentials cache.
pub struct Node<S, L> {
    /// The near cache (over the spy).
    pub near: NearCache<TestUser, SpyStore<S>>,
    /// The spy over the node's store: counts what reaches the shared store.
    pub spy: Arc<SpyStore<S>>,
    /// What the store's invalidation source reports (its connection, its subscriptions).
    pub status: L,
    /// The credentials cache over the near cache.
    pub cache: CredentialsCache<TestUser>,
}

impl<S, L> std::fmt::Debug for Node<S, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("near", &self.near)
            .field("spy", &self.spy)
            .finish_non_exhaustive()
    }
}

impl<S: Store<TestUser>, L> Node<S, L> {
    /// A node over `store`: a near cache with `config` over a spy over it, fed by the source that
    /// `start` starts on the near cache's channel (its guard is kept by the near cache), confirmed
    /// within [`BOUND`], and a credentials cache over the near cache. `status` is the source's status.
    ///
    /// # Panics
    /// When the channel is not confirmed within [`BOUND`].
    pub async fn start<G>(
        store: S,
        config: NearConfig,
        status: L,
        start: impl FnOnce(NearChannel) -> G,
    ) -> Self
    where
        G: Any + Send + Sync,
    {
        let spy = Arc::new(SpyStore::new(store));
        let near = NearCache::from_arc(spy.clone(), config);
        let near = near.clone().with_source_guard(start(near.channel()));
        assert!(near.wait_confirmed(BOUND).await, "channel never confirmed");
        let cache = CredentialsCache::builder(near.clone())
            .secret(NODE_SECRET)
            .build()
            .expect("cache");
        Node {
            near,
            spy,
            status,
            cache,
        }
    }
}

/// `near` once its channel is confirmed: what the factory of a store's suites through its near cache
/// returns.
///
/// # Panics
/// When the channel is not confirmed within [`BOUND`] (the message names `test`).
pub async fn confirmed<U: CachedUser, S>(test: &str, near: NearCache<U, S>) -> NearCache<U, S> {
    assert!(
        near.wait_confirmed(BOUND).await,
        "{test}: channel never confirmed"
    );
    near
}

/// Poll until `done`, for at most [`BOUND`].
///
/// # Panics
/// When `done` is still false after [`BOUND`] (`what` says what did not happen).
pub async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + BOUND;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Fetch on `n` until one answer comes from memory; assert that it made no store call.
///
/// # Panics
/// When the session is not signed in, a hit made a store call, or no hit came within [`BOUND`].
pub async fn until_a_hit<S: Store<TestUser>, L>(n: &Node<S, L>, cookie: &str) {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let calls = n.spy.calls();
        let hits = n.near.stats().hits;
        assert!(n.cache.fetch(cookie).await.unwrap().is_some(), "signed in");
        if n.near.stats().hits == hits + 1 {
            assert_eq!(n.spy.calls(), calls, "a hit makes no store call");
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never a hit");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// After a write on node B: fetch on node A until `changed` says the write is seen, asserting that no
/// answer after A received the write's invalidation (a PostgreSQL notification, a Redis message: any
/// count of [`NearChannel::received`] past `received_before`) is the old one. Returns how many stale
/// answers came before the invalidation arrived.
///
/// # Panics
/// When A answers from a stale entry after the invalidation arrived, or the write is not seen within
/// [`BOUND`].
pub async fn until_seen_never_stale_after_invalidation<S: Store<TestUser>, L>(
    a: &Node<S, L>,
    cookie: &str,
    received_before: u64,
    changed: impl Fn(Option<&TestUser>) -> bool,
) -> usize {
    let deadline = tokio::time::Instant::now() + BOUND;
    let mut stale_before = 0;
    loop {
        let arrived = a.near.channel().received() > received_before;
        let answer = a.cache.fetch(cookie).await.unwrap();
        if changed(answer.as_ref().map(|a| &*a.user)) {
            return stale_before;
        }
        assert!(
            !arrived,
            "node A answered from a stale entry after the invalidation arrived"
        );
        stale_before += 1;
        assert!(
            tokio::time::Instant::now() < deadline,
            "the write was never seen"
        );
        tokio::task::yield_now().await;
    }
}

/// Node B signs user `id` ("ann") in; node A has received that write and serves the session from
/// memory. Returns the cookie and the session's id.
pub async fn signed_in_and_warm_on_a<S: Store<TestUser>, L>(
    a: &Node<S, L>,
    b: &Node<S, L>,
    id: u32,
) -> (String, SessionId) {
    let received = a.near.channel().received();
    let signed = b
        .cache
        .create(user(id, "ann"), Default::default())
        .await
        .unwrap();
    until("A receives the sign-in", || {
        a.near.channel().received() > received
    })
    .await;
    let cookie = signed.cookie.as_str().to_owned();
    until_a_hit(a, &cookie).await;
    (cookie, signed.session.session_id)
}
