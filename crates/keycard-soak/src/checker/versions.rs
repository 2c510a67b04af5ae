//! User versions ([`Rule::StaleUser`]): the demo bumps a user's `version` by one on every write of the user
//! row (a plan change, the CLI's `set-plan`, a password change) and `/me` shows the cached copy's. So
//! after `k` acknowledged writes the version is at least `initial + k`, and a read started more than the
//! bound after the `k`-th acknowledgement must show at least that; nor may a read show less than a read
//! that ended more than the bound before it began (monotonic reads across nodes).

use std::collections::HashMap;

use super::model::{CheckConfig, Finding, Rule, Violation};
use crate::history::{History, Op, OpResult};

pub(crate) fn check(history: &History, config: &CheckConfig, found: &mut Vec<Finding>) {
    let mut writes: HashMap<&str, Vec<&Op>> = HashMap::new();
    let mut reads: HashMap<&str, Vec<&Op>> = HashMap::new();
    for op in &history.ops {
        if op.kind.writes_user() && op.result == OpResult::Ok {
            writes.entry(op.user.as_str()).or_default().push(op);
        }
        if op.version.is_some() && op.as_user.as_deref() == Some(op.user.as_str()) {
            reads.entry(op.user.as_str()).or_default().push(op);
        }
    }
    for (user, mut user_reads) in reads {
        let mut user_writes = writes.remove(user).unwrap_or_default();
        user_writes.sort_by_key(|w| w.end_us);
        user_reads.sort_by_key(|r| r.end_us);
        acknowledged_writes(&user_writes, &user_reads, config, found);
        monotonic_reads(&user_writes, &user_reads, config, found);
    }
}

/// The version a read must show at least: the initial one plus every write acknowledged more than the
/// bound before it began. Returns that and how many writes it counts.
fn floor(writes: &[&Op], start_us: u64, config: &CheckConfig) -> (u64, usize) {
    let counted = writes.partition_point(|w| w.end_us.saturating_add(config.bound_us) < start_us);
    (config.initial_version + counted as u64, counted)
}

/// The acknowledgement instants of the writes a read showing `version` missed.
fn missed(writes: &[&Op], version: u64, counted: usize, config: &CheckConfig) -> Vec<u64> {
    let seen = usize::try_from(version.saturating_sub(config.initial_version)).unwrap_or(0);
    writes
        .iter()
        .take(counted)
        .skip(seen)
        .map(|w| w.end_us)
        .collect()
}

fn acknowledged_writes(
    writes: &[&Op],
    reads: &[&Op],
    config: &CheckConfig,
    found: &mut Vec<Finding>,
) {
    for read in reads {
        let Some(version) = read.version else {
            continue;
        };
        let (least, counted) = floor(writes, read.start_us, config);
        if version >= least {
            continue;
        }
        let last = writes[counted - 1];
        found.push(Finding {
            violation: Violation {
                rule: Rule::StaleUser,
                op: Some(read.id),
                because_of: Some(last.id),
                detail: format!(
                    "{} read version {version} on node {:?} ({:?}, session {:?}); {counted} write(s) acknowledged more than {} ms before it began make it at least {least}",
                    read.user,
                    read.node,
                    read.kind,
                    read.session,
                    config.bound_us / 1000
                ),
            },
            excusable_at: missed(writes, version, counted, config),
        });
    }
}

fn monotonic_reads(writes: &[&Op], reads: &[&Op], config: &CheckConfig, found: &mut Vec<Finding>) {
    // The highest version among the reads that ended before each point (reads are sorted by end).
    let mut best: Vec<(u64, &Op)> = Vec::with_capacity(reads.len());
    for read in reads {
        let version = read.version.unwrap_or(0);
        let keep = match best.last() {
            Some(&(v, op)) if v >= version => (v, op),
            _ => (version, *read),
        };
        best.push(keep);
    }
    for read in reads {
        let Some(version) = read.version else {
            continue;
        };
        let before =
            reads.partition_point(|r| r.end_us.saturating_add(config.bound_us) < read.start_us);
        if before == 0 {
            continue;
        }
        let (highest, earlier) = best[before - 1];
        if version >= highest {
            continue;
        }
        // Reported once per read: the acknowledged-writes rule may already have flagged it.
        let (least, _) = floor(writes, read.start_us, config);
        if version < least {
            continue;
        }
        let mut excusable = missed(writes, version, writes.len(), config);
        excusable.push(earlier.end_us);
        found.push(Finding {
            violation: Violation {
                rule: Rule::StaleUser,
                op: Some(read.id),
                because_of: Some(earlier.id),
                detail: format!(
                    "{} read version {version} on node {:?} ({:?}, session {:?}), after op {} had read version {highest} more than {} ms before it began",
                    read.user,
                    read.node,
                    read.kind,
                    read.session,
                    earlier.id,
                    config.bound_us / 1000
                ),
            },
            excusable_at: excusable,
        });
    }
}
