//! The sweep's user pass on both dialects. A user goes with its last session in the sweep's own batches
//! (the store kit pins that); a user record left without any session some other way (here: its sessions
//! deleted by hand, as a sweep of an older version cut short between its phases would leave it) is found
//! by the window pass, one window of `sweep_batch` users per sweep in key order, and is gone once the
//! windows have gone round; users with a session are never touched.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use keycard::{CachedUser, CredentialsCache, ManualClock, SessionMetadata, Store};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct User {
    id: u32,
}

impl CachedUser for User {
    fn user_key(&self) -> String {
        self.id.to_string()
    }
}

type Sql = Box<dyn Fn(String) -> Pin<Box<dyn Future<Output = i64> + Send>> + Send + Sync>;

/// `exec` runs a statement (`{p}`: the table prefix) and answers the rows it changed, or the first
/// column of its first row for a `SELECT`.
async fn orphans_go_one_window_per_sweep(name: &str, store: Arc<dyn Store<User>>, exec: Sql) {
    let clock = ManualClock::starting_now();
    let cache = CredentialsCache::<User>::builder_arc(store)
        .secret([5u8; 64])
        .clock(clock.clone())
        .build()
        .unwrap();
    // User 9 signs in 20 minutes before the others: its session is past its idle deadline (30 minutes)
    // when the first sweep runs, 11 minutes after theirs.
    cache
        .create(User { id: 9 }, SessionMetadata::default())
        .await
        .unwrap();
    clock.advance(Duration::from_secs(20 * 60));
    let mut cookies = Vec::new();
    for id in 1..=7 {
        let s = cache
            .create(User { id }, SessionMetadata::default())
            .await
            .unwrap();
        cookies.push((id, s.cookie.as_str().to_owned()));
    }
    // Users 2, 5 and 6 lose their sessions behind the store's back: their records stay.
    let n = exec("DELETE FROM {p}sessions WHERE user_key IN ('2', '5', '6')".into()).await;
    assert_eq!(n, 3, "{name}");
    let users = || exec("SELECT COUNT(*) FROM {p}users".into());
    assert_eq!(users().await, 8, "{name}: the orphans are still there");
    clock.advance(Duration::from_secs(11 * 60));

    // Batches of 3. User 9 goes with its session, in the sweep's batch (no window holds it yet); the
    // windows are 1-3, 4-6, 7 (then round again).
    let stats = cache.sweep().await.unwrap();
    assert_eq!(
        (stats.sessions, stats.users),
        (1, 2),
        "{name}: user 9, and the one orphan of the first window (users 1-3): {stats:?}"
    );
    assert_eq!(users().await, 6, "{name}");
    let stats = cache.sweep().await.unwrap();
    assert_eq!(
        stats.users, 2,
        "{name}: the second window (4-6) holds two: {stats:?}"
    );
    let stats = cache.sweep().await.unwrap();
    assert_eq!(stats.users, 0, "{name}: the last window (7): {stats:?}");
    let stats = cache.sweep().await.unwrap();
    assert_eq!(stats.users, 0, "{name}: round again: {stats:?}");
    assert_eq!(users().await, 4, "{name}: only the users with a session");
    for (id, cookie) in &cookies {
        let found = cache.fetch(cookie).await.unwrap();
        if [2, 5, 6].contains(id) {
            assert!(found.is_none(), "{name}: user {id}'s session was deleted");
        } else {
            let a = found.unwrap_or_else(|| panic!("{name}: user {id} signed out by a sweep"));
            assert_eq!(a.user.id, *id, "{name}");
        }
    }
}

/// Users whose only session expired sign in again while sweeps delete that session and re-check them, in
/// batches of 3 from several tasks at once: every new sign-in keeps its user record (the sweep's `DELETE`
/// re-checks that no session refers to a user, and skips the rows a sign-in holds).
async fn sign_ins_racing_sweeps_keep_their_users(name: &str, store: Arc<dyn Store<User>>) {
    const USERS: u32 = 60;
    let clock = ManualClock::starting_now();
    let cache = CredentialsCache::<User>::builder_arc(store)
        .secret([6u8; 64])
        .clock(clock.clone())
        .build()
        .unwrap();
    for id in 1..=USERS {
        cache
            .create(User { id }, SessionMetadata::default())
            .await
            .unwrap();
    }
    clock.advance(Duration::from_secs(31 * 60)); // every session is past its idle deadline
    let sweeper = {
        let cache = cache.clone();
        tokio::spawn(async move {
            let mut swept = 0;
            for _ in 0..4 {
                swept += cache.sweep().await.unwrap().sessions;
                tokio::task::yield_now().await;
            }
            swept
        })
    };
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..4 {
        let cache = cache.clone();
        tasks.spawn(async move {
            let mut cookies = Vec::new();
            for id in (1..=USERS).filter(|id| id % 4 == t) {
                let s = cache
                    .create(User { id }, SessionMetadata::default())
                    .await
                    .unwrap();
                cookies.push((id, s.cookie.as_str().to_owned()));
            }
            cookies
        });
    }
    let cookies: Vec<(u32, String)> = tasks.join_all().await.into_iter().flatten().collect();
    // A sign-in may delete its user's expired session itself (the session cap's listing prunes dead
    // rows), so the sweeps take the rest.
    let swept = sweeper.await.unwrap();
    assert!(swept <= USERS as usize, "{name}: {swept} swept");
    let stats = cache.sweep().await.unwrap();
    assert_eq!((stats.sessions, stats.users), (0, 0), "{name}: {stats:?}");
    for (id, cookie) in &cookies {
        let a = cache.fetch(cookie).await.unwrap();
        let a = a.unwrap_or_else(|| panic!("{name}: user {id}'s new session lost its user"));
        assert_eq!(a.user.id, *id, "{name}");
    }
}

/// A [`Sql`] runner on `$store`'s pool (SQLite's or PostgreSQL's: the pools are different types), with
/// `{p}` replaced by its table prefix: a `SELECT` answers its one integer, anything else its row count.
macro_rules! sql_on {
    ($store:expr) => {{
        let pool = $store.pool().clone();
        let prefix = $store.config().table_prefix().to_owned();
        let exec: Sql = Box::new(move |sql| {
            let (pool, sql) = (pool.clone(), sql.replace("{p}", &prefix));
            Box::pin(async move {
                if sql.starts_with("SELECT") {
                    sqlx::query_scalar::<_, i64>(&sql)
                        .fetch_one(&pool)
                        .await
                        .unwrap()
                } else {
                    sqlx::query(&sql)
                        .execute(&pool)
                        .await
                        .unwrap()
                        .rows_affected() as i64
                }
            })
        });
        exec
    }};
}

fn config() -> keycard_sqlx::SqlConfig {
    common::test_config().with_sweep_batch(3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_orphan_users_go_one_window_per_sweep() {
    let store = common::sqlite_store_with("sweep_users", config()).await;
    let exec = sql_on!(store);
    orphans_go_one_window_per_sweep("sqlite", Arc::new(store), exec).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_orphan_users_go_one_window_per_sweep() {
    let Some(store) = common::postgres_store_with("sweep_users", config()).await else {
        return;
    };
    let exec = sql_on!(store);
    orphans_go_one_window_per_sweep("postgres", Arc::new(store), exec).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sign_ins_racing_sweeps_keep_their_users() {
    let store = common::sqlite_store_with("sweep_race", config()).await;
    sign_ins_racing_sweeps_keep_their_users("sqlite", Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sign_ins_racing_sweeps_keep_their_users() {
    let Some(store) = common::postgres_store_with("sweep_race", config()).await else {
        return;
    };
    sign_ins_racing_sweeps_keep_their_users("postgres", Arc::new(store)).await;
}
