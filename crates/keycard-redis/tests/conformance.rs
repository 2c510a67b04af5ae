//! The conformance suite, the model test and the throttle, remember-me and remember-me-with-sessions
//! suites (all from `keycard-store-tests`) against the Redis store on the shared Redis, each test (and
//! each generated history) under a fresh key prefix.

mod common;

use common::shared_store;

keycard_store_tests::conformance_suite!(shared_store);
keycard_store_tests::model_suite!(shared_store);
keycard_store_tests::throttle_suite!(shared_store);
keycard_store_tests::remember_suite!(shared_store);
keycard_store_tests::one_time_suite!(shared_store);
keycard_store_tests::remember_sessions_suite!(|test: &'static str| async move {
    shared_store(test)
        .await
        .map(keycard_store_tests::remember_sessions::both)
});
