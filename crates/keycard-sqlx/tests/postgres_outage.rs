//! Fail closed on PostgreSQL: with the database stopped or hung, every call is an error (a 503 at the
//! HTTP layer), never "signed in" and never "signed out"; when it is back, the same cookie works again
//! without restarting anything. Runs against a PostgreSQL server of the test's own.

use std::time::{Duration, Instant};

use keycard::{CachedUser, CredentialsCache, PutOutcome, SessionMetadata};
use keycard_sqlx::{PostgresStore, SqlConfig};
use keycard_store_tests::services::OwnPostgres;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct User {
    id: u32,
    plan: String,
}

impl CachedUser for User {
    fn user_key(&self) -> String {
        self.id.to_string()
    }
}

/// Fetch until the store answers again (the pool reconnects by itself), for at most 60 s.
async fn until_back(cache: &CredentialsCache<User>, cookie: &str, what: &str) -> User {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match cache.fetch(cookie).await {
            Ok(Some(a)) => return (*a.user).clone(),
            Ok(None) => panic!("{what}: the session is gone after the database came back"),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{what}: the store did not recover within 60 s: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_or_hung_database_is_an_error_never_a_sign_in_or_out_and_recovers_by_itself() {
    let Some(pg) = OwnPostgres::start_or_skip("postgres_outage") else {
        return;
    };
    let config = SqlConfig::default().with_operation_timeout(Duration::from_secs(1));
    let store = PostgresStore::connect_and_migrate(&pg.url(), config)
        .await
        .expect("store on the test's own server");
    let cache = CredentialsCache::<User>::builder(store)
        .secret([9u8; 64])
        .build()
        .unwrap();
    let ann = User {
        id: 1,
        plan: "pro".into(),
    };
    let signed = cache
        .create(ann.clone(), SessionMetadata::default())
        .await
        .unwrap();
    let cookie = signed.cookie.as_str().to_owned();
    assert!(cache.fetch(&cookie).await.unwrap().is_some());

    // Stopped: every primitive is an error, none is an answer.
    pg.stop();
    assert!(cache.fetch(&cookie).await.is_err(), "fetch while stopped");
    assert!(
        cache.put_user(ann.clone()).await.is_err(),
        "put_user while stopped"
    );
    assert!(
        cache.delete(&cookie).await.is_err(),
        "sign-out while stopped"
    );
    assert!(
        cache
            .create(ann.clone(), SessionMetadata::default())
            .await
            .is_err(),
        "sign-in while stopped"
    );
    assert!(cache.sessions("1").await.is_err(), "listing while stopped");
    assert!(cache.sweep().await.is_err(), "sweep while stopped");

    // Back: the same cookie works, and the failed sign-out did not happen.
    pg.resume_server().expect("restart");
    assert_eq!(until_back(&cache, &cookie, "after restart").await, ann);
    assert_eq!(
        cache.sessions("1").await.unwrap().len(),
        1,
        "the failed sign-in wrote nothing"
    );

    // Hung (every server process stopped): calls end with an error at the operation timeout.
    pg.pause();
    assert!(cache.fetch(&cookie).await.is_err(), "fetch while hung");
    let pro = User {
        id: 1,
        plan: "free".into(),
    };
    assert!(
        cache.put_user(pro.clone()).await.is_err(),
        "put_user while hung"
    );
    pg.unpause();
    assert_eq!(until_back(&cache, &cookie, "after the hang").await, ann);
    assert_eq!(
        cache.put_user(pro.clone()).await.unwrap(),
        PutOutcome::Updated
    );
    assert_eq!(until_back(&cache, &cookie, "after put_user").await, pro);
}
