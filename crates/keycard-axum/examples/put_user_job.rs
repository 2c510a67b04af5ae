//! A background job updates the cached user with `CredentialsCache::put_user`: no request, no session
//! id, just the cache (Pow's `CredentialsCache.put/3` from a background task).
//!
//! A billing webhook changes alice's plan in the database and queues her id; a job task reads the row
//! and puts it in the cache. Every session of alice sees the new plan on its next request, without
//! signing in again; a user with no live session is left alone (`PutOutcome::NotCached`).
//!
//! ```sh
//! export SECRET_KEY="$(openssl rand -base64 64 | tr -d '\n')"
//! cargo run --example put_user_job
//! ```
//!
//! ```sh
//! curl -s -c jar -b jar -d email=alice@example.com -d 'password=correct horse battery staple' http://127.0.0.1:3000/session
//! # signed in as alice@example.com
//! curl -s -c jar -b jar http://127.0.0.1:3000/profile
//! # alice@example.com is on the free plan
//! curl -s -d user_id=1 -d plan=pro http://127.0.0.1:3000/webhooks/billing
//! # saved; the cached user follows in the background
//! sleep 1
//! curl -s -c jar -b jar http://127.0.0.1:3000/profile
//! # alice@example.com is on the pro plan
//! ```

mod common;

use std::process::ExitCode;
use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Form;
use keycard::password::PasswordHasher;
use keycard::{CredentialsCache, MemoryStore};
use keycard_axum::{CookieConfig, SessionLayer};
use tokio::sync::mpsc;

use common::{Db, PlanChange, User};

#[derive(Clone, FromRef)]
struct App {
    db: Db,
    hasher: PasswordHasher,
    changed: mpsc::Sender<u64>,
}

/// A payment provider's webhook (check its signature in a real app): the database changes now, the
/// cache in the background.
async fn billing_webhook(
    State(app): State<App>,
    Form(change): Form<PlanChange>,
) -> (StatusCode, &'static str) {
    if app
        .db
        .set_plan(change.user_id, &change.plan)
        .await
        .is_none()
    {
        return (StatusCode::NOT_FOUND, "no such user\n");
    }
    match app.changed.send(change.user_id).await {
        Ok(()) => (
            StatusCode::OK,
            "saved; the cached user follows in the background\n",
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the cache job is not running\n",
        ),
    }
}

/// The job: holds only the cache and the database. In a real app a queue consumer, a `LISTEN`/`NOTIFY`
/// listener or a timer over "rows changed since".
async fn cache_job(cache: CredentialsCache<User>, db: Db, mut changed: mpsc::Receiver<u64>) {
    while let Some(id) = changed.recv().await {
        let Some(user) = db.get(id).await else {
            continue;
        };
        match cache.put_user(user).await {
            Ok(outcome) => tracing::info!(user_id = id, ?outcome, "put_user"),
            Err(e) => {
                tracing::warn!(user_id = id, error = %e, "put_user failed; a real job retries")
            }
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let cache: CredentialsCache<User> = CredentialsCache::builder(MemoryStore::new())
        .secret(common::secret_key()?)
        .build()?;
    let _sweeper = cache.spawn_sweeper(Duration::from_secs(60));
    let hasher = PasswordHasher::new();
    let db = Db::with_demo_user(&hasher).await?;
    let (changed, queue) = mpsc::channel(1024);
    tokio::spawn(cache_job(cache.clone(), db.clone(), queue));

    let app = common::session_routes()
        .route("/webhooks/billing", post(billing_webhook))
        .with_state(App {
            db,
            hasher,
            changed,
        })
        // Plain http on 127.0.0.1: the named opt-out from the secure default cookie.
        .layer(SessionLayer::new(cache).with_config(CookieConfig::insecure_for_localhost()));
    common::serve(app).await
}

#[tokio::main]
async fn main() -> ExitCode {
    common::main(run()).await
}
