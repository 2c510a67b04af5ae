//! The checker on small synthetic histories: for every rule a history that breaks it and one that does
//! not (often the same history with one detail changed, so the test shows exactly what the rule reads).

mod answers;
mod sessions;
mod versions;

use crate::checker::{check, CheckConfig, Report, Rule};
use crate::history::{FaultEvent, History, Op, OpKind, OpResult, RssSample};

const MS: u64 = 1_000;
const ALICE: &str = "alice@soak.test";

/// An operation by client 1 on alice, node 0, answered 200 `ok`, from `start` to `end` ms.
fn op(id: u64, kind: OpKind, start_ms: u64, end_ms: u64) -> Op {
    Op {
        id,
        client: 1,
        kind,
        user: ALICE.to_owned(),
        session: None,
        node: Some(0),
        start_us: start_ms * MS,
        end_us: end_ms * MS,
        status: Some(200),
        result: OpResult::Ok,
        timed_out: false,
        error: None,
        as_user: None,
        anonymous: false,
        version: None,
        creates: None,
        ends: Vec::new(),
        sure_of_password: false,
    }
}

/// A sign-in that created `session`.
fn sign_in(id: u64, session: &str, start_ms: u64) -> Op {
    Op {
        status: Some(303),
        creates: Some(session.to_owned()),
        as_user: Some(ALICE.to_owned()),
        ..op(id, OpKind::SignIn, start_ms, start_ms + 5)
    }
}

/// `GET /me` on `session` answered as alice (version 1).
fn me(id: u64, session: &str, start_ms: u64) -> Op {
    Op {
        session: Some(session.to_owned()),
        as_user: Some(ALICE.to_owned()),
        version: Some(1),
        ..op(id, OpKind::Me, start_ms, start_ms + 2)
    }
}

/// `GET /me` on `session` answered 401.
fn me_401(id: u64, session: &str, start_ms: u64) -> Op {
    Op {
        session: Some(session.to_owned()),
        status: Some(401),
        anonymous: true,
        ..op(id, OpKind::Me, start_ms, start_ms + 2)
    }
}

/// `session` revoked by an operation on `by`, acknowledged at `end_ms`.
fn revoke(id: u64, by: &str, session: &str, start_ms: u64, end_ms: u64) -> Op {
    Op {
        session: Some(by.to_owned()),
        status: Some(303),
        as_user: Some(ALICE.to_owned()),
        ends: vec![session.to_owned()],
        ..op(id, OpKind::RevokeOne, start_ms, end_ms)
    }
}

fn history(ops: Vec<Op>) -> History {
    History {
        ops,
        ..History::default()
    }
}

fn run(h: &History) -> Report {
    check(h, &CheckConfig::default())
}

fn count(report: &Report, rule: Rule) -> usize {
    report.violations.iter().filter(|v| v.rule == rule).count()
}

fn master_kill(start_ms: u64, end_ms: u64) -> FaultEvent {
    FaultEvent {
        kind: "master-kill".to_owned(),
        target: "127.0.0.1:7100".to_owned(),
        start_us: start_ms * MS,
        end_us: end_ms * MS,
        note: String::new(),
    }
}

#[test]
fn a_clean_history_has_no_violation() {
    let h = history(vec![
        sign_in(1, "s1", 0),
        me(2, "s1", 10),
        sign_in(3, "s2", 20),
        me(4, "s2", 30),
        revoke(5, "s2", "s1", 40, 50),
        me_401(6, "s1", 3_000),
        me(7, "s2", 3_000),
    ]);
    let report = run(&h);
    assert_eq!(report.violations, Vec::new());
    assert_eq!(report.ops, 7);
    assert_eq!(report.outcomes, [7, 0, 0]);
    assert_eq!(report.revocations_probed, 1);
}

#[test]
fn memory_growth_past_the_bound_after_the_warm_up_is_a_violation() {
    let config = CheckConfig::default();
    let sample = |pid, at_s: u64, mib: u64| RssSample {
        node: 0,
        pid,
        at_us: at_s * 1_000_000,
        rss_kib: mib * 1024,
    };
    // Growth during the warm-up does not count; after it, 100 MiB of growth is within 128 MiB.
    let within = History {
        rss: vec![sample(10, 1, 10), sample(10, 21, 300), sample(10, 60, 400)],
        ..History::default()
    };
    let report = check(&within, &config);
    assert_eq!(count(&report, Rule::MemoryGrowth), 0);
    assert_eq!(report.largest_rss_growth_kib, 100 * 1024);
    assert_eq!(report.peak_rss_kib, 400 * 1024);
    // 200 MiB is not; a restarted process (another pid) starts its own series and its own warm-up,
    // so its climb from 10 MiB right after its start is not growth.
    let past = History {
        rss: vec![
            sample(10, 1, 10),
            sample(10, 21, 30),
            sample(10, 60, 230),
            sample(11, 70, 10),
            sample(11, 80, 500),
            sample(11, 95, 500),
        ],
        ..History::default()
    };
    let report = check(&past, &config);
    assert_eq!(count(&report, Rule::MemoryGrowth), 1, "{report:?}");
}

#[test]
fn unavailable_windows_merge_503s_less_than_a_second_apart() {
    let unavailable = |id, start_ms| Op {
        status: Some(503),
        ..op(id, OpKind::Me, start_ms, start_ms + 100)
    };
    let h = history(vec![
        unavailable(1, 0),
        unavailable(2, 500),
        unavailable(3, 1_400),
        unavailable(4, 5_000),
    ]);
    let report = run(&h);
    assert_eq!(report.violations, Vec::new());
    assert_eq!(report.unavailable.answers, 4);
    assert_eq!(report.unavailable.windows, 2);
    assert_eq!(report.unavailable.longest_us, 1_500 * MS);
    assert_eq!(report.unavailable.total_us, 1_600 * MS);
}
