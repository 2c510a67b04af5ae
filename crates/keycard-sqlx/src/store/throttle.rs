//! Login-throttle counters in SQL ([`ThrottleStore`]): one row per counter in `{prefix}throttle`, and a
//! reservation is **one statement**, an upsert whose `WHERE` refuses a full window, so any number of
//! concurrent attempts on any number of nodes count at most `max` (PostgreSQL locks the conflicting
//! row; SQLite has one writer).

use keycard::throttle::{Limit, Reservation, ThrottleKey, ThrottleStore};
use keycard::{StoreError, Timestamp};

use super::SqlStore;
use crate::backend::{Arg, Backend, Exec, Row};
use crate::codec::ts;
use crate::schema::render;

/// $1 counter, $2 now, $3 window (ms), $4 max → the new count, or no row when the window is full.
const RESERVE: &str =
    "INSERT INTO {p}throttle AS t (counter, attempts, window_ends_at) VALUES ($1, 1, $2 + $3)
    ON CONFLICT (counter) DO UPDATE SET
        attempts = CASE WHEN t.window_ends_at <= $2 THEN 1 ELSE t.attempts + 1 END,
        window_ends_at = CASE WHEN t.window_ends_at <= $2 THEN $2 + $3 ELSE t.window_ends_at END
    WHERE t.window_ends_at <= $2 OR t.attempts < $4
    RETURNING attempts";
/// $1 counter → its window end.
const WINDOW_END: &str = "SELECT window_ends_at FROM {p}throttle WHERE counter = $1";
/// $1 counter, $2 now.
const REFUND: &str = "UPDATE {p}throttle SET attempts = attempts - 1
    WHERE counter = $1 AND attempts > 0 AND window_ends_at > $2";
/// $1 counter.
const CLEAR: &str = "DELETE FROM {p}throttle WHERE counter = $1";
/// $1 now.
const SWEEP: &str = "DELETE FROM {p}throttle WHERE window_ends_at <= $1";

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

#[async_trait::async_trait]
impl<B: Backend> ThrottleStore for SqlStore<B> {
    async fn reserve(
        &self,
        key: &ThrottleKey,
        limit: Limit,
        now: Timestamp,
    ) -> Result<Reservation, StoreError> {
        let reserve = render::<B>(RESERVE, self.config.table_prefix());
        let window_end = render::<B>(WINDOW_END, self.config.table_prefix());
        self.bounded("reserve", async {
            let mut db = B::on_pool(&self.pool);
            let args = [
                Arg::Bytes(&key.0),
                Arg::Int(ts(now)),
                Arg::Int(ms(limit.window)),
                Arg::Int(i64::from(limit.max)),
            ];
            if db.fetch_optional(&reserve, &args).await?.is_some() {
                return Ok(Reservation::Counted);
            }
            // Full. (Read the window's end only now: the refusal itself was atomic.)
            let ends = match db
                .fetch_optional(&window_end, &[Arg::Bytes(&key.0)])
                .await?
            {
                Some(row) => row.int(0)?,
                None => ts(now),
            };
            let left = u64::try_from(ends.saturating_sub(ts(now))).unwrap_or(0);
            Ok(Reservation::Limited {
                retry_after: std::time::Duration::from_millis(left.max(1)),
            })
        })
        .await
    }

    async fn refund(&self, key: &ThrottleKey, now: Timestamp) -> Result<(), StoreError> {
        let sql = render::<B>(REFUND, self.config.table_prefix());
        self.bounded("refund", async {
            B::on_pool(&self.pool)
                .execute(&sql, &[Arg::Bytes(&key.0), Arg::Int(ts(now))])
                .await
                .map(drop)
        })
        .await
    }

    async fn clear(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        let sql = render::<B>(CLEAR, self.config.table_prefix());
        self.bounded("clear", async {
            B::on_pool(&self.pool)
                .execute(&sql, &[Arg::Bytes(&key.0)])
                .await
                .map(drop)
        })
        .await
    }

    async fn sweep_throttle(&self, now: Timestamp) -> Result<usize, StoreError> {
        let sql = render::<B>(SWEEP, self.config.table_prefix());
        self.bounded("sweep_throttle", async {
            let n = B::on_pool(&self.pool)
                .execute(&sql, &[Arg::Int(ts(now))])
                .await?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
        .await
    }
}
