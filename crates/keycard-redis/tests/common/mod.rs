//! Helpers shared by the Redis store's test binaries: a store on the shared Redis with a fresh prefix,
//! test-side inspection of keys and TTLs, and a `tracing` capture.
//!
//! Redis: `KEYCARD_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`). When it cannot be reached, every
//! test that needs it skips by the test kit's rule (`SKIPPED: <test>: <reason>`, or a failure under
//! `KEYCARD_REQUIRE_SERVICES=1`). Tests isolate themselves with a unique key prefix, so they run in
//! parallel (and next to other users of the same Redis); every key they write expires by itself within
//! the test policy's lifetimes.
#![allow(dead_code)]

use std::time::Duration;

use keycard::{CredentialsCache, ManualClock};
use keycard_redis::{RedisConfig, RedisStore};
use keycard_store_tests::fixtures::{test_policy, SECRET};
use keycard_store_tests::services::{redact, redis_reachable, redis_url, unique_prefix};
use keycard_store_tests::TestUser;

/// A store on the shared Redis with a fresh prefix, or why Redis cannot be reached.
///
/// Only reachability decides a skip: once Redis answers, a store that fails to connect (a script that does
/// not load, say) panics, failing the test.
pub async fn shared_store(test: &'static str) -> Result<RedisStore, String> {
    let url = redis_url();
    if let Err(e) = redis_reachable(&url).await {
        return Err(format!(
            "Redis not reachable at {} ({e}); set KEYCARD_TEST_REDIS_URL",
            redact(&url)
        ));
    }
    // Generous: the suite runs many tests in parallel on a small, busy machine. The timeout itself is
    // tested with its default-sized value.
    let config =
        RedisConfig::with_prefix(unique_prefix(test)).response_timeout(Duration::from_secs(10));
    Ok(RedisStore::connect(&url, config).await.unwrap_or_else(|e| {
        panic!("{test}: redis answers PING at {url} but the store cannot connect: {e}")
    }))
}

/// A plain connection to `url` for test-side inspection (never the store's own connection).
pub async fn admin(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("admin connection")
}

/// Every key under `prefix` with its remaining lifetime (test-only `SCAN`).
pub async fn keys_with_ttl(url: &str, prefix: &str) -> Vec<(String, i64)> {
    let mut c = admin(url).await;
    let mut cursor = 0u64;
    let mut keys = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut c)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let mut out = Vec::new();
    for k in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&k)
            .query_async(&mut c)
            .await
            .unwrap();
        out.push((k, ttl));
    }
    out.sort();
    out
}

pub fn ttl_of(keys: &[(String, i64)], key: &str) -> i64 {
    keys.iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no key {key} in {keys:#?}"))
        .1
}

pub fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

/// A cache over `store` with the suite's policy and secret and the given clock.
pub fn cache_over(store: RedisStore, clock: ManualClock) -> CredentialsCache<TestUser> {
    CredentialsCache::builder(store)
        .secret(SECRET)
        .policy(test_policy())
        .clock(clock)
        .build()
        .unwrap()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal `tracing` subscriber that records events, to check what the store logs.
pub mod capture {
    use std::fmt::Write as _;
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::{span, Event, Level, Metadata, Subscriber};

    #[derive(Clone, Default)]
    pub struct Capture(Arc<Mutex<Vec<(Level, String)>>>);

    impl Capture {
        /// The WARN (and worse) events so far, as `field=value` text.
        pub fn warnings(&self) -> Vec<String> {
            self.0
                .lock()
                .unwrap()
                .iter()
                .filter(|(l, _)| *l <= Level::WARN)
                .map(|(_, s)| s.clone())
                .collect()
        }

        pub fn clear(&self) {
            self.0.lock().unwrap().clear();
        }
    }

    struct Text<'a>(&'a mut String);

    impl Visit for Text<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, "{}={:?} ", field.name(), value);
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
            span::Id::from_u64(1)
        }
        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut text = String::new();
            event.record(&mut Text(&mut text));
            self.0
                .lock()
                .unwrap()
                .push((*event.metadata().level(), text));
        }
        fn enter(&self, _: &span::Id) {}
        fn exit(&self, _: &span::Id) {}
    }
}
