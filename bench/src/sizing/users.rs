//! The bench users of a sizing run: user `i` (1-based) and how many sessions each has.

use crate::common::{self, BenchUser};

/// Live sessions per user, as `store-scale` has them.
pub const SESSIONS_PER_USER: u64 = 10;

/// Bench user `id` on `plan`.
pub fn user(id: u64, plan: &str) -> BenchUser {
    BenchUser {
        id: id as i64,
        email: common::email_of(id),
        plan: plan.to_owned(),
    }
}
