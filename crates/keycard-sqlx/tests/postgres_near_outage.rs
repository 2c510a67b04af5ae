//! Fail closed with a near cache: a node whose database stops or hangs stops answering from memory (the
//! listener's connection drops, or its pings stop coming back and the lease runs out) and every request
//! is an error, never "signed in" from a cache the database can no longer vouch for; when the database
//! is back, the same cookie works and hot fetches are answered from memory again. Runs against a
//! PostgreSQL server of the test's own. No timed assertion: how long each took is printed.

use std::time::{Duration, Instant};

use keycard::store::near::{NearCache, NearConfig};
use keycard::{CachedUser, CredentialsCache, SessionMetadata};
use keycard_sqlx::{PostgresStore, SqlConfig};
use keycard_store_tests::services::OwnPostgres;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct User {
    id: u32,
}

impl CachedUser for User {
    fn user_key(&self) -> String {
        self.id.to_string()
    }
}

const BOUND: Duration = Duration::from_secs(60);

/// Fetch until the answer is an error; every answer before it must be the signed-in user. Prints how
/// long it took and how many answers came from memory in the meantime.
async fn until_an_error(
    near: &NearCache<User, PostgresStore>,
    cache: &CredentialsCache<User>,
    cookie: &str,
    what: &str,
) {
    let start = Instant::now();
    let hits = near.stats().hits;
    loop {
        match cache.fetch(cookie).await {
            Err(_) => {
                println!(
                    "near_outage: {what} database: first error after {:?}, {} answers from memory before it",
                    start.elapsed(),
                    near.stats().hits - hits
                );
                return;
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("{what}: signed out by an outage"),
        }
        assert!(
            start.elapsed() < BOUND,
            "{what}: still answering after {BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Fetch until a hit (answered from memory) after the database came back.
async fn until_a_hit(
    near: &NearCache<User, PostgresStore>,
    cache: &CredentialsCache<User>,
    cookie: &str,
) {
    let start = Instant::now();
    loop {
        let hits = near.stats().hits;
        if let Ok(Some(_)) = cache.fetch(cookie).await {
            if near.stats().hits > hits {
                return;
            }
        }
        assert!(start.elapsed() < BOUND, "never served from memory again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

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
    let near = store.near_cache::<User>(NearConfig::default().with_lease(Duration::from_secs(1)));
    assert!(near.wait_confirmed(BOUND).await);
    let cache = CredentialsCache::<User>::builder(near.clone())
        .secret([9u8; 64])
        .build()
        .unwrap();
    let signed = cache
        .create(User { id: 1 }, SessionMetadata::default())
        .await
        .unwrap();
    let cookie = signed.cookie.as_str().to_owned();
    until_a_hit(&near, &cache, &cookie).await;

    pg.stop();
    until_an_error(&near, &cache, &cookie, "stopped").await;
    assert!(
        cache.fetch(&cookie).await.is_err(),
        "still an error while stopped"
    );

    pg.resume_server().expect("restart");
    until_a_hit(&near, &cache, &cookie).await;

    pg.pause();
    until_an_error(&near, &cache, &cookie, "hung (lease 1 s)").await;
    assert!(
        cache.fetch(&cookie).await.is_err(),
        "still an error while hung"
    );
    pg.unpause();
    until_a_hit(&near, &cache, &cookie).await;
}
