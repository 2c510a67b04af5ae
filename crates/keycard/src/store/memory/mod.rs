//! The memory store: the embedded default, for one process.
//!
//! Everything lives in three concurrent maps:
//!
//! | map | key | value |
//! |---|---|---|
//! | `tokens` | [`TokenHash`] | the session's current `Arc<SessionRecord>`, the user's cell, and until when the entry is valid (`∞` for a current token, the grace deadline for a replaced one) |
//! | `sessions` | [`SessionId`] | `Arc<SessionRecord>` (replaced, never mutated in place): the authority for writes, listing and revoking by id |
//! | `users` | user key | the user's cell (the one cached `Arc<U>`) + its version + the index of the user's session ids + until when any of them lives |
//!
//! The maps are sharded. `tokens` and `sessions` are tables whose entries carry their own keys (`table`:
//! a token entry's key is its record's current or previous token hash, a session's its id), so no bucket
//! holds a key a second time; `users` is a [`DashMap`] keyed by the one `Arc<str>` copy of the user key that
//! every session record of the user shares, as sessions created without metadata share one
//! [`SessionMetadata::empty`]. At 10^6 sessions that is about 390 bytes per session (BENCHMARKS.md,
//! "Compact records"). The read path is **one** shard read lock on `tokens` and the user
//! cell's read lock: the token entry carries the session record and the user's cell, so a fetch never hashes
//! a session id or a user key, and returns the stored `Arc`s (no copy, no serialization). `put_user` swaps
//! the one cell that all of a user's token entries point at: O(1) in the number of sessions. Writes that touch
//! several maps take their locks in one fixed order (**users → sessions → tokens**; a cell's lock is a leaf)
//! and hold the outer lock while they work inside, which is what makes each [`Store`] primitive atomic:
//! - a renewal holds the session's shard lock while it rewrites the token entries, so exactly one concurrent
//!   fetch rotates and a concurrent delete either sees the new tokens or prevents the rotation;
//! - `create`, `rotate` and every delete hold the user's shard lock, so the index and the user record
//!   change together, and a user record is removed exactly when its last session is.
//!
//! Expiry is checked on every read against the caller's `now`; [`Store::sweep`] (run it with
//! [`CredentialsCache::spawn_sweeper`](crate::CredentialsCache::spawn_sweeper)) removes what expired, so memory
//! stays bounded by live sessions. A sweep runs on the async task that awaits it and shares the worker:
//! each of its three passes (expired sessions, replaced tokens past their grace window, users left with no
//! live session) first collects its candidates in one scan of the map, holding each shard's read lock only
//! while it reads that shard and never across an `.await`, then removes them 2,048 at a time and calls
//! [`tokio::task::yield_now`] between chunks, so requests on the same worker keep being served while a
//! large store is swept. (The scans themselves do not yield: they only compare deadlines and copy the keys
//! of expired records.)

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;

use keys::RandomKeyState;
use table::{Keyed, Table};

use super::{
    CreateOutcome, FetchOutcome, NewSession, PutOutcome, RenewalPlan, Rotation, SessionMetadata,
    SessionRecord, Store, StoreError, SweepStats,
};
use crate::clock::Timestamp;
use crate::token::{SessionId, TokenHash};
use crate::user::{credentials_match, may_replace, CachedUser, Fingerprint};

mod fetch;
mod keys;
mod sweep;
mod table;

/// What a token resolves to. The read path needs nothing else: the session record and the user's cell are
/// right here, so a fetch is one map lookup (plus the cell's read lock), not three.
struct TokenEntry<U> {
    /// The session as of the last write to it. Every write that replaces a session record (renewal, rotation)
    /// rewrites the entries of its live tokens under the session's lock; deletes remove them.
    session: Arc<SessionRecord>,
    /// The user's one cached copy, shared with the user's slot and every other token entry of the user.
    user: Arc<UserCell<U>>,
    /// The entry is valid strictly before this instant.
    until: Timestamp,
}

impl<U> Keyed for TokenEntry<U> {
    type Key = TokenHash;
    /// The entry of a current token is valid until [`FOREVER`]; any other is the grace entry of the token
    /// its session record names as the previous one (a renewal rewrites both, a rotation removes both).
    fn key(&self) -> &TokenHash {
        match &self.session.previous_token {
            Some((prev, _)) if self.until != FOREVER => prev,
            _ => &self.session.current_token,
        }
    }
}

impl Keyed for Arc<SessionRecord> {
    type Key = SessionId;
    fn key(&self) -> &SessionId {
        &self.session_id
    }
}

/// The one cached copy of a user and the fingerprint of its credentials. Replaced only under the user's
/// slot lock; read by any fetch.
struct UserCell<U>(RwLock<(Arc<U>, Option<Fingerprint>)>);

impl<U: CachedUser> UserCell<U> {
    fn new(user: Arc<U>) -> Arc<Self> {
        let fp = Fingerprint::of(&*user);
        Arc::new(UserCell(RwLock::new((user, fp))))
    }

    fn load(&self) -> Arc<U> {
        self.load_with_fingerprint().0
    }

    fn load_with_fingerprint(&self) -> (Arc<U>, Option<Fingerprint>) {
        // A panic while holding this lock cannot leave the pair half-written: ignore poisoning.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn fingerprint(&self) -> Option<Fingerprint> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).1
    }

    /// Replace the copy; returns the new copy's fingerprint.
    fn store(&self, user: Arc<U>) -> Option<Fingerprint> {
        let fp = Fingerprint::of(&*user);
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = (user, fp);
        fp
    }
}

/// The `until` of a current token's entry; every grace entry ends before it, at [`LAST_GRACE`] at the
/// latest, so an entry's `until` says which of its record's tokens is its key ([`Keyed`]).
const FOREVER: Timestamp = Timestamp(u64::MAX);
const LAST_GRACE: Timestamp = Timestamp(u64::MAX - 1);

struct UserSlot<U> {
    cell: Arc<UserCell<U>>,
    version: Option<u64>,
    /// The index: this user's session ids.
    sessions: HashSet<SessionId, RandomKeyState>,
    /// No session of this user lives at or after this instant: the latest `expires_at` of its sessions,
    /// raised by sign-in and renewal, recomputed when sessions are removed.
    live_until: Timestamp,
}

/// Which of a user's sessions to remove.
enum Which {
    These(Vec<SessionId>),
    AllExcept(Option<SessionId>),
}

/// The in-process store. See the [module docs](self).
pub struct MemoryStore<U> {
    tokens: Table<TokenEntry<U>>,
    sessions: Table<Arc<SessionRecord>>,
    users: DashMap<Arc<str>, UserSlot<U>>,
}

impl<U> Default for MemoryStore<U> {
    fn default() -> Self {
        MemoryStore {
            tokens: Table::default(),
            sessions: Table::default(),
            users: DashMap::new(),
        }
    }
}

impl<U> std::fmt::Debug for MemoryStore<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("sessions", &self.sessions.len())
            .field("tokens", &self.tokens.len())
            .field("users", &self.users.len())
            .finish()
    }
}

impl<U: CachedUser> MemoryStore<U> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many session, token and user records are held (live or not yet swept).
    pub fn len(&self) -> (usize, usize, usize) {
        (self.sessions.len(), self.tokens.len(), self.users.len())
    }

    /// Whether the store holds no session.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    fn remove_tokens_of(&self, rec: &SessionRecord) -> usize {
        let mut n = 0;
        if self.tokens.remove(&rec.current_token).is_some() {
            n += 1;
        }
        if let Some((prev, _)) = rec.previous_token {
            if self.tokens.remove(&prev).is_some() {
                n += 1;
            }
        }
        n
    }

    /// Remove the sessions `which` names from the user's index and their records; drop the user slot if its index is empty.
    /// `only_if` decides per record (checked under the session's lock). Returns (sessions, tokens, users).
    fn remove_sessions(
        &self,
        user_key: &str,
        which: Which,
        only_if: impl Fn(&SessionRecord) -> bool,
    ) -> (usize, usize, usize) {
        let (mut s, mut t, mut u) = (0, 0, 0);
        match self.users.entry(Arc::from(user_key)) {
            Entry::Occupied(mut slot) => {
                let ids: Vec<SessionId> = match &which {
                    Which::These(ids) => ids.clone(),
                    Which::AllExcept(except) => slot
                        .get()
                        .sessions
                        .iter()
                        .copied()
                        .filter(|id| Some(*id) != *except)
                        .collect(),
                };
                for id in ids {
                    match self.sessions.remove_if(&id, |r| only_if(r)) {
                        Some(rec) => {
                            slot.get_mut().sessions.remove(&id);
                            s += 1;
                            t += self.remove_tokens_of(&rec);
                        }
                        None => {
                            // Either kept by `only_if`, or already gone: prune the dangling index entry.
                            if !self.sessions.contains(&id) {
                                slot.get_mut().sessions.remove(&id);
                            }
                        }
                    }
                }
                if slot.get().sessions.is_empty() {
                    slot.remove();
                    u += 1;
                } else if s > 0 {
                    // The removed sessions may have been the ones that lived longest: recompute the bound
                    // so `put_user` never sees a user as cached after its last live session is gone.
                    let slot = slot.get_mut();
                    slot.live_until = slot
                        .sessions
                        .iter()
                        .filter_map(|id| self.sessions.get(id, |r| r.expires_at()))
                        .max()
                        .unwrap_or(Timestamp(0));
                }
            }
            Entry::Vacant(vacant) => {
                // No user slot (a record that outlived its user's slot): remove the orphans named by id.
                let named = match &which {
                    Which::These(ids) => ids.clone(),
                    Which::AllExcept(_) => Vec::new(),
                };
                for id in named {
                    if let Some(rec) = self.sessions.remove_if(&id, |r| only_if(r)) {
                        s += 1;
                        t += self.remove_tokens_of(&rec);
                    }
                }
                drop(vacant);
            }
        }
        (s, t, u)
    }

    fn bump_live_until(&self, user_key: &str, until: Timestamp) {
        if let Some(mut slot) = self.users.get_mut(user_key) {
            if slot.live_until < until {
                slot.live_until = until;
            }
        }
    }
}

#[async_trait::async_trait]
impl<U: CachedUser> Store<U> for MemoryStore<U> {
    async fn create(&self, new: NewSession<U>) -> Result<CreateOutcome, StoreError> {
        let NewSession { mut session, user } = new;
        let sid = session.session_id;
        let expires = session.expires_at();
        let version = user.version();
        // Lock order: users -> sessions -> tokens.
        let mut slot = self
            .users
            .entry(session.user_key.clone())
            .or_insert_with(|| UserSlot {
                cell: UserCell::new(user.clone()),
                version,
                sessions: HashSet::with_hasher(RandomKeyState),
                live_until: expires,
            });
        if may_replace(slot.version, version) {
            slot.cell.store(user);
            slot.version = version;
        } else if !credentials_match(session.auth_fingerprint, slot.cell.fingerprint()) {
            // A newer copy with other credentials: this sign-in checked the old ones.
            return Ok(CreateOutcome::CredentialsChanged);
        }
        if slot.live_until < expires {
            slot.live_until = expires;
        }
        slot.sessions.insert(sid);
        // Every session of the user points at the slot's one copy of the key and, when the metadata is
        // empty, at the one shared empty metadata.
        session.user_key = slot.key().clone();
        if session.metadata.is_empty() {
            session.metadata = SessionMetadata::empty();
        }
        let session = Arc::new(session);
        self.sessions.insert(session.clone());
        self.tokens.insert(TokenEntry {
            session,
            user: slot.cell.clone(),
            until: FOREVER,
        });
        drop(slot);
        Ok(CreateOutcome::Created)
    }

    async fn fetch(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> Result<FetchOutcome<U>, StoreError> {
        Ok(self.fetch_in_memory(token, now, plan))
    }

    fn fetch_ready(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> Option<Result<FetchOutcome<U>, StoreError>> {
        Some(Ok(self.fetch_in_memory(token, now, plan)))
    }

    async fn rotate(
        &self,
        rotation: Rotation<U>,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        let Rotation {
            ref session_id,
            ref new_token,
            user,
            now,
            idle_deadline,
            authenticated_at,
        } = rotation;
        let Some(user_key) = self.sessions.get(session_id, |r| r.user_key.clone()) else {
            return Ok(None);
        };
        let Some(mut slot) = self.users.get_mut(&user_key) else {
            return Ok(None);
        };
        if !slot.sessions.contains(session_id) {
            return Ok(None);
        }
        /// What the rotation did under the session's lock.
        enum Step {
            Gone,
            CredentialsChanged(Arc<SessionRecord>),
            Rotated(Arc<SessionRecord>),
        }
        let step = self.sessions.update(session_id, |current| {
            let cur = current.clone();
            if !cur.is_live(now) {
                return Step::Gone;
            }
            if !credentials_match(cur.auth_fingerprint, slot.cell.fingerprint()) {
                return Step::CredentialsChanged(cur);
            }
            self.remove_tokens_of(&cur);
            let mut new_rec = (*cur).clone();
            new_rec.renewed_at = now;
            new_rec.idle_deadline = idle_deadline.min(cur.absolute_deadline);
            new_rec.current_token = *new_token;
            new_rec.previous_token = None;
            if authenticated_at.is_some() {
                new_rec.authenticated_at = authenticated_at;
            }
            if let Some(u) = user {
                let v = u.version();
                if may_replace(slot.version, v) {
                    // The session that changes the credentials takes them; every other session ends.
                    new_rec.auth_fingerprint = slot.cell.store(u);
                    slot.version = v;
                }
            }
            let new_rec = Arc::new(new_rec);
            self.tokens.insert(TokenEntry {
                session: new_rec.clone(),
                user: slot.cell.clone(),
                until: FOREVER,
            });
            *current = new_rec.clone();
            Step::Rotated(new_rec)
        });
        match step {
            None | Some(Step::Gone) => Ok(None),
            Some(Step::CredentialsChanged(cur)) => {
                // Already ended by a credential change: it does not get to adopt the new credentials.
                drop(slot);
                self.end_for_credentials::<U>(&cur);
                Ok(None)
            }
            Some(Step::Rotated(new_rec)) => {
                if slot.live_until < new_rec.expires_at() {
                    slot.live_until = new_rec.expires_at();
                }
                Ok(Some(new_rec))
            }
        }
    }

    async fn put_user(&self, user: Arc<U>, now: Timestamp) -> Result<PutOutcome, StoreError> {
        let Some(mut slot) = self.users.get_mut(user.user_key().as_str()) else {
            return Ok(PutOutcome::NotCached);
        };
        if now >= slot.live_until || slot.sessions.is_empty() {
            return Ok(PutOutcome::NotCached);
        }
        let v = user.version();
        if !may_replace(slot.version, v) {
            return Ok(PutOutcome::Stale);
        }
        slot.cell.store(user);
        slot.version = v;
        Ok(PutOutcome::Updated)
    }

    async fn delete_by_token(
        &self,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(SessionId, String)>, StoreError> {
        let Some((until, rec)) = self.tokens.get(token, |e| (e.until, e.session.clone())) else {
            return Ok(None);
        };
        if now >= until || !rec.is_live(now) || rec.token_use(token, now).is_none() {
            return Ok(None);
        }
        let deleted = <Self as Store<U>>::delete_session(self, &rec.session_id).await?;
        Ok(deleted.map(|user_key| (rec.session_id, user_key)))
    }

    async fn delete_session(&self, session_id: &SessionId) -> Result<Option<String>, StoreError> {
        let Some(user_key) = self.sessions.get(session_id, |r| r.user_key.clone()) else {
            return Ok(None);
        };
        let id = *session_id;
        let (s, _, _) = self.remove_sessions(&user_key, Which::These(vec![id]), |_| true);
        Ok((s > 0).then(|| user_key.to_string()))
    }

    async fn delete_user_sessions(
        &self,
        user_key: &str,
        except: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        let (s, _, _) = self.remove_sessions(user_key, Which::AllExcept(except.copied()), |_| true);
        Ok(s)
    }

    async fn sessions(
        &self,
        user_key: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let (ids, fp): (Vec<SessionId>, Option<Fingerprint>) = match self.users.get(user_key) {
            Some(slot) => (
                slot.sessions.iter().copied().collect(),
                slot.cell.fingerprint(),
            ),
            None => return Ok(Vec::new()),
        };
        let alive = |r: &SessionRecord| r.is_live(now) && credentials_match(r.auth_fingerprint, fp);
        let mut live = Vec::with_capacity(ids.len());
        let mut dead = Vec::new();
        for id in ids {
            match self.sessions.get(&id, |r| alive(r).then(|| (**r).clone())) {
                Some(Some(r)) => live.push(r),
                _ => dead.push(id),
            }
        }
        if !dead.is_empty() {
            // Prune as we read: the dead entries and their records.
            self.remove_sessions(user_key, Which::These(dead), |r| !alive(r));
        }
        live.sort_by_key(|r| (r.created_at, r.session_id));
        Ok(live)
    }

    async fn session(
        &self,
        user_key: &str,
        session_id: &SessionId,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let Some(fp) = self.users.get(user_key).map(|slot| slot.cell.fingerprint()) else {
            return Ok(None);
        };
        Ok(self
            .sessions
            .get(session_id, |r| {
                (*r.user_key == *user_key
                    && r.is_live(now)
                    && credentials_match(r.auth_fingerprint, fp))
                .then(|| (**r).clone())
            })
            .flatten())
    }

    async fn users(&self, now: Timestamp) -> Result<Vec<Arc<U>>, StoreError> {
        let keys: Vec<Arc<str>> = self
            .users
            .iter()
            .filter(|s| now < s.live_until)
            .map(|s| s.key().clone())
            .collect();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            // Only users with at least one live session.
            if !<Self as Store<U>>::sessions(self, &key, now)
                .await?
                .is_empty()
            {
                if let Some(slot) = self.users.get(&key) {
                    out.push(slot.cell.load());
                }
            }
        }
        Ok(out)
    }

    async fn sweep(&self, now: Timestamp) -> Result<SweepStats, StoreError> {
        Ok(self.sweep_in_chunks(now).await)
    }
}
