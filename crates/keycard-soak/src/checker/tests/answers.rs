//! Statuses, hangs and the user answered as.

use super::*;

#[test]
fn statuses_outside_the_allowed_set_are_violations() {
    let with_status = |id, kind, status| Op {
        status: Some(status),
        ..op(id, kind, 0, 1)
    };
    let allowed = history(vec![
        with_status(1, OpKind::Me, 200),
        with_status(2, OpKind::Plan, 303),
        with_status(3, OpKind::Me, 401),
        with_status(4, OpKind::Plan, 403),
        with_status(5, OpKind::SignIn, 429),
        with_status(6, OpKind::Me, 503),
        with_status(7, OpKind::RevokeOne, 404),
        with_status(8, OpKind::Plan, 409),
        with_status(9, OpKind::Password, 422),
    ]);
    assert_eq!(run(&allowed).violations, Vec::new());
    let refused = history(vec![
        with_status(1, OpKind::Me, 500),
        with_status(2, OpKind::Me, 404),
        with_status(3, OpKind::Me, 409),
        with_status(4, OpKind::Plan, 502),
    ]);
    assert_eq!(count(&run(&refused), Rule::UnexpectedStatus), 4);
}

#[test]
fn a_request_past_the_client_timeout_is_a_hang() {
    let answered = history(vec![op(1, OpKind::Me, 0, 9_000)]);
    assert_eq!(run(&answered).violations, Vec::new());
    let hung = history(vec![Op {
        status: None,
        result: OpResult::Info,
        timed_out: true,
        error: Some("timed out".to_owned()),
        ..op(1, OpKind::Me, 0, 10_000)
    }]);
    let report = run(&hung);
    assert_eq!(count(&report, Rule::Hang), 1);
    assert_eq!(report.outcomes, [0, 0, 1]);
}

#[test]
fn a_sign_in_refused_with_a_password_the_client_is_sure_of_is_a_violation() {
    let refused = |id, sure| Op {
        status: Some(401),
        result: OpResult::Fail,
        sure_of_password: sure,
        ..op(id, OpKind::SignIn, 0, 1)
    };
    // In doubt (a lost sign-up or password change): a 401 may be right.
    assert_eq!(
        run(&history(vec![refused(1, false)])).violations,
        Vec::new()
    );
    // Throttled or failing closed: allowed even when sure.
    let throttled = Op {
        status: Some(429),
        ..refused(2, true)
    };
    assert_eq!(run(&history(vec![throttled])).violations, Vec::new());
    assert_eq!(
        count(
            &run(&history(vec![refused(3, true)])),
            Rule::RightPasswordRefused
        ),
        1
    );
}

#[test]
fn a_session_answered_as_another_user_is_a_violation() {
    let mine = history(vec![sign_in(1, "s1", 0), me(2, "s1", 10)]);
    assert_eq!(run(&mine).violations, Vec::new());
    let other = history(vec![
        sign_in(1, "s1", 0),
        Op {
            as_user: Some("bob@soak.test".to_owned()),
            ..me(2, "s1", 10)
        },
    ]);
    assert_eq!(count(&run(&other), Rule::WrongUser), 1);
}
