//! What only the Redis store promises, beyond the conformance suite (`tests/conformance.rs`): one round
//! trip per request, fail-closed behaviour when Redis is down, hung or full, decoding failures treated as
//! absence, real key expiries, and sharing between app nodes.
//!
//! The outage, hang and out-of-memory tests start their own `redis-server` (the test kit's `OwnRedis`:
//! found on `PATH`, or at `KEYCARD_TEST_REDIS_SERVER`) on a free loopback port with `--save ''
//! --appendonly no`, so they never disturb the shared server; without the binary they skip by the same
//! rule as the shared-Redis tests (see `common`).

#[path = "../common/mod.rs"]
mod common;

mod failures;
mod layout;
mod nodes;
mod records;
mod remember;
mod round_trip;
