//! Fail closed with a near cache: a node whose database stops or hangs stops answering from memory (the
//! listener's connection drops, or its pings stop coming back and the lease runs out) and every request
//! is an error, never "signed in" from a cache the database can no longer vouch for; when the database
//! is back, the same cookie works and hot fetches are answered from memory again. Runs against a
//! PostgreSQL server of the test's own. No timed assertion: how long each took is printed. The waits
//! are the test kit's (`keycard_store_tests::near::outage`), shared with the Redis store's outage test.

use std::time::Duration;

use keycard::store::near::NearConfig;
use keycard::SessionMetadata;
use keycard_sqlx::{PostgresStore, SqlConfig};
use keycard_store_tests::near::outage::{
    cache_over_confirmed, fails_closed, until_served_from_memory,
};
use keycard_store_tests::services::OwnPostgres;
use keycard_store_tests::{user, TestUser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_near_cache_stops_answering_from_memory_when_its_database_stops_or_hangs() {
    let Some(pg) = OwnPostgres::start_or_skip("postgres_near_outage") else {
        return;
    };
    let config = SqlConfig::default()
        .with_operation_timeout(Duration::from_secs(1))
        .with_notify(true);
    let store = PostgresStore::connect_and_migrate(&pg.url(), config)
        .await
        .expect("store on the test's own server");
    let near =
        store.near_cache::<TestUser>(NearConfig::default().with_lease(Duration::from_secs(1)));
    let cache = cache_over_confirmed(&near).await;
    let signed = cache
        .create(user(1, "ann"), SessionMetadata::default())
        .await
        .unwrap();
    let cookie = signed.cookie.as_str().to_owned();
    until_served_from_memory(&near, &cache, &cookie).await;

    pg.stop();
    let stopped = "near_outage: stopped database";
    fails_closed(
        &near,
        &cache,
        &cookie,
        stopped,
        "still an error while stopped",
    )
    .await;

    pg.resume_server().expect("restart");
    until_served_from_memory(&near, &cache, &cookie).await;

    pg.pause();
    let hung = "near_outage: hung (lease 1 s) database";
    fails_closed(&near, &cache, &cookie, hung, "still an error while hung").await;
    pg.unpause();
    until_served_from_memory(&near, &cache, &cookie).await;
}
