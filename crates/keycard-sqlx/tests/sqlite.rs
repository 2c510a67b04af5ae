//! The conformance suite on SQLite (a temporary file per test, WAL).

#[path = "../../keycard/tests/conformance/mod.rs"]
#[macro_use]
mod conformance;
mod common;

use std::sync::Arc;

use conformance::DynStore;

conformance_suite!(|test: &'static str| async move {
    Ok::<DynStore, String>(Arc::new(common::sqlite_store(test).await))
});
