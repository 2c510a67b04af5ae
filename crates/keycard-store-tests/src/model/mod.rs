//! The model-based property test: random operation sequences run against a `CredentialsCache` over the
//! store under test and against a reference model written here from the policy rules (plain maps, no
//! concurrency, no cleverness). After every step the observable results must agree: fetch found or not,
//! which session, which user value, current or grace token, renewed or not; put_user's outcome; what
//! sign-out, revoke and "log out everywhere" report; the session lists and the cached users.
//!
//! The model is the specification in executable form:
//! - a session is live while `now < min(idle_deadline, absolute_deadline)`;
//! - a fetch with the current token at `now >= renewed_at + renewal_interval` rotates: the successor
//!   becomes current, the presented token becomes the previous token until `now + grace`, `renewed_at = now`,
//!   `idle_deadline = min(now + idle_ttl, absolute_deadline)`; a previous token resolves (without renewing)
//!   while `now < grace_until`;
//! - sync/regenerate of a live session: new current token, no previous token, `renewed_at = now`, idle
//!   deadline moved (capped); sync also offers the user to the cache;
//! - the cached user is replaced unless both versions are known and the incoming one is older;
//! - put_user: `NotCached` unless the user has a live session, else `Stale` or `Updated` by that rule;
//! - an expired session may or may not still be held by the store until a sweep or its key's own expiry
//!   (the `Store` docs allow it): revoking it may report either, "log out everywhere" may or may not count
//!   it, and the model keeps it as expired instead of guessing.
//!
//! Versions behave like a database row's: users 0 and 1 carry versions (a sign-in always carries the
//! latest; background writes may carry the latest + 1 or an older one), user 2 carries none.

//!
//! # How a store runs it
//! [`model_suite!`](crate::model_suite) expands to three tests over the store the factory returns (a fresh
//! one per generated history): [`random_histories`] (`PROPTEST_CASES`, default 256, histories of 1 to 79
//! steps, shrunk on failure) and the two [fixed histories](fixed_history). All run on a
//! current-thread tokio runtime (the model is sequential).

mod ops;
mod reference;
mod run;

use std::future::Future;

use keycard::Store;
use proptest::test_runner::{Config, TestRunner};

use crate::fixtures::TestUser;
use crate::skip;
use ops::{op, Freshness, Op, Pick};

pub(crate) const SECRET: [u8; 64] = [0x77; 64];
pub(crate) const T0: u64 = 1_700_000_000_000;
pub(crate) const IDLE: u64 = 600_000;
pub(crate) const RENEW: u64 = 120_000;
pub(crate) const GRACE: u64 = 10_000;
pub(crate) const ABSOLUTE: u64 = 1_500_000;
pub(crate) const USERS: u32 = 3;

/// A current-thread runtime with I/O and timers (a networked store needs both).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the model test")
}

/// A fresh store from `factory`, or `None` after the skip rule.
fn store<F, Fut, S>(
    rt: &tokio::runtime::Runtime,
    suite: &str,
    name: &'static str,
    factory: &F,
) -> Option<S>
where
    F: Fn(&'static str) -> Fut,
    Fut: Future<Output = Result<S, String>>,
{
    skip::or_skip(suite, rt.block_on(factory(name)))
}

/// Invariants 1, 2, 3, 4, 7, 8 on random histories: the store behind the cache behaves exactly like the
/// reference model. Each history runs over a fresh store from `factory` (called with `name`).
///
/// # Panics
/// On the first disagreement (after shrinking the history, which the message shows), or when the store is
/// unreachable and `KEYCARD_REQUIRE_SERVICES=1`.
pub fn random_histories<F, Fut, S>(suite: &str, name: &'static str, factory: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: Future<Output = Result<S, String>>,
    S: Store<TestUser>,
{
    skip::arm();
    let rt = runtime();
    // One store up front decides the skip, so an unreachable backend skips once, not once per history.
    let Some(first) = store(&rt, suite, name, &factory) else {
        return;
    };
    drop(first);
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 2_000,
        failure_persistence: None,
        ..Config::default()
    });
    let histories = proptest::collection::vec(op(), 1..80);
    let result = runner.run(&histories, |ops| {
        let store = rt
            .block_on(factory(name))
            .unwrap_or_else(|e| panic!("{suite}: the store became unreachable mid-run: {e}"));
        run::run(&rt, store, &ops);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{suite}: the store disagrees with the model: {e}");
    }
}

/// A fixed history of the model test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// Two users through renewal, grace, expiry, a stale and a newer background write, and a sweep.
    Smoke,
    /// A shrunk history the random search once found: `put_user` when only expired sessions remain.
    Regression,
}

/// One fixed history over a fresh store from `factory`.
///
/// # Panics
/// On a disagreement with the model, or when the store is unreachable and `KEYCARD_REQUIRE_SERVICES=1`.
pub fn fixed_history<F, Fut, S>(suite: &str, name: &'static str, factory: F, history: History)
where
    F: Fn(&'static str) -> Fut,
    Fut: Future<Output = Result<S, String>>,
    S: Store<TestUser>,
{
    skip::arm();
    let ops = match history {
        History::Smoke => smoke_history(),
        History::Regression => regression_history(),
    };
    let rt = runtime();
    if let Some(store) = store(&rt, suite, name, &factory) {
        run::run(&rt, store, &ops);
    }
}

/// A fixed history through the interesting edges (renewal, grace, expiry, stale and newer background
/// writes), so a broken strategy cannot hide a broken model or store.
fn smoke_history() -> Vec<Op> {
    let i = Pick;
    vec![
        Op::SignIn { user: 0 },
        Op::SignIn { user: 1 },
        Op::Advance { ms: RENEW },
        Op::Fetch { cookie: i(0) }, // renews: cookie #2
        Op::Fetch { cookie: i(0) }, // grace
        Op::Advance { ms: GRACE },
        Op::Fetch { cookie: i(0) }, // dead
        Op::PutUser {
            user: 0,
            fresh: Freshness::Older { back: 1 },
        },
        Op::PutUser {
            user: 0,
            fresh: Freshness::Newer,
        },
        Op::Sessions { user: 0 },
        Op::Users,
        Op::Advance {
            ms: IDLE - RENEW - GRACE,
        },
        Op::Fetch { cookie: i(1) }, // user 1 expired
        Op::PutUser {
            user: 1,
            fresh: Freshness::Newer,
        },
        Op::Sweep,
        Op::Users,
    ]
}

/// A history the random search found (shrunk by hand): the user's renewed session is revoked, the other
/// one expires, and a background write must then report `NotCached`. Kept so the case is checked on every
/// run, not only when the search happens to find it.
fn regression_history() -> Vec<Op> {
    vec![
        Op::SignIn { user: 1 },
        Op::SignIn { user: 1 },
        Op::Advance { ms: RENEW },
        Op::Fetch { cookie: Pick(1) }, // session #1 renews: its deadline moves past session #0's
        Op::DeleteSession { session: Pick(1) },
        Op::Advance { ms: IDLE - RENEW }, // session #0 reaches its idle deadline
        Op::PutUser {
            user: 1,
            fresh: Freshness::Newer,
        },
        Op::Users,
    ]
}
