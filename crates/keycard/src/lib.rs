//! # keycard: session authentication with a cached user
//!
//! keycard signs users in, keeps their sessions on the server, and hands every request the **current user
//! without a database query**: the session points at one cached copy of the user, shared by all of that
//! user's sessions. When the user changes, the app updates that one copy (from the request that changed it,
//! or from a background job) and every session sees it on its next request. Where the true value matters
//! (authorization), the app reloads the user from its database instead.
//!
//! This is the model of Pow's credentials cache (Elixir), rebuilt so that it stays correct under concurrent
//! requests, background updates and several app nodes. This crate knows no web framework: `keycard-axum`
//! puts it in front of an axum app (a layer, the `Auth<U>` handle, extractors), `keycard-sqlx` and
//! `keycard-redis` are its shared stores. The guide (`docs/guide/` in the repository) is organised by task;
//! this documentation is the reference.
//!
//! ## Sign in, read the current user, update it from a job
//! ```
//! use keycard::{CachedUser, CredentialsCache, MemoryStore, PutOutcome, SessionMetadata};
//!
//! #[derive(Clone, serde::Serialize, serde::Deserialize)]
//! struct User { id: i64, plan: String }
//! impl CachedUser for User {
//!     fn user_key(&self) -> String { self.id.to_string() }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cache = CredentialsCache::builder(MemoryStore::new())
//!     .secret([42u8; 64]) // from your configuration in real life
//!     .build()?;
//!
//! // Sign in: the cookie value goes to the client.
//! let signed_in = cache.create(User { id: 1, plan: "pro-trial".into() }, SessionMetadata::default()).await?;
//! let cookie = signed_in.cookie.as_str().to_owned();
//!
//! // Every request: the cached user, no database.
//! let auth = cache.fetch(&cookie).await?.expect("signed in");
//! assert_eq!(auth.user.plan, "pro-trial");
//!
//! // A background job downgrades the trial: one write, seen by every session of user 1.
//! assert_eq!(cache.put_user(User { id: 1, plan: "free".into() }).await?, PutOutcome::Updated);
//! let auth = cache.fetch(&cookie).await?.expect("still signed in");
//! assert_eq!(auth.user.plan, "free");
//! # Ok(()) }
//! ```
//!
//! ## Where to start
//!
//! | you want to | look at |
//! |---|---|
//! | sign in, read the session, sync or `put_user` the user, list and end sessions | [`CredentialsCache`] (built by [`CredentialsCache::builder`]) |
//! | describe your user type (key, version, credential fingerprint) | [`CachedUser`] ([`user`]) |
//! | choose the session lifetimes | [`Policy`] |
//! | keep sessions in memory, or write a store | [`MemoryStore`], the [`Store`] trait ([`store`]) |
//! | answer hot sessions from memory in front of a shared store | `store::near` (feature `near`) |
//! | hash and check passwords, refuse weak ones | `password` (feature `password`) |
//! | throttle sign-ins | [`throttle`] |
//! | remember a browser across sessions | [`remember`] |
//! | learn when a session ends (live pages) | [`events`], [`CredentialsCache::events`] |
//! | sign in with an identity provider: the linked identities | [`identity`] (the flow: keycard-oidc) |
//! | a security log | [`audit`] |
//! | tokens, cookies, secrets and their rotation | [`token`], [`Builder::fallback_secret`] |
//!
//! ## The model
//! ```text
//!  cookie:  base64url(token ‖ HMAC(key, token))        signed; checked before any store access
//!     │  SHA-256
//!     ▼
//!  token record:   hash(token)  ──►  session_id          (+ the previous token during a grace window)
//!  session record: session_id   ──►  user_key, created_at, renewed_at, idle/absolute deadlines, metadata
//!  user record:    user_key     ──►  the cached user (one copy per user) + version
//!  index:          user_key     ──►  {session_id}        (list, "log out everywhere")
//! ```
//!
//! - **Reading** ([`CredentialsCache::fetch`]) never writes, except when the session is due for renewal.
//! - **Renewal**: the first request more than [`Policy::renewal_interval`] after the last rotation rotates
//!   the token and pushes the idle deadline forward. Exactly one concurrent request wins; the replaced token
//!   keeps working for [`Policy::grace`] (parallel requests the browser already sent), resolves to the same
//!   session, and can neither extend it nor rotate it again.
//! - **Privilege changes** (sign-in, [`sync`](CredentialsCache::sync), password change, sign-out, revoke)
//!   kill the old token at once, with no grace.
//! - **Background updates** ([`put_user`](CredentialsCache::put_user)) replace the one cached copy: no session
//!   id needed, cost independent of the number of sessions, no session's life extended, nothing created for a
//!   user without a live session, and never an older [`version`](CachedUser::version) over a newer one.
//! - **Expiry** is enforced on every read and swept in the background.
//! - **Fail closed**: a store error is an `Err`, never "not signed in" and never a user.
//!
//! Policy (deadlines, renewal) lives in [`CredentialsCache`]; atomicity lives in each [`Store`]; HTTP lives in
//! `keycard-axum`.
//!
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod audit;
pub mod cache;
pub mod clock;
pub mod events;
pub mod factor;
pub mod identity;
pub mod inbox;
pub mod onetime;
#[cfg(feature = "password")]
#[cfg_attr(docsrs, doc(cfg(feature = "password")))]
pub mod password;
pub mod policy;
pub mod remember;
pub mod store;
pub mod throttle;
pub mod token;
pub mod user;

// The checks of the fuzz targets in fuzz/, shared with the replay of fuzz/regressions/ in this crate's tests.
// Behind the `fuzzing` feature and hidden: not part of the supported API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod __fuzz;

pub use audit::{AccountId, AuditLog};
pub use cache::{
    is_personal_token, personal_token_value, Authenticated, Builder, ConfigError, CreateError,
    CredentialsCache, Fetch, PendingFetch, PersonalToken, PersonalTokenError, PersonalTokenInfo,
    PersonalTokenRequest, RedeemError, Remembered, RememberedSignIn, SignedIn, SweeperHandle,
    MAX_PERSONAL_TOKENS_PER_USER, MAX_PERSONAL_TOKEN_NAME, MAX_PERSONAL_TOKEN_TTL,
    PERSONAL_TOKEN_PREFIX,
};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use events::{EndReason, SessionEvent};
pub use policy::{Policy, PolicyError};
pub use store::{
    CreateOutcome, MemoryStore, PutOutcome, SessionMetadata, SessionRecord, Store, StoreError,
    SweepStats, TokenUse,
};
pub use token::{
    CookieError, CookieSigner, CookieValue, RouteTag, SecretError, SeriesId, SessionId,
};
pub use user::{CachedUser, Fingerprint};
