//! A near cache: a [`Store`](crate::Store) wrapper that answers hot `fetch`es from process memory, in front of a shared
//! store that pushes invalidations.
//!
//! # The model
//! A shared store (PostgreSQL, Redis) costs one network round trip per signed-in request. Most of those
//! requests read a session and a user that have not changed since the last request. [`NearCache`] keeps
//! the last answer the shared store gave for each token and serves it again **only when all of these
//! hold**:
//! - it holds the token's session *and* its user, filled from one store answer;
//! - the session is live on the caller's `now`, the token still resolves to it (current, or previous
//!   inside its grace window), and the session's credentials are the cached user's;
//! - no renewal is due (a due renewal is a write: the store decides it);
//! - the **invalidation channel is confirmed**: a source ([`NearChannel`]; for PostgreSQL,
//!   `keycard_sqlx::PgInvalidations`) has shown within the last [lease](NearConfig::with_lease) that
//!   every write the store committed up to then has reached this node.
//!
//! Everything else goes to the inner store, whose answer decides: every miss, every due renewal, every
//! write, every listing. A store answer is kept only if no invalidation arrived while the store call ran
//! (a fill can never put back what an invalidation just took out).
//!
//! **What invalidates an entry.** Every write through this wrapper evicts what it changes at once, on
//! this node (`create`, `put_user` and the user deletes: the user and all their sessions; `rotate`,
//! sign-out and `delete_session`: the session; a fetch that ended a session: its user; a sweep that
//! removed anything: everything), so one node is correct with no channel at all. Other nodes' writes
//! arrive through the channel as [`Invalidation`]s naming a user, a session or everything.
//!
//! **When the channel drops** (start-up, reconnecting, a lost connection), the source reports it
//! [`down`](NearChannel::down): the cache is flushed and every `fetch` goes to the store until the source
//! confirms again. A source that simply stops confirming (a hung database, a lagging connection) turns
//! the near cache off when its lease runs out. A near cache never serves from an unconfirmed channel.
//!
//! **What it costs**: memory for at most [`max_entries`](NearConfig::with_max_entries) answers (a session
//! record and a shared `Arc` of its user each), one hash-map lookup and a few atomic loads per hit, and
//! on the shared store one notification per write plus the source's pings.
//!
//! # The API
//! ```
//! # async fn run() {
//! use keycard::store::near::{NearCache, NearConfig};
//! use keycard::MemoryStore;
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: u32 }
//! # impl keycard::CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
//! let near = NearCache::new(MemoryStore::<User>::new(), NearConfig::default());
//! let channel = near.channel(); // hand this to an invalidation source
//! assert!(!channel.is_confirmed()); // nothing served from memory until a source confirms
//! let cache = keycard::CredentialsCache::builder(near.clone()).secret([7u8; 64]).build().unwrap();
//! # let _ = cache;
//! assert_eq!(near.stats().hits, 0);
//! # }
//! ```

mod channel;
#[cfg(feature = "soak-faults")]
pub mod soak_faults;
mod store;

use std::sync::Arc;
use std::time::Duration;

use crate::store::{FetchOutcome, RenewalPlan, SessionRecord};
use crate::token::TokenHash;
use crate::user::{credentials_match, CachedUser, Fingerprint};
use crate::Timestamp;

use channel::{Gens, Shared};
pub use channel::{Invalidation, NearChannel, NearStats};

/// How big a near cache is and how long one confirmation of its channel lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NearConfig {
    max_entries: u64,
    lease: Duration,
}

impl Default for NearConfig {
    fn default() -> Self {
        NearConfig {
            max_entries: 100_000,
            lease: Duration::from_secs(2),
        }
    }
}

impl NearConfig {
    /// At most this many token answers in memory (default 100,000); the least useful go first.
    pub fn with_max_entries(mut self, n: u64) -> Self {
        self.max_entries = n.max(1);
        self
    }

    /// How long one confirmation of the channel lets the cache serve from memory (default 2 s). Bounds how
    /// long a node whose channel silently stalls (a hung database) keeps answering from memory, and so
    /// the staleness in that case; with a healthy channel an invalidation arrives in well under a
    /// millisecond on loopback.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// The entry cap.
    pub fn max_entries(&self) -> u64 {
        self.max_entries
    }

    /// The lease.
    pub fn lease(&self) -> Duration {
        self.lease
    }
}

/// One store answer, as kept.
struct Entry<U> {
    session: Arc<SessionRecord>,
    user: Arc<U>,
    user_fingerprint: Option<Fingerprint>,
    gens: Gens,
}

/// A [`Store`](crate::Store) wrapper that serves hot `fetch`es from memory while its invalidation channel
/// is confirmed. See the [module docs](self) for what it serves and what evicts it.
pub struct NearCache<U, S> {
    inner: Arc<S>,
    entries: moka::sync::Cache<TokenHash, Arc<Entry<U>>>,
    shared: Arc<Shared>,
    /// Whatever keeps the invalidation source running (dropped with the last clone).
    source: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

impl<U, S> Clone for NearCache<U, S> {
    fn clone(&self) -> Self {
        NearCache {
            inner: self.inner.clone(),
            entries: self.entries.clone(),
            shared: self.shared.clone(),
            source: self.source.clone(),
        }
    }
}

impl<U, S> std::fmt::Debug for NearCache<U, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NearCache")
            .field("confirmed", &self.shared.confirmed())
            .field("received", &self.shared.stats(0).received)
            .finish_non_exhaustive()
    }
}

impl<U: CachedUser, S> NearCache<U, S> {
    /// Wrap `inner`. Nothing is served from memory until a source confirms [`channel`](Self::channel).
    pub fn new(inner: S, config: NearConfig) -> Self {
        Self::from_arc(Arc::new(inner), config)
    }

    /// [`new`](Self::new) over a shared store.
    pub fn from_arc(inner: Arc<S>, config: NearConfig) -> Self {
        NearCache {
            inner,
            entries: moka::sync::Cache::new(config.max_entries),
            shared: Arc::new(Shared::new(config.lease)),
            source: None,
        }
    }

    /// Keep `guard` (what keeps the invalidation source running) as long as this cache or a clone lives.
    pub fn with_source_guard(mut self, guard: impl std::any::Any + Send + Sync) -> Self {
        self.source = Some(Arc::new(guard));
        self
    }

    /// The handle an invalidation source drives.
    pub fn channel(&self) -> NearChannel {
        NearChannel {
            shared: self.shared.clone(),
        }
    }

    /// The store under the cache.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Hit, miss and invalidation counters.
    pub fn stats(&self) -> NearStats {
        self.shared.stats(self.entries.entry_count())
    }

    /// Wait until the channel is confirmed, for at most `timeout`: whether it is.
    pub async fn wait_confirmed(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.shared.confirmed() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// The answer in memory for `token`, if every condition of the [module docs](self) holds.
    fn serve(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> Option<FetchOutcome<U>> {
        let e = self.entries.get(token)?;
        if !self.shared.valid(&e.gens) || !e.session.is_live(now) {
            return None;
        }
        let token_use = e.session.token_use(token, now)?;
        if !credentials_match(e.session.auth_fingerprint, e.user_fingerprint) {
            return None;
        }
        if plan.is_due(&e.session, token_use) {
            return None; // a renewal is due: the store decides it
        }
        Some(FetchOutcome::Found {
            session: e.session.clone(),
            user: e.user.clone(),
            token_use,
            renewed: false,
        })
    }

    /// Keep a store answer for `token` (and the session's current token), unless something changed since
    /// `snapshot`.
    fn fill(&self, snapshot: u64, token: &TokenHash, session: &Arc<SessionRecord>, user: &Arc<U>) {
        let Some(gens) =
            self.shared
                .gens_if_unchanged(snapshot, &session.user_key, &session.session_id)
        else {
            self.shared.count_fill(false);
            return;
        };
        let entry = Arc::new(Entry {
            session: session.clone(),
            user: user.clone(),
            user_fingerprint: Fingerprint::of(&**user),
            gens,
        });
        if session.current_token != *token {
            self.entries.insert(session.current_token, entry.clone());
        }
        self.entries.insert(*token, entry);
        self.shared.count_fill(true);
    }

    /// A write through this wrapper: evict what it changed, on this node, at once.
    fn evict(&self, what: Invalidation) {
        self.shared.invalidate(&what);
        self.shared.count_local();
    }
}
