//! Shared test app: a real axum `Router` over the memory store (wrapped in the test kit's `SpyStore`, which
//! counts calls and fails on demand), a manual clock, and a user loader the tests control.
#![allow(dead_code)]

pub mod browser;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::{header, HeaderMap, Request, StatusCode};
use keycard::{
    CachedUser, CredentialsCache, ManualClock, MemoryStore, SessionId, SessionMetadata, Timestamp,
};
use keycard_axum::{
    Auth, AuthError, AuthRejection, BoxError, CookieConfig, CurrentUser, MaybeUser, RedirectPath,
    RedirectTo, ReloadUser, SessionLayer, UserLoader,
};
use keycard_store_tests::SpyStore;
use tower::ServiceExt;

pub const SECRET: [u8; 64] = [42; 64];
pub const COOKIE: &str = "keycard_session";

/// The store every test app runs on: the memory store, counted and breakable.
pub type TestStore = SpyStore<MemoryStore<User>>;

/// A fresh, empty [`TestStore`].
pub fn test_store() -> Arc<TestStore> {
    Arc::new(SpyStore::new(MemoryStore::new()))
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub id: i64,
    pub plan: String,
}

impl CachedUser for User {
    fn user_key(&self) -> String {
        self.id.to_string()
    }
}

pub fn user(id: i64, plan: &str) -> User {
    User {
        id,
        plan: plan.into(),
    }
}

// ---------------------------------------------------------------------------------------------------------
// A user loader the tests script (the guide's `Repo.get!`).

#[derive(Debug, Clone)]
pub enum Row {
    Is(User),
    Gone,
    Fail,
}

#[derive(Clone, Default)]
pub struct TestLoader {
    pub rows: Arc<Mutex<HashMap<i64, Row>>>,
    pub calls: Arc<AtomicUsize>,
}

impl TestLoader {
    pub fn set(&self, id: i64, row: Row) {
        self.rows.lock().unwrap().insert(id, row);
    }
}

impl UserLoader<User> for TestLoader {
    async fn load(&self, cached: &User) -> Result<Option<User>, BoxError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let row = self.rows.lock().unwrap().get(&cached.id).cloned();
        match row {
            None => Ok(Some(cached.clone())),
            Some(Row::Is(u)) => Ok(Some(u)),
            Some(Row::Gone) => Ok(None),
            Some(Row::Fail) => Err("database is down".into()),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Rejections: a redirect for pages, a JSON error for APIs.

pub struct SignIn;
impl RedirectPath for SignIn {
    const PATH: &'static str = "/session/new";
}

pub struct ApiError(AuthRejection);
impl From<AuthRejection> for ApiError {
    fn from(r: AuthRejection) -> Self {
        ApiError(r)
    }
}
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match self.0 {
            AuthRejection::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            AuthRejection::StoreUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            AuthRejection::MissingLayer => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            // AuthRejection is non_exhaustive: a rejection added later keeps its own status.
            other => (other.status(), "error"),
        };
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"error\":\"{code}\"}}"),
        )
            .into_response()
    }
}

// ---------------------------------------------------------------------------------------------------------
// Handlers.

fn show(u: &User) -> String {
    format!("{}:{}", u.id, u.plan)
}

async fn public() -> &'static str {
    "public"
}

async fn me(u: CurrentUser<User>) -> String {
    show(&u)
}

async fn page(u: CurrentUser<User, RedirectTo<SignIn>>) -> String {
    show(&u)
}

async fn api_me(u: CurrentUser<User, ApiError>) -> String {
    show(&u)
}

async fn maybe(MaybeUser(u): MaybeUser<User>) -> String {
    u.map_or_else(|| "anon".to_string(), |u| show(&u))
}

async fn optional(u: Option<CurrentUser<User>>) -> String {
    u.map_or_else(|| "anon".to_string(), |u| show(&u))
}

async fn whoami(auth: Auth<User>) -> String {
    match (auth.current_user(), auth.session()) {
        (Some(u), Some(s)) => format!("{} {}", show(&u), s.session_id),
        (Some(u), None) => format!("{} -", show(&u)),
        _ => "anon".into(),
    }
}

async fn login(auth: Auth<User>, Path(id): Path<i64>) -> Result<String, AuthError> {
    let s = auth.create(user(id, "free")).await?;
    Ok(s.session_id.to_string())
}

async fn sync(auth: Auth<User>, Path(plan): Path<String>) -> Result<String, AuthError> {
    let u = auth.current_user().ok_or(AuthError::NotSignedIn)?;
    let s = auth.create(user(u.id, &plan)).await?;
    Ok(s.session_id.to_string())
}

async fn logout(auth: Auth<User>) -> Result<&'static str, AuthError> {
    auth.delete().await?;
    Ok("bye")
}

async fn relogin(auth: Auth<User>, Path(id): Path<i64>) -> Result<String, AuthError> {
    auth.delete().await?;
    let s = auth.create(user(id, "free")).await?;
    Ok(s.session_id.to_string())
}

async fn regenerate(auth: Auth<User>) -> Result<String, AuthError> {
    Ok(auth.regenerate().await?.session_id.to_string())
}

async fn sessions(auth: Auth<User>) -> Result<String, AuthError> {
    let list = auth.sessions().await?;
    Ok(list
        .iter()
        .map(|s| s.session_id.to_string())
        .collect::<Vec<_>>()
        .join(","))
}

async fn delete_session(auth: Auth<User>, Path(id): Path<String>) -> Result<String, AuthError> {
    let Some(id) = SessionId::parse(&id) else {
        return Ok("bad id".into());
    };
    Ok(auth.delete_session(&id).await?.to_string())
}

async fn delete_others(auth: Auth<User>) -> Result<String, AuthError> {
    Ok(auth.delete_other_sessions().await?.to_string())
}

async fn assign(auth: Auth<User>) -> String {
    auth.assign_current_user(user(999, "assigned"));
    let current = auth.current_user().map(|u| show(&u));
    let cached = auth.cached_user().map(|u| show(&u));
    format!("{current:?} {cached:?}")
}

async fn meta(auth: Auth<User>) -> String {
    match auth.session() {
        Some(s) => format!(
            "{}|{}",
            s.metadata.ip.clone().unwrap_or_default(),
            s.metadata.user_agent.clone().unwrap_or_default()
        ),
        None => "anon".into(),
    }
}

/// Revokes its own session through the cache (as another request would), then tries to sync.
async fn sync_after_revoke(auth: Auth<User>) -> Result<String, AuthError> {
    let s = auth.session().ok_or(AuthError::NotSignedIn)?;
    auth.cache().delete_session(&s.session_id).await?;
    let s = auth
        .create(user(s.user_key.parse().unwrap(), "pro"))
        .await?;
    Ok(s.session_id.to_string())
}

async fn with_vary(u: CurrentUser<User>) -> impl IntoResponse {
    ([(header::VARY, "Accept-Encoding")], show(&u))
}

async fn pro(u: CurrentUser<User>) -> String {
    show(&u)
}

/// Every route, without any session layer.
pub fn routes() -> Router {
    Router::new()
        .route("/public", get(public))
        .route("/me", get(me))
        .route("/page", get(page))
        .route("/api/me", get(api_me))
        .route("/maybe", get(maybe))
        .route("/optional", get(optional))
        .route("/whoami", get(whoami))
        .route("/login/{id}", post(login))
        .route("/relogin/{id}", post(relogin))
        .route("/sync/{plan}", post(sync))
        .route("/sync-after-revoke", post(sync_after_revoke))
        .route("/logout", post(logout))
        .route("/regenerate", post(regenerate))
        .route("/sessions", get(sessions))
        .route("/sessions/{id}/delete", post(delete_session))
        .route("/sessions/delete-others", post(delete_others))
        .route("/assign", get(assign))
        .route("/meta", get(meta))
        .route("/vary", get(with_vary))
}

// ---------------------------------------------------------------------------------------------------------
// The harness.

pub struct Harness {
    pub app: Router,
    pub cache: CredentialsCache<User>,
    pub store: Arc<TestStore>,
    pub clock: ManualClock,
    pub loader: TestLoader,
    pub cookie_name: String,
}

/// The test app with the cookie named `keycard_session` (no `__Host-` prefix, not `Secure`): the explicit
/// plain-http opt-out, so the tests can name the cookie [`COOKIE`]. The secure default has tests of its own.
pub fn harness() -> Harness {
    harness_with(CookieConfig::insecure_for_localhost())
}

pub fn cache_over(store: Arc<TestStore>, clock: ManualClock) -> CredentialsCache<User> {
    CredentialsCache::builder_arc(store)
        .secret(SECRET)
        .clock(clock)
        .build()
        .unwrap()
}

pub fn harness_with(config: CookieConfig) -> Harness {
    harness_with_layer(|l| l.with_config(config.clone()), config.cookie_name())
}

/// The test app with the session layer `f` makes of `SessionLayer::new(cache)` (the secure default
/// configuration, unless `f` changes it), its cookie named `cookie_name`.
pub fn harness_with_layer(
    f: impl FnOnce(SessionLayer<User>) -> SessionLayer<User>,
    cookie_name: String,
) -> Harness {
    let store = test_store();
    let clock = ManualClock::new(Timestamp(1_700_000_000_000));
    let cache = cache_over(store.clone(), clock.clone());
    let loader = TestLoader::default();
    let pro_routes = Router::new()
        .route("/pro", get(pro))
        .route_layer(ReloadUser::new(loader.clone()));
    let app = routes()
        .merge(pro_routes)
        .layer(f(SessionLayer::new(cache.clone())));
    Harness {
        app,
        cache,
        store,
        clock,
        loader,
        cookie_name,
    }
}

impl Harness {
    pub async fn send(&self, req: Request<Body>) -> Response {
        self.app.clone().oneshot(req).await.unwrap()
    }

    pub fn req(&self, method: &str, path: &str, cookie: Option<&str>) -> Request<Body> {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, format!("{}={c}", self.cookie_name));
        }
        b.body(Body::empty()).unwrap()
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        self.send(self.req("GET", path, cookie)).await
    }

    pub async fn post(&self, path: &str, cookie: Option<&str>) -> Response {
        self.send(self.req("POST", path, cookie)).await
    }

    /// Sign in user `id` through the app; returns the cookie value.
    pub async fn login(&self, id: i64) -> String {
        let res = self.post(&format!("/login/{id}"), None).await;
        assert_eq!(res.status(), StatusCode::OK);
        set_cookie(&res)
            .expect("login sets a cookie")
            .value()
            .to_string()
    }

    /// The session id behind `cookie`, from `/whoami`.
    pub async fn session_id(&self, cookie: &str) -> String {
        let res = self.get("/whoami", Some(cookie)).await;
        let body = body(res).await;
        body.split(' ').nth(1).unwrap_or("").to_string()
    }

    pub fn store_calls(&self) -> usize {
        self.store.calls()
    }

    pub fn fail_store(&self, fail: bool) {
        self.store.set_failing(fail);
    }
}

pub fn set_cookies(res: &Response) -> Vec<cookie::Cookie<'static>> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| cookie::Cookie::parse(v.to_str().unwrap().to_string()).unwrap())
        .collect()
}

/// The one `Set-Cookie` of a response, if any (panics on several).
pub fn set_cookie(res: &Response) -> Option<cookie::Cookie<'static>> {
    let mut all = set_cookies(res);
    assert!(all.len() <= 1, "more than one Set-Cookie: {all:?}");
    all.pop()
}

pub fn header_str(h: &HeaderMap, name: header::HeaderName) -> Vec<&str> {
    h.get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect()
}

pub fn varies_on_cookie(res: &Response) -> bool {
    header_str(res.headers(), header::VARY)
        .iter()
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("cookie"))
}

pub fn no_store(res: &Response) -> bool {
    header_str(res.headers(), header::CACHE_CONTROL).contains(&"no-store")
}

pub async fn body(res: Response) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub fn with_connect_info(mut req: Request<Body>, addr: &str) -> Request<Body> {
    let addr: SocketAddr = addr.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

pub fn metadata_default() -> SessionMetadata {
    SessionMetadata::default()
}
