//! The checker: reads a whole [`History`] and counts violations of the invariants of docs/DESIGN.md.
//!
//! | rule | violation |
//! |---|---|
//! | [`Rule::ServedAfterRevocation`] | a request started more than the bound after a revocation was acknowledged, answered as the revoked session (invariants 4, 10) |
//! | [`Rule::LiveSessionRefused`] | a session that nothing ended (or may have ended) answered as signed out (invariants 2, 6) |
//! | [`Rule::StaleUser`] | a read started more than the bound after a newer user version was acknowledged (or read) showed an older one (invariants 1, 7, 10) |
//! | [`Rule::UnexpectedStatus`] | an answer other than 2xx, 3xx, 401, 403, 429, 503 (and the few each operation documents) |
//! | [`Rule::Hang`] | no answer within the client's timeout |
//! | [`Rule::WrongUser`] | a session answered as another user |
//! | [`Rule::RightPasswordRefused`] | a sign-in whose client was sure of the account and its password answered 401 |
//! | [`Rule::MemoryGrowth`] | a node's resident memory grew past the bound after the warm-up (invariant 8) |
//!
//! **Doubt is honest, as in Jepsen.** An operation whose outcome is unknown (`info`: no answer, a
//! timeout, a write answered 5xx) may have taken effect at any time after its invocation: it can excuse
//! a later "signed out" (it may have ended or rotated the session), never accuse. Only acknowledged
//! (`ok`) operations raise the bar a later read must clear. The bound is the near cache's documented
//! propagation bound, one lease (docs/DESIGN.md: "an answer from memory at time `t` reflects every write
//! committed before `t - lease`").
//!
//! **Documented exceptions are counted apart, never silently.** A Redis Cluster failover can lose the
//! last writes the old master acknowledged (asynchronous replication; docs/DESIGN.md, "Redis Cluster"):
//! a violation whose acknowledged write ended within [`CheckConfig::failover_slack_us`] before a
//! `master-kill` fault (or during it, or within the slack after it) is counted as *excused*, with its own
//! figure; so is a session answered as signed out by a read made in that window (the killed master,
//! restarted without persistence, serves its old slots empty until it learns of the failover).

mod answers;
mod memory;
mod model;
mod sessions;
mod versions;
mod windows;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::history::{FaultEvent, History};

pub use model::{CheckConfig, Rule, Violation};
pub use windows::UnavailableWindows;

/// What the checker found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every violation.
    pub violations: Vec<Violation>,
    /// Violations a documented exception covers (a failover's lost writes), counted apart.
    pub excused: Vec<Violation>,
    /// Operations checked.
    pub ops: usize,
    /// Operations by outcome: ok, fail, info.
    pub outcomes: [usize; 3],
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, usize>,
    /// Revocations acknowledged whose session was read again afterwards.
    pub revocations_probed: usize,
    /// The longest time after an acknowledged revocation that the session was still served, in µs.
    pub longest_revocation_lag_us: u64,
    /// Windows of 503 answers.
    pub unavailable: UnavailableWindows,
    /// The largest memory growth seen on a node after its warm-up, in KiB.
    pub largest_rss_growth_kib: u64,
    /// The largest resident memory seen on a node, in KiB.
    pub peak_rss_kib: u64,
}

impl Report {
    /// Violations by rule.
    pub fn by_rule(&self) -> BTreeMap<Rule, usize> {
        let mut counts = BTreeMap::new();
        for v in &self.violations {
            *counts.entry(v.rule).or_insert(0) += 1;
        }
        counts
    }
}

/// Check a whole history.
pub fn check(history: &History, config: &CheckConfig) -> Report {
    let mut report = Report {
        ops: history.ops.len(),
        ..Report::default()
    };
    for op in &history.ops {
        let slot = match op.result {
            crate::history::OpResult::Ok => 0,
            crate::history::OpResult::Fail => 1,
            crate::history::OpResult::Info => 2,
        };
        report.outcomes[slot] += 1;
    }
    for f in &history.faults {
        *report.faults.entry(f.kind.clone()).or_insert(0) += 1;
    }
    let failovers = Failovers::of(&history.faults, config);
    let mut found = Vec::new();
    let lag = sessions::check(history, config, &mut found);
    report.revocations_probed = lag.probed;
    report.longest_revocation_lag_us = lag.longest_us;
    versions::check(history, config, &mut found);
    answers::check(history, &mut found);
    let rss = memory::check(history, config, &mut found);
    report.largest_rss_growth_kib = rss.largest_growth_kib;
    report.peak_rss_kib = rss.peak_kib;
    report.unavailable = UnavailableWindows::of(history);
    for finding in found {
        if finding.excusable_at.iter().any(|&t| failovers.covers(t)) {
            report.excused.push(finding.violation);
        } else {
            report.violations.push(finding.violation);
        }
    }
    report
}

/// The windows in which an acknowledged write may be lost to a failover: from the slack before the kill
/// to the slack after the old master rejoined. The soak restarts the killed master without persistence:
/// until gossip tells it of the failover it may still claim its old slots with an empty dataset (the
/// likely cause of a 401 seen 250 ms after a rejoin, not traced further), and a client
/// that read its slot map from it then may read there a little longer, so a read in that window may find
/// nothing of what the master held (Redis Cluster's hazard for nodes without persistence).
struct Failovers(Vec<(u64, u64)>);

impl Failovers {
    fn of(faults: &[FaultEvent], config: &CheckConfig) -> Failovers {
        Failovers(
            faults
                .iter()
                .filter(|f| f.is_failover())
                .map(|f| {
                    (
                        f.start_us.saturating_sub(config.failover_slack_us),
                        f.end_us.saturating_add(config.failover_slack_us),
                    )
                })
                .collect(),
        )
    }

    fn covers(&self, t: u64) -> bool {
        self.0.iter().any(|&(from, to)| from <= t && t <= to)
    }
}
