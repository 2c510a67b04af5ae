//! Session events: what ended or changed, for code that holds a session open (a server-sent-events
//! stream, a WebSocket) and must learn at once when the session behind it ends.
//!
//! The cache sends a [`SessionEvent`] for every end and change it makes: sign-out, revocation (one, or
//! every other session of a user), a session ended because its credentials changed, and a cached user
//! replaced (`put_user`, `sync`). [`CredentialsCache::events`](crate::CredentialsCache::events) subscribes
//! (a `tokio::sync::broadcast` receiver: each subscriber sees every event sent after it subscribed; one
//! that falls more than [`CHANNEL_CAPACITY`] events behind gets `Lagged` and should re-check what it
//! watches).
//!
//! **Scope.** The end and update events are this process's: the writes this node's cache made. Across
//! nodes, a store with a pushed invalidation channel (a [near cache](crate::store::near) over PostgreSQL
//! or Redis) adds [`SessionEvent::Changed`] for every write any node (or the CLI) made: it names the user
//! or session whose records changed, within the channel's lag (milliseconds), and a watcher re-checks
//! what it watches. Expiry sends nothing; a watcher covers it, and stores without a channel, by
//! re-checking every so often (keycard-axum's `SessionWatch` does all three: events for an instant
//! answer on this node, `Changed` for other nodes, a one-second liveness check for everything else).

use tokio::sync::broadcast;

use crate::token::SessionId;

/// Events a subscriber may fall behind by before it is told it lagged.
pub const CHANNEL_CAPACITY: usize = 1024;

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// Signed out with its own cookie.
    SignedOut,
    /// Ended by id (a sessions page), or with every other session of the user ("sign out everywhere").
    Revoked,
    /// Its user's credentials changed since it was signed in (a password change elsewhere).
    CredentialsChanged,
    /// It is no longer live, for a reason this process did not see (another node, expiry).
    Gone,
}

impl EndReason {
    /// A stable name: `signed_out`, `revoked`, `credentials_changed`, `gone`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::SignedOut => "signed_out",
            EndReason::Revoked => "revoked",
            EndReason::CredentialsChanged => "credentials_changed",
            EndReason::Gone => "gone",
        }
    }
}

/// Something that happened to sessions or cached users.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// One session ended.
    SessionEnded {
        /// Which.
        session_id: SessionId,
        /// Whose.
        user_key: String,
        /// Why.
        reason: EndReason,
    },
    /// Every session of a user ended, but `except` (revoke all / all others).
    UserSessionsEnded {
        /// Whose.
        user_key: String,
        /// The one kept, if any.
        except: Option<SessionId>,
    },
    /// The cached user was replaced (`put_user`, `sync`).
    UserUpdated {
        /// Whose.
        user_key: String,
    },
    /// A write, by any node, changed the records of this user or session (the shared store's
    /// invalidation channel said so: a near cache's). It does not say what changed (a sign-in, a
    /// revocation, a renewal): re-read what you watch. Both `None`: anything may have changed (a sweep,
    /// a channel that reconnected).
    Changed {
        /// Whose records, if the channel named a user.
        user_key: Option<String>,
        /// Which session, if the channel named one.
        session_id: Option<SessionId>,
    },
}

impl SessionEvent {
    /// Whether this event ends the session `session_id` of `user_key`, and why.
    pub fn ends(&self, session_id: &SessionId, user_key: &str) -> Option<EndReason> {
        match self {
            SessionEvent::SessionEnded {
                session_id: s,
                reason,
                ..
            } if s == session_id => Some(*reason),
            SessionEvent::UserSessionsEnded {
                user_key: u,
                except,
            } if u == user_key && except.as_ref() != Some(session_id) => Some(EndReason::Revoked),
            _ => None,
        }
    }

    /// Whether this is a [`Changed`](SessionEvent::Changed) that may concern the session `session_id`
    /// of `user_key` (it names either, or nothing in particular): re-check it.
    pub fn may_concern(&self, session_id: &SessionId, user_key: &str) -> bool {
        match self {
            SessionEvent::Changed {
                user_key: u,
                session_id: s,
            } => match (u, s) {
                (None, None) => true,
                (u, s) => u.as_deref() == Some(user_key) || s.as_ref() == Some(session_id),
            },
            _ => false,
        }
    }
}

/// The sending half of a cache's events, for a store whose channel reports other nodes' writes
/// ([`Store::attach_events`](crate::Store::attach_events)).
#[derive(Debug, Clone)]
pub struct EventSender(broadcast::Sender<SessionEvent>);

impl EventSender {
    /// Send `event` to the cache's subscribers (none: nothing happens).
    pub fn send(&self, event: SessionEvent) {
        let _ = self.0.send(event);
    }
}

/// The sending side, owned by the cache.
#[derive(Debug, Clone)]
pub(crate) struct Events(broadcast::Sender<SessionEvent>);

impl Events {
    pub(crate) fn new() -> Self {
        Events(broadcast::channel(CHANNEL_CAPACITY).0)
    }

    /// Send `event` to every subscriber (none: nothing happens).
    pub(crate) fn emit(&self, event: SessionEvent) {
        let _ = self.0.send(event);
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.0.subscribe()
    }

    pub(crate) fn sender(&self) -> EventSender {
        EventSender(self.0.clone())
    }
}
