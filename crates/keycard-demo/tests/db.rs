//! The one migrations directory and every users query, on SQLite and on PostgreSQL, each in a fresh
//! database. PostgreSQL: `KEYCARD_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`; a
//! scratch database is created beside it and dropped). When it cannot be reached the test prints
//! `SKIPPED: …` and passes, unless `KEYCARD_REQUIRE_SERVICES=1` (see `common::services`).

use keycard::CachedUser;
use keycard_demo::domain::db::{self, Db};
use keycard_demo::domain::users::{self, CreateUserError, Key, Plan};

mod common;

async fn exercise(db: &Db) {
    let now = 1_800_000_000;
    let alice = users::create(db, "alice@example.com", "hash-a", now)
        .await
        .expect("insert");
    assert_eq!(alice.plan, Plan::Free);
    assert_eq!(alice.version, 1);
    assert_eq!(alice.id.len(), 32);
    assert!(matches!(
        users::create(db, "alice@example.com", "hash-b", now).await,
        Err(CreateUserError::EmailTaken)
    ));

    let (found, hash) = users::find_with_password_by_email(db, "alice@example.com")
        .await
        .expect("select")
        .expect("alice exists");
    assert_eq!(found, alice);
    assert_eq!(hash, "hash-a");
    assert_eq!(
        users::find(db, &alice.id).await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(users::find(db, "nope").await.unwrap(), None);

    // Two updates in the same second still order.
    let a2 = users::update_plan(db, Key::Id(&alice.id), Plan::Pro, now, 100)
        .await
        .unwrap()
        .unwrap();
    let a3 = users::update_plan(
        db,
        Key::Email("alice@example.com"),
        Plan::ProTrial,
        now,
        100,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(a3.version() > a2.version() && a2.version() > alice.version());
    assert_eq!(a3.plan_expires_at, Some(now + 100));
    assert!(
        users::update_plan(db, Key::Email("ghost@example.com"), Plan::Pro, now, 100)
            .await
            .unwrap()
            .is_none()
    );

    // The CHECK constraints hold on both databases.
    let bad_plan = sqlx::query("UPDATE users SET plan = 'gold' WHERE id = $1")
        .bind(&alice.id)
        .execute(db)
        .await;
    assert!(bad_plan.is_err(), "plan CHECK constraint");
    let trial_without_end = sqlx::query("UPDATE users SET plan_expires_at = NULL WHERE id = $1")
        .bind(&alice.id)
        .execute(db)
        .await;
    assert!(trial_without_end.is_err(), "pro-trial needs an end");

    // The plan job's query: nothing before the end, alice at the end.
    assert!(users::downgrade_expired_trials(db, now + 99)
        .await
        .unwrap()
        .is_empty());
    let down = users::downgrade_expired_trials(db, now + 100)
        .await
        .unwrap();
    assert_eq!(down.len(), 1);
    assert_eq!(down[0].plan, Plan::Free);
    assert_eq!(down[0].plan_expires_at, None);
    assert!(down[0].version > a3.version);

    assert!(users::set_password_hash(db, &alice.id, "hash-c", now)
        .await
        .unwrap());
    assert_eq!(
        users::password_hash(db, &alice.id)
            .await
            .unwrap()
            .as_deref(),
        Some("hash-c")
    );
    assert!(users::delete(db, &alice.id).await.unwrap());
    assert!(!users::set_password_hash(db, &alice.id, "x", now)
        .await
        .unwrap());
    db::ping(db).await.unwrap();
}

#[tokio::test]
async fn migrations_and_queries_work_on_sqlite() {
    let dir = common::TempDir::new("db");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("nested/users.db").display()
    );
    let db = db::connect_and_migrate(&url)
        .await
        .expect("sqlite opens and migrates");
    exercise(&db).await;
    // Migrating again is a no-op.
    db.close().await;
    let db = db::connect_and_migrate(&url).await.expect("re-open");
    db.close().await;
}

/// `DATABASE_URL=sqlite:///some/path.db`, with no `?mode=rwc`, creates the file (and its directory).
#[tokio::test]
async fn a_sqlite_url_without_mode_creates_the_missing_file() {
    let dir = common::TempDir::new("db-create");
    let path = dir.path().join("made/here.db");
    assert!(!path.exists());
    let db = db::connect_and_migrate(&format!("sqlite://{}", path.display()))
        .await
        .expect("a missing SQLite file is created");
    exercise(&db).await;
    db.close().await;
    assert!(path.is_file(), "{} was created", path.display());
}

#[tokio::test]
async fn migrations_and_queries_work_on_postgres() {
    const TEST: &str = "migrations_and_queries_work_on_postgres";
    let Some(admin_url) = common::services::postgres_or_skip(TEST).await else {
        return;
    };
    let scratch = common::services::ScratchDb::create(&admin_url, "db").await;
    let db = db::connect_and_migrate(&scratch.url)
        .await
        .expect("postgres migrates");
    exercise(&db).await;
    db.close().await;
    // Migrating again is a no-op.
    let db = db::connect_and_migrate(&scratch.url)
        .await
        .expect("re-open");
    db.close().await;
    drop(scratch);
}
