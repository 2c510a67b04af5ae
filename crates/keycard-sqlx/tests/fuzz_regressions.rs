//! Replays `fuzz/regressions/sql_record/`: every input a fuzz run crashed on (kept after the fix) and the seeds, through the
//! same check the fuzz target runs (`keycard_sqlx::__fuzz`).

#[test]
fn sql_record_regressions() {
    keycard::__fuzz::replay(
        env!("CARGO_MANIFEST_DIR"),
        "sql_record",
        keycard_sqlx::__fuzz::sql_record,
    );
}
