//! Fuzz target `sql_record`: the SQL stores' row decoder and JSON columns. The properties are in `keycard_sqlx::__fuzz::sql_record`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keycard_sqlx::__fuzz::sql_record(data));
