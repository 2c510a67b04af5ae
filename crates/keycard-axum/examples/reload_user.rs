//! `ReloadUser` on one route: `/pro` decides on the database's copy of the user, `/profile` shows the
//! cached one (the guide's `plug :reload_user` in one controller).
//!
//! An admin changes alice's plan in the database only. The cached copy keeps the old plan (nothing
//! told the cache), so `/profile` still says "free"; `/pro` reloads the row through a `UserLoader`
//! for that one request and lets her in.
//!
//! ```sh
//! export SECRET_KEY="$(openssl rand -base64 64 | tr -d '\n')"
//! cargo run --example reload_user
//! ```
//!
//! ```sh
//! curl -s -c jar -b jar -d email=alice@example.com -d 'password=correct horse battery staple' http://127.0.0.1:3000/session
//! # signed in as alice@example.com
//! curl -s -c jar -b jar http://127.0.0.1:3000/pro
//! # upgrade first: the database says free
//! curl -s -d user_id=1 -d plan=pro http://127.0.0.1:3000/admin/plan
//! # saved in the database only
//! curl -s -c jar -b jar http://127.0.0.1:3000/profile
//! # alice@example.com is on the free plan
//! curl -s -c jar -b jar http://127.0.0.1:3000/pro
//! # welcome to pro
//! ```

mod common;

use std::process::ExitCode;
use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Form;
use keycard::password::PasswordHasher;
use keycard::{CredentialsCache, MemoryStore};
use keycard_axum::{BoxError, CookieConfig, CurrentUser, ReloadUser, SessionLayer, UserLoader};

use common::{Db, PlanChange, User};

#[derive(Clone, FromRef)]
struct App {
    db: Db,
    hasher: PasswordHasher,
}

/// The guide's `Repo.get!`: how `ReloadUser` reads the true value.
impl UserLoader<User> for Db {
    async fn load(&self, cached: &User) -> Result<Option<User>, BoxError> {
        Ok(self.get(cached.id).await) // `None`: the user is gone, the session ends
    }
}

/// Behind `ReloadUser`: `user` is the database's copy, for this request only.
async fn pro(user: CurrentUser<User>) -> (StatusCode, String) {
    if user.plan == "pro" {
        (StatusCode::OK, "welcome to pro\n".into())
    } else {
        let msg = format!("upgrade first: the database says {}\n", user.plan);
        (StatusCode::FORBIDDEN, msg)
    }
}

/// An admin tool (unprotected here: it stands in for your back office or a SQL console). It writes the
/// database and nothing else.
async fn admin_set_plan(
    State(db): State<Db>,
    Form(change): Form<PlanChange>,
) -> (StatusCode, &'static str) {
    match db.set_plan(change.user_id, &change.plan).await {
        Some(_) => (StatusCode::OK, "saved in the database only\n"),
        None => (StatusCode::NOT_FOUND, "no such user\n"),
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let cache: CredentialsCache<User> = CredentialsCache::builder(MemoryStore::new())
        .secret(common::secret_key()?)
        .build()?;
    let _sweeper = cache.spawn_sweeper(Duration::from_secs(60));
    let hasher = PasswordHasher::new();
    let db = Db::with_demo_user(&hasher).await?;

    let app = common::session_routes()
        .route("/pro", get(pro).route_layer(ReloadUser::new(db.clone())))
        .route("/admin/plan", post(admin_set_plan))
        .with_state(App { db, hasher })
        // Outermost: it runs before ReloadUser. Plain http on 127.0.0.1: the named opt-out from the
        // secure default cookie.
        .layer(SessionLayer::new(cache).with_config(CookieConfig::insecure_for_localhost()));
    common::serve(app).await
}

#[tokio::main]
async fn main() -> ExitCode {
    common::main(run()).await
}
