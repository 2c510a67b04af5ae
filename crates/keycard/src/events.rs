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
//! **Scope.** The events are this process's: the writes this node's cache made. A session ended by
//! another node, or by expiry, sends nothing here; a watcher covers those by re-checking the session
//! every so often (keycard-axum's `SessionWatch` does both: events for an instant answer on this node,
//! a one-second liveness check for every other cause).

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
}
