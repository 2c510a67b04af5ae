//! Removing what expired: one sweep now, or a background sweeper.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{CredentialsCache, Inner};
use crate::store::{StoreError, SweepStats};
use crate::user::CachedUser;

impl<U: CachedUser> CredentialsCache<U> {
    /// Remove what has expired now (sessions, and remember-me series when configured).
    ///
    /// Errors: [`StoreError`] when the store fails; what was removed before the failure stays removed.
    pub async fn sweep(&self) -> Result<SweepStats, StoreError> {
        let stats = self.inner.store.sweep(self.now()).await?;
        self.sweep_series().await?;
        Ok(stats)
    }

    async fn sweep_series(&self) -> Result<(), StoreError> {
        if let Some(r) = self.remember() {
            let n = r.sweep().await?;
            if n > 0 {
                tracing::debug!(series = n, "swept expired remember-me series");
            }
        }
        Ok(())
    }

    /// Sweep expired records every `every` on the current tokio runtime, until the returned handle is
    /// dropped or the last clone of this cache is.
    ///
    /// Each sweep is awaited on the sweeper's own task ([`Store::sweep`](crate::Store::sweep)): no blocking thread is used.
    /// Stores are written so that a sweep never holds an async worker for long (the memory store yields
    /// between chunks of records; a networked store only awaits its I/O). A failed sweep is logged and
    /// retried on the next tick.
    pub fn spawn_sweeper(&self, every: Duration) -> SweeperHandle {
        let weak: Weak<Inner<U>> = Arc::downgrade(&self.inner);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                // The store owns its sweeping: the memory store yields between chunks, a networked store
                // awaits its I/O. Either way the sweep shares this task's worker without holding it.
                let swept = inner.store.sweep(inner.clock.now()).await;
                if let Some(r) = &inner.remember {
                    if let Err(e) = r.sweep().await {
                        tracing::warn!(error = %e, "remember-me sweep failed; will retry");
                    }
                }
                drop(inner);
                match swept {
                    Ok(stats) if stats != SweepStats::default() => {
                        tracing::debug!(?stats, "swept expired session records")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "session sweep failed; will retry"),
                }
            }
        });
        SweeperHandle(task)
    }
}

/// Stops the background sweeper when dropped.
#[derive(Debug)]
pub struct SweeperHandle(tokio::task::JoinHandle<()>);

impl Drop for SweeperHandle {
    fn drop(&mut self) {
        self.0.abort();
    }
}
