//! # keycard-axum: session sign-in for axum, with the current user from a cache
//!
//! This crate puts keycard's [`CredentialsCache`](keycard::CredentialsCache) in front of an axum app. It
//! is the counterpart of Pow's `Pow.Plug.Session` and `Pow.Plug` helpers (see the Pow guide "Update cached
//! user credentials"): handlers get the current user **without a database query**, from one cached copy of
//! the user that all of that user's sessions share.
//!
//! ## Start here: a minimal app
//! ```
//! use axum::{routing::{get, post}, Router};
//! use keycard::{CachedUser, CredentialsCache, MemoryStore};
//! use keycard_axum::{Auth, AuthError, CurrentUser, MaybeUser, SessionLayer};
//!
//! #[derive(Clone, serde::Serialize, serde::Deserialize)]
//! struct User { id: i64, email: String, plan: String }
//! impl CachedUser for User {
//!     fn user_key(&self) -> String { self.id.to_string() }
//! }
//!
//! async fn sign_in(auth: Auth<User>) -> Result<&'static str, AuthError> {
//!     // Check the password first (PasswordHasher::verify: see examples/minimal.rs), then:
//!     let user = User { id: 1, email: "a@example.com".into(), plan: "free".into() };
//!     auth.create(user).await?;
//!     Ok("signed in")
//! }
//!
//! async fn profile(user: CurrentUser<User>) -> String {
//!     format!("{} is on the {} plan", user.email, user.plan) // from the cache, no database
//! }
//!
//! async fn home(MaybeUser(user): MaybeUser<User>) -> String {
//!     user.map_or("welcome, stranger".into(), |u| format!("welcome back, {}", u.email))
//! }
//!
//! async fn sign_out(auth: Auth<User>) -> Result<&'static str, AuthError> {
//!     auth.delete().await?;
//!     Ok("signed out")
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cache: CredentialsCache<User> = CredentialsCache::builder(MemoryStore::new())
//!     .secret([7u8; 64]) // at least 64 bytes from your configuration
//!     .build()?;
//!
//! // A browser app also puts `CsrfLayer` inside the session layer and `SecurityHeaders` outside it:
//! // see "CSRF" and "Security headers" below, and examples/minimal.rs for the whole app.
//! let app: Router = Router::new()
//!     .route("/", get(home))
//!     .route("/profile", get(profile))
//!     .route("/session", post(sign_in))
//!     .route("/session/delete", post(sign_out))
//!     // `Secure` and `__Host-` by default; plain http on 127.0.0.1 only:
//!     // `.with_config(CookieConfig::insecure_for_localhost())`
//!     .layer(SessionLayer::new(cache));
//!
//! // Serve it with connect info so sessions record the client address:
//! // axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! # use tower::ServiceExt;
//! # let res = app.clone().oneshot(http::Request::post("/session").body(axum::body::Body::empty())?).await?;
//! # let set_cookie = res.headers()["set-cookie"].to_str()?.to_owned();
//! # assert!(set_cookie.starts_with("__Host-keycard_session=") && set_cookie.contains("; Secure"));
//! # let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();
//! # let res = app.oneshot(http::Request::get("/profile").header("cookie", cookie).body(axum::body::Body::empty())?).await?;
//! # let body = axum::body::to_bytes(res.into_body(), 1024).await?;
//! # assert_eq!(&body[..], b"a@example.com is on the free plan");
//! # Ok(()) }
//! ```
//!
//! ## The model
//!
//! ```text
//!  request ──► SessionLayer ──────────────► [CsrfLayer] ─────► [ReloadUser] ──────────► handler
//!              │ Cookie: __Host-keycard_…     │ unsafe method?  │ signed in? load the     │ Auth<U> / CurrentUser<U, R> /
//!              │ cache.fetch(cookie)          │ Origin, Fetch   │ row from the database   │ MaybeUser<U> / CsrfToken
//!              │ → Auth<U> in extensions      │ Metadata, token │ → assign for this       │ auth.create(user) / delete() / …
//!              │                              │ of this session │   request only          │
//!  response ◄──┴ Set-Cookie (sign-in, renewal, sync, sign-out), Cache-Control: no-store, Vary: Cookie
//! ```
//!
//! - **One resolution per request.** [`SessionLayer`] reads the session cookie once, resolves it through the
//!   cache (renewing the token when due) and leaves an [`Auth<U>`] handle in the request. Extractors read
//!   that handle; they never touch the store. Requests without the cookie never touch the store at all.
//! - **The cached user is a cache.** [`CurrentUser`] and [`MaybeUser`] give the cached copy, fine for
//!   showing a name or a plan. Where the true value matters (authorization), put the route behind
//!   [`ReloadUser`], which loads the row through your [`UserLoader`] and assigns it for that request.
//! - **Changing the user.** After the app updates a user in its database it calls
//!   [`Auth::create`] with the new value (the guide's `sync_user`): the one cached copy is replaced for
//!   every session of that user and this session's token rotates. A background job with no request uses
//!   [`CredentialsCache::put_user`](keycard::CredentialsCache::put_user) instead.
//! - **Cookies are written by the layer.** Every change a handler makes through the handle (sign-in, sync,
//!   regenerate, sign-out) and every renewal is written on the response, with `Cache-Control: no-store`.
//!   Responses that depend on the cookie carry `Vary: Cookie`.
//! - **Fail closed.** A store (or loader) failure never signs anybody in and never signs anybody out:
//!   extractors answer 503, handlers that do not ask for the session still run.
//! - **Anything doubtful is anonymous.** Duplicate, malformed, oversized, non-UTF-8, forged or expired
//!   cookies make the request anonymous, without a store call and never with a 500.
//!
//! | Pow | keycard-axum |
//! |---|---|
//! | `plug Pow.Plug.Session` | `.layer(SessionLayer::new(cache))` |
//! | `Pow.Plug.current_user(conn)` | [`CurrentUser<U, R>`], [`MaybeUser<U>`], [`Auth::current_user`] |
//! | `Pow.Plug.assign_current_user(conn, user)` | [`Auth::assign_current_user`] |
//! | `Pow.Plug.create(conn, user)` / `sync_user` | [`Auth::create`] |
//! | `Pow.Plug.delete(conn)` | [`Auth::delete`] |
//! | `plug :reload_user` (with `Repo.get!`) | `.route_layer(ReloadUser::new(loader))` over a [`UserLoader`] |
//!
//! ## Extractors
//!
//! | extractor | signed in | anonymous | store down | no layer, or `ReloadUser` outside it |
//! |---|---|---|---|---|
//! | [`Auth<U>`] | the handle | the handle | 503 | 500 |
//! | [`MaybeUser<U>`] | `Some(user)` | `None` | 503 | 500 |
//! | [`CurrentUser<U, R>`] | the user | `R` (default 401) | `R` (default 503) | `R` (default 500) |
//! | `Option<CurrentUser<U, R>>` | `Some(user)` | `None` | `R` (default 503) | `R` (default 500) |
//!
//! "The user" is [`Auth::current_user`]: the cached copy, or the copy a [`ReloadUser`] layer (or the app)
//! assigned for this request. All three read the one handle the [`SessionLayer`] made; none touches the
//! store. Using any of them marks the response as depending on the cookie (`Vary: Cookie`). What each
//! rejection answers, and how to choose your own: [`AuthRejection`]. The handle's operations return
//! [`AuthError`], which a password check's error converts into, so one `?` covers a whole sign-in.
//!
//! ## The session cookie
//!
//! Its attributes and why: [`CookieConfig`].
//!
//! **Reading: strict, and never an error.** The layer looks for exactly one cookie with the configured name
//! across every `Cookie` header of the request (HTTP/2 clients may split them). Anything doubtful makes the
//! request **anonymous without any store access**, never a 500:
//!
//! - the `Cookie` headers together exceed [`MAX_COOKIE_HEADER_BYTES`];
//! - a `Cookie` header is not UTF-8;
//! - the session cookie appears twice (a sibling subdomain or a path-scoped cookie trying to shadow the real
//!   one: there is no way to tell which is genuine, so neither is used);
//! - the value is not exactly the shape keycard issues (86 base64url characters), e.g. truncated,
//!   quoted or oversized.
//!
//! A value of the right shape still has to pass its signature check in
//! [`CredentialsCache::fetch`](keycard::CredentialsCache::fetch) before the store sees its hash.
//!
//! A refused or stale cookie is **not** cleared on the response: a slow request carrying an old token could
//! otherwise overwrite the fresh cookie a concurrent renewal just set. It is replaced at the next sign-in.
//!
//! **Writing.** `Set-Cookie: <name>=<value>; HttpOnly; SameSite=Lax; Path=/[; Secure][; Max-Age=<n>]` on
//! sign-in, renewal, `sync` and `regenerate`;
//! `Set-Cookie: <name>=; HttpOnly; SameSite=Lax; Path=/[; Secure]; Max-Age=0` on sign-out.
//!
//! `SameSite=Lax` keeps the cookie off most cross-site requests, but it is not a CSRF defence on its own:
//! add the [`CsrfLayer`] (see [CSRF](#csrf)).
//!
//! ## Bearer sessions
//!
//! The same session, presented as `Authorization: Bearer <value>` instead of a cookie, for API clients (a CLI,
//! a mobile app): opt-in per router with [`SessionLayer::accept_bearer`].
//!
//! On a request that carries `Authorization: Bearer`, the layer resolves that value and ignores the
//! cookies: no cookie is read, none is ever set, and remember-me is not consulted. Everything after the
//! door is the same as for a cookie: the one cached user, `put_user`, revocation, events, audit, grace.
//! What differs:
//!
//! - **Renewal** rotates the token as for a cookie; the new value goes out in the
//!   [`SET_AUTH_TOKEN`] response header (`Set-Auth-Token`), which the client reads and sends from then
//!   on. The replaced value keeps working for the grace window, read-only, like a replaced cookie.
//! - **Signing in** from an API: [`Auth::create_bearer`] makes the session and returns its value for the
//!   response body; nothing is set on the response.
//! - **No CSRF**: a browser never attaches an `Authorization` header by itself, so a bearer request
//!   cannot be forged cross-site. Keep bearer routes outside the CSRF layer (they have no cookie to
//!   protect), or let them through it.
//! - **Personal access tokens** (`kcpat_…`, [`keycard::PersonalToken`]) are bearer values too: they
//!   never rotate, and are never fresh for sudo mode.
//! - **Rejections** for API routes: [`BearerRejection`] answers `401` JSON with
//!   `WWW-Authenticate: Bearer`.
//!
//! ## CSRF
//!
//! [`CsrfLayer`] goes inside the [`SessionLayer`] and checks every request whose method is not GET, HEAD,
//! OPTIONS or TRACE, before the handler runs; handlers put the [`CsrfToken`] extractor's value into their
//! forms (`<input type="hidden" name="_csrf_token" value="…">`) or send it as `X-CSRF-Token`. A
//! request passes only when all three hold (the synchronizer token and the `Origin` check of OWASP's
//! CSRF cheat sheet, plus Fetch Metadata):
//!
//! 1. `Sec-Fetch-Site`, if the browser sends it, is `same-origin` or `none` (`same-site` only when
//!    [allowed](CsrfConfig::with_same_site_allowed));
//! 2. `Origin`, or without it `Referer`, is one of the app's own origins: named in [`CsrfConfig::new`]
//!    (or, by explicit opt-in, [`CsrfConfig::from_host_header`]); `Origin: null` never is;
//! 3. the token is the one of **this session** once signed in, or, before sign-in, of this browser's
//!    anonymous CSRF cookie (`__Host-keycard_csrf`).
//!
//! **How the token is bound.** `HMAC(K, session id ‖ created_at)` with `K` derived from the secret you
//! give the layer (the app secret is fine: the key is separated by a label), so it needs no store write
//! and is the same on every node. A sign-in creates a new session, so new tokens; sign-out ends the
//! session, so its tokens die; and every response that signs in or out also replaces the anonymous CSRF
//! cookie. A sync (`Auth::create` with the signed-in user) or `regenerate` keeps the session and so its
//! tokens: other tabs keep working after a plan change. Each rendered token is masked with fresh random
//! bytes (BREACH), so no two responses carry the same bytes.
//!
//! **What it stops.** A cross-site form (token missing, `Origin` foreign, `Sec-Fetch-Site: cross-site`);
//! an attacker's own anonymous cookie/token pair planted in a signed-in victim's browser (the victim's
//! session needs its own token); login CSRF into the attacker's account (the pair is the attacker's, but
//! the request comes from the attacker's page: `Origin` and `Sec-Fetch-Site` say so, and with secure
//! cookies the `__Host-` prefix keeps a sibling subdomain from planting the pair at all).
//!
//! **What stays the app's job.** GET must never change state; forms must carry the token; a page that
//! signs in or out should redirect (the next page gets the new token). Multipart bodies are not read:
//! a `multipart/form-data` request needs the `X-CSRF-Token` header (a script), or it is refused. Refusals answer `R: From<CsrfRejection> + IntoResponse`
//! (403 by default; [`CsrfRejection`] lists each case), so the app renders its own page.
//!
//! ```
//! # use keycard::{CachedUser, CredentialsCache, MemoryStore};
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: i64 }
//! # impl CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
//! # fn f(cache: CredentialsCache<User>, secret: Vec<u8>) {
//! use keycard_axum::{CsrfConfig, CsrfLayer, SecurityHeaders, SessionLayer};
//! let app: axum::Router = axum::Router::new()
//!     // .route(...)
//!     .layer(CsrfLayer::<User>::new(&secret, CsrfConfig::new("https://app.example")))
//!     .layer(SessionLayer::new(cache))
//!     .layer(SecurityHeaders::new());
//! # }
//! ```
//!
//! ## Remember me
//! Opt-in per sign-in, like Pow's `PowPersistentSession` and phx.gen.auth's "Keep me logged in". Build
//! the cache with a remember-me store (`CredentialsCache::builder(store).remember(remember_store)`; the
//! SQL and Redis stores are both) and give the layer a [`UserByKey`] loader
//! ([`SessionLayer::remember_me`]). Then:
//! - [`Auth::create_and_remember`] signs in and starts a **series**: a second cookie,
//!   `__Host-keycard_remember`, persistent for the series' lifetime (default 30 days), naming the series
//!   and carrying a one-time token (the store keeps only its hash);
//! - a request with **no live session** and that cookie is signed back in by the layer: the series'
//!   user is loaded through the loader, a new session is created (its
//!   [`authenticated_at`](keycard::SessionRecord::authenticated_at) is empty, so
//!   [`RecentlyAuthenticated`] asks for the password again), and both cookies are set;
//! - **concurrent tabs** presenting the same token get one new session: the first rotates the token,
//!   the others (within a 60 s grace) are served as the user without cookies;
//! - a token the series already moved on from (a **copied cookie**) ends every session and series of the
//!   user and clears the cookie;
//! - [`Auth::delete`] (sign-out) ends the series; [`Auth::delete_other_sessions`] ends every other series;
//!   [`Auth::delete_session`] ends the series of the session it ends; [`Auth::end_series`] ends a series
//!   and its sessions; a password change (a sync with a new credential fingerprint) ends every series of
//!   the user, this browser's included; a sign-in without "remember me" ends the series of a
//!   remember-me cookie the browser still carried. [`Auth::remembered`] lists the series.
//!
//! ## Security headers
//!
//! [`SecurityHeaders`] is a layer that adds `Content-Security-Policy` (`default-src 'self';
//! frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'`: no inline script or
//! style, no framing), `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff`,
//! `Referrer-Policy: same-origin` and `Strict-Transport-Security` to every response that does not set
//! them itself. Add it outermost (`.layer(SecurityHeaders::new())` last), so error pages and redirects
//! get it too; `.hsts(None)` for plain `http://` development.
//!
//! ## Features
//!
//! - `password` (default): [`AuthError::Password`] and `From<keycard::password::PasswordError>` for
//!   [`AuthError`]; turns on `keycard/password`.
//! - `fuzzing` (off): the checks of the fuzz targets (`fuzz/` in the repository), in a hidden module; not
//!   a supported API, for the fuzz targets and their regression tests only.
//!
//! ## Examples
//!
//! `crates/keycard-axum/examples/` has short apps you can run and `curl`: `minimal` (sign-up, sign-in
//! with a password check, profile, sign-out), `put_user_job` (a background job updating the cached user),
//! `reload_user` (`ReloadUser` on one route), `redis_store` (the sessions in Redis, shared by every
//! node). `cargo run --example minimal` from the repository root. The guide (`docs/guide/` in the
//! repository) walks through each flow; this documentation is the reference.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod bearer;
mod config;
mod cookie;
mod csrf;
mod extract;
mod headers;
mod layer;
mod local_path;
mod own_sessions;
mod pending;
mod rejection;
mod reload;
mod remember;
mod state;
mod sudo;
mod watch;
mod watch_slots;

// The checks of the fuzz targets in fuzz/ (the session cookie lookup, the CSRF token check), shared with the
// replay of fuzz/regressions/ in this crate's tests. Behind the `fuzzing` feature and hidden: not part of
// the supported API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod __fuzz;

pub use auth::Auth;
pub use bearer::{BearerRejection, BearerToken, SET_AUTH_TOKEN};
pub use config::{
    ClientIpSource, CookieConfig, CookieConfigError, DEFAULT_COOKIE_NAME, HOST_PREFIX,
    USER_AGENT_MAX_CHARS,
};
pub use cookie::MAX_COOKIE_HEADER_BYTES;
pub use csrf::{
    CsrfConfig, CsrfConfigError, CsrfFuture, CsrfLayer, CsrfRefusal, CsrfRejection, CsrfService,
    CsrfToken, CSRF_FORM_FIELD, CSRF_HEADER, DEFAULT_CSRF_COOKIE_NAME, DEFAULT_MAX_FORM_BYTES,
};
pub use extract::{CurrentUser, MaybeUser};
pub use headers::{
    SecurityHeaders, SecurityHeadersFuture, SecurityHeadersService,
    DEFAULT_CONTENT_SECURITY_POLICY, DEFAULT_HSTS, DEFAULT_REFERRER_POLICY,
};
pub use layer::{SessionFuture, SessionLayer, SessionService};
pub use pending::{PendingLoginCookie, PENDING_COOKIE_NAME};
pub use rejection::{AuthError, AuthRejection, RedirectPath, RedirectTo, RETRY_AFTER_SECS};
pub use reload::{BoxError, ReloadUser, ReloadUserFuture, ReloadUserService, UserLoader};
pub use remember::{UserByKey, REMEMBER_COOKIE_NAME};
pub use sudo::{
    is_local_path, ReauthRedirect, RecentlyAuthenticated, SudoRejection, DEFAULT_SUDO_MAX_AGE,
};
pub use watch::{SessionWatch, DEFAULT_WATCH_INTERVAL};
pub use watch_slots::{WatchError, DEFAULT_MAX_WATCHES_PER_SESSION};
