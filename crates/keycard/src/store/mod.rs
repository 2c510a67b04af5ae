//! The `Store` trait: the atomic primitives a backend provides, and the records it keeps.
//!
//! A store knows nothing of policy. It never decides *when* to renew or how long anything lives: the
//! [`CredentialsCache`](crate::CredentialsCache) computes every deadline and passes it in. What a store
//! owns is **atomicity**: each method below is one indivisible step with respect to every other method
//! on the same records, so that the cache's rules hold with any number of concurrent requests, app nodes
//! and background jobs.
//!
//! # Records (logical; each backend maps them to its own keys)
//! - **session** ([`SessionRecord`]): stable `session_id`, `user_key`, timestamps, deadlines, metadata,
//!   and the hashes of its current token and (during a grace window) its previous token.
//! - **token**: `TokenHash -> session_id`, for the current token and, until its grace deadline, the previous one.
//! - **user**: `user_key -> user` (one copy per user, shared by all of that user's sessions) + its version.
//! - **index**: `user_key -> {session_id}` (scored by deadline where the backend can), pruned as it is read.
//!
//! # Rules every primitive keeps (DESIGN.md "Invariants")
//! - **Nothing is resurrected.** Only [`Store::create`] creates records. Every other write is "if it still
//!   exists (and is unexpired)"; a write that loses a race against a delete or an expiry does nothing.
//! - **A session is live only while its credentials match.** A session whose
//!   [`auth_fingerprint`](SessionRecord::auth_fingerprint) is not its cached user's (see
//!   [`credentials_match`]) is dead: `fetch` ends it and answers
//!   [`FetchOutcome::Ended`], listings skip (and prune) it, `put_user` does not count it as live.
//! - **A record is live only before its deadline.** Reads treat a record at or past its deadline as absent,
//!   whether or not a sweep has removed it yet.
//! - **The user record lives while the user has a live session.** A user record with no live session may
//!   linger until the next sweep or key expiry, but must never be created by [`Store::put_user`].
//! - **Errors are errors.** A backend failure is `Err(StoreError)`, never `Ok(None)`: the cache must not be
//!   able to mistake an outage for "signed out" (invariant 6). A record that fails to decode is treated as
//!   absent and logged.
//!
//! Backends: [`memory`] here (in-process, the default); the Redis store is the `keycard-redis` crate. Every
//! backend runs the same conformance suite and model test, from the `keycard-store-tests` crate.

use std::sync::{Arc, OnceLock};

use crate::clock::Timestamp;
use crate::token::{RouteTag, SessionId, Token, TokenHash};
use crate::user::CachedUser;

pub mod memory;
#[cfg(feature = "near")]
#[cfg_attr(docsrs, doc(cfg(feature = "near")))]
pub mod near;

pub use crate::user::{credentials_match, Fingerprint};
pub use memory::MemoryStore;

/// Free-form facts about one sign-in, kept with its session and shown in session lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionMetadata {
    /// The `User-Agent` the session was created with.
    pub user_agent: Option<String>,
    /// The client address the session was created from.
    pub ip: Option<String>,
    /// App-defined fields.
    pub fields: std::collections::BTreeMap<String, String>,
}

impl SessionMetadata {
    /// The one shared copy of empty metadata (no user agent, no address, no field), so that the sessions
    /// created without metadata cost one pointer each.
    pub fn empty() -> Arc<SessionMetadata> {
        static EMPTY: std::sync::LazyLock<Arc<SessionMetadata>> =
            std::sync::LazyLock::new(|| Arc::new(SessionMetadata::default()));
        EMPTY.clone()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.user_agent.is_none() && self.ip.is_none() && self.fields.is_empty()
    }

    /// Shared: [`SessionMetadata::empty`] when it holds nothing, a new `Arc` otherwise.
    pub fn into_shared(self) -> Arc<SessionMetadata> {
        if self.is_empty() {
            Self::empty()
        } else {
            Arc::new(self)
        }
    }
}

/// One session, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionRecord {
    /// The stable public handle of this sign-in.
    pub session_id: SessionId,
    /// Whose session this is ([`CachedUser::user_key`]). Shared: the memory store gives every session of
    /// a user the one copy its user slot holds.
    pub user_key: Arc<str>,
    /// When the user signed in. Kept across renewals and `sync`.
    pub created_at: Timestamp,
    /// When the token was last rotated (sign-in, renewal or `sync`).
    pub renewed_at: Timestamp,
    /// The session dies at this instant unless renewed before. Never later than `absolute_deadline`.
    pub idle_deadline: Timestamp,
    /// The session dies at this instant whatever happens (`created_at + absolute lifetime`).
    pub absolute_deadline: Timestamp,
    /// Hash of the token the cookie currently carries.
    pub current_token: TokenHash,
    /// Hash of the token before the last renewal and the instant its grace window ends.
    pub previous_token: Option<(TokenHash, Timestamp)>,
    /// User agent, ip, app fields. Shared: a renewal's record points at the same metadata, and every
    /// session created with empty metadata at one [`SessionMetadata::empty`].
    pub metadata: Arc<SessionMetadata>,
    /// The [`Fingerprint`] of the user's credentials this session was signed in with (`None`: the user
    /// type has none). The session lives only while it is the cached user's.
    pub auth_fingerprint: Option<Fingerprint>,
    /// When the user last proved their password in this session (sign-in). `None` for a session that was
    /// not created by a password check.
    pub authenticated_at: Option<Timestamp>,
    /// The remember-me series this session belongs to: the series a sign-in that ticked "remember me"
    /// started, or the one whose cookie signed the browser back in ([`crate::remember`]). Ending the
    /// series ends its sessions. Set at creation, never changed.
    #[serde(default)]
    pub remember_series: Option<crate::token::SeriesId>,
}

impl SessionRecord {
    /// The instant this session stops existing: `min(idle_deadline, absolute_deadline)`.
    pub fn expires_at(&self) -> Timestamp {
        self.idle_deadline.min(self.absolute_deadline)
    }

    /// Whether the session is still alive at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at()
    }

    /// How `token` relates to this session at `now`.
    pub fn token_use(&self, token: &TokenHash, now: Timestamp) -> Option<TokenUse> {
        if &self.current_token == token {
            return Some(TokenUse::Current);
        }
        match self.previous_token {
            Some((prev, until)) if &prev == token && now < until => Some(TokenUse::Grace),
            _ => None,
        }
    }
}

/// Which of a session's tokens a request presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenUse {
    /// The current token.
    Current,
    /// The previous token, inside its grace window: resolves to the session, cannot extend or rotate it.
    Grace,
}

/// A fresh token, generated on first use.
///
/// Renewal needs a successor token only when it actually rotates. The memory store asks for it only then;
/// a networked store that must send everything in one round trip asks for it up front.
///
/// The successor carries the same [`RouteTag`] as the token it replaces (the cache passes the presented
/// token's), so a routing store finds it in the same user slot.
#[derive(Debug, Default)]
pub struct NextToken {
    slot: OnceLock<(Token, TokenHash)>,
    tag: Option<RouteTag>,
}

impl NextToken {
    /// An empty slot for an untagged successor.
    pub fn new() -> Self {
        NextToken::with_tag(None)
    }

    /// An empty slot for a successor carrying `tag`.
    pub fn with_tag(tag: Option<RouteTag>) -> Self {
        NextToken {
            slot: OnceLock::new(),
            tag,
        }
    }

    /// The successor's hash, generating the token on first call.
    pub fn hash(&self) -> TokenHash {
        self.slot
            .get_or_init(|| {
                let t = Token::generate_tagged(self.tag);
                let h = t.hash();
                (t, h)
            })
            .1
    }

    /// The successor token, if [`hash`](Self::hash) was ever called.
    pub fn take(self) -> Option<Token> {
        self.slot.into_inner().map(|(t, _)| t)
    }
}

/// What [`Store::fetch`] should do if the session is due for renewal. Computed by the cache.
#[derive(Debug)]
pub struct RenewalPlan {
    /// Rotate when the session's `renewed_at <= due_if_renewed_at_or_before` **and** the presented token is
    /// the current one. A grace token never rotates.
    pub due_if_renewed_at_or_before: Timestamp,
    /// The successor token.
    pub next_token: NextToken,
    /// The new idle deadline (the store caps it at the session's absolute deadline).
    pub idle_deadline: Timestamp,
    /// Until when the replaced token keeps resolving to the session.
    pub grace_until: Timestamp,
}

impl RenewalPlan {
    /// Whether a fetch that found `session` through a token used as `token_use` rotates it: only the
    /// current token rotates, and only once `renewed_at` is at or before the plan's instant. Every store
    /// decides renewal with this (the Redis script with its Lua twin).
    pub fn is_due(&self, session: &SessionRecord, token_use: TokenUse) -> bool {
        token_use == TokenUse::Current && session.renewed_at <= self.due_if_renewed_at_or_before
    }
}

/// The result of [`Store::fetch`].
#[derive(Debug)]
pub enum FetchOutcome<U> {
    /// No live session answers to this token (unknown, expired, deleted, or a grace token past its window).
    NotFound,
    /// The token named a session whose credentials are no longer the cached user's: this call ended it
    /// (deleted it with its tokens and index entry). For the caller, the same as `NotFound`.
    Ended {
        /// The session that ended.
        session_id: SessionId,
        /// Whose it was.
        user_key: String,
    },
    /// The session and its user.
    Found {
        /// The session after this call (after renewal, if one happened).
        session: Arc<SessionRecord>,
        /// The one cached copy of the user.
        user: Arc<U>,
        /// Which token the request presented.
        token_use: TokenUse,
        /// `true` if this call rotated the token (then `plan.next_token` holds the successor): exactly one
        /// concurrent caller per rotation sees `true`.
        renewed: bool,
    },
}

/// Everything [`Store::create`] writes.
#[derive(Debug)]
pub struct NewSession<U> {
    /// The session record (with `current_token` set, `previous_token` empty). Its `created_at` and
    /// `renewed_at` are both the cache's `now` for this call: stores compute key lifetimes from it.
    pub session: SessionRecord,
    /// The user to cache, replacing the cached copy unless that one has a newer version.
    pub user: Arc<U>,
}

/// Everything [`Store::rotate`] writes: a privilege change on a live session. Computed by the cache.
#[derive(Debug)]
pub struct Rotation<U> {
    /// The session.
    pub session_id: SessionId,
    /// The new current token's hash.
    pub new_token: TokenHash,
    /// The user to cache (a `sync`), or `None` (a `regenerate`, a re-authentication).
    pub user: Option<Arc<U>>,
    /// The caller's now: the session's new `renewed_at`.
    pub now: Timestamp,
    /// The new idle deadline (the store caps it at the absolute deadline).
    pub idle_deadline: Timestamp,
    /// A new proof of password (a re-authentication), or `None` to keep the session's.
    pub authenticated_at: Option<Timestamp>,
}

/// The result of [`Store::create`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateOutcome {
    /// The session exists now.
    Created,
    /// Nothing was written: the store holds a newer version of the user whose credential fingerprint is not
    /// the one this sign-in was checked against (a sign-in that verified the old password while it was
    /// being changed).
    CredentialsChanged,
}

/// The result of [`Store::put_user`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PutOutcome {
    /// The cached copy was replaced; every session of the user sees the new one.
    Updated,
    /// The user has no live session, so nothing is cached and nothing was written.
    NotCached,
    /// The cached copy has a newer version; it was kept.
    Stale,
}

/// What [`Store::sweep`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepStats {
    /// Expired sessions removed.
    pub sessions: usize,
    /// Dead token entries removed.
    pub tokens: usize,
    /// User records removed because no live session is left.
    pub users: usize,
}

/// A backend failed. The request must not be treated as authenticated or as signed out.
#[derive(Debug, thiserror::Error)]
#[error("credentials store {backend} failed to {operation}: {message}")]
pub struct StoreError {
    /// Which backend (`"memory"`, `"redis"`).
    pub backend: &'static str,
    /// What it was doing (`"fetch"`, `"create"`, …).
    pub operation: &'static str,
    /// What went wrong.
    pub message: String,
    /// The underlying error, if any.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// A new error.
    pub fn new(backend: &'static str, operation: &'static str, message: impl Into<String>) -> Self {
        StoreError {
            backend,
            operation,
            message: message.into(),
            source: None,
        }
    }

    /// Attach the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

/// The primitives a credentials store provides. See the [module docs](self) for the rules all of them keep.
///
/// Each method is **atomic** with respect to every other method touching the same session, token, user or
/// index records. Implementations get there however suits the backend (sharded locks in memory, one Lua
/// script per call in Redis, one transaction in SQL).
#[async_trait::async_trait]
pub trait Store<U: CachedUser>: Send + Sync + 'static {
    /// Sign in: insert the session, its token, its index entry, and the user record (replacing the cached
    /// copy unless the cached copy's version is newer). The only primitive that creates records.
    ///
    /// When the cached copy is kept (it is newer) and its [`Fingerprint`] differs from the new session's
    /// `auth_fingerprint`, nothing is written and the answer is [`CreateOutcome::CredentialsChanged`].
    async fn create(&self, new: NewSession<U>) -> Result<CreateOutcome, StoreError>;

    /// Resolve `token` at `now` to its live session and the cached user, renewing when due.
    ///
    /// Atomically: look up the token; if it is the session's current token and
    /// `session.renewed_at <= plan.due_if_renewed_at_or_before`, rotate: the successor
    /// (`plan.next_token`) becomes current, the presented token becomes the previous token until
    /// `plan.grace_until` (any older previous token dies now), `renewed_at = now`,
    /// `idle_deadline = min(plan.idle_deadline, absolute_deadline)`. At most one caller wins a rotation; a
    /// concurrent caller holding the same token then resolves it as [`TokenUse::Grace`]. A grace token
    /// resolves without any write. One round trip on networked backends.
    ///
    /// A session whose `auth_fingerprint` is not the cached user's fingerprint is ended (deleted with its
    /// tokens and index entry, in the same atomic step where the backend can) and the answer is
    /// [`FetchOutcome::Ended`].
    async fn fetch(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> Result<FetchOutcome<U>, StoreError>;

    /// [`fetch`](Self::fetch) without awaiting, for a store that can answer from process memory:
    /// `Some(answer)` is exactly what `fetch` would have answered, with the same atomic step and the same
    /// writes (a renewal included); `None` means "await [`fetch`](Self::fetch)", and this call changed
    /// nothing. The default answers `None`, so a store (or a wrapper) that does not override it is always
    /// awaited.
    ///
    /// The [`CredentialsCache`](crate::CredentialsCache) asks this first, so that a request served from
    /// memory (the memory store; a near-cache hit) needs no boxed future. It must not block on I/O.
    fn fetch_ready(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> Option<Result<FetchOutcome<U>, StoreError>> {
        let _ = (token, now, plan);
        None
    }

    /// Privilege change on a live session (`sync`, password change; see [`Rotation`] for the fields): the
    /// session's current and previous tokens die at once (no grace), `new_token` becomes current,
    /// `renewed_at = now`, `idle_deadline = min(idle_deadline, absolute_deadline)`; `session_id`,
    /// `created_at`, `absolute_deadline` and metadata are kept. If `user` is given, it replaces the cached
    /// copy unless that one is newer, and when it does the session takes the new copy's fingerprint (the
    /// session that changed the credentials stays signed in; every other session ends). Returns the updated
    /// session, or `None` (and writes nothing) if the session is gone, or its credentials no longer match
    /// (then it is ended). If `authenticated_at` is given (a re-authentication: the user just proved their
    /// password again), the session records it as its last proof of password.
    async fn rotate(&self, rotation: Rotation<U>)
        -> Result<Option<Arc<SessionRecord>>, StoreError>;

    /// Replace the cached copy of `user` if one exists (the user has a live session) and is not newer.
    /// Touches no session: no deadline moves. O(1) in the number of the user's sessions.
    async fn put_user(&self, user: Arc<U>, now: Timestamp) -> Result<PutOutcome, StoreError>;

    /// Sign out: delete the session that `token` (current, or previous inside its grace window) resolves to,
    /// with both its tokens and its index entry. Returns the deleted session's id and user key.
    async fn delete_by_token(
        &self,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(SessionId, String)>, StoreError>;

    /// Delete one session by id, with both its tokens and its index entry. The deleted session's user key
    /// if a record existed (an expired record that no sweep has removed yet counts: it is removed too).
    async fn delete_session(&self, session_id: &SessionId) -> Result<Option<String>, StoreError>;

    /// Delete every session of `user_key` except `except`. Returns how many records were deleted
    /// (expired records not yet swept included).
    async fn delete_user_sessions(
        &self,
        user_key: &str,
        except: Option<&SessionId>,
    ) -> Result<usize, StoreError>;

    /// The live sessions of `user_key` (unexpired, credentials matching), oldest first. Prunes the dead
    /// entries and records it meets.
    async fn sessions(
        &self,
        user_key: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError>;

    /// The live session `session_id` of `user_key` (unexpired, credentials matching), or `None`: a
    /// liveness check (a watch on a long-lived response asks it every second), whose cost must not grow
    /// with the user's sessions. The default lists the user's sessions; the stores of this workspace
    /// answer it with one lookup. Never prunes.
    async fn session(
        &self,
        user_key: &str,
        session_id: &SessionId,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .sessions(user_key, now)
            .await?
            .into_iter()
            .find(|s| &s.session_id == session_id))
    }

    /// One copy of every user that has a live session. Not for the request path.
    async fn users(&self, now: Timestamp) -> Result<Vec<Arc<U>>, StoreError>;

    /// Remove what expired before `now`. Backends whose records expire by themselves return zeros.
    async fn sweep(&self, now: Timestamp) -> Result<SweepStats, StoreError>;

    /// The [`RouteTag`] the cache puts in the tokens and session ids of `user_key`, for a store that
    /// shards by user (it must then find a token's or session id's records from the tag alone; see
    /// [`crate::token`]). The default, `None`, keeps tokens, cookies and session ids untagged.
    fn route_tag(&self, user_key: &str) -> Option<RouteTag> {
        let _ = user_key;
        None
    }

    /// The [`RouteTag`] for a new token of the session `session_id` (`sync`, `regenerate`): a routing
    /// store reads it from the id ([`SessionId::route_tag`]). The default, `None`, keeps tokens untagged.
    fn session_route_tag(&self, session_id: &SessionId) -> Option<RouteTag> {
        let _ = session_id;
        None
    }

    /// The cache's events, given once when the cache is built: a store that hears other nodes' writes
    /// (a near cache's invalidation channel) sends [`SessionEvent::Changed`](crate::SessionEvent::Changed)
    /// through it. A wrapper passes it on to the store it wraps. The default ignores it.
    fn attach_events(&self, events: crate::events::EventSender) {
        let _ = events;
    }
}
