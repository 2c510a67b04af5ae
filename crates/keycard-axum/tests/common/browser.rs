//! A remembered browser against a real router with remember-me (the memory store under the test kit's
//! `SpyStore`, a manual clock): the app, its routes, and a cookie jar that behaves as a browser's. Used by
//! `tests/remember.rs` and `tests/grace.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Path;
use axum::routing::{get, post};
use axum::Router;
use http::{header, Request, StatusCode};
use keycard::remember::{MemoryRemember, RememberPolicy};
use keycard::{CredentialsCache, ManualClock, SeriesId, SessionId, Timestamp};
use keycard_axum::{
    Auth, AuthError, BoxError, CookieConfig, CurrentUser, RecentlyAuthenticated, SessionLayer,
    UserByKey,
};
use tower::ServiceExt;

use super::{set_cookies, test_store, user, TestStore, User, SECRET};

pub const SESSION: &str = "keycard_session";
pub const REMEMBER: &str = "keycard_remember";
pub const GRACE: Duration = Duration::from_secs(60);

/// The app's users table, by key; `down` makes it fail.
#[derive(Clone, Default)]
pub struct Users {
    pub rows: Arc<Mutex<HashMap<String, User>>>,
    pub down: Arc<AtomicBool>,
}

impl UserByKey<User> for Users {
    async fn load_by_key(&self, user_key: &str) -> Result<Option<User>, BoxError> {
        if self.down.load(Ordering::SeqCst) {
            return Err("database is down".into());
        }
        Ok(self.rows.lock().unwrap().get(user_key).cloned())
    }
}

async fn login(auth: Auth<User>, Path(id): Path<i64>) -> Result<&'static str, AuthError> {
    auth.create_and_remember(user(id, "free")).await?;
    Ok("remembered")
}

async fn login_plain(auth: Auth<User>, Path(id): Path<i64>) -> Result<&'static str, AuthError> {
    auth.create(user(id, "free")).await?;
    Ok("signed in")
}

async fn me(u: CurrentUser<User>) -> String {
    format!("{}:{}", u.id, u.plan)
}

async fn danger(u: RecentlyAuthenticated<User>) -> String {
    format!("danger for {}", u.id)
}

async fn logout(auth: Auth<User>) -> Result<&'static str, AuthError> {
    auth.delete().await?;
    Ok("bye")
}

async fn others(auth: Auth<User>) -> Result<String, AuthError> {
    Ok(auth.delete_other_sessions().await?.to_string())
}

async fn series(auth: Auth<User>) -> Result<String, AuthError> {
    Ok(auth
        .remembered()
        .await?
        .iter()
        .map(|s| s.series_id.to_hex())
        .collect::<Vec<_>>()
        .join(","))
}

/// The guide's `sync_user`: a plan change on the signed-in session (`Auth::create` of the changed user).
async fn sync(auth: Auth<User>, u: CurrentUser<User>) -> Result<&'static str, AuthError> {
    let mut changed = (*u.user).clone();
    changed.plan = "pro".into();
    auth.create(changed).await?;
    Ok("synced")
}

async fn reauth(auth: Auth<User>) -> Result<&'static str, AuthError> {
    auth.reauthenticate().await?;
    Ok("confirmed")
}

async fn end_session(auth: Auth<User>, Path(id): Path<String>) -> Result<String, AuthError> {
    let id = SessionId::parse(&id).ok_or(AuthError::NotSignedIn)?;
    Ok(auth.delete_session(&id).await?.to_string())
}

async fn end_series(auth: Auth<User>, Path(id): Path<String>) -> Result<String, AuthError> {
    let id = SeriesId::parse(&id).ok_or(AuthError::NotSignedIn)?;
    Ok(auth.end_series(&id).await?.to_string())
}

pub struct App {
    pub app: Router,
    pub cache: CredentialsCache<User>,
    pub store: Arc<TestStore>,
    pub clock: ManualClock,
    pub users: Users,
}

/// A browser's cookie jar: the two cookies, as the last responses set them.
#[derive(Clone, Default, Debug)]
pub struct Jar {
    pub session: Option<String>,
    pub remember: Option<String>,
}

impl Jar {
    pub fn header(&self) -> Option<String> {
        let parts: Vec<String> = [(SESSION, &self.session), (REMEMBER, &self.remember)]
            .into_iter()
            .filter_map(|(n, v)| v.as_ref().map(|v| format!("{n}={v}")))
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// Take the response's `Set-Cookie`s, as a browser does (a removal empties the slot).
    pub fn take(&mut self, res: &http::Response<Body>) {
        for c in set_cookies(res) {
            let slot = match c.name() {
                SESSION => &mut self.session,
                REMEMBER => &mut self.remember,
                other => panic!("unexpected cookie {other}"),
            };
            *slot = (c.max_age() != Some(cookie::time::Duration::ZERO)).then(|| c.value().into());
        }
    }

    /// The browser was closed: the session cookie (no Max-Age) is gone, the remember-me cookie stays.
    pub fn restart(&mut self) {
        self.session = None;
    }
}

pub fn app() -> App {
    let store = test_store();
    let clock = ManualClock::new(Timestamp(1_700_000_000_000));
    let cache = CredentialsCache::builder_arc(store.clone())
        .secret(SECRET)
        .clock(clock.clone())
        .remember(MemoryRemember::new())
        .remember_policy(RememberPolicy {
            ttl: Duration::from_secs(30 * 24 * 3600),
            grace: GRACE,
            ..RememberPolicy::default()
        })
        .build()
        .unwrap();
    let users = Users::default();
    users
        .rows
        .lock()
        .unwrap()
        .insert("7".into(), user(7, "free"));
    let app = Router::new()
        .route("/login/{id}", post(login))
        .route("/login-plain/{id}", post(login_plain))
        .route("/me", get(me))
        .route("/danger", get(danger))
        .route("/logout", post(logout))
        .route("/others", post(others))
        .route("/series", get(series))
        .route("/series/{id}/end", post(end_series))
        .route("/sync", post(sync))
        .route("/reauth", post(reauth))
        .route("/sessions/{id}/end", post(end_session))
        .layer(
            SessionLayer::new(cache.clone())
                .with_config(CookieConfig::insecure_for_localhost())
                .remember_me(users.clone()),
        );
    App {
        app,
        cache,
        store,
        clock,
        users,
    }
}

impl App {
    pub async fn send(&self, method: &str, path: &str, jar: &Jar) -> http::Response<Body> {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(c) = jar.header() {
            b = b.header(header::COOKIE, c);
        }
        self.app
            .clone()
            .oneshot(b.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    /// Send and keep the cookies the response sets.
    pub async fn visit(&self, method: &str, path: &str, jar: &mut Jar) -> http::Response<Body> {
        let res = self.send(method, path, jar).await;
        jar.take(&res);
        res
    }

    pub async fn remembered_browser(&self) -> Jar {
        let mut jar = Jar::default();
        let res = self.visit("POST", "/login/7", &mut jar).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(jar.session.is_some() && jar.remember.is_some(), "{jar:?}");
        jar
    }

    pub async fn live_sessions(&self) -> usize {
        self.cache.sessions("7").await.unwrap().len()
    }
}
