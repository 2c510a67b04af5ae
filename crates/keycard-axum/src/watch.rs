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
//! on this node (default [`DEFAULT_MAX_WATCHES_PER_SESSION`](crate::DEFAULT_MAX_WATCHES_PER_SESSION));
//! one more is refused with [`WatchError::TooMany`] (429) until one closes, so one session cannot hold
//! any number of streams, each checking the store every second (issue 18, W10). The slots are counted in
//! `watch_slots`, which the layer's state holds.

use std::time::Duration;

use keycard::{CachedUser, CredentialsCache, EndReason, SessionEvent, SessionId};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

use crate::watch_slots::{WatchError, WatchSlot};

/// How often a [`SessionWatch`] checks the store by default.
pub const DEFAULT_WATCH_INTERVAL: Duration = Duration::from_secs(1);

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
            session.user_key.to_string(),
        );
        watch._slot = Some(slot);
        Ok(watch)
    }
}
