//! `sweep` in batches: each batch its own short transaction, bounded on its own, so a sweep never holds
//! a lock for long; a phase ends when a batch comes back short.

use keycard::{StoreError, SweepStats, Timestamp};

use super::{notify, SqlStore};
use crate::backend::{Arg, Backend, Exec, Row};
use crate::codec::ts;

impl<B: Backend> SqlStore<B> {
    /// Expired sessions, then replaced tokens past their grace, then users no session refers to.
    pub(super) async fn sweep_in_batches(&self, now: Timestamp) -> Result<SweepStats, StoreError> {
        let batch = i64::from(self.config.sweep_batch());
        let mut stats = SweepStats::default();
        // Each batch is its own short transaction, bounded on its own: a sweep never holds a lock for long
        // and ends when a batch comes back short.
        loop {
            let tokens: Vec<i64> = self
                .bounded("sweep", async {
                    let mut tx = B::begin(&self.pool).await?;
                    let rows = tx
                        .fetch_all(
                            &self.q.sweep_sessions,
                            &[Arg::Int(ts(now)), Arg::Int(batch)],
                        )
                        .await?;
                    if !rows.is_empty() {
                        self.notify_in(&mut tx, notify::ALL).await?;
                    }
                    B::commit(tx).await?;
                    rows.iter().map(|r| r.int(0)).collect()
                })
                .await?;
            stats.sessions += tokens.len();
            stats.tokens += tokens.iter().map(|&n| n as usize).sum::<usize>();
            if (tokens.len() as i64) < batch {
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
        loop {
            let n = self
                .bounded("sweep", async {
                    let mut tx = B::begin(&self.pool).await?;
                    let n = tx.execute(&self.q.sweep_users, &[Arg::Int(batch)]).await?;
                    B::commit(tx).await?;
                    Ok(n)
                })
                .await?;
            stats.users += n as usize;
            if (n as i64) < batch {
                break;
            }
            tokio::task::yield_now().await;
        }
        Ok(stats)
    }
}
