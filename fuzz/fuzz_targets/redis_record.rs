//! Fuzz target `redis_record`: the Redis store's blob decoder and session reply parser. The properties are in `keycard_redis::__fuzz::redis_record`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keycard_redis::__fuzz::redis_record(data));
