//! `sweep` in batches: each batch its own short transaction, bounded on its own, so a sweep never holds
//! a lock for long; a phase ends when a batch comes back short.
//!
//! Users go with their last session: each batch of expired sessions deletes, in its own transaction,
//! those of the batch's users that no session refers to any more (index probes by key, at most one batch
//! of them). Nothing scans every user: a user left without a session some other way (a sign-out that
//! raced the sweep and found the user's row taken, sessions deleted by hand, an older version's sweep cut
//! short) is found by the window pass, which checks the next `sweep_batch` users in key order on each
//! sweep and starts over after the last.

use std::collections::BTreeSet;
use std::sync::PoisonError;

use keycard::{StoreError, SweepStats, Timestamp};

use super::{notify, SqlStore};
use crate::backend::{Arg, Backend, Exec, Row};
use crate::codec::ts;

/// What one batch of expired sessions removed.
struct SessionBatch {
    sessions: usize,
    tokens: usize,
    users: u64,
}

impl<B: Backend> SqlStore<B> {
    /// Expired sessions (and the users they leave without one), then replaced tokens past their grace,
    /// then one window of users no session refers to.
    pub(super) async fn sweep_in_batches(&self, now: Timestamp) -> Result<SweepStats, StoreError> {
        let batch = i64::from(self.config.sweep_batch());
        let mut stats = SweepStats::default();
        loop {
            let b = self
                .bounded("sweep", self.sweep_session_batch(now, batch))
                .await?;
            stats.sessions += b.sessions;
            stats.tokens += b.tokens;
            stats.users += b.users as usize;
            if (b.sessions as i64) < batch {
                break;
            }
            tokio::task::yield_now().await;
        }
        loop {
            let n = self
                .bounded("sweep", async {
                    let args = [Arg::Int(ts(now)), Arg::Int(batch)];
                    if self.notify_channel().is_none() {
                        return B::on_pool(&self.pool)
                            .execute(&self.q.sweep_grace, &args)
                            .await;
                    }
                    let mut tx = B::begin(&self.pool).await?;
                    let n = tx.execute(&self.q.sweep_grace, &args).await?;
                    if n > 0 {
                        self.notify_in(&mut tx, notify::ALL).await?;
                    }
                    B::commit(tx).await?;
                    Ok(n)
                })
                .await?;
            stats.tokens += n as usize;
            if (n as i64) < batch {
                break;
            }
            tokio::task::yield_now().await;
        }
        let n = self.bounded("sweep", self.sweep_user_window(batch)).await?;
        stats.users += n as usize;
        Ok(stats)
    }

    /// One transaction: delete at most `batch` expired sessions, then those of their users that no
    /// session refers to any more (so a sweep cut short between the two cannot leave them behind).
    async fn sweep_session_batch(
        &self,
        now: Timestamp,
        batch: i64,
    ) -> Result<SessionBatch, sqlx::Error> {
        let mut tx = B::begin(&self.pool).await?;
        let rows = tx
            .fetch_all(
                &self.q.sweep_sessions,
                &[Arg::Int(ts(now)), Arg::Int(batch)],
            )
            .await?;
        let mut keys = BTreeSet::new();
        let mut tokens = 0;
        for row in &rows {
            keys.insert(row.text(0)?);
            tokens += row.int(1)? as usize;
        }
        let mut users = 0;
        if !keys.is_empty() {
            let list = key_list(keys)?;
            users = self
                .delete_unused_users(&mut tx, &self.q.lock_unused_users_of, &[Arg::Text(&list)])
                .await?;
            self.notify_in(&mut tx, notify::ALL).await?;
        }
        B::commit(tx).await?;
        Ok(SessionBatch {
            sessions: rows.len(),
            tokens,
            users,
        })
    }

    /// Lock the users `lock` selects (those no session refers to, skipping rows another transaction
    /// holds), then delete those that still have no session, in a statement of its own: its snapshot,
    /// taken once the locks are held, sees every sign-in that committed before, and a later one waits
    /// for this transaction on the user's row (it writes the user before its session).
    async fn delete_unused_users(
        &self,
        tx: &mut B::Tx,
        lock: &str,
        args: &[Arg<'_>],
    ) -> Result<u64, sqlx::Error> {
        let rows = tx.fetch_all(lock, args).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let keys = rows
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<BTreeSet<_>, _>>()?;
        tx.execute(&self.q.delete_unused_users, &[Arg::Text(&key_list(keys)?)])
            .await
    }

    /// Delete the users no session refers to among the next `batch` users in key order after the
    /// store's cursor, and move the cursor on (back to the start after the last user).
    async fn sweep_user_window(&self, batch: i64) -> Result<u64, sqlx::Error> {
        let after = self
            .user_cursor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let (window, lock, from) = match &after {
            Some(key) => (
                &self.q.user_window_after,
                &self.q.lock_unused_window_after,
                key.as_str(),
            ),
            // '' sorts first in every collation: `>= ''` is every user.
            None => (
                &self.q.user_window_from,
                &self.q.lock_unused_window_from,
                "",
            ),
        };
        let row = B::on_pool(&self.pool)
            .fetch_optional(window, &[Arg::Text(from), Arg::Int(batch)])
            .await?;
        let (last, size) = match row {
            Some(r) => (r.opt_text(0)?.map(str::to_owned), r.int(1)?),
            None => (None, 0),
        };
        let mut deleted = 0;
        if let Some(last) = &last {
            let mut tx = B::begin(&self.pool).await?;
            deleted = self
                .delete_unused_users(
                    &mut tx,
                    lock,
                    &[Arg::Text(from), Arg::Text(last), Arg::Int(batch)],
                )
                .await?;
            B::commit(tx).await?;
        }
        *self
            .user_cursor
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = if size < batch { None } else { last };
        Ok(deleted)
    }
}

/// `keys` as the JSON array the statements read (`{text_list}`).
fn key_list(keys: BTreeSet<&str>) -> Result<String, sqlx::Error> {
    serde_json::to_string(&keys).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}
