//! A minimal keycard app: sign up, sign in with a password check, a profile, sign out; every
//! state-changing request CSRF-checked, security headers on every response.
//!
//! Users live in a `HashMap` (your users table in a real app); sessions in keycard's `MemoryStore`.
//! Start it from the repository root:
//!
//! ```sh
//! export SECRET_KEY="$(openssl rand -base64 64 | tr -d '\n')"
//! cargo run --example minimal
//! ```
//!
//! Then, from another terminal (`jar` is curl's cookie jar, `token` the CSRF token the app hands out at
//! `/csrf`; each `#` line is the answer):
//!
//! ```sh
//! curl -s -c jar -b jar http://127.0.0.1:3000/profile
//! # not signed in
//! curl -s -c jar -b jar -o token http://127.0.0.1:3000/csrf
//! curl -s -c jar -b jar -H "X-CSRF-Token: $(cat token)" -d email=alice@example.com -d password=12345678 http://127.0.0.1:3000/registration
//! # this password is on a list of common or breached passwords; choose another
//! curl -s -c jar -b jar -H "X-CSRF-Token: $(cat token)" -d email=alice@example.com -d 'password=correct horse battery staple' http://127.0.0.1:3000/registration
//! # signed up and signed in as alice@example.com
//! curl -s -c jar -b jar http://127.0.0.1:3000/profile
//! # alice@example.com (user 1)
//! curl -s -c jar -b jar -X POST http://127.0.0.1:3000/session/delete
//! # the form's security token is missing; reload the page and try again
//! curl -s -c jar -b jar -o token http://127.0.0.1:3000/csrf
//! curl -s -c jar -b jar -H "X-CSRF-Token: $(cat token)" -H 'Origin: https://evil.example' -X POST http://127.0.0.1:3000/session/delete
//! # this request came from another site and was refused
//! curl -s -c jar -b jar -H "X-CSRF-Token: $(cat token)" -X POST http://127.0.0.1:3000/session/delete
//! # signed out
//! curl -s -c jar -b jar -o token http://127.0.0.1:3000/csrf
//! curl -s -c jar -b jar -H "X-CSRF-Token: $(cat token)" -d email=alice@example.com -d password=wrong http://127.0.0.1:3000/session
//! # wrong email or password
//! curl -s -c jar -b jar -H "X-CSRF-Token: $(cat token)" -d email=alice@example.com -d 'password=correct horse battery staple' http://127.0.0.1:3000/session
//! # signed in as alice@example.com
//! curl -s -c jar -b jar http://127.0.0.1:3000/profile
//! # alice@example.com (user 1)
//! ```
//!
//! The CSRF token is bound to the session once signed in (and to an anonymous CSRF cookie before), so
//! a sign-in or sign-out means fetching a new one. An HTML app puts it in a hidden `_csrf_token` field
//! instead of the header. A real app also throttles sign-ins.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use keycard::password::{PasswordHasher, PasswordPolicy, Verified};
use keycard::{CachedUser, CredentialsCache, MemoryStore};
use keycard_axum::{
    Auth, AuthError, CookieConfig, CsrfConfig, CsrfLayer, CsrfToken, CurrentUser, SecurityHeaders,
    SessionLayer,
};
use tokio::sync::RwLock;

/// The user as the session cache keeps it. Never put the password hash in here.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct User {
    id: u64,
    email: String,
}

impl CachedUser for User {
    fn user_key(&self) -> String {
        self.id.to_string()
    }
}

/// The users table: email -> (user, password hash).
type Users = Arc<RwLock<HashMap<String, (User, String)>>>;

#[derive(Clone)]
struct App {
    users: Users,
    hasher: PasswordHasher,
}

#[derive(serde::Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

async fn sign_up(
    State(app): State<App>,
    auth: Auth<User>,
    Form(form): Form<Credentials>,
) -> Result<Response, AuthError> {
    // Short, common and breached passwords, and the email itself, are refused before the (slow) hash.
    if let Err(rejected) = PasswordPolicy::new().check_for_user(&form.password, &[&form.email]) {
        let msg = format!("{rejected}\n"); // e.g. "use at least 8 characters"
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, msg).into_response());
    }
    let hash = app.hasher.hash(&form.password).await?; // argon2id, off the async threads
    let user = {
        let mut users = app.users.write().await;
        if users.contains_key(&form.email) {
            let msg = "that email is taken\n";
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, msg).into_response());
        }
        let user = User {
            id: users.len() as u64 + 1,
            email: form.email.clone(),
        };
        users.insert(form.email, (user.clone(), hash));
        user
    };
    auth.create(user.clone()).await?; // sign in: new session, Set-Cookie on the response
    Ok(format!("signed up and signed in as {}\n", user.email).into_response())
}

async fn sign_in(
    State(app): State<App>,
    auth: Auth<User>,
    Form(form): Form<Credentials>,
) -> Result<Response, AuthError> {
    let found = app.users.read().await.get(&form.email).cloned();
    // No such user: `verify` still does the work of a wrong password, so timing reveals nothing.
    let verified = app
        .hasher
        .verify(&form.password, found.as_ref().map(|(_, h)| h.as_str()))
        .await?;
    match (found, verified) {
        (Some((user, _)), Verified::Valid { rehash }) => {
            if let Some(new_hash) = rehash {
                // An old or weaker hash: store the upgrade now, the one time the password is at hand.
                if let Some(row) = app.users.write().await.get_mut(&user.email) {
                    row.1 = new_hash;
                }
            }
            auth.create(user.clone()).await?;
            Ok(format!("signed in as {}\n", user.email).into_response())
        }
        _ => Ok((StatusCode::UNAUTHORIZED, "wrong email or password\n").into_response()),
    }
}

async fn sign_out(auth: Auth<User>) -> Result<&'static str, AuthError> {
    auth.delete().await?; // the session dies on the server; the cookie is cleared
    Ok("signed out\n")
}

/// The CSRF token for this browser's next state-changing request (a page would put it in its forms).
async fn csrf(token: CsrfToken) -> String {
    token.to_string()
}

/// The cached user: no database query. Anonymous requests get 401 "not signed in".
async fn profile(user: CurrentUser<User>) -> String {
    format!("{} (user {})\n", user.email, user.id)
}

/// `SECRET_KEY`, or a message that says what to do.
fn secret_key() -> Result<String, String> {
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

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let secret = secret_key()?;
    let cache: CredentialsCache<User> = CredentialsCache::builder(MemoryStore::new())
        .secret(&secret)
        .build()?;
    let _sweeper = cache.spawn_sweeper(Duration::from_secs(60));

    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    // The app's own origin: state-changing requests from any other are refused. Plain http on
    // 127.0.0.1 needs the named opt-outs below; behind HTTPS drop them (the defaults are `Secure`
    // `__Host-` cookies and HSTS) and name the https origin.
    let csrf_config = CsrfConfig::new(format!("http://{local}"))
        .with_allowed_origin(format!("http://localhost:{}", local.port()))
        .insecure_for_localhost();

    let app = Router::new()
        .route("/registration", post(sign_up))
        .route("/session", post(sign_in))
        .route("/session/delete", post(sign_out))
        .route("/profile", get(profile))
        .route("/csrf", get(csrf))
        .with_state(App {
            users: Users::default(),
            hasher: PasswordHasher::new(),
        })
        // Inside the session layer: the token is bound to the session it resolves.
        .layer(CsrfLayer::<User>::new(&secret, csrf_config))
        .layer(SessionLayer::new(cache).with_config(CookieConfig::insecure_for_localhost()))
        .layer(SecurityHeaders::new().hsts(None));

    tracing::info!("listening on http://{local}");
    // Connect info lets sessions record the client address.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,keycard=debug,keycard_axum=debug".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
