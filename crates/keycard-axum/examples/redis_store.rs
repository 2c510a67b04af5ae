//! The same sign-in, profile and sign-out, with the sessions in Redis (the `keycard-redis` crate):
//! every app node pointed at the same Redis and key prefix, with the same `SECRET_KEY`, serves every
//! session, a revocation on one node is seen by all, and a restart of a node signs nobody out. (Like
//! the other short examples it leaves out CSRF protection; `minimal.rs` shows `CsrfLayer`.)
//!
//! ```sh
//! export SECRET_KEY="$(openssl rand -base64 64 | tr -d '\n')"
//! export REDIS_URL=redis://127.0.0.1:6379   # the default
//! cargo run --example redis_store
//! ```
//!
//! ```sh
//! curl -s -c jar -b jar -d email=alice@example.com -d 'password=correct horse battery staple' http://127.0.0.1:3000/session
//! # signed in as alice@example.com
//! curl -s -c jar -b jar http://127.0.0.1:3000/profile
//! # alice@example.com is on the free plan
//! curl -s -c jar -b jar http://127.0.0.1:3000/sessions
//! # 1 live session in redis under keycard-example:
//! curl -s -c jar -b jar -X POST http://127.0.0.1:3000/session/delete
//! # signed out
//! curl -s -c jar -b jar http://127.0.0.1:3000/profile
//! # not signed in
//! ```

// The plan helpers of `common` serve the other examples.
#[allow(dead_code)]
mod common;

use std::process::ExitCode;
use std::time::Duration;

use axum::extract::FromRef;
use axum::routing::get;
use keycard::password::PasswordHasher;
use keycard::CredentialsCache;
use keycard_axum::{Auth, AuthError, CookieConfig, SessionLayer};
use keycard_redis::{RedisConfig, RedisStore};

use common::{Db, User};

/// One key prefix per app sharing a Redis.
const KEY_PREFIX: &str = "keycard-example:";

#[derive(Clone, FromRef)]
struct App {
    db: Db,
    hasher: PasswordHasher,
}

/// The signed-in user's live sessions, read from Redis (every node would list the same).
async fn sessions(auth: Auth<User>) -> Result<String, AuthError> {
    let n = auth.sessions().await?.len();
    let noun = if n == 1 { "session" } else { "sessions" };
    Ok(format!("{n} live {noun} in redis under {KEY_PREFIX}\n"))
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    // One attempt, bounded; it also warns unless Redis' maxmemory-policy is `noeviction`.
    let store = RedisStore::connect(&url, RedisConfig::with_prefix(KEY_PREFIX))
        .await
        .map_err(|e| format!("cannot reach Redis at REDIS_URL={url}: {e}"))?;
    let cache: CredentialsCache<User> = CredentialsCache::builder(store)
        .secret(common::secret_key()?)
        .build()?;
    // Redis expires keys by itself; the sweeper only removes users whose last session ended.
    let _sweeper = cache.spawn_sweeper(Duration::from_secs(60));
    let hasher = PasswordHasher::new();
    let db = Db::with_demo_user(&hasher).await?;

    let app = common::session_routes()
        .route("/sessions", get(sessions))
        .with_state(App { db, hasher })
        // Plain http on 127.0.0.1: the named opt-out from the secure default cookie.
        .layer(SessionLayer::new(cache).with_config(CookieConfig::insecure_for_localhost()));
    common::serve(app).await
}

#[tokio::main]
async fn main() -> ExitCode {
    common::main(run()).await
}
