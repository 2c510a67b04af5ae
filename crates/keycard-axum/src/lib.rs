//! # keycard-axum: session sign-in for axum, with the current user from a cache
//!
//! This crate puts keycard's [`CredentialsCache`](keycard::CredentialsCache) in front of an axum app. It
//! is the counterpart of Pow's `Pow.Plug.Session` and `Pow.Plug` helpers (see the Pow guide "Update cached
//! user credentials"): handlers get the current user **without a database query**, from one cached copy of
//! the user that all of that user's sessions share.
//!
//! ## The model
//!
//! ```text
//!  request ──► SessionLayer ──────────────► [ReloadUser] ──────────► handler
//!              │ Cookie: keycard_session=…   │ signed in? load the     │ Auth<U> / CurrentUser<U, R> /
//!              │ cache.fetch(cookie)          │ row from the database   │ MaybeUser<U>
//!              │ → Auth<U> in extensions      │ → assign for this       │ auth.create(user) / delete() / …
//!              │                              │   request only          │
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
//! **CSRF is the app's job today.** `SameSite=Lax` keeps the cookie off most cross-site requests, but it is
//! not a CSRF defence on its own: state-changing routes need a token or an `Origin` check (the demo's
//! `csrf` module shows one; a CSRF layer in this crate is planned).
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
//!
//! ## Examples
//!
//! `crates/keycard-axum/examples/` has short apps you can run and `curl`: `minimal` (sign-up, sign-in
//! with a password check, profile, sign-out), `put_user_job` (a background job updating the cached user),
//! `reload_user` (`ReloadUser` on one route). `cargo run --example minimal` from the repository root.
//! (An example on the Redis store comes with the `keycard-redis` crate.)
//!
//! ## A minimal app
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

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod config;
mod cookie;
mod extract;
mod headers;
mod layer;
mod rejection;
mod reload;
mod state;

pub use auth::Auth;
pub use config::{
    ClientIpSource, CookieConfig, CookieConfigError, DEFAULT_COOKIE_NAME, HOST_PREFIX,
    USER_AGENT_MAX_CHARS,
};
pub use cookie::MAX_COOKIE_HEADER_BYTES;
pub use extract::{CurrentUser, MaybeUser};
pub use headers::{
    SecurityHeaders, SecurityHeadersFuture, SecurityHeadersService,
    DEFAULT_CONTENT_SECURITY_POLICY, DEFAULT_HSTS, DEFAULT_REFERRER_POLICY,
};
pub use layer::{SessionFuture, SessionLayer, SessionService};
pub use rejection::{AuthError, AuthRejection, RedirectPath, RedirectTo, RETRY_AFTER_SECS};
pub use reload::{BoxError, ReloadUser, ReloadUserFuture, ReloadUserService, UserLoader};

/// The README's examples, compiled by `cargo test --doc` so the README and the code cannot drift apart.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
