//! The reference model: the policy rules as plain maps, no concurrency, no cleverness.

use std::collections::{BTreeMap, BTreeSet};

use keycard::TokenUse;

use super::ops::Freshness;
use crate::fixtures::TestUser as User;

/// A session in the model. Tokens are indices into the list of issued cookies.
#[derive(Debug, Clone)]
pub(crate) struct MSession {
    pub(crate) user: u32,
    pub(crate) created: u64,
    pub(crate) renewed: u64,
    pub(crate) idle: u64,
    pub(crate) absolute: u64,
    pub(crate) current: usize,
    pub(crate) previous: Option<(usize, u64)>,
}

impl MSession {
    pub(crate) fn live(&self, now: u64) -> bool {
        now < self.idle.min(self.absolute)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Model {
    pub(crate) now: u64,
    /// Sessions never deleted (some may have expired), by session index.
    pub(crate) sessions: BTreeMap<usize, MSession>,
    /// The cached copy of each user, as last accepted.
    pub(crate) cached: BTreeMap<u32, User>,
    /// Each user's row version ("the database").
    pub(crate) db_version: BTreeMap<u32, u64>,
}

fn may_replace(cached: Option<u64>, incoming: Option<u64>) -> bool {
    match (cached, incoming) {
        (Some(c), Some(i)) => i >= c,
        _ => true,
    }
}

impl Model {
    pub(crate) fn has_live_session(&self, user: u32) -> bool {
        self.sessions
            .values()
            .any(|s| s.user == user && s.live(self.now))
    }

    /// The session `cookie` resolves to now, and how.
    pub(crate) fn resolve(&self, cookie: usize) -> Option<(usize, TokenUse)> {
        self.sessions.iter().find_map(|(idx, s)| {
            if !s.live(self.now) {
                return None;
            }
            if s.current == cookie {
                return Some((*idx, TokenUse::Current));
            }
            match s.previous {
                Some((p, until)) if p == cookie && self.now < until => {
                    Some((*idx, TokenUse::Grace))
                }
                _ => None,
            }
        })
    }

    pub(crate) fn offer(&mut self, u: User) -> bool {
        let cached = self.cached.get(&u.id).and_then(|c| c.version);
        if may_replace(cached, u.version) {
            self.cached.insert(u.id, u);
            true
        } else {
            false
        }
    }

    /// The version a write carries, and the row's version afterwards.
    pub(crate) fn version_for(&mut self, user: u32, fresh: Freshness) -> Option<u64> {
        if user == 2 {
            return None;
        }
        let db = self.db_version.entry(user).or_insert(1);
        Some(match fresh {
            Freshness::Newer => {
                *db += 1;
                *db
            }
            Freshness::Same => *db,
            Freshness::Older { back } => db.saturating_sub(back),
        })
    }

    pub(crate) fn live_ids(&self, user: u32) -> BTreeSet<usize> {
        self.sessions
            .iter()
            .filter(|(_, s)| s.user == user && s.live(self.now))
            .map(|(i, _)| *i)
            .collect()
    }
}
