//! The background plan job (the guide's "update the plan field in a background task").
//!
//! Every `PLAN_JOB_INTERVAL_SECS` it downgrades each `pro-trial` whose `plan_expires_at` has passed to `free`
//! in the database, then hands the updated user to [`CredentialsCache::put_user`]: one write replaces the
//! one cached copy all of that user's sessions read, so every signed-in session shows `free` on its next
//! request, with no sign-in and no session extended. A user with no live session is simply not cached
//! (`NotCached`). A `put_user` that fails (a store outage) is retried on the next tick; the database is
//! already right, and `/pro` reads the database anyway.

use std::sync::Mutex;
use std::time::Duration;

use keycard::{CredentialsCache, PutOutcome};

use crate::clock::AppClock;
use crate::domain::db::Db;
use crate::domain::throttle::LoginThrottle;
use crate::domain::users::{self, User};

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanJobReport {
    /// Users downgraded in the database by this run.
    pub downgraded: usize,
    /// Cached copies replaced (users with a live session).
    pub cache_updated: usize,
    /// Cache updates that failed and will be retried.
    pub cache_failed: usize,
}

/// The job. Cheap to share behind an `Arc`.
pub struct PlanJob {
    db: Db,
    cache: CredentialsCache<User>,
    clock: AppClock,
    throttle: Option<LoginThrottle>,
    retry: Mutex<Vec<User>>,
}

impl std::fmt::Debug for PlanJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanJob").finish_non_exhaustive()
    }
}

impl PlanJob {
    /// A job over this database and cache.
    pub fn new(db: Db, cache: CredentialsCache<User>, clock: AppClock) -> Self {
        PlanJob {
            db,
            cache,
            clock,
            throttle: None,
            retry: Mutex::new(Vec::new()),
        }
    }

    /// Also remove the login throttle's ended windows on every tick.
    pub fn with_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// One run: downgrade ended trials, update the cache, retry earlier failed cache updates.
    pub async fn run_once(&self) -> Result<PlanJobReport, sqlx::Error> {
        if let Some(t) = &self.throttle {
            if let Err(e) = t.sweep().await {
                tracing::warn!(error = %e, "could not remove ended login-throttle windows; will try again at the next tick");
            }
        }
        let mut pending =
            std::mem::take(&mut *self.retry.lock().unwrap_or_else(|p| p.into_inner()));
        let downgraded = users::downgrade_expired_trials(&self.db, self.clock.now_secs()).await?;
        let mut report = PlanJobReport {
            downgraded: downgraded.len(),
            ..PlanJobReport::default()
        };
        if !downgraded.is_empty() {
            tracing::info!(
                count = downgraded.len(),
                "downgraded ended pro-trials to free"
            );
        }
        pending.extend(downgraded);
        let mut failed = Vec::new();
        for user in pending {
            match self.cache.put_user(user.clone()).await {
                Ok(PutOutcome::Updated) => report.cache_updated += 1,
                Ok(_) => {} // NotCached, Stale: nothing to count
                Err(e) => {
                    tracing::warn!(error = %e, user_id = %user.id, "could not update the cached user; will retry on the next run");
                    failed.push(user);
                }
            }
        }
        report.cache_failed = failed.len();
        if !failed.is_empty() {
            self.retry
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(failed);
        }
        Ok(report)
    }

    /// Run every `every` on the current runtime until the handle is dropped.
    pub fn spawn(self: std::sync::Arc<Self>, every: Duration) -> JobHandle {
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = self.run_once().await {
                    tracing::warn!(error = %e, "plan job failed; will retry on the next run");
                }
            }
        });
        JobHandle(task)
    }
}

/// Stops a background task when dropped.
#[derive(Debug)]
pub struct JobHandle(tokio::task::JoinHandle<()>);

impl Drop for JobHandle {
    fn drop(&mut self) {
        self.0.abort();
    }
}
