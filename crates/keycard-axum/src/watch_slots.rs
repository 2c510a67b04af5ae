//! The open watches per session of one layer (this node), bounded ([`Auth::watch`](crate::Auth::watch),
//! [`SessionLayer::max_watches_per_session`](crate::SessionLayer::max_watches_per_session)), and why a
//! watch is refused: what the layer's state holds and `Auth::watch` takes a slot from. It uses neither
//! the state nor the watch, so the state stays a leaf.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use keycard::SessionId;

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

    pub(crate) fn take(self: &Arc<Self>, session_id: SessionId) -> Result<WatchSlot, WatchError> {
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
pub(crate) struct WatchSlot {
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
