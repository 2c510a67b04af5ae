//! Answers: every status is one the design allows ([`Rule::UnexpectedStatus`]), nothing hangs past the
//! client's timeout ([`Rule::Hang`]), a session is only ever answered as its own user
//! ([`Rule::WrongUser`]), and a sign-in with the password the account has is never refused as wrong
//! ([`Rule::RightPasswordRefused`]: the client marks the sign-ins it is sure of; after a sign-up or a
//! password change whose answer was lost it is not).
//!
//! Allowed everywhere: 2xx, 3xx, 401, 403 (refused: CSRF, a token's scope), 429 (throttled), 503 (the
//! store is out: fail closed). Allowed where the operation documents it: 404 for ending a session that
//! has already ended, 409 for a state-changing request served from a renewal's grace window (invariant
//! 3), 422 for a password form whose current password is in doubt after an unanswered change.

use super::model::{Finding, Rule, Violation};
use crate::history::{History, Op, OpKind};

/// Whether `status` is an answer `op` may get.
pub(crate) fn allowed(op: &Op, status: u16) -> bool {
    match status {
        200..=399 | 401 | 403 | 429 | 503 => true,
        404 => op.kind == OpKind::RevokeOne,
        409 => !matches!(op.kind, OpKind::Me | OpKind::Csrf | OpKind::Reopen),
        422 => matches!(op.kind, OpKind::Password | OpKind::SignIn),
        _ => false,
    }
}

pub(crate) fn check(history: &History, found: &mut Vec<Finding>) {
    for op in &history.ops {
        if op.timed_out {
            found.push(finding(
                Rule::Hang,
                op,
                format!(
                    "{:?} of {} on node {:?} got no answer within the client's timeout ({} ms)",
                    op.kind,
                    op.user,
                    op.node,
                    (op.end_us - op.start_us) / 1000
                ),
            ));
        }
        if let Some(status) = op.status.filter(|&s| !allowed(op, s)) {
            found.push(finding(
                Rule::UnexpectedStatus,
                op,
                format!(
                    "{:?} of {} on node {:?} answered {status}{}",
                    op.kind,
                    op.user,
                    op.node,
                    op.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
            ));
        }
        if op.kind == OpKind::SignIn && op.sure_of_password && op.status == Some(401) {
            found.push(finding(
                Rule::RightPasswordRefused,
                op,
                format!(
                    "a sign-in of {} on node {:?} with the password the account has answered 401",
                    op.user, op.node
                ),
            ));
        }
        if let Some(other) = op.as_user.as_deref().filter(|u| *u != op.user) {
            found.push(finding(
                Rule::WrongUser,
                op,
                format!(
                    "session {:?} of {} answered as {other} ({:?} on node {:?})",
                    op.session, op.user, op.kind, op.node
                ),
            ));
        }
    }
}

fn finding(rule: Rule, op: &Op, detail: String) -> Finding {
    Finding {
        violation: Violation {
            rule,
            op: Some(op.id),
            because_of: None,
            detail,
        },
        excusable_at: Vec::new(),
    }
}
