//! User versions.

use super::*;

fn plan(id: u64, session: &str, start_ms: u64, end_ms: u64) -> Op {
    Op {
        session: Some(session.to_owned()),
        status: Some(303),
        as_user: Some(ALICE.to_owned()),
        ..op(id, OpKind::Plan, start_ms, end_ms)
    }
}

fn me_version(id: u64, session: &str, start_ms: u64, version: u64, node: u32) -> Op {
    Op {
        version: Some(version),
        node: Some(node),
        ..me(id, session, start_ms)
    }
}

#[test]
fn an_older_version_read_past_the_bound_after_an_acknowledged_write_is_a_violation() {
    let h = history(vec![
        sign_in(1, "s1", 0),
        sign_in(2, "s2", 5),
        plan(3, "s1", 10, 20),
        // Within the bound another node may still show version 1.
        me_version(4, "s2", 1_000, 1, 1),
        // Past it, not.
        me_version(5, "s2", 2_100, 1, 1),
        me_version(6, "s2", 2_200, 2, 1),
    ]);
    let report = run(&h);
    assert_eq!(count(&report, Rule::StaleUser), 1, "{report:?}");
    assert_eq!(
        (report.violations[0].op, report.violations[0].because_of),
        (Some(5), Some(3))
    );
}

#[test]
fn writes_in_doubt_raise_no_floor_and_a_higher_version_is_fine() {
    let h = history(vec![
        sign_in(1, "s1", 0),
        Op {
            result: OpResult::Info,
            status: None,
            ..plan(2, "s1", 10, 20)
        },
        Op {
            kind: OpKind::PutUser,
            session: None,
            node: None,
            status: None,
            ..op(3, OpKind::PutUser, 30, 40)
        },
        // Two writes may have happened (one in doubt, one acknowledged): version 2 or 3 are both fine.
        me_version(4, "s1", 3_000, 2, 0),
        me_version(5, "s1", 3_100, 3, 1),
    ]);
    assert_eq!(run(&h).violations, Vec::new());
}

#[test]
fn reads_do_not_go_back_once_a_newer_version_was_read_past_the_bound() {
    let h = history(vec![
        sign_in(1, "s1", 0),
        sign_in(2, "s2", 5),
        // A write in doubt that took effect: read as version 2 on node 0.
        Op {
            result: OpResult::Info,
            status: None,
            ..plan(3, "s1", 10, 20)
        },
        me_version(4, "s1", 100, 2, 0),
        // Node 1 within the bound: may lag.
        me_version(5, "s2", 1_000, 1, 1),
        // Past the bound: it may not.
        me_version(6, "s2", 2_200, 1, 1),
    ]);
    let report = run(&h);
    assert_eq!(count(&report, Rule::StaleUser), 1, "{report:?}");
    assert_eq!(
        (report.violations[0].op, report.violations[0].because_of),
        (Some(6), Some(4))
    );
}
