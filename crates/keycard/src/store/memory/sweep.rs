//! The memory store's sweep: what expired goes, a chunk at a time, yielding to the runtime in between.

use std::collections::HashMap;
use std::sync::Arc;

use super::{MemoryStore, Which};
use crate::clock::Timestamp;
use crate::store::SweepStats;
use crate::token::{SessionId, TokenHash};
use crate::user::CachedUser;

/// How many records a sweep removes between two yields to the async runtime.
const SWEEP_CHUNK: usize = 2_048;

impl<U: CachedUser> MemoryStore<U> {
    /// [`Store::sweep`]: the three passes, each in chunks with a yield between chunks.
    pub(super) async fn sweep_in_chunks(&self, now: Timestamp) -> SweepStats {
        // Each pass first finds its candidates (a scan under each shard's read lock in turn: no await, no
        // allocation for a live record), then removes them SWEEP_CHUNK at a time, yielding to the runtime
        // between chunks with no lock held, so a sweep of a large store never holds a worker for long.
        let mut stats = SweepStats::default();
        // 1. Expired sessions, grouped by user within a chunk so each user's lock is taken once per chunk.
        let expired: Vec<SessionId> = self.sessions.keys_where(|r| !r.is_live(now));
        for chunk in expired.chunks(SWEEP_CHUNK) {
            let mut by_user: HashMap<Arc<str>, Vec<SessionId>> = HashMap::new();
            for id in chunk {
                if let Some(user_key) = self.sessions.get(id, |r| r.user_key.clone()) {
                    by_user.entry(user_key).or_default().push(*id);
                }
            }
            for (user_key, ids) in by_user {
                let (s, t, u) =
                    self.remove_sessions(&user_key, Which::These(ids), |r| !r.is_live(now));
                stats.sessions += s;
                stats.tokens += t;
                stats.users += u;
            }
            tokio::task::yield_now().await;
        }
        // 2. Replaced tokens past their grace deadline (current tokens leave with their session).
        let candidates: Vec<TokenHash> = self.tokens.keys_where(|e| now >= e.until);
        for chunk in candidates.chunks(SWEEP_CHUNK) {
            for hash in chunk {
                if self.tokens.remove_if(hash, |v| now >= v.until).is_some() {
                    stats.tokens += 1;
                }
            }
            tokio::task::yield_now().await;
        }
        // 3. User slots with no live session (e.g. every session dropped without a sweep in between).
        let stale: Vec<Arc<str>> = self
            .users
            .iter()
            .filter(|s| now >= s.live_until || s.sessions.is_empty())
            .map(|s| s.key().clone())
            .collect();
        for chunk in stale.chunks(SWEEP_CHUNK) {
            for key in chunk {
                let (s, t, u) =
                    self.remove_sessions(key, Which::AllExcept(None), |r| !r.is_live(now));
                stats.sessions += s;
                stats.tokens += t;
                stats.users += u;
            }
            tokio::task::yield_now().await;
        }
        stats
    }
}
