//! What the rules share: the settings, the rules' names, a violation, a finding (a leaf: the rules and
//! the checker import it, it imports neither).

use serde::Serialize;

/// What the checker allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConfig {
    /// The documented propagation bound: one near-cache lease (2 s by default), in µs.
    pub bound_us: u64,
    /// How long before a master kill an acknowledged write may still be lost by the failover, in µs
    /// (the replica's lag: on a loaded 2-core machine writes acknowledged 0.8 s before the kill were seen
    /// lost; 3 s by default).
    pub failover_slack_us: u64,
    /// A node process's samples in this long after its first one are its warm-up: not a baseline, in µs.
    pub warmup_us: u64,
    /// The most a node's resident memory may grow after its warm-up, in KiB.
    pub rss_growth_kib: u64,
    /// The version a user starts at (the demo's registration inserts 1).
    pub initial_version: u64,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            bound_us: 2_000_000,
            failover_slack_us: 3_000_000,
            warmup_us: 20_000_000,
            rss_growth_kib: 128 * 1024,
            initial_version: 1,
        }
    }
}

/// The invariants checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Served as a session after its acknowledged revocation (plus the bound).
    ServedAfterRevocation,
    /// A live, unrevoked, unexpired session answered as signed out.
    LiveSessionRefused,
    /// An older user version read after a newer one was acknowledged (plus the bound).
    StaleUser,
    /// An answer outside the allowed statuses.
    UnexpectedStatus,
    /// No answer within the client's timeout.
    Hang,
    /// Answered as another user than the session's.
    WrongUser,
    /// A sign-in with the password the account has, refused as a wrong password.
    RightPasswordRefused,
    /// Resident memory grew past the bound.
    MemoryGrowth,
}

/// One violation, with the operations that show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Which invariant.
    pub rule: Rule,
    /// The offending operation (or node sample).
    pub op: Option<u64>,
    /// The operation that made it an offence (the acknowledged revocation or write), if any.
    pub because_of: Option<u64>,
    /// In words.
    pub detail: String,
}

/// A violation as a rule found it, with the instants a failover could excuse (acknowledged writes').
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) violation: Violation,
    /// When the writes whose loss would explain it were acknowledged (empty: no lost write can).
    pub(crate) excusable_at: Vec<u64>,
}
