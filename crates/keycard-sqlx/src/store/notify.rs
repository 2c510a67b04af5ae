//! Pushed invalidation: what a write tells the near caches listening on the store's channel.
//!
//! A payload names what to evict, in at most a few dozen bytes: `u:<user key>` (the user and every
//! session of the user), `s:<session id hex>` (one session), `*` (everything: a sweep, or a user key too
//! long for PostgreSQL's 8,000-byte payload limit). Near caches' own pings (`p:<node>:<n>`) share the
//! channel. Every notification is issued inside the writing transaction or statement, so PostgreSQL
//! delivers it exactly when the write committed, in commit order.

use keycard::SessionId;

use super::SqlStore;
use crate::backend::{Arg, Backend, Exec};

/// Longest user key sent as itself; a longer one is sent as `*`.
const MAX_KEY: usize = 4000;

/// Evict a user and every session of the user.
pub(crate) fn user(key: &str) -> String {
    if key.len() > MAX_KEY {
        ALL.to_owned()
    } else {
        format!("u:{key}")
    }
}

/// Evict one session.
pub(crate) fn session(id: &SessionId) -> String {
    format!("s:{}", id.to_hex())
}

/// Evict everything.
pub(crate) const ALL: &str = "*";

impl<B: Backend> SqlStore<B> {
    /// The channel writes notify, if they do.
    pub(super) fn notify_channel(&self) -> Option<&str> {
        self.notify.as_deref()
    }

    /// Notify `payload` inside `tx` (delivered when it commits), when this store notifies.
    pub(super) async fn notify_in(&self, tx: &mut B::Tx, payload: &str) -> Result<(), sqlx::Error> {
        if let Some(channel) = self.notify_channel() {
            tx.execute(&self.q.notify, &[Arg::Text(channel), Arg::Text(payload)])
                .await?;
        }
        Ok(())
    }
}
