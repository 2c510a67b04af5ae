//! The conformance suite and the model test (both from `keycard-store-tests`) against the Redis store on
//! the shared Redis, each test (and each generated history) under a fresh key prefix.

mod common;

use common::shared_store;

keycard_store_tests::conformance_suite!(shared_store);
keycard_store_tests::model_suite!(shared_store);
keycard_store_tests::throttle_suite!(shared_store);
keycard_store_tests::remember_suite!(shared_store);
