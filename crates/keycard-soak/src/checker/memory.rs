//! Memory ([`Rule::MemoryGrowth`]): each node process's resident memory may not grow past the bound over
//! its first sample after the warm-up, counted from the process's own first sample (a restarted node is
//! a new process, a new series, with a warm-up of its own).

use std::collections::BTreeMap;

use super::model::{CheckConfig, Finding, Rule, Violation};
use crate::history::History;

/// The memory figures.
#[derive(Debug, Default)]
pub(crate) struct Rss {
    pub(crate) largest_growth_kib: u64,
    pub(crate) peak_kib: u64,
}

pub(crate) fn check(history: &History, config: &CheckConfig, found: &mut Vec<Finding>) -> Rss {
    let mut series: BTreeMap<(u32, u32), Vec<(u64, u64)>> = BTreeMap::new();
    let mut rss = Rss::default();
    for s in &history.rss {
        rss.peak_kib = rss.peak_kib.max(s.rss_kib);
        series
            .entry((s.node, s.pid))
            .or_default()
            .push((s.at_us, s.rss_kib));
    }
    for ((node, pid), mut samples) in series {
        samples.sort_unstable();
        // Each process warms up from its own first sample (a restarted node starts again).
        let Some(&(first, _)) = samples.first() else {
            continue;
        };
        samples.retain(|&(at, _)| at >= first.saturating_add(config.warmup_us));
        let Some(&(_, baseline)) = samples.first() else {
            continue;
        };
        let Some(&(at, peak)) = samples.iter().max_by_key(|(_, kib)| *kib) else {
            continue;
        };
        let growth = peak.saturating_sub(baseline);
        rss.largest_growth_kib = rss.largest_growth_kib.max(growth);
        if growth > config.rss_growth_kib {
            found.push(Finding {
                violation: Violation {
                    rule: Rule::MemoryGrowth,
                    op: None,
                    because_of: None,
                    detail: format!(
                        "node {node} (pid {pid}) grew from {baseline} KiB to {peak} KiB at {} s, past the bound of {} KiB",
                        at / 1_000_000,
                        config.rss_growth_kib
                    ),
                },
                excusable_at: Vec::new(),
            });
        }
    }
    rss
}
