//! What each primitive costs in statements, read from sqlx's own statement log (`sqlx::query` events) and,
//! for SQLite's reads on the store's own connections (`keycard_sqlx::sqlite_read`), its read counter: a
//! signed-in request's `fetch` is one `SELECT` when no renewal is due, a renewal adds one `UPDATE`,
//! `put_user` is one `UPDATE`, and a sweep deletes in batches of the configured size.
//!
//! One test per binary on purpose: the capture is process-wide (sqlx's SQLite driver runs statements on
//! its own worker threads), so nothing else may run statements at the same time.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keycard::{
    CachedUser, CredentialsCache, ManualClock, Policy, PutOutcome, SessionMetadata, Store,
};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::Layer;

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

/// Every statement sqlx ran: its first word (`SELECT`, `UPDATE`, `WITH`, …) and the rows it changed.
#[derive(Clone, Default)]
struct Statements(Arc<Mutex<Vec<(String, u64)>>>);

impl Statements {
    /// The first words of the statements run since the last call.
    fn take(&self) -> Vec<String> {
        self.take_counted().into_iter().map(|(w, _)| w).collect()
    }

    /// The statements run since the last call, with the rows each changed.
    fn take_counted(&self) -> Vec<(String, u64)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct FirstWord<'a>(&'a mut Option<String>, &'a mut u64);

impl Visit for FirstWord<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "rows_affected" {
            *self.1 = value;
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        // `summary` starts with the statement's first words (`db.statement` is empty for short ones).
        if field.name() == "summary" {
            let word = value.split_whitespace().next().unwrap_or("").to_uppercase();
            *self.0 = Some(word);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            let (mut word, mut rows) = (None, 0);
            event.record(&mut FirstWord(&mut word, &mut rows));
            if let Some(w) = word {
                self.0.lock().unwrap().push((w, rows));
            }
        }
    }
}

fn policy() -> Policy {
    Policy::default()
        .with_idle_ttl(Duration::from_secs(600))
        .with_renewal_interval(Duration::from_secs(120))
        .with_grace(Duration::from_secs(10))
        .with_absolute_ttl(Duration::from_secs(1800))
}

/// `reads` counts the reads a store makes outside sqlx (SQLite's own read connections), `None` if none.
async fn check(
    name: &str,
    store: Arc<dyn Store<User>>,
    log: &Statements,
    reads: impl Fn() -> Option<u64>,
) {
    let clock = ManualClock::starting_now();
    let cache = CredentialsCache::builder_arc(store)
        .secret([3u8; 64])
        .policy(policy())
        .clock(clock.clone())
        .build()
        .unwrap();
    let ann = User {
        id: 1,
        plan: "pro".into(),
    };
    let s = cache
        .create(ann.clone(), SessionMetadata::default())
        .await
        .unwrap();
    let cookie = s.cookie.as_str().to_owned();

    // Warm the pool first: opening a connection runs its own set-up statements (PRAGMAs, SETs) once.
    assert!(cache.fetch(&cookie).await.unwrap().is_some());
    log.take();
    // The statements run since the last call: sqlx's log, with the reads on the store's own connections
    // (checked to be exactly one more) first.
    let ran = |before: Option<u64>| {
        let mut words = log.take();
        match (before, reads()) {
            (Some(b), Some(a)) => {
                assert_eq!(a - b, 1, "{name}: one read on the store's own connections");
                words.insert(0, "SELECT (own connection)".to_owned());
            }
            (None, None) => {}
            other => panic!("{name}: reads outside sqlx appeared or vanished: {other:?}"),
        }
        words
    };
    let select = if reads().is_some() {
        "SELECT (own connection)"
    } else {
        "SELECT"
    };
    let before = reads();
    assert!(cache.fetch(&cookie).await.unwrap().is_some());
    assert_eq!(ran(before), [select], "{name}: a fetch with no renewal due");

    clock.advance(Duration::from_secs(120));
    let before = reads();
    let renewed = cache.fetch(&cookie).await.unwrap().unwrap();
    assert!(renewed.renewed.is_some());
    assert_eq!(
        ran(before),
        [select, "UPDATE"],
        "{name}: a fetch that renews"
    );

    assert_eq!(
        cache
            .put_user(User {
                id: 1,
                plan: "free".into()
            })
            .await
            .unwrap(),
        PutOutcome::Updated
    );
    assert_eq!(log.take(), ["UPDATE"], "{name}: put_user");

    // 25 sessions expire; batches of 10: three batches of sessions (10, 10, 5), one of replaced tokens
    // (none left), and one `DELETE` of users (1: ann goes with her last session, in the third batch; the
    // first two lock no user, so they delete none). No user is left for the window pass. No sweep
    // statement changes more rows than the batch.
    for _ in 0..24 {
        cache
            .create(ann.clone(), SessionMetadata::default())
            .await
            .unwrap();
    }
    clock.advance(Duration::from_secs(3600));
    log.take();
    let stats = cache.sweep().await.unwrap();
    assert_eq!((stats.sessions, stats.users), (25, 1), "{name}: {stats:?}");
    let mut batches: Vec<u64> = log
        .take_counted()
        .into_iter()
        .filter(|(w, _)| w == "WITH" || w == "DELETE")
        .map(|(_, rows)| rows)
        .collect();
    batches.sort();
    assert_eq!(
        batches,
        [0, 1, 5, 10, 10],
        "{name}: rows changed per sweep statement"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_is_one_statement_and_sweeps_run_in_batches() {
    let log = Statements::default();
    let subscriber = tracing_subscriber::registry().with(
        log.clone().with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("sqlx::query", tracing::Level::TRACE),
        ),
    );
    tracing::subscriber::set_global_default(subscriber).unwrap();

    // One connection per pool, so connection set-up (PRAGMAs, SETs) runs once, before the warm-up fetch.
    let config = || {
        common::test_config()
            .with_sweep_batch(10)
            .with_max_connections(1)
    };
    let sqlite = Arc::new(common::sqlite_store_with("statements", config()).await);
    let reader = sqlite.clone();
    check("sqlite", sqlite.clone(), &log, move || reader.fast_reads()).await;
    assert!(
        sqlite.fast_reads().is_some_and(|n| n > 0),
        "a store over a SQLite file reads on its own connections"
    );

    if let Some(pg) = common::postgres_store_with("statements on postgres", config()).await {
        check("postgres", Arc::new(pg), &log, || None).await;
    }
}
