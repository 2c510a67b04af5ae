//! The conformance suite and the model test on SQLite with `SqliteReads::Pool` (the default,
//! `InPlace`, runs in `tests/sqlite.rs`).

mod common;

async fn store(test: &'static str) -> Result<keycard_sqlx::SqliteStore, String> {
    common::sqlite_store_reading(test, keycard_sqlx::SqliteReads::Pool).await
}

keycard_store_tests::conformance_suite!(store);
keycard_store_tests::model_suite!(store);
