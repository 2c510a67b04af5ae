//! The conformance suite on PostgreSQL (a table prefix per test in a database made for this run).

#[path = "../../keycard/tests/conformance/mod.rs"]
#[macro_use]
mod conformance;
mod common;

use std::sync::Arc;

use conformance::DynStore;

conformance_suite!(|test: &'static str| async move {
    common::postgres_store(test)
        .await
        .map(|s| Arc::new(s) as DynStore)
});
