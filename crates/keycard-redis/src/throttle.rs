//! Login-throttle counters in Redis ([`ThrottleStore`]): every node counts the same attempts.
//!
//! One hash per counter, `{prefix}l:{key hex}` (`n` count, `e` window end in ms on the caller's clock),
//! written by a one-key script, so a reservation is atomic on a single Redis and on a cluster alike. The
//! key expires a second after its window: nothing to sweep.

use std::sync::LazyLock;

use keycard::throttle::{Limit, Reservation, ThrottleKey, ThrottleStore};
use keycard::{StoreError, Timestamp};
use redis::{Script, Value};

use crate::codec::{array, int, malformed};
use crate::connect::RedisStore;

static RESERVE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../scripts/throttle_reserve.lua")));
static REFUND: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../scripts/throttle_refund.lua")));

impl RedisStore {
    fn throttle_key(&self, key: &ThrottleKey) -> String {
        format!("{}l:{}", self.key_prefix(), key.to_hex())
    }
}

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn now_arg(now: Timestamp) -> i64 {
    i64::try_from(now.0).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl ThrottleStore for RedisStore {
    async fn reserve(
        &self,
        key: &ThrottleKey,
        limit: Limit,
        now: Timestamp,
    ) -> Result<Reservation, StoreError> {
        const OP: &str = "reserve";
        let mut inv = RESERVE.prepare_invoke();
        inv.key(self.throttle_key(key))
            .arg(limit.max)
            .arg(ms(limit.window))
            .arg(now_arg(now));
        let reply: Value = self.invoke(OP, &inv).await?;
        let parts = array(reply).ok_or_else(|| malformed(OP))?;
        match (parts.first().and_then(int), parts.get(1).and_then(int)) {
            (Some(1), _) => Ok(Reservation::Counted),
            (Some(0), Some(left)) => Ok(Reservation::Limited {
                retry_after: std::time::Duration::from_millis(u64::try_from(left).unwrap_or(0)),
            }),
            _ => Err(malformed(OP)),
        }
    }

    async fn refund(&self, key: &ThrottleKey, now: Timestamp) -> Result<(), StoreError> {
        let mut inv = REFUND.prepare_invoke();
        inv.key(self.throttle_key(key)).arg(now_arg(now));
        let _: Value = self.invoke("refund", &inv).await?;
        Ok(())
    }

    async fn clear(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.throttle_key(key));
        let _: Value = self.query("clear", &cmd).await?;
        Ok(())
    }

    async fn sweep_throttle(&self, _now: Timestamp) -> Result<usize, StoreError> {
        Ok(0) // Keys expire with their windows.
    }
}
