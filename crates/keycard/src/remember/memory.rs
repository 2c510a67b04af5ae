//! [`MemoryRemember`]: remember-me series in this process.

use std::collections::HashMap;
use std::sync::Mutex;

use super::store::{RedeemPlan, Redemption, RememberStore, SeriesId, SeriesRecord};
use crate::clock::Timestamp;
use crate::store::StoreError;
use crate::token::TokenHash;

/// Series in process memory (one mutex: a redemption is atomic by construction). For one node, and for
/// tests; a fleet keeps its series in a shared store.
#[derive(Debug, Default)]
pub struct MemoryRemember {
    series: Mutex<HashMap<SeriesId, SeriesRecord>>,
}

impl MemoryRemember {
    /// No series.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SeriesId, SeriesRecord>> {
        self.series.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl RememberStore for MemoryRemember {
    async fn create_series(&self, series: SeriesRecord) -> Result<(), StoreError> {
        self.lock().insert(series.series_id, series);
        Ok(())
    }

    async fn redeem(
        &self,
        series_id: &SeriesId,
        presented: &TokenHash,
        plan: RedeemPlan,
    ) -> Result<Redemption, StoreError> {
        let mut all = self.lock();
        let Some(s) = all.get_mut(series_id) else {
            return Ok(Redemption::Unknown);
        };
        if plan.now >= s.expires_at {
            all.remove(series_id);
            return Ok(Redemption::Unknown);
        }
        let matches = |t: &TokenHash| t == presented || plan.is_alternate(t);
        if matches(&s.current_token) {
            s.previous_token = Some((s.current_token, plan.grace_until));
            s.current_token = plan.next_token;
            s.used_at = plan.now;
            s.expires_at = plan.expires_at;
            return Ok(Redemption::Rotated(s.clone()));
        }
        match s.previous_token {
            Some((prev, until)) if matches(&prev) && plan.now < until => {
                Ok(Redemption::Grace(s.clone()))
            }
            _ => {
                let user_key = s.user_key.clone();
                all.remove(series_id);
                Ok(Redemption::Theft { user_key })
            }
        }
    }

    async fn delete_series(&self, series_id: &SeriesId) -> Result<Option<String>, StoreError> {
        Ok(self.lock().remove(series_id).map(|s| s.user_key))
    }

    async fn delete_user_series(
        &self,
        user_key: &str,
        except: Option<&SeriesId>,
    ) -> Result<usize, StoreError> {
        let mut all = self.lock();
        let before = all.len();
        all.retain(|id, s| s.user_key != user_key || Some(id) == except);
        Ok(before - all.len())
    }

    async fn series(
        &self,
        user_key: &str,
        now: Timestamp,
    ) -> Result<Vec<SeriesRecord>, StoreError> {
        let mut out: Vec<SeriesRecord> = self
            .lock()
            .values()
            .filter(|s| s.user_key == user_key && now < s.expires_at)
            .cloned()
            .collect();
        out.sort_by_key(|s| (s.created_at, s.series_id));
        Ok(out)
    }

    async fn sweep_series(&self, now: Timestamp) -> Result<usize, StoreError> {
        let mut all = self.lock();
        let before = all.len();
        all.retain(|_, s| now < s.expires_at);
        Ok(before - all.len())
    }
}
