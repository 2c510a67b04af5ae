//! Replays `fuzz/regressions/redis_record/`: every input a fuzz run crashed on (kept after the fix) and the seeds, through the
//! same check the fuzz target runs (`keycard_redis::__fuzz`).

#[test]
fn redis_record_regressions() {
    keycard::__fuzz::replay(
        env!("CARGO_MANIFEST_DIR"),
        "redis_record",
        keycard_redis::__fuzz::redis_record,
    );
}
