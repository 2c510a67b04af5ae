//! Revocation and liveness.

use super::*;

#[test]
fn a_revoked_session_served_past_the_bound_is_a_violation() {
    let h = history(vec![
        sign_in(1, "s1", 0),
        sign_in(2, "s2", 10),
        revoke(3, "s2", "s1", 20, 30),
        // Within the bound (2 s): allowed, and measured as the lag.
        me(4, "s1", 1_500),
        // Past it: a violation.
        me(5, "s1", 2_100),
    ]);
    let report = run(&h);
    assert_eq!(count(&report, Rule::ServedAfterRevocation), 1, "{report:?}");
    let v = &report.violations[0];
    assert_eq!((v.op, v.because_of), (Some(5), Some(3)));
    assert_eq!(report.longest_revocation_lag_us, 2_070 * MS);
    assert_eq!(report.revocations_probed, 1);
}

#[test]
fn a_revocation_in_doubt_or_refused_revokes_nothing() {
    for result in [OpResult::Info, OpResult::Fail] {
        let h = history(vec![
            sign_in(1, "s1", 0),
            sign_in(2, "s2", 10),
            Op {
                result,
                status: None,
                ..revoke(3, "s2", "s1", 20, 30)
            },
            me(4, "s1", 5_000),
        ]);
        assert_eq!(run(&h).violations, Vec::new(), "{result:?}");
    }
}

#[test]
fn a_request_invoked_before_the_acknowledgement_may_still_be_answered() {
    let h = history(vec![
        sign_in(1, "s1", 0),
        sign_in(2, "s2", 10),
        // Invoked before the revocation was acknowledged, answered long after.
        Op {
            end_us: 9_000 * MS,
            ..me(3, "s1", 25)
        },
        revoke(4, "s2", "s1", 20, 30),
    ]);
    assert_eq!(run(&h).violations, Vec::new());
}

#[test]
fn a_live_session_answered_401_is_a_violation() {
    let h = history(vec![
        sign_in(1, "s1", 0),
        me(2, "s1", 10),
        me_401(3, "s1", 20),
    ]);
    let report = run(&h);
    assert_eq!(count(&report, Rule::LiveSessionRefused), 1, "{report:?}");
    assert_eq!(report.violations[0].op, Some(3));
}

#[test]
fn a_session_that_may_have_ended_or_rotated_may_answer_401() {
    // An unanswered revocation may have taken effect.
    let maybe_revoked = history(vec![
        sign_in(1, "s1", 0),
        sign_in(2, "s2", 10),
        Op {
            result: OpResult::Info,
            status: None,
            timed_out: false,
            ..revoke(3, "s2", "s1", 20, 30)
        },
        me_401(4, "s1", 40),
    ]);
    assert_eq!(run(&maybe_revoked).violations, Vec::new());
    // An unanswered plan change on the session may have rotated its token.
    let maybe_rotated = history(vec![
        sign_in(1, "s1", 0),
        Op {
            session: Some("s1".to_owned()),
            result: OpResult::Info,
            status: Some(503),
            ..op(2, OpKind::Plan, 10, 20)
        },
        me_401(3, "s1", 40),
    ]);
    assert_eq!(run(&maybe_rotated).violations, Vec::new());
    // An unanswered read of *another* session excuses nothing.
    let other = history(vec![
        sign_in(1, "s1", 0),
        sign_in(2, "s2", 5),
        Op {
            result: OpResult::Info,
            status: None,
            ..me(3, "s2", 10)
        },
        me_401(4, "s1", 40),
    ]);
    assert_eq!(count(&run(&other), Rule::LiveSessionRefused), 1);
}

#[test]
fn a_failover_excuses_what_it_may_have_lost_and_counts_it_apart() {
    // The revocation was acknowledged 300 ms before a master kill: the failover may have lost it.
    let mut h = history(vec![
        sign_in(1, "s1", 0),
        sign_in(2, "s2", 10),
        revoke(3, "s2", "s1", 20, 9_700),
        me(4, "s1", 20_000),
    ]);
    h.faults.push(master_kill(10_000, 15_000));
    let report = run(&h);
    assert_eq!(report.violations, Vec::new());
    assert_eq!(report.excused.len(), 1);
    assert_eq!(report.excused[0].rule, Rule::ServedAfterRevocation);
    // Acknowledged 5 s before the kill: no excuse.
    h.faults[0] = master_kill(15_000, 18_000);
    let report = run(&h);
    assert_eq!(count(&report, Rule::ServedAfterRevocation), 1);
    assert!(report.excused.is_empty());
}

#[test]
fn a_session_refused_by_a_read_just_after_a_failover_is_excused_and_later_is_not() {
    // Signed in long before the kill (its write was replicated): only the restarted master, which
    // serves its old slots empty until it learns of the failover, can answer "signed out", and only
    // within the slack after the fault ended (old master rejoined as a replica at 15 s).
    let mut h = history(vec![sign_in(1, "s1", 0), me_401(2, "s1", 16_000)]);
    h.faults.push(master_kill(10_000, 15_000));
    let report = run(&h);
    assert_eq!(report.violations, Vec::new(), "{report:?}");
    assert_eq!(report.excused.len(), 1);
    assert_eq!(report.excused[0].rule, Rule::LiveSessionRefused);
    // Long after the slack: a violation.
    let mut late = history(vec![sign_in(1, "s1", 0), me_401(2, "s1", 25_000)]);
    late.faults.push(master_kill(10_000, 15_000));
    let report = run(&late);
    assert_eq!(count(&report, Rule::LiveSessionRefused), 1, "{report:?}");
    assert!(report.excused.is_empty());
}
