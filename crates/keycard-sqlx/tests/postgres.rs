//! The conformance suite and the model test (from `keycard-store-tests`) on PostgreSQL: a table prefix
//! per test and per generated history, in a database made for this test run.

mod common;

use common::postgres_store;

keycard_store_tests::conformance_suite!(postgres_store);
keycard_store_tests::model_suite!(postgres_store);
keycard_store_tests::throttle_suite!(postgres_store);
keycard_store_tests::remember_suite!(postgres_store);
keycard_store_tests::one_time_suite!(postgres_store);
keycard_store_tests::factor_suite!(postgres_store);
keycard_store_tests::identity_suite!(postgres_store);
keycard_store_tests::remember_sessions_suite!(|test: &'static str| async move {
    postgres_store(test)
        .await
        .map(keycard_store_tests::remember_sessions::both)
});
