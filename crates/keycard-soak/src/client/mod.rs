//! The clients: each one a task that owns one user at a time and runs that user's operations one after
//! another (so the checker knows, for every operation, which sessions it ends), while the other
//! clients run theirs concurrently on every node.
//!
//! An operation that ends sessions (a revocation, sign-out, "everywhere else", a password change, a
//! reopened remember-me browser) is followed by probes of the ended sessions' cookies: one at once on
//! the node where the session was warm in the near cache (the revocation lag), and more after the
//! documented bound, on that node and another (where a broken near cache would still answer).

mod actor;
mod browser;
mod cli;
mod ctx;
mod ending;
mod ops;
mod record;

use std::net::IpAddr;
use std::sync::Arc;

pub use actor::Actor;
pub use browser::{csrf_token, session_id_of};
pub use ctx::{CliCommand, Ctx};

/// Run `clients` clients until the deadline (and their last probes); each on its own loopback address
/// (127.0.0.10 and up), so per-address limits count each client apart.
pub async fn run_clients(ctx: Arc<Ctx>, clients: u32) {
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..clients {
        let ip = IpAddr::from([127, 0, 0, u8::try_from(10 + id).unwrap_or(250)]);
        let ctx = ctx.clone();
        tasks.spawn(async move { Actor::new(id, ip, ctx).run().await });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            tracing::error!(error = %e, "a client task failed");
        }
    }
}
