//! [`SessionWatch`]: learn when the session behind a long-lived response ends, so a server-sent-events
//! stream or a WebSocket can tell the page and close.
//!
//! A watch listens to the cache's [`SessionEvent`](keycard::SessionEvent)s (an end this node made:
//! sign-out, revocation, "sign out everywhere", credentials changed: answered at once; with a near
//! cache, [`Changed`](keycard::SessionEvent::Changed) for another node's write to this user or session:
//! checked at once) and checks the session's liveness in the store every
//! [`interval`](SessionWatch::every) (default one second), which catches the rest: another node's
//! revocation without a near cache, expiry. That check reads the one session watched
//! ([`CredentialsCache::session`]: one lookup, however many sessions the user has); a store failure is
//! not an end (a blip must not tell users they were signed out), the next check decides.
//!
//! **Bounded.** [`Auth::watch`](crate::Auth::watch) gives a session at most
//! [`SessionLayer::max_watches_per_session`](crate::SessionLayer::max_watches_per_session) open watches
//! on this node (default [`DEFAULT_MAX_WATCHES_PER_SESSION`]); one more is refused with
//! [`WatchError::TooMany`] (429) until one closes, so one session cannot hold any number of streams, each
//! checking the store every second (issue 18, W10).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use keycard::{CachedUser, CredentialsCache, EndReason, SessionEvent, SessionId};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

/// How often a [`SessionWatch`] checks the store by default.
pub const DEFAULT_WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Open watches one session may hold on one node by default (a handful of tabs).
pub const DEFAULT_MAX_WATCHES_PER_SESSION: usize = 4;

/// Why [`Auth::watch`](crate::Auth::watch) gave no watch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// Nobody is signed in. Responds 401.
    #[error("not signed in")]
    NotSignedIn,
    /// The session already holds `max` open watches on this node. Responds `429 Too Many Requests`;
    /// close one (another tab's stream) first.
    #[error("this session already holds {max} open watches")]
    TooMany {
        /// The limit.
        max: usize,
    },
}

impl IntoResponse for WatchError {
    fn into_response(self) -> Response {
        match self {
            WatchError::NotSignedIn => crate::AuthRejection::Unauthenticated.into_response(),
            WatchError::TooMany { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                [(http::header::RETRY_AFTER, "5")],
                "too many open event streams for this session; close another tab's first",
            )
                .into_response(),
        }
    }
}

/// The open watches per session of one layer (this node), bounded.
#[derive(Debug)]
pub(crate) struct WatchSlots {
    max: usize,
    open: Mutex<HashMap<SessionId, usize>>,
}

impl WatchSlots {
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(WatchSlots {
            max: max.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    fn take(self: &Arc<Self>, session_id: SessionId) -> Result<WatchSlot, WatchError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(session_id).or_insert(0);
        if *n >= self.max {
            return Err(WatchError::TooMany { max: self.max });
        }
        *n += 1;
        Ok(WatchSlot {
            slots: self.clone(),
            session_id,
        })
    }
}

/// One open watch, given back when the watch is dropped.
#[derive(Debug)]
struct WatchSlot {
    slots: Arc<WatchSlots>,
    session_id: SessionId,
}

impl Drop for WatchSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.session_id) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.session_id);
            }
        }
    }
}

/// A watch on one session ([`Auth::watch`](crate::Auth::watch)).
pub struct SessionWatch<U: CachedUser> {
    cache: CredentialsCache<U>,
    session_id: SessionId,
    user_key: String,
    events: Receiver<SessionEvent>,
    interval: Duration,
    _slot: Option<WatchSlot>,
}

impl<U: CachedUser> std::fmt::Debug for SessionWatch<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionWatch")
            .field("session_id", &self.session_id)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl<U: CachedUser> SessionWatch<U> {
    /// A watch on the session `session_id` of `user_key` (what [`Auth::watch`](crate::Auth::watch) makes
    /// for the request's own session). Subscribes at once: every end after this call is seen.
    pub fn new(cache: CredentialsCache<U>, session_id: SessionId, user_key: String) -> Self {
        let events = cache.events();
        SessionWatch {
            cache,
            session_id,
            user_key,
            events,
            interval: DEFAULT_WATCH_INTERVAL,
            _slot: None,
        }
    }

    /// Check the store this often (at least every 10 ms).
    pub fn every(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(10));
        self
    }

    /// The session watched.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// Completes when the session ends, with why ([`EndReason::Gone`] when the store says it is no
    /// longer live and this node did not end it).
    pub async fn ended(mut self) -> EndReason {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate: the session was live when the watch began
        loop {
            tokio::select! {
                event = self.events.recv() => match event {
                    Ok(e) => {
                        if let Some(reason) = e.ends(&self.session_id, &self.user_key) {
                            return reason;
                        }
                        // Another node wrote this user's or session's records: check now, not at
                        // the next tick.
                        if e.may_concern(&self.session_id, &self.user_key) && !self.is_live().await {
                            return EndReason::Gone;
                        }
                    }
                    // Fell behind: an end may have been missed; the store decides.
                    Err(RecvError::Lagged(_)) => {
                        if !self.is_live().await {
                            return EndReason::Gone;
                        }
                    }
                    // The cache is gone: only the store can tell from now on.
                    Err(RecvError::Closed) => {
                        self.events = self.cache.events();
                    }
                },
                _ = tick.tick() => {
                    if !self.is_live().await {
                        return EndReason::Gone;
                    }
                }
            }
        }
    }

    async fn is_live(&self) -> bool {
        match self.cache.session(&self.user_key, &self.session_id).await {
            Ok(session) => session.is_some(),
            Err(e) => {
                tracing::debug!(error = %e, "session watch: store unavailable; checking again later");
                true
            }
        }
    }
}

impl<U: CachedUser> crate::Auth<U> {
    /// A watch on this request's session, for a long-lived response (server-sent events, a WebSocket):
    /// [`SessionWatch::ended`](crate::SessionWatch::ended) completes when the session ends, on this node
    /// or any other. It holds one of the session's
    /// [`max_watches_per_session`](crate::SessionLayer::max_watches_per_session) slots until dropped.
    ///
    /// Errors: [`WatchError::NotSignedIn`], [`WatchError::TooMany`] (both answer as responses).
    pub fn watch(&self) -> Result<crate::SessionWatch<U>, WatchError> {
        let session = self.session().ok_or(WatchError::NotSignedIn)?;
        let slot = self.config().watches.take(session.session_id)?;
        let mut watch = crate::SessionWatch::new(
            self.cache().clone(),
            session.session_id,
            session.user_key.clone(),
        );
        watch._slot = Some(slot);
        Ok(watch)
    }
}
