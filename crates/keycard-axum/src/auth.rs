//! [`Auth<U>`]: the per-request handle and the operations that sign in, sync and sign out.

use std::sync::{Arc, Mutex, MutexGuard};

use http::request::Parts;
use keycard::{CachedUser, CredentialsCache, SessionMetadata, SessionRecord, TokenUse};

use crate::rejection::{AuthError, AuthRejection};
use crate::state::{
    Bound, CookieChange, LayerConfig, Phase, ReloadSkipped, RequestInfo, ResponseEffects, State,
};

/// The per-request auth handle: who is signed in, and the operations that change it. Cheap to clone
/// (one `Arc`).
///
/// The [`SessionLayer`](crate::SessionLayer) resolves the session cookie once per request and puts one
/// [`Auth<U>`] into the request's extensions. Handlers take it as an extractor (or take
/// [`CurrentUser`](crate::CurrentUser) / [`MaybeUser`](crate::MaybeUser), which read it). Clones share the
/// same state, so a change made through one clone (a `ReloadUser` layer assigning the reloaded user, a
/// handler signing in) is seen by every other.
///
/// | Pow | `Auth<U>` | what happens |
/// |---|---|---|
/// | `Pow.Plug.current_user(conn)` | [`current_user`](Auth::current_user) | the cached user (or the one assigned for this request) |
/// | `Pow.Plug.assign_current_user(conn, user)` | [`assign_current_user`](Auth::assign_current_user) | this request only, nothing cached |
/// | `Pow.Plug.create(conn, user)` when signed out | [`create`](Auth::create) | sign in: any session the request's cookie named is deleted first (fixation), a new session and cookie |
/// | `Pow.Plug.create(conn, user)` when signed in (the guide's `sync_user`) | [`create`](Auth::create) | replace the cached user (every session of the user sees it) and rotate this session's token: the old cookie dies at once |
/// | `Pow.Plug.delete(conn)` | [`delete`](Auth::delete) | sign out: the session dies on the server, the cookie is cleared |
/// | — | [`regenerate`](Auth::regenerate) | rotate the token without touching the cached user (after a password change) |
/// | — | [`sessions`](Auth::sessions), [`delete_session`](Auth::delete_session), [`delete_other_sessions`](Auth::delete_other_sessions) | list and end this user's own sessions (`crate::own_sessions`) |
///
/// Every method that changes the cookie records the change in the handle; the layer writes it on the
/// response (`Set-Cookie`, `Cache-Control: no-store`, `Vary: Cookie`). A change made after the response has
/// left (from a spawned task holding a clone) is lost, so call these from the handler itself.
///
/// Methods that reach the store return [`AuthError`]: a store failure changes nothing (no half sign-out) and
/// answers 503 when returned from a handler. It also converts from
/// [`PasswordError`](keycard::password::PasswordError), so one `?` covers the password check and the
/// sign-in of a handler.
///
/// ```
/// use keycard_axum::{Auth, AuthError};
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: i64, plan: String }
/// # impl keycard::CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
///
/// // The guide's plan update: write the database, then sync the cached user and rotate the cookie.
/// async fn update_plan(auth: Auth<User>) -> Result<&'static str, AuthError> {
///     let Some(user) = auth.current_user() else { return Err(AuthError::NotSignedIn) };
///     let updated = User { plan: "pro".into(), ..(*user).clone() }; // your database update here
///     auth.create(updated).await?;
///     Ok("Plan updated successfully.")
/// }
/// ```
pub struct Auth<U: CachedUser> {
    shared: Arc<Shared<U>>,
}

impl<U: CachedUser> Clone for Auth<U> {
    fn clone(&self) -> Self {
        Auth {
            shared: self.shared.clone(),
        }
    }
}

impl<U: CachedUser> std::fmt::Debug for Auth<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state();
        let (phase, session) = match &s.phase {
            Phase::Anonymous => ("anonymous", None),
            Phase::SignedIn { session, .. } => ("signed in", Some(session.session_id)),
            Phase::Unavailable { session } => {
                ("unavailable", session.as_ref().map(|s| s.session_id))
            }
        };
        f.debug_struct("Auth")
            .field("phase", &phase)
            .field("session_id", &session)
            .field("user_assigned", &s.assigned.is_some())
            .finish_non_exhaustive()
    }
}

struct Shared<U: CachedUser> {
    cache: CredentialsCache<U>,
    config: Arc<LayerConfig>,
    state: Mutex<State<U>>,
    /// Serializes the async operations of one request's clones (two `create`s must not race).
    ops: tokio::sync::Mutex<()>,
}

impl<U: CachedUser> Auth<U> {
    pub(crate) fn new(
        cache: CredentialsCache<U>,
        config: Arc<LayerConfig>,
        phase: Phase<U>,
        presented: Option<String>,
        cookie: Option<CookieChange>,
        carried: bool,
    ) -> Self {
        Auth {
            shared: Arc::new(Shared {
                cache,
                config,
                state: Mutex::new(State::new(phase, presented, cookie, carried)),
                ops: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Change the request state under its lock.
    pub(crate) fn state_mut<T>(&self, change: impl FnOnce(&mut State<U>) -> T) -> T {
        change(&mut self.state())
    }

    /// Serialize this operation with the other async operations of the request's clones.
    pub(crate) async fn lock_ops(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.shared.ops.lock().await
    }

    fn state(&self) -> MutexGuard<'_, State<U>> {
        // A panic while holding this lock leaves plain data behind; keep going with it.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The handle the layer put in the request, marked as read (the response now depends on the cookie).
    /// A state-changing request (an unsafe method) served from a replaced token is refused here
    /// ([`AuthRejection::StaleToken`]), before its handler runs: grace requests only read.
    pub(crate) fn from_parts(parts: &Parts) -> Result<Self, AuthRejection> {
        let auth = Self::from_extensions(&parts.extensions)?;
        let mut s = auth.state();
        s.observed = true;
        if matches!(s.phase, Phase::Unavailable { .. }) {
            return Err(AuthRejection::StoreUnavailable);
        }
        let stale = s.read_only && !parts.method.is_safe();
        drop(s);
        if stale {
            // Served from a replaced token: it may read, never change anything (issue 18, V3).
            auth.writable("request")
                .map_err(|_| AuthRejection::StaleToken)?;
        }
        Ok(auth)
    }

    /// The handle the layer put in `extensions`, unless the request must not see it: no layer (500), or a
    /// `ReloadUser` that ran before the layer, so the user was never reloaded (500, never the cached user).
    pub(crate) fn from_extensions(extensions: &http::Extensions) -> Result<Self, AuthRejection> {
        let auth = extensions
            .get::<Auth<U>>()
            .cloned()
            .ok_or(AuthRejection::MissingLayer)?;
        if extensions.get::<ReloadSkipped<U>>().is_some() {
            return Err(AuthRejection::ReloadUserOutsideSession);
        }
        Ok(auth)
    }

    /// Record the request's user agent and client address for a sign-in made through this handle.
    pub(crate) fn capture_request_info(&self, parts: &Parts) {
        let mut s = self.state();
        if s.info.is_none() {
            s.info = Some(RequestInfo::capture(
                &parts.headers,
                &parts.extensions,
                self.shared.config.ip_source,
            ));
        }
    }

    // ----- reading -----

    /// The current user: the one assigned for this request if any, else the cached user of the session.
    /// `None` when nobody is signed in.
    pub fn current_user(&self) -> Option<Arc<U>> {
        let s = self.state();
        if let Some(u) = &s.assigned {
            return Some(u.clone());
        }
        match &s.phase {
            Phase::SignedIn { user, .. } => Some(user.clone()),
            _ => None,
        }
    }

    /// The cached user of the session, ignoring any user assigned for this request.
    pub fn cached_user(&self) -> Option<Arc<U>> {
        match &self.state().phase {
            Phase::SignedIn { user, .. } => Some(user.clone()),
            _ => None,
        }
    }

    /// The session, when signed in.
    pub fn session(&self) -> Option<Arc<SessionRecord>> {
        match &self.state().phase {
            Phase::SignedIn { session, .. } => Some(session.clone()),
            _ => None,
        }
    }

    /// Whether a session is signed in (an assigned user without a session does not count).
    pub fn is_signed_in(&self) -> bool {
        matches!(self.state().phase, Phase::SignedIn { .. })
    }

    /// Whether this request was served from a replaced token inside its grace window: a session token
    /// another request just renewed ([`TokenUse::Grace`]), or a remember-me cookie another request just
    /// redeemed. Such a request may read as the user but is **read-only for identity**: every operation
    /// here that would sign in, sync, rotate or sign out answers [`AuthError::StaleToken`] and changes
    /// nothing, so a copied cookie replayed in the window can never take over the account (issue 18,
    /// V3).
    pub fn is_read_only(&self) -> bool {
        self.state().read_only
    }

    /// Whether the request presented the current token or a replaced one inside its grace window.
    pub fn token_use(&self) -> Option<TokenUse> {
        match &self.state().phase {
            Phase::SignedIn { token_use, .. } => Some(*token_use),
            _ => None,
        }
    }

    /// The credentials cache (for `put_user` and other operations that need no request).
    pub fn cache(&self) -> &CredentialsCache<U> {
        &self.shared.cache
    }

    // ----- this request only -----

    /// Make `user` the current user **for the rest of this request only**: nothing is cached, no cookie
    /// changes (Pow's `assign_current_user`). What a `ReloadUser` layer does with the reloaded user.
    ///
    /// On an anonymous request this makes `current_user()` return `user` without any session (for custom
    /// authentication such as API tokens); [`is_signed_in`](Self::is_signed_in) stays `false`.
    pub fn assign_current_user(&self, user: impl Into<Arc<U>>) {
        self.state().assigned = Some(user.into());
    }

    /// What this request is bound to now, for its CSRF token; `observe` marks the response as depending on
    /// the cookie (a page that renders a token does).
    pub(crate) fn bound(&self, observe: bool) -> Bound {
        let mut s = self.state();
        s.observed |= observe;
        s.phase.bound()
    }

    /// Refuse an identity write (`operation`) from a request served in a grace window
    /// ([`is_read_only`](Self::is_read_only)): [`AuthError::StaleToken`], written to the audit log.
    pub(crate) fn writable(&self, operation: &'static str) -> Result<(), AuthError> {
        let s = self.state();
        if !s.read_only {
            return Ok(());
        }
        let account = match (&s.phase, &s.assigned) {
            (Phase::SignedIn { session, .. }, _) => Some(session.user_key.to_string()),
            (_, Some(user)) => Some(user.user_key()),
            _ => None,
        };
        drop(s);
        if let Some(account) = account {
            self.shared
                .cache
                .audit()
                .grace_write_refused(&account, operation);
        }
        tracing::debug!(
            operation,
            "refused: the request was served from a replaced token (grace window)"
        );
        Err(AuthError::StaleToken)
    }

    /// Nobody is signed in for the rest of this request; nothing is written, no cookie changes (a
    /// read-only request whose user no longer exists).
    pub(crate) fn anonymous_for_request(&self) {
        let mut s = self.state();
        s.phase = Phase::Anonymous;
        s.assigned = None;
    }

    /// Mark the session state unknown (a loader failed): extractors answer 503 from now on.
    pub(crate) fn mark_unavailable(&self) {
        let mut s = self.state();
        let session = match &s.phase {
            Phase::SignedIn { session, .. } => Some(session.clone()),
            Phase::Unavailable { session } => session.clone(),
            Phase::Anonymous => None,
        };
        s.phase = Phase::Unavailable { session };
        s.assigned = None;
    }

    // ----- operations that reach the store -----

    /// Sign `user` in, or, when this request is already signed in as the same user, **sync** it (the guide's
    /// `sync_user`): replace the cached user (seen by all of the user's sessions) and rotate this session's
    /// token; the old cookie stops working at once.
    ///
    /// Signing in first deletes any session the request's cookie named (session fixation): the session of a
    /// different signed-in user, or a cookie the store could not resolve earlier in this request. The new
    /// session records the user agent (cut to 256 characters) and client address of the request this handle
    /// was extracted from.
    ///
    /// Errors: [`AuthError::Store`]; [`AuthError::NotSignedIn`] when syncing a session that ended meanwhile
    /// (it is **not** re-created: a revoked session stays revoked; the cookie is cleared);
    /// [`AuthError::CredentialsChanged`] when signing in a copy of the user whose credentials changed since
    /// it was read (the password was changed while this sign-in checked the old one): answer it like a wrong
    /// password; [`AuthError::StaleToken`] when the request was served from a replaced token
    /// ([`is_read_only`](Self::is_read_only)).
    ///
    /// A sign-in records a fresh proof of authentication (sudo mode): call it only after checking the
    /// user's password (or another credential). A remember-me redemption never records one.
    pub async fn create(&self, user: impl Into<Arc<U>>) -> Result<Arc<SessionRecord>, AuthError> {
        self.create_with(user, SessionMetadata::default()).await
    }

    /// [`create`](Self::create) with app-defined metadata for a new session (`fields`; a `user_agent` or `ip`
    /// given here wins over the request's). A sync keeps the session's original metadata.
    ///
    /// Errors: as [`create`](Self::create).
    pub async fn create_with(
        &self,
        user: impl Into<Arc<U>>,
        metadata: SessionMetadata,
    ) -> Result<Arc<SessionRecord>, AuthError> {
        let user: Arc<U> = user.into();
        let _op = self.shared.ops.lock().await;
        self.writable("create")?;
        let phase = self.state().phase.clone();
        let cache = &self.shared.cache;
        match phase {
            // A personal access token never rotates: the new user replaces the cached copy (every
            // session of the user sees it), the token stays as it is.
            Phase::SignedIn { session, .. }
                if *session.user_key == user.user_key() && keycard::is_personal_token(&session) =>
            {
                cache.put_user(user.clone()).await?;
                self.state_mut(|s| {
                    if let Phase::SignedIn { user: current, .. } = &mut s.phase {
                        *current = user.clone();
                    }
                });
                Ok(session)
            }
            Phase::SignedIn {
                session,
                user: before,
                ..
            } if *session.user_key == user.user_key() => {
                match cache.sync(&session.session_id, user.clone()).await? {
                    Some(signed) => {
                        tracing::debug!(session_id = %signed.session.session_id, "session synced and token rotated");
                        let session = self.adopt(signed);
                        self.forget_series_on_new_credentials(&before, &user)
                            .await?;
                        Ok(session)
                    }
                    None => {
                        tracing::debug!(session_id = %session.session_id, "sync found the session gone; not re-creating it");
                        self.end_locally();
                        Err(AuthError::NotSignedIn)
                    }
                }
            }
            _ => {
                self.end_before_sign_in().await?;
                // A sign-in without "remember me": a remember-me cookie the browser still had ends.
                self.forget_presented_series().await?;
                self.sign_in(user, metadata).await
            }
        }
    }

    /// Before a sign-in: end the session the request's cookie named (session fixation), the session of
    /// another signed-in user, or a cookie the store could not resolve earlier in this request.
    pub(crate) async fn end_before_sign_in(&self) -> Result<(), AuthError> {
        let (phase, presented) = {
            let s = self.state();
            (s.phase.clone(), s.presented.clone())
        };
        let cache = &self.shared.cache;
        match phase {
            Phase::SignedIn { session, .. }
            | Phase::Unavailable {
                session: Some(session),
            } => {
                cache.delete_session(&session.session_id).await?;
            }
            Phase::Anonymous | Phase::Unavailable { session: None } => {
                if let Some(cookie) = presented {
                    cache.delete(&cookie).await?;
                }
            }
        }
        Ok(())
    }

    /// The metadata of a new session: the request's user agent and client address.
    pub(crate) fn request_metadata(&self) -> SessionMetadata {
        self.state()
            .info
            .as_ref()
            .map(RequestInfo::metadata)
            .unwrap_or_default()
    }

    pub(crate) async fn sign_in(
        &self,
        user: Arc<U>,
        mut metadata: SessionMetadata,
    ) -> Result<Arc<SessionRecord>, AuthError> {
        let from_request = self.request_metadata();
        if metadata.user_agent.is_none() {
            metadata.user_agent = from_request.user_agent;
        }
        if metadata.ip.is_none() {
            metadata.ip = from_request.ip;
        }
        let signed = self.shared.cache.create(user, metadata).await?;
        tracing::debug!(session_id = %signed.session.session_id, "signed in");
        Ok(self.adopt(signed))
    }

    /// Make a fresh sign-in or sync this request's state: its user, its session, its new cookie. The cookie
    /// the request presented is dead now (replaced or ended), so it is forgotten.
    pub(crate) fn adopt(&self, signed: keycard::SignedIn<U>) -> Arc<SessionRecord> {
        let mut s = self.state();
        s.phase = Phase::SignedIn {
            user: signed.user,
            session: signed.session.clone(),
            token_use: TokenUse::Current,
        };
        s.assigned = None;
        s.presented = None;
        s.cookie = Some(CookieChange::Set(signed.cookie));
        signed.session
    }

    /// Sign out: the session dies on the server (both its tokens, at once) and the cookie is cleared. Also
    /// fine when nobody is signed in (the cookie is cleared anyway).
    ///
    /// On a store error nothing changes (the cookie is kept, so the user can retry) and the error is returned.
    pub async fn delete(&self) -> Result<(), AuthError> {
        let _op = self.shared.ops.lock().await;
        self.delete_locked().await
    }

    /// Sign out, the request's operation lock already held.
    pub(crate) async fn delete_locked(&self) -> Result<(), AuthError> {
        self.writable("sign_out")?;
        let (phase, presented) = {
            let s = self.state();
            (s.phase.clone(), s.presented.clone())
        };
        let ended = match phase {
            Phase::SignedIn { session, .. }
            | Phase::Unavailable {
                session: Some(session),
            } => {
                self.shared.cache.sign_out(&session.session_id).await?;
                tracing::debug!(session_id = %session.session_id, "signed out");
                Some(session)
            }
            Phase::Anonymous | Phase::Unavailable { session: None } => {
                if let Some(cookie) = presented {
                    self.shared.cache.delete(&cookie).await?;
                }
                None
            }
        };
        self.forget_on_sign_out(ended.as_deref()).await?;
        self.end_locally();
        Ok(())
    }

    /// Forget the session in this request and clear the cookie.
    pub(crate) fn end_locally(&self) {
        let mut s = self.state();
        s.phase = Phase::Anonymous;
        s.assigned = None;
        s.presented = None;
        s.cookie = Some(CookieChange::Clear);
    }

    /// Rotate this session's token without touching the cached user (a privilege change that leaves the
    /// user as it is; after a password change, [`create`](Self::create) the changed user instead, so its new
    /// credential fingerprint ends the other sessions): the old cookie stops working at once, the response
    /// carries the new one.
    ///
    /// Errors: [`AuthError::NotSignedIn`] (also when the session ended meanwhile: the cookie is cleared),
    /// [`AuthError::Store`].
    pub async fn regenerate(&self) -> Result<Arc<SessionRecord>, AuthError> {
        let _op = self.shared.ops.lock().await;
        self.writable("regenerate")?;
        let (user, session) = self.signed_in()?;
        if keycard::is_personal_token(&session) {
            return Err(AuthError::PersonalToken);
        }
        let rotated = self.shared.cache.regenerate(&session.session_id).await?;
        self.take_rotation(user, rotated)
    }

    /// This request's session after a token rotation: the new cookie goes out; `None` (the session ended
    /// meanwhile) signs the request out.
    /// This request's session after a token rotation (see the callers).
    pub(crate) fn take_rotation(
        &self,
        user: Arc<U>,
        rotated: Option<(keycard::CookieValue, Arc<SessionRecord>)>,
    ) -> Result<Arc<SessionRecord>, AuthError> {
        match rotated {
            Some((cookie, session)) => {
                let mut s = self.state();
                s.phase = Phase::SignedIn {
                    user,
                    session: session.clone(),
                    token_use: TokenUse::Current,
                };
                s.cookie = Some(CookieChange::Set(cookie));
                Ok(session)
            }
            None => {
                self.end_locally();
                Err(AuthError::NotSignedIn)
            }
        }
    }

    /// The signed-in user and session, or why there is none.
    pub(crate) fn signed_in(&self) -> Result<(Arc<U>, Arc<SessionRecord>), AuthError> {
        match &self.state().phase {
            Phase::SignedIn { user, session, .. } => Ok((user.clone(), session.clone())),
            Phase::Anonymous => Err(AuthError::NotSignedIn),
            Phase::Unavailable { .. } => Err(AuthError::Store(keycard::StoreError::new(
                "keycard-axum",
                "resolve session",
                "the session state of this request is unknown: the store or the user loader failed",
            ))),
        }
    }

    // ----- for the layer -----

    /// What the layer must write on the response, taken at once under one lock.
    pub(crate) fn take_response_effects(&self) -> ResponseEffects {
        let mut s = self.state();
        ResponseEffects {
            transport: s.transport,
            session: s.cookie.take(),
            remember: s.remember_cookie.take(),
            depends_on_cookie: s.carried || s.observed,
        }
    }

    pub(crate) fn config(&self) -> &LayerConfig {
        &self.shared.config
    }
}
