//! [`CredentialsCache`]: every operation and every policy rule in one place.
//!
//! The cache turns the app's intentions (`create`, `fetch`, `sync`, `put_user`, `delete`, …) into store
//! primitives with the deadlines the [`Policy`] dictates. It is cheap to clone (one `Arc`) and safe to use
//! from request handlers and background tasks alike.

use std::sync::Arc;

use crate::audit::AuditLog;
use crate::clock::Clock;
use crate::events::{EndReason, Events, SessionEvent};
use crate::policy::Policy;
use crate::remember::RememberMe;
use crate::store::{
    CreateOutcome, FetchOutcome, NewSession, NextToken, PutOutcome, RenewalPlan, Rotation,
    SessionMetadata, SessionRecord, Store, StoreError, TokenUse,
};
use crate::token::{CookieSigner, CookieValue, SeriesId, SessionId, Token};
use crate::user::{CachedUser, Fingerprint};

mod builder;
mod cap;
mod grace;
mod personal;
mod personal_record;
mod remember;
mod revoke;
mod sweep;

pub use builder::{Builder, ConfigError};
pub use personal::PersonalTokenError;
pub use personal_record::{
    is_personal_token, personal_token_value, PersonalToken, PersonalTokenInfo,
    PersonalTokenRequest, MAX_PERSONAL_TOKENS_PER_USER, MAX_PERSONAL_TOKEN_NAME,
    MAX_PERSONAL_TOKEN_TTL, PERSONAL_TOKEN_PREFIX,
};
pub use remember::{RedeemError, Remembered, RememberedSignIn};
pub use sweep::SweeperHandle;

/// The credentials cache: signed cookie -> session -> one cached copy of the user.
///
/// See the [crate docs](crate) for the model and an example.
pub struct CredentialsCache<U: CachedUser> {
    inner: Arc<Inner<U>>,
}

impl<U: CachedUser> Clone for CredentialsCache<U> {
    fn clone(&self) -> Self {
        CredentialsCache {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<U: CachedUser> {
    store: Arc<dyn Store<U>>,
    signer: CookieSigner,
    audit: AuditLog,
    events: Events,
    policy: Policy,
    clock: Arc<dyn Clock>,
    remember: Option<RememberMe>,
    grace: grace::GraceCounter,
}

impl<U: CachedUser> std::fmt::Debug for CredentialsCache<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsCache")
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

/// A sign-in ([`CredentialsCache::create`]) that did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    /// The store failed; nothing was written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds a newer copy of the user with other credentials than the ones this sign-in was
    /// checked against (the password changed while it was being verified): nothing was written. Answer
    /// it like a wrong password.
    #[error(
        "the user's credentials changed while the sign-in was being checked; nothing was created"
    )]
    CredentialsChanged,
    /// A remember-me sign-in on a cache built without remember-me: nothing was written. Build the cache
    /// with `CredentialsCache::builder(store).remember(remember_store)`.
    #[error("remember-me is not configured on this cache: build it with .remember(store)")]
    RememberNotConfigured,
}

/// A signed-in session: what `create` and `sync` return. Made only by the cache (more fields may come).
#[derive(Debug)]
#[non_exhaustive]
pub struct SignedIn<U> {
    /// The new cookie value. Send it to the client; it replaces any earlier one.
    pub cookie: CookieValue,
    /// The session.
    pub session: Arc<SessionRecord>,
    /// The user passed in. If the store already held a copy with a newer
    /// [`version`](CachedUser::version), it kept that one, and the next `fetch` returns it.
    pub user: Arc<U>,
}

/// The result of a successful [`CredentialsCache::fetch`]. Made only by the cache (more fields may come).
#[derive(Debug)]
#[non_exhaustive]
pub struct Authenticated<U> {
    /// The cached user (shared, not copied).
    pub user: Arc<U>,
    /// The session.
    pub session: Arc<SessionRecord>,
    /// `Some` when this read rotated the token: send this cookie value to the client.
    pub renewed: Option<CookieValue>,
    /// Whether the request presented the current token or a replaced one inside its grace window.
    pub token_use: TokenUse,
}

/// What [`CredentialsCache::fetch_ready`] answers: the result of `fetch` now, or the store call still to
/// await.
#[derive(Debug)]
pub enum Fetch<U: CachedUser> {
    /// What [`CredentialsCache::fetch`] answers.
    Ready(Result<Option<Authenticated<U>>, StoreError>),
    /// The store has to be awaited: [`PendingFetch::finish`].
    Pending(PendingFetch<U>),
}

/// A [`CredentialsCache::fetch`] whose cookie checked out and whose store call is still to be awaited
/// (its clock reading and renewal plan are taken already). Holds a clone of the cache, so it can be
/// moved into a `'static` future.
#[derive(Debug)]
pub struct PendingFetch<U: CachedUser> {
    cache: CredentialsCache<U>,
    hash: crate::token::TokenHash,
    step: Step<U>,
    /// Presented as a personal token (`kcpat_…`).
    personal: bool,
}

/// What a [`PendingFetch`] still has to await.
#[derive(Debug)]
enum Step<U> {
    /// The store's answer.
    Store {
        now: crate::Timestamp,
        plan: RenewalPlan,
    },
    /// The store answered with a grace token: it still has to be counted ([`Policy::grace_uses`]).
    Grace(Authenticated<U>),
}

impl<U: CachedUser> PendingFetch<U> {
    /// Ask the store and answer as [`CredentialsCache::fetch`] does.
    ///
    /// Errors: as [`CredentialsCache::fetch`].
    pub async fn finish(self) -> Result<Option<Authenticated<U>>, StoreError> {
        let PendingFetch {
            cache,
            hash,
            step,
            personal,
        } = self;
        let found = match step {
            Step::Store { now, plan } => {
                let outcome = cache.inner.store.fetch(&hash, now, &plan).await;
                cache.fetched(outcome, plan, personal)?
            }
            Step::Grace(found) => Some(found),
        };
        match found {
            Some(found) if found.token_use == TokenUse::Grace => {
                cache.counted_grace(&hash, found).await
            }
            other => Ok(other),
        }
    }
}

impl<U: CachedUser> CredentialsCache<U> {
    /// The audit log, keyed by this cache's secret: the app's own audit events (sign-in, password change)
    /// then name accounts the way the cache's do ([`crate::audit`]).
    pub fn audit(&self) -> &AuditLog {
        &self.inner.audit
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The current time on this cache's clock.
    pub fn now(&self) -> crate::Timestamp {
        self.inner.clock.now()
    }

    /// Sign in: a new session with a new token for `user`, and `user` as the cached copy.
    ///
    /// The caller is responsible for ending any session the client already had (fixation): the axum layer
    /// does so.
    ///
    /// Errors: [`CreateError::Store`], and [`CreateError::CredentialsChanged`] when the store holds a newer
    /// copy of the user with other credentials (see [`crate::user`], "Credential-bound sessions").
    pub async fn create(
        &self,
        user: impl Into<Arc<U>>,
        metadata: SessionMetadata,
    ) -> Result<SignedIn<U>, CreateError> {
        self.create_session(user.into(), metadata, true, None).await
    }

    /// A new session for `user`: `proof` records now as the last proof of password (a password sign-in;
    /// not a remember-me redemption), `series` the remember-me series it belongs to.
    pub(crate) async fn create_session(
        &self,
        user: Arc<U>,
        metadata: SessionMetadata,
        proof: bool,
        series: Option<SeriesId>,
    ) -> Result<SignedIn<U>, CreateError> {
        let now = self.now();
        let p = &self.inner.policy;
        let tag = self.inner.store.route_tag(&user.user_key());
        let token = Token::generate_tagged(tag);
        let absolute_deadline = now.saturating_add(p.absolute_ttl);
        let session = SessionRecord {
            session_id: SessionId::generate_tagged(tag),
            user_key: user.user_key().into(),
            created_at: now,
            renewed_at: now,
            idle_deadline: now.saturating_add(p.idle_ttl).min(absolute_deadline),
            absolute_deadline,
            current_token: token.hash(),
            previous_token: None,
            metadata: metadata.into_shared(),
            auth_fingerprint: Fingerprint::of(&*user),
            authenticated_at: proof.then_some(now),
            remember_series: series,
        };
        let session = Arc::new(session);
        let outcome = self
            .inner
            .store
            .create(NewSession {
                session: (*session).clone(),
                user: user.clone(),
            })
            .await?;
        if outcome == CreateOutcome::CredentialsChanged {
            tracing::debug!("sign-in refused: the cached user has newer credentials");
            return Err(CreateError::CredentialsChanged);
        }
        tracing::debug!(session_id = %session.session_id, "session created");
        self.displace_for(&session, !proof).await;
        Ok(SignedIn {
            cookie: self.inner.signer.encode(&token),
            session,
            user,
        })
    }

    /// The session and cached user that `cookie_value` names, renewing the token when due.
    ///
    /// `Ok(None)` for a cookie that fails its shape or signature check (no store access), that names no
    /// live session, or that is a replaced token past its [`Policy::grace_uses`] (a grace answer,
    /// [`TokenUse::Grace`], is counted; serve it read-only). `Err` only when the store failed: never treat that as signed out.
    pub async fn fetch(&self, cookie_value: &str) -> Result<Option<Authenticated<U>>, StoreError> {
        match self.fetch_ready(cookie_value) {
            Fetch::Ready(answer) => answer,
            Fetch::Pending(pending) => pending.finish().await,
        }
    }

    /// [`fetch`](Self::fetch), answered at once when it can be: [`Fetch::Ready`] for a cookie refused
    /// before store access and for a store that answers from process memory ([`Store::fetch_ready`]: the
    /// memory store, a near-cache hit); otherwise [`Fetch::Pending`], to be awaited with
    /// [`PendingFetch::finish`] (also for a grace token, which is counted first: [`Policy::grace_uses`]). Either way the answer is the one `fetch` gives: the cookie
    /// is checked once, the clock read once, and the store asked once.
    ///
    /// For a caller on a hot path (the axum layer) that wants no future when none is needed.
    pub fn fetch_ready(&self, cookie_value: &str) -> Fetch<U> {
        // A personal token (`kcpat_…`) never rotates: its plan is never due, and it must name a personal
        // token's session (and an unprefixed value must not): see `personal`.
        let (cookie_value, personal) = match personal_record::personal_token_value(cookie_value) {
            Some(v) => (v, true),
            None => (cookie_value, false),
        };
        let token = match self.inner.signer.decode(cookie_value) {
            Ok(t) => t,
            Err(e) => {
                tracing::debug!(reason = %e, "session cookie refused before store access");
                return Fetch::Ready(Ok(None));
            }
        };
        let hash = token.hash();
        let now = self.now();
        let p = &self.inner.policy;
        let plan = RenewalPlan {
            due_if_renewed_at_or_before: if personal {
                crate::Timestamp(0)
            } else {
                now.saturating_sub(p.renewal_interval)
            },
            next_token: NextToken::with_tag(token.tag()),
            idle_deadline: now.saturating_add(p.idle_ttl),
            grace_until: now.saturating_add(p.grace),
        };
        let step = match self.inner.store.fetch_ready(&hash, now, &plan) {
            Some(outcome) => match self.fetched(outcome, plan, personal) {
                // A grace answer is counted before it is given (a store call): see `Policy::grace_uses`.
                Ok(Some(found)) if found.token_use == TokenUse::Grace => Step::Grace(found),
                answer => return Fetch::Ready(answer),
            },
            None => Step::Store { now, plan },
        };
        Fetch::Pending(PendingFetch {
            cache: self.clone(),
            hash,
            step,
            personal,
        })
    }

    /// What `fetch` makes of the store's answer.
    fn fetched(
        &self,
        outcome: Result<FetchOutcome<U>, StoreError>,
        plan: RenewalPlan,
        personal: bool,
    ) -> Result<Option<Authenticated<U>>, StoreError> {
        match outcome? {
            FetchOutcome::NotFound => Ok(None),
            FetchOutcome::Ended {
                session_id,
                user_key,
            } => {
                self.inner.audit.credentials_changed(&user_key, &session_id);
                self.inner.events.emit(SessionEvent::SessionEnded {
                    session_id,
                    user_key,
                    reason: EndReason::CredentialsChanged,
                });
                Ok(None)
            }
            FetchOutcome::Found { session, .. }
                if personal_record::is_personal_token(&session) != personal =>
            {
                tracing::debug!(session_id = %session.session_id, personal, "a personal token presented without its prefix, or a session token with it: refused");
                Ok(None)
            }
            FetchOutcome::Found {
                session,
                user,
                token_use,
                renewed,
            } => {
                let renewed = if renewed {
                    tracing::debug!(session_id = %session.session_id, "session token renewed");
                    match plan.next_token.take() {
                        Some(t) => Some(self.inner.signer.encode(&t)),
                        None => {
                            return Err(StoreError::new(
                                "cache",
                                "fetch",
                                "store reported a renewal without taking a successor token",
                            ))
                        }
                    }
                } else {
                    None
                };
                Ok(Some(Authenticated {
                    user,
                    session,
                    renewed,
                    token_use,
                }))
            }
        }
    }

    /// The guide's `sync_user` (Pow's `create` on a signed-in session): replace the cached user and rotate
    /// this session's token at once. The old token dies with no grace; `session_id` and `created_at` stay.
    ///
    /// `Ok(None)` if the session no longer exists (it is not re-created).
    ///
    /// Errors: [`StoreError`] when the store fails; nothing changed then.
    pub async fn sync(
        &self,
        session_id: &SessionId,
        user: impl Into<Arc<U>>,
    ) -> Result<Option<SignedIn<U>>, StoreError> {
        let user = user.into();
        let synced = self
            .rotate_inner(session_id, Some(user.clone()), false)
            .await?;
        Ok(synced.map(|(cookie, session)| {
            self.inner.events.emit(SessionEvent::UserUpdated {
                user_key: session.user_key.to_string(),
            });
            SignedIn {
                cookie,
                session,
                user,
            }
        }))
    }

    /// Rotate this session's token at once (no grace) without changing the cached user: for privilege
    /// changes that do not touch the cached fields (a password change, say).
    ///
    /// Returns the new cookie value and the session, or `None` if the session no longer exists.
    ///
    /// Errors: [`StoreError`] when the store fails; nothing changed then.
    pub async fn regenerate(
        &self,
        session_id: &SessionId,
    ) -> Result<Option<(CookieValue, Arc<SessionRecord>)>, StoreError> {
        self.rotate_inner(session_id, None, false).await
    }

    /// Sudo mode: the user of this session just proved their password again (a re-authentication page).
    /// Records the proof ([`SessionRecord::authenticated_at`] = now) and rotates the token at once, as
    /// [`regenerate`](Self::regenerate) does (a privilege change: the old cookie dies); the session keeps
    /// its id, its deadlines and its cached user. Check the password **before** calling this.
    ///
    /// Returns the new cookie value and the session, or `None` if the session no longer exists.
    ///
    /// Errors: [`StoreError`] when the store fails; nothing changed then.
    pub async fn reauthenticate(
        &self,
        session_id: &SessionId,
    ) -> Result<Option<(CookieValue, Arc<SessionRecord>)>, StoreError> {
        self.rotate_inner(session_id, None, true).await
    }

    async fn rotate_inner(
        &self,
        session_id: &SessionId,
        user: Option<Arc<U>>,
        proof: bool,
    ) -> Result<Option<(CookieValue, Arc<SessionRecord>)>, StoreError> {
        let now = self.now();
        let token = Token::generate_tagged(self.inner.store.session_route_tag(session_id));
        let idle = now.saturating_add(self.inner.policy.idle_ttl);
        let session = self
            .inner
            .store
            .rotate(Rotation {
                session_id: *session_id,
                new_token: token.hash(),
                user,
                now,
                idle_deadline: idle,
                authenticated_at: proof.then_some(now),
            })
            .await?;
        Ok(session.map(|s| (self.inner.signer.encode(&token), s)))
    }

    /// The background-task update (Pow's `CredentialsCache.put/3`, made safe): replace the one cached copy
    /// of this user that all of its sessions read.
    ///
    /// Needs no session; costs the same for 1 or 10,000 sessions; never extends any session; writes nothing
    /// if the user has no live session; never replaces a newer [`version`](CachedUser::version).
    ///
    /// Errors: [`StoreError`] when the store fails; the cached copy is unchanged then.
    pub async fn put_user(&self, user: impl Into<Arc<U>>) -> Result<PutOutcome, StoreError> {
        let user = user.into();
        let outcome = self.inner.store.put_user(user.clone(), self.now()).await?;
        if outcome == PutOutcome::Updated {
            self.inner.events.emit(SessionEvent::UserUpdated {
                user_key: user.user_key(),
            });
        }
        Ok(outcome)
    }

    /// Subscribe to this cache's [`SessionEvent`]s (see [`crate::events`]: this process's writes only).
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<SessionEvent> {
        self.inner.events.subscribe()
    }

    /// The live sessions of `user_key`, oldest first.
    ///
    /// Errors: [`StoreError`] when the store fails.
    pub async fn sessions(&self, user_key: &str) -> Result<Vec<SessionRecord>, StoreError> {
        self.inner.store.sessions(user_key, self.now()).await
    }

    /// The live session `session_id` of `user_key`, if it is one: one lookup, whatever the number of the
    /// user's sessions (a liveness check; [`Store::session`]).
    pub async fn session(
        &self,
        user_key: &str,
        session_id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.inner
            .store
            .session(user_key, session_id, self.now())
            .await
    }

    /// Every user with a live session (one copy each). For admin pages and jobs, not the request path.
    ///
    /// Errors: [`StoreError`] when the store fails.
    pub async fn users(&self) -> Result<Vec<Arc<U>>, StoreError> {
        self.inner.store.users(self.now()).await
    }
}
