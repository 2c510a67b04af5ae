//! What the `put_user_job` and `reload_user` examples share: a user with a plan, an in-memory users
//! table holding one demo user, sign-in, sign-out and profile routes, and start-up. (`minimal.rs` is
//! the same, spelled out in one file.)

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use keycard::password::{PasswordError, PasswordHasher, Verified};
use keycard::CachedUser;
use keycard_axum::{Auth, AuthError, CurrentUser};
use tokio::sync::RwLock;

/// The demo user's email and password.
pub const DEMO_EMAIL: &str = "alice@example.com";
pub const DEMO_PASSWORD: &str = "correct horse battery staple";

/// The user as the session cache keeps it (never with its password hash).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub id: u64,
    pub email: String,
    pub plan: String,
    /// Bumped on every change, so the cache never replaces a newer copy with an older one.
    pub version: u64,
}

impl CachedUser for User {
    fn user_key(&self) -> String {
        self.id.to_string()
    }

    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

/// The users table: id -> (user, password hash).
#[derive(Clone)]
pub struct Db(Arc<RwLock<HashMap<u64, (User, String)>>>);

impl Db {
    /// A table with user 1, `DEMO_EMAIL` / `DEMO_PASSWORD`, on the free plan.
    pub async fn with_demo_user(hasher: &PasswordHasher) -> Result<Db, PasswordError> {
        let user = User {
            id: 1,
            email: DEMO_EMAIL.into(),
            plan: "free".into(),
            version: 1,
        };
        let hash = hasher.hash(DEMO_PASSWORD).await?;
        Ok(Db(Arc::new(RwLock::new(HashMap::from([(
            1,
            (user, hash),
        )])))))
    }

    /// `SELECT … WHERE id = $1`.
    pub async fn get(&self, id: u64) -> Option<User> {
        self.0.read().await.get(&id).map(|(user, _)| user.clone())
    }

    /// `UPDATE users SET plan = $2, version = version + 1 WHERE id = $1 RETURNING …`.
    pub async fn set_plan(&self, id: u64, plan: &str) -> Option<User> {
        let mut rows = self.0.write().await;
        let (user, _) = rows.get_mut(&id)?;
        user.plan = plan.into();
        user.version += 1;
        Some(user.clone())
    }

    async fn find_by_email(&self, email: &str) -> Option<(User, String)> {
        self.0
            .read()
            .await
            .values()
            .find(|(u, _)| u.email == email)
            .cloned()
    }
}

/// A plan change, as a form: `user_id=1&plan=pro`.
#[derive(serde::Deserialize)]
pub struct PlanChange {
    pub user_id: u64,
    pub plan: String,
}

#[derive(serde::Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

/// `POST /session`, `POST /session/delete`, `GET /profile`, for any router state that holds a `Db` and a
/// `PasswordHasher`.
pub fn session_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Db: FromRef<S>,
    PasswordHasher: FromRef<S>,
{
    Router::new()
        .route("/session", post(sign_in))
        .route("/session/delete", post(sign_out))
        .route("/profile", get(profile))
}

async fn sign_in(
    State(db): State<Db>,
    State(hasher): State<PasswordHasher>,
    auth: Auth<User>,
    Form(form): Form<Credentials>,
) -> Result<Response, AuthError> {
    let found = db.find_by_email(&form.email).await;
    let stored = found.as_ref().map(|(_, hash)| hash.as_str());
    match (found.as_ref(), hasher.verify(&form.password, stored).await?) {
        (Some((user, _)), Verified::Valid { .. }) => {
            auth.create(user.clone()).await?;
            Ok(format!("signed in as {}\n", user.email).into_response())
        }
        _ => Ok((StatusCode::UNAUTHORIZED, "wrong email or password\n").into_response()),
    }
}

async fn sign_out(auth: Auth<User>) -> Result<&'static str, AuthError> {
    auth.delete().await?;
    Ok("signed out\n")
}

/// The cached user.
async fn profile(user: CurrentUser<User>) -> String {
    format!("{} is on the {} plan\n", user.email, user.plan)
}

/// `SECRET_KEY`, or a message that says what to do.
pub fn secret_key() -> Result<String, String> {
    let generate = "generate one with `openssl rand -base64 64 | tr -d '\\n'`";
    match std::env::var("SECRET_KEY") {
        Ok(key) if key.len() >= keycard::token::MIN_SECRET_LEN => Ok(key),
        Ok(key) => Err(format!(
            "SECRET_KEY is {} bytes long, it needs at least {}: {generate}",
            key.len(),
            keycard::token::MIN_SECRET_LEN
        )),
        Err(_) => Err(format!("SECRET_KEY is not set: {generate}")),
    }
}

/// Serve `app` on `ADDR` (default `127.0.0.1:3000`) with connect info.
pub async fn serve(app: Router) -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

/// Log to stderr, run `app`, print its error plainly.
pub async fn main(
    app: impl std::future::Future<Output = Result<(), Box<dyn std::error::Error>>>,
) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,keycard=debug,keycard_axum=debug".into()),
        )
        .init();
    match app.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
