//! # keycard-store-tests: the test kit for keycard credentials stores
//!
//! **You wrote a [`Store`](keycard::Store); run the whole suite in a few lines.** This crate holds the
//! behaviour every keycard store must show (the 53 behaviours of the conformance suite and a model-based
//! property test), written once and run unchanged against the memory store, the Redis store and yours.
//!
//! ```toml
//! [dev-dependencies]
//! keycard-store-tests = "0.1"
//! ```
//!
//! ```ignore
//! // tests/conformance.rs of your store's crate
//! use keycard_store_tests::TestUser;
//!
//! /// A fresh, isolated store for one test (or one generated history), or why it cannot be had.
//! async fn store(test: &'static str) -> Result<MyStore<TestUser>, String> {
//!     let url = std::env::var("MY_STORE_URL").unwrap_or_else(|_| "my://127.0.0.1".into());
//!     let prefix = keycard_store_tests::services::unique_prefix(test);
//!     MyStore::connect(&url, &prefix)
//!         .await
//!         .map_err(|e| format!("my store not reachable at {url} ({e})"))
//! }
//!
//! keycard_store_tests::conformance_suite!(store); // mod conformance: 53 #[test]s
//! keycard_store_tests::model_suite!(store); // mod model: 3 #[test]s
//! ```
//!
//! `cargo test` then lists `conformance::put_user_never_extends_the_idle_deadline`,
//! `model::store_behaves_like_the_model`, … The memory store's run (`crates/keycard/tests/memory.rs`) is
//! exactly this:
//!
//! ```
//! use keycard::MemoryStore;
//! use keycard_store_tests::TestUser;
//!
//! async fn store(_test: &'static str) -> Result<MemoryStore<TestUser>, String> {
//!     Ok(MemoryStore::new()) // fresh per call: isolated by construction, never unreachable
//! }
//!
//! keycard_store_tests::conformance_suite!(store);
//! keycard_store_tests::model_suite!(store);
//! # fn main() {}
//! ```
//!
//! ## What the factory must return
//! The macros take a **factory**: any `Fn(&'static str) -> impl Future<Output = Result<S, String>>` where
//! `S: Store<TestUser>` (an `async fn` or a closure returning an `async` block). It is called once per
//! conformance test, and once per history of the model test, with the test's name, and must return:
//! - `Ok(store)`: a store that shares **no records** with any other store the factory returned
//!   (isolation). An in-process store is fresh by construction; a networked store derives a unique key
//!   prefix, schema or database from the name it is given plus something random
//!   ([`services::unique_prefix`]), since a test binary may run twice against one server, and tests run in
//!   parallel.
//! - `Err(reason)`: the backend **cannot be reached** (no server at the URL). Then the test is skipped by
//!   the [skip rule](skip), or fails under `KEYCARD_REQUIRE_SERVICES=1`. Any other failure (the server
//!   answers but the store refuses to start) should panic: it is a bug, not a missing service.
//!
//! The tests use the kit's own user type, [`TestUser`], so the store must be generic over the user (as
//! every keycard store is) or implement `Store<TestUser>`.
//!
//! ## How the tests run
//! Each conformance test runs on its own multi-thread tokio runtime (2 workers, so the concurrency tests
//! race for real) and talks to the store only through a [`CredentialsCache`](keycard::CredentialsCache)
//! over a [`SpyStore`] (counting calls, recording what reaches the store, failing on demand) with a
//! [`ManualClock`](keycard::ManualClock) and a short [`test_policy`]: no test sleeps. The model test runs
//! on a current-thread runtime. The expansion needs nothing from the calling crate but this one: the
//! tests are plain `#[test]` functions and every path is `$crate::…`, so no `tokio` dev-dependency is
//! needed for them.
//!
//! ## Skipping, honestly
//! A skipped test passes, so the kit makes skips loud: each prints `SKIPPED: <suite>: <reason>` straight to
//! stderr (not captured by libtest), and each test binary prints at exit how many suites it skipped and
//! how many the whole `cargo test` run skipped so far ([`skip`]). CI sets `KEYCARD_REQUIRE_SERVICES=1`.
//!
//! ## The rest of the kit
//! - [`throttle_suite!`]: the throttle suite, for a store that also keeps login-throttle counters
//!   ([`keycard::throttle::ThrottleStore`]): 6 behaviours.
//! - [`remember_suite!`]: the remember-me suite, for a [`keycard::remember::RememberStore`]: 9 behaviours.
//! - [`remember_sessions_suite!`]: remember-me through the cache, over a session store and a
//!   `RememberStore` together (series and the sessions they make): 10 behaviours.
//! - [`identity_suite!`]: the linked-identity suite, for a [`keycard::identity::IdentityStore`]: 2 behaviours.
//! - [`SpyStore`]: the one generic wrapper for tests that need to count, break or watch a store.
//! - [`Harness`]: the suites' cache + clock + spy, for a store's own extra tests.
//! - [`latency`]: the `fetch` latency harness the stores' benchmarks share (and its user, session
//!   metadata and policy, for any benchmark).
//! - `near` (feature `near`): the near-cache kit, two nodes over one shared store with their waits and
//!   checks, and the outage waits, for a store with an invalidation channel.
//! - [`services`]: the Redis/PostgreSQL URLs, reachability checks and skip helpers, a `redis-server` of a
//!   test's own ([`services::OwnRedis`]: pause, resume, kill, restart) and scratch space, behind the
//!   `redis` and `postgres` features, and an SMTP server of a test's own (`services::OwnSmtp`: Python's
//!   aiosmtpd, with the messages it received parsed) behind `smtp` (all off by default: a store that
//!   needs none of them stays light).
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod factors;
pub mod fixtures;
pub mod harness;
pub mod identities;
pub mod latency;
pub mod model;
#[cfg(feature = "near")]
#[cfg_attr(docsrs, doc(cfg(feature = "near")))]
pub mod near;
pub mod one_time;
pub mod remember;
pub mod remember_limits;
pub mod remember_sessions;
pub mod services;
pub mod skip;
pub mod spy;
pub mod suite;
pub mod throttle;

pub use fixtures::{key, meta, test_policy, user, user_c, user_v, TestUser};
pub use harness::{DynStore, Harness};
pub use spy::{Primitive, SpyStore};

/// Expands to `mod conformance` with one `#[test]` per conformance behaviour, each over a fresh store from
/// `$factory` (see the [crate docs](crate) for what the factory must return). Invoke it once per file.
///
/// ```
/// keycard_store_tests::conformance_suite!(|_test: &'static str| async {
///     Ok::<_, String>(keycard::MemoryStore::<keycard_store_tests::TestUser>::new())
/// });
/// ```
#[macro_export]
macro_rules! conformance_suite {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests!($factory;
            sign_in::sign_in_creates_a_session_with_a_current_token_and_policy_deadlines,
            sign_in::forged_or_malformed_cookie_never_reaches_the_store,
            sign_in::unknown_token_reads_nothing_and_writes_nothing,
            sign_in::store_sees_only_token_hashes_never_tokens_or_cookie_values,
            one_copy::put_user_is_seen_by_every_session_of_the_user,
            one_copy::put_user_reaches_hundreds_of_sessions_with_one_store_call,
            one_copy::sync_through_one_session_is_seen_by_every_session_of_the_user,
            one_copy::sign_in_replaces_the_cached_user_for_every_session,
            no_resurrection::put_user_for_a_user_without_sessions_stores_nothing,
            no_resurrection::put_user_after_the_last_session_ends_stores_nothing,
            no_resurrection::put_user_when_only_expired_sessions_remain_stores_nothing,
            no_resurrection::put_user_never_extends_the_idle_deadline,
            no_resurrection::put_user_never_extends_the_absolute_lifetime,
            no_resurrection::put_user_never_replaces_a_newer_version,
            no_resurrection::sync_never_replaces_a_newer_version,
            no_resurrection::sign_in_never_replaces_a_newer_version,
            renewal::fetch_before_the_renewal_interval_does_not_renew,
            renewal::fetch_after_the_renewal_interval_rotates_the_token,
            renewal::many_concurrent_fetches_with_a_stale_token_have_exactly_one_winner,
            renewal::grace_token_works_inside_the_window_and_dies_after,
            renewal::grace_token_cannot_extend_or_rotate_the_session,
            privilege::sign_out_kills_the_current_and_the_grace_token,
            privilege::sign_out_through_the_grace_token_kills_the_current_token,
            privilege::sync_kills_the_old_tokens_at_once_and_keeps_the_session_identity,
            privilege::regenerate_kills_the_old_tokens_at_once_and_keeps_the_cached_user,
            privilege::sync_or_regenerate_of_a_dead_session_creates_nothing,
            revocation::delete_user_sessions_ends_every_session_of_the_user,
            revocation::delete_user_sessions_except_keeps_only_that_session,
            revocation::delete_session_ends_one_session_and_both_its_tokens,
            revocation::sessions_lists_live_sessions_oldest_first_with_metadata,
            revocation::users_lists_one_copy_per_user_with_a_live_session,
            expiry::idle_session_expires_at_its_idle_deadline,
            expiry::absolute_lifetime_cannot_be_passed_by_renewals,
            expiry::index_never_lists_dead_sessions_and_keeps_renewed_ones,
            expiry::sweep_removes_expired_records_and_put_user_does_not_resurrect_them,
            expiry::sweep_removes_nothing_live,
            races::deleted_session_stays_deleted_when_a_renewal_races_the_delete,
            races::deleted_session_stays_deleted_when_sync_races_the_delete,
            races::deleted_user_stays_deleted_when_put_user_races_the_delete,
            races::sign_in_racing_delete_user_sessions_leaves_a_consistent_user,
            races::deleted_session_stays_deleted_when_everything_races_the_delete,
            failures::store_errors_never_authenticate_and_never_sign_out,
            credentials::a_sync_with_new_credentials_ends_every_other_session_and_keeps_its_own,
            credentials::put_user_with_new_credentials_ends_every_session_and_same_credentials_none,
            credentials::a_sign_in_checked_against_old_credentials_is_refused_once_new_ones_are_cached,
            credentials::sign_ins_racing_a_credential_change_never_leave_a_live_session,
            credentials::a_session_ended_by_new_credentials_cannot_sync_its_way_back,
            sudo::sign_in_records_its_proof_and_renewal_or_sync_keep_it,
            sudo::reauthenticate_records_a_fresh_proof_and_kills_the_old_tokens,
            sudo::reauthenticate_of_an_ended_session_creates_nothing,
            limits::session_answers_one_live_session_of_its_user_in_one_store_call,
            limits::a_sign_in_past_the_cap_ends_the_oldest_sessions,
            limits::grace_answers_are_bounded_per_replaced_token,
            personal::a_personal_token_never_rotates_and_lives_to_its_own_expiry,
            personal::personal_tokens_are_not_displaced_but_end_with_the_credentials,
        );
    };
}

/// Implementation detail of [`conformance_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($factory:expr; $($section:ident :: $name:ident),+ $(,)?) => {
        /// The keycard conformance suite (`keycard_store_tests::suite`), over this crate's store.
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $name() {
                    $crate::harness::run_conformance(
                        concat!("conformance::", stringify!($name)),
                        stringify!($name),
                        $factory,
                        $crate::suite::$section::$name,
                    );
                }
            )+
        }
    };
}

/// Expands to `mod model` with the model-based property test over fresh stores from `$factory` (the same
/// factory as [`conformance_suite!`]): `store_behaves_like_the_model` (random histories, shrunk on
/// failure; `PROPTEST_CASES` sets how many, default 256) and two fixed histories. Invoke it once per file.
#[macro_export]
macro_rules! model_suite {
    ($factory:expr $(,)?) => {
        /// The keycard model-based test (`keycard_store_tests::model`), over this crate's store.
        mod model {
            #[allow(unused_imports)]
            use super::*;

            /// Invariants 1, 2, 3, 4, 7, 8 on random histories: the store behind the cache behaves exactly
            /// like the reference model.
            #[test]
            fn store_behaves_like_the_model() {
                $crate::model::random_histories(
                    "model::store_behaves_like_the_model",
                    "store_behaves_like_the_model",
                    $factory,
                );
            }

            /// A fixed history through renewal, grace and expiry, so a broken strategy cannot hide a
            /// broken store.
            #[test]
            fn model_smoke_covers_renewal_grace_and_expiry() {
                $crate::model::fixed_history(
                    "model::model_smoke_covers_renewal_grace_and_expiry",
                    "model_smoke_covers_renewal_grace_and_expiry",
                    $factory,
                    $crate::model::History::Smoke,
                );
            }

            /// A shrunk history the random search once found: `put_user` when only expired sessions remain.
            #[test]
            fn model_regression_put_user_when_only_expired_sessions_remain() {
                $crate::model::fixed_history(
                    "model::model_regression_put_user_when_only_expired_sessions_remain",
                    "model_regression_put_user_when_only_expired_sessions_remain",
                    $factory,
                    $crate::model::History::Regression,
                );
            }
        }
    };
}
