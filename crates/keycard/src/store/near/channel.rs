//! The channel side of a near cache: what an invalidation source (the PostgreSQL listener, later Redis)
//! tells it, and the generation counters that make an entry valid or dead.
//!
//! Nothing here knows the user type: an entry records, when it is filled, the generation of its user's
//! stripe, of its session's stripe and of the whole cache; an invalidation bumps the stripe it names (or
//! the whole cache); a lookup serves the entry only while all three are unchanged. Every change also
//! bumps one `changes` counter **before** it bumps its stripe, so a fill that read `changes` before its
//! store call and finds it unchanged after reading the stripes knows no invalidation got in between.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::token::SessionId;

/// How many generation stripes user keys and session ids are spread over. A collision only costs a
/// spurious miss.
const STRIPES: usize = 4096;

/// What a pushed invalidation names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalidation {
    /// The user's cached copy and every cached session of the user.
    User(String),
    /// One session (whatever token it was cached under).
    Session(SessionId),
    /// Everything (a sweep, an unknown message, a channel that may have missed messages).
    All,
}

/// Counters a user can read ([`NearCache::stats`](super::NearCache::stats)). Monotonic since start-up,
/// but `entries`, which is approximate (the cache's own count, maintained lazily).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NearStats {
    /// `fetch` answered from memory, with no store call.
    pub hits: u64,
    /// `fetch` went to the store with the channel confirmed (nothing usable in memory, or a renewal due).
    pub misses: u64,
    /// `fetch` went to the store because the channel was not confirmed (start-up, reconnecting, lagging).
    pub bypassed: u64,
    /// Store answers kept in memory.
    pub fills: u64,
    /// Store answers not kept because an invalidation arrived while the store call ran.
    pub fills_refused: u64,
    /// Invalidations received from the channel (other nodes' writes, and this node's own, echoed).
    pub received: u64,
    /// Entries evicted at once by writes through this wrapper.
    pub local_evictions: u64,
    /// Times the channel was reported down (every one flushes the cache).
    pub downs: u64,
    /// Entries held (approximate).
    pub entries: u64,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    bypassed: AtomicU64,
    fills: AtomicU64,
    fills_refused: AtomicU64,
    received: AtomicU64,
    local_evictions: AtomicU64,
    downs: AtomicU64,
}

/// The state a near cache and its invalidation source share.
#[derive(Debug)]
pub(super) struct Shared {
    stripes: Box<[AtomicU64]>,
    whole: AtomicU64,
    changes: AtomicU64,
    /// Milliseconds since `base` until which the channel is confirmed; 0: down (never confirmed since).
    confirmed_until: AtomicU64,
    base: Instant,
    lease: Duration,
    counters: Counters,
    /// The cache's events, once attached: every received invalidation is reported as `Changed`.
    events: std::sync::OnceLock<crate::events::EventSender>,
}

/// The generations an entry was filled under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Gens {
    user_stripe: u32,
    session_stripe: u32,
    user: u64,
    session: u64,
    whole: u64,
}

fn stripe_of(bytes: &[u8]) -> u32 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    (h.finish() % STRIPES as u64) as u32
}

impl Shared {
    pub(super) fn new(lease: Duration) -> Shared {
        Shared {
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            whole: AtomicU64::new(0),
            changes: AtomicU64::new(0),
            confirmed_until: AtomicU64::new(0),
            base: Instant::now(),
            lease,
            counters: Counters::default(),
            events: std::sync::OnceLock::new(),
        }
    }

    pub(super) fn attach_events(&self, events: crate::events::EventSender) {
        let _ = self.events.set(events);
    }

    /// Report a change another node (or this one, echoed) made, to the cache's subscribers.
    fn report(&self, what: &Invalidation) {
        let Some(events) = self.events.get() else {
            return;
        };
        let (user_key, session_id) = match what {
            Invalidation::User(key) => (Some(key.clone()), None),
            Invalidation::Session(id) => (None, Some(*id)),
            Invalidation::All => (None, None),
        };
        events.send(crate::events::SessionEvent::Changed {
            user_key,
            session_id,
        });
    }

    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the channel is confirmed right now.
    pub(super) fn confirmed(&self) -> bool {
        self.millis(Instant::now()) < self.confirmed_until.load(SeqCst)
    }

    /// The change counter a fill reads before its store call.
    pub(super) fn snapshot(&self) -> u64 {
        self.changes.load(SeqCst)
    }

    /// The generations for an entry of `user_key` / `session_id`, if no change happened since `snapshot`.
    pub(super) fn gens_if_unchanged(
        &self,
        snapshot: u64,
        user_key: &str,
        session_id: &SessionId,
    ) -> Option<Gens> {
        let user_stripe = stripe_of(user_key.as_bytes());
        let session_stripe = stripe_of(&session_id.0);
        let gens = Gens {
            user_stripe,
            session_stripe,
            user: self.stripes[user_stripe as usize].load(SeqCst),
            session: self.stripes[session_stripe as usize].load(SeqCst),
            whole: self.whole.load(SeqCst),
        };
        // Read after the stripes: an invalidation bumps `changes` before its stripe, so an unchanged
        // `changes` here means every stripe read above is at least as new as the store's answer.
        if self.changes.load(SeqCst) == snapshot {
            Some(gens)
        } else {
            None
        }
    }

    /// Whether an entry filled under `gens` is still valid.
    pub(super) fn valid(&self, gens: &Gens) -> bool {
        self.whole.load(SeqCst) == gens.whole
            && self.stripes[gens.user_stripe as usize].load(SeqCst) == gens.user
            && self.stripes[gens.session_stripe as usize].load(SeqCst) == gens.session
    }

    pub(super) fn invalidate(&self, what: &Invalidation) {
        self.changes.fetch_add(1, SeqCst);
        match what {
            Invalidation::User(key) => {
                self.stripes[stripe_of(key.as_bytes()) as usize].fetch_add(1, SeqCst);
            }
            Invalidation::Session(id) => {
                self.stripes[stripe_of(&id.0) as usize].fetch_add(1, SeqCst);
            }
            Invalidation::All => {
                self.whole.fetch_add(1, SeqCst);
            }
        }
    }

    pub(super) fn count_hit(&self) {
        self.counters.hits.fetch_add(1, SeqCst);
    }
    pub(super) fn count_miss(&self, confirmed: bool) {
        let c = if confirmed {
            &self.counters.misses
        } else {
            &self.counters.bypassed
        };
        c.fetch_add(1, SeqCst);
    }
    pub(super) fn count_fill(&self, kept: bool) {
        let c = if kept {
            &self.counters.fills
        } else {
            &self.counters.fills_refused
        };
        c.fetch_add(1, SeqCst);
    }
    pub(super) fn count_local(&self) {
        self.counters.local_evictions.fetch_add(1, SeqCst);
    }

    pub(super) fn stats(&self, entries: u64) -> NearStats {
        let c = &self.counters;
        NearStats {
            hits: c.hits.load(SeqCst),
            misses: c.misses.load(SeqCst),
            bypassed: c.bypassed.load(SeqCst),
            fills: c.fills.load(SeqCst),
            fills_refused: c.fills_refused.load(SeqCst),
            received: c.received.load(SeqCst),
            local_evictions: c.local_evictions.load(SeqCst),
            downs: c.downs.load(SeqCst),
            entries,
        }
    }
}

/// The handle an invalidation source drives: one per near cache, cheap to clone.
///
/// A source must (1) call [`invalidate`](Self::invalidate) for every message, in the order the shared
/// store committed the writes; (2) call [`down`](Self::down) as soon as it may have missed a message
/// (connection lost, subscription not yet active, a gap it detects); (3) call
/// [`confirm`](Self::confirm) with an instant `t` only once every write the store committed before `t`
/// has been passed to `invalidate` (a ping sent at `t` through the store and received back on the
/// channel proves it, since the store delivers in commit order). The cache serves from memory only
/// until `t + lease`: a source that stops confirming (a hung database, a lagging connection) turns the
/// near cache off within one lease.
#[derive(Debug, Clone)]
pub struct NearChannel {
    pub(super) shared: Arc<Shared>,
}

impl NearChannel {
    /// Evict what `what` names (a message received from the channel).
    pub fn invalidate(&self, what: Invalidation) {
        #[cfg(feature = "soak-faults")]
        match &what {
            Invalidation::Session(_) if super::soak_faults::ignores_sessions() => return,
            Invalidation::User(_) if super::soak_faults::ignores_users() => return,
            _ => {}
        }
        self.shared.invalidate(&what);
        self.shared.counters.received.fetch_add(1, SeqCst);
        self.shared.report(&what);
    }

    /// Every write committed before `sent` has been delivered: serve from memory until `sent + lease`.
    pub fn confirm(&self, sent: Instant) {
        let end = sent + self.shared.lease;
        if end <= Instant::now() {
            return; // a confirmation that already ran out confirms nothing
        }
        let until = self.shared.millis(end).max(1);
        if self.shared.confirmed_until.load(SeqCst) == 0 {
            // Coming back up: nothing filled while down, but start from an empty cache all the same.
            self.shared.invalidate(&Invalidation::All);
        }
        self.shared.confirmed_until.fetch_max(until, SeqCst);
    }

    /// The channel may have missed messages: stop serving from memory, flush, until confirmed again.
    pub fn down(&self) {
        self.shared.confirmed_until.store(0, SeqCst);
        self.shared.invalidate(&Invalidation::All);
        self.shared.counters.downs.fetch_add(1, SeqCst);
        self.shared.report(&Invalidation::All);
    }

    /// Whether the cache would serve from memory right now.
    pub fn is_confirmed(&self) -> bool {
        self.shared.confirmed()
    }

    /// How long one confirmation lasts ([`NearConfig::lease`](super::NearConfig::with_lease)).
    pub fn lease(&self) -> Duration {
        self.shared.lease
    }

    /// How many invalidations this channel has delivered (a test hook: "the notification arrived").
    pub fn received(&self) -> u64 {
        self.shared.counters.received.load(SeqCst)
    }
}
