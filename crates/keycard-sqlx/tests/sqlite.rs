//! The conformance suite and the model test (from `keycard-store-tests`) on SQLite: a temporary file per
//! test and per generated history, WAL.

mod common;

use common::sqlite_store;

keycard_store_tests::conformance_suite!(sqlite_store);
keycard_store_tests::model_suite!(sqlite_store);
keycard_store_tests::throttle_suite!(sqlite_store);
keycard_store_tests::remember_suite!(sqlite_store);
keycard_store_tests::one_time_suite!(sqlite_store);
keycard_store_tests::factor_suite!(sqlite_store);
keycard_store_tests::identity_suite!(sqlite_store);
keycard_store_tests::remember_sessions_suite!(|test: &'static str| async move {
    sqlite_store(test)
        .await
        .map(keycard_store_tests::remember_sessions::both)
});
