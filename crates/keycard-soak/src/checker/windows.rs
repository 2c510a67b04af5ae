//! The windows in which the service answered 503 (fail closed while a store was out): not violations,
//! but the price of the faults, reported with the run.

use serde::Serialize;

use crate::history::History;

/// 503 answers closer than this to each other belong to one window, in µs.
const GAP_US: u64 = 1_000_000;

/// The windows of 503 answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnavailableWindows {
    /// Answers that were 503.
    pub answers: usize,
    /// Windows (503 answers less than a second apart are one window).
    pub windows: usize,
    /// The longest window, from the first 503's invocation to the last one's answer, in µs.
    pub longest_us: u64,
    /// All windows together, in µs.
    pub total_us: u64,
}

impl UnavailableWindows {
    /// The windows of a history.
    pub fn of(history: &History) -> UnavailableWindows {
        let mut spans: Vec<(u64, u64)> = history
            .ops
            .iter()
            .filter(|op| op.status == Some(503))
            .map(|op| (op.start_us, op.end_us))
            .collect();
        spans.sort_unstable();
        let mut out = UnavailableWindows {
            answers: spans.len(),
            ..UnavailableWindows::default()
        };
        let mut current: Option<(u64, u64)> = None;
        for (start, end) in spans {
            current = match current {
                Some((from, to)) if start <= to.saturating_add(GAP_US) => Some((from, to.max(end))),
                Some(window) => {
                    out.close(window);
                    Some((start, end))
                }
                None => Some((start, end)),
            };
        }
        if let Some(window) = current {
            out.close(window);
        }
        out
    }

    fn close(&mut self, (from, to): (u64, u64)) {
        let length = to.saturating_sub(from);
        self.windows += 1;
        self.longest_us = self.longest_us.max(length);
        self.total_us += length;
    }
}
