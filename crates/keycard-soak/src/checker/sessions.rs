//! Sessions: nothing revoked is served past the bound ([`Rule::ServedAfterRevocation`]), nothing live is
//! refused ([`Rule::LiveSessionRefused`]).

use std::collections::HashMap;

use super::model::{CheckConfig, Finding, Rule, Violation};
use crate::history::{History, Op, OpResult};

/// The revocation lag figures.
#[derive(Debug, Default)]
pub(crate) struct Lag {
    /// Acknowledged revocations whose session was read afterwards.
    pub(crate) probed: usize,
    /// The longest a revoked session was still served after its acknowledged revocation, µs.
    pub(crate) longest_us: u64,
}

/// Every operation that sent or created each logical session, in history order.
fn by_session(history: &History) -> HashMap<&str, Vec<&Op>> {
    let mut map: HashMap<&str, Vec<&Op>> = HashMap::new();
    for op in &history.ops {
        if let Some(s) = op.session.as_deref() {
            map.entry(s).or_default().push(op);
        }
        if let Some(s) = op.creates.as_deref() {
            if op.session.as_deref() != Some(s) {
                map.entry(s).or_default().push(op);
            }
        }
    }
    map
}

/// Every operation that ends each session if it takes effect.
fn enders(history: &History) -> HashMap<&str, Vec<&Op>> {
    let mut map: HashMap<&str, Vec<&Op>> = HashMap::new();
    for op in &history.ops {
        for s in &op.ends {
            map.entry(s.as_str()).or_default().push(op);
        }
    }
    map
}

pub(crate) fn check(history: &History, config: &CheckConfig, found: &mut Vec<Finding>) -> Lag {
    let uses = by_session(history);
    let enders = enders(history);
    let mut lag = Lag::default();
    for (session, ops) in &uses {
        let ends = enders.get(session).map(Vec::as_slice).unwrap_or(&[]);
        // The first acknowledged end: from then on (plus the bound) nothing may answer as the session.
        let revoked = ends
            .iter()
            .filter(|e| e.result == OpResult::Ok)
            .min_by_key(|e| e.end_us);
        if let Some(revocation) = revoked {
            revoked_reads(session, ops, revocation, config, found, &mut lag);
        }
        refused_reads(session, ops, ends, found);
    }
    lag
}

fn revoked_reads(
    session: &str,
    ops: &[&Op],
    revocation: &Op,
    config: &CheckConfig,
    found: &mut Vec<Finding>,
    lag: &mut Lag,
) {
    let after: Vec<&&Op> = ops
        .iter()
        .filter(|r| r.session.as_deref() == Some(session) && r.start_us > revocation.end_us)
        .collect();
    if !after.is_empty() {
        lag.probed += 1;
    }
    for read in after {
        if read.as_user.is_none() {
            continue;
        }
        let late = read.start_us - revocation.end_us;
        lag.longest_us = lag.longest_us.max(late);
        if late > config.bound_us {
            found.push(Finding {
                violation: Violation {
                    rule: Rule::ServedAfterRevocation,
                    op: Some(read.id),
                    because_of: Some(revocation.id),
                    detail: format!(
                        "session {session} answered as {} by {:?} on node {:?}, started {} ms after its revocation (op {}, {:?}) was acknowledged; the bound is {} ms",
                        read.as_user.as_deref().unwrap_or_default(),
                        read.kind,
                        read.node,
                        late / 1000,
                        revocation.id,
                        revocation.kind,
                        config.bound_us / 1000
                    ),
                },
                excusable_at: vec![revocation.end_us],
            });
        }
    }
}

fn refused_reads(session: &str, ops: &[&Op], ends: &[&Op], found: &mut Vec<Finding>) {
    for read in ops
        .iter()
        .filter(|r| r.session.as_deref() == Some(session) && r.anonymous)
    {
        // Anything that ended the session, or may have, invoked before this read completed.
        let ended = ends
            .iter()
            .any(|e| e.result != OpResult::Fail && e.start_us < read.end_us);
        // A request on the session whose answer was lost may have rotated its token: the cookie the
        // client holds is then in doubt.
        let in_doubt = ops.iter().any(|x| {
            x.id != read.id
                && x.session.as_deref() == Some(session)
                && x.result == OpResult::Info
                && x.start_us < read.end_us
        });
        if ended || in_doubt {
            continue;
        }
        // The acknowledged writes a failover may have lost, and the read itself (a read served by a
        // restarted master that has not learnt of its failover yet finds nothing: see `Failovers`).
        let acknowledged: Vec<u64> = ops
            .iter()
            .filter(|x| x.result == OpResult::Ok && x.end_us < read.start_us)
            .map(|x| x.end_us)
            .chain(std::iter::once(read.start_us))
            .collect();
        found.push(Finding {
            violation: Violation {
                rule: Rule::LiveSessionRefused,
                op: Some(read.id),
                because_of: ops
                    .iter()
                    .find(|x| x.creates.as_deref() == Some(session))
                    .map(|x| x.id),
                detail: format!(
                    "session {session} of {} answered as signed out ({:?}, status {:?}, node {:?}) though nothing ended it",
                    read.user, read.kind, read.status, read.node
                ),
            },
            excusable_at: acknowledged,
        });
    }
}
