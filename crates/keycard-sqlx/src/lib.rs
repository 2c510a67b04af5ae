//! # keycard-sqlx: sessions in SQLite or PostgreSQL
//!
//! keycard's credentials stores on [sqlx](https://docs.rs/sqlx): [`SqliteStore`] keeps a single-node app's
//! sessions in a file, so a restart or a deploy signs nobody out; [`PostgresStore`] keeps them in the
//! database every node of the app already shares, so a multi-node app needs no Redis. Both implement
//! [`keycard::Store`] with every invariant of keycard's design (one cached user per user, no resurrection,
//! one winner per renewal with a grace window, fail closed) and pass keycard's conformance suite.
//!
//! ```
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: i64 }
//! # impl keycard::CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
//! # let dir = std::env::temp_dir().join(format!("keycard-sqlx-doc-{}-{nanos}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let url = format!("sqlite://{}/app.db", dir.display());
//! # let secret = [7u8; 64];
//! use keycard::SessionMetadata;
//! use keycard_sqlx::{SqlConfig, SqliteStore};
//!
//! // Creates the file when missing, runs this crate's own migrations (tables `keycard_*`).
//! let store = SqliteStore::connect_and_migrate(&url, SqlConfig::default()).await?; // "sqlite://data/app.db"
//! let cache = keycard::CredentialsCache::<User>::builder(store)
//!     .secret(secret) // std::env::var("SECRET_KEY")?: at least 64 bytes
//!     .build()?;
//! let _sweeper = cache.spawn_sweeper(std::time::Duration::from_secs(60));
//!
//! // Sign in, then read the session back: one SELECT.
//! let signed_in = cache.create(User { id: 1 }, SessionMetadata::default()).await?;
//! assert!(cache.fetch(signed_in.cookie.as_str()).await?.is_some());
//! # drop((cache, _sweeper));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```
//! On PostgreSQL it is the same with `PostgresStore::connect_and_migrate("postgres://…", …)`, or
//! [`SqlStore::from_pool`] over the app's own `PgPool` / `SqlitePool` followed by
//! [`migrate`](SqlStore::migrate).
//!
//! ## Which store
//! | deployment | store | what a restart does | cost of a signed-in request |
//! |---|---|---|---|
//! | one process, sessions may be lost | `keycard::MemoryStore` | signs everybody out | a map lookup |
//! | one node | [`SqliteStore`] | nothing: sessions stay | one `SELECT` on a local file |
//! | several nodes, PostgreSQL already there | [`PostgresStore`] | nothing | one `SELECT` round trip |
//! | several nodes, Redis there, highest request rate | `keycard-redis` | nothing (Redis keeps them) | one `EVALSHA` round trip |
//! | several nodes on PostgreSQL, hot sessions | [`PostgresStore::near_cache`] | nothing | a map lookup while unchanged ([`near`]) |
//!
//! Moving from the memory store is one line (the store given to `CredentialsCache::builder`) plus a
//! `migrate()` at start-up. Sessions that lived in the memory store are not carried over: users sign in once.
//!
//! ## Schema
//! Created by [`SqlStore::migrate`], with the table prefix of [`SqlConfig`] (default `keycard_`).
//! Times are milliseconds since the Unix epoch on the cache's clock (`BIGINT` / `INTEGER`); ids and token
//! hashes are bytes (`BYTEA` / `BLOB`).
//!
//! **`keycard_users`**: the one cached copy of each user that has a live session.
//!
//! | column | meaning |
//! |---|---|
//! | `user_key` (primary key) | `CachedUser::user_key` |
//! | `data` | the cached user, JSON |
//! | `version` | `CachedUser::version`, `NULL` when the app has none: a write never replaces a newer version |
//! | `auth_fingerprint` | keyed fingerprint of the user's credentials (credential-bound sessions), `NULL` when none |
//!
//! **`keycard_sessions`**: one row per sign-in; its token hashes live in the row.
//!
//! | column | meaning |
//! |---|---|
//! | `session_id` (primary key) | the stable public handle (16 bytes): listing and revoking |
//! | `user_key` | whose session; the per-user index is the index `(user_key, expires_at)` |
//! | `created_at`, `renewed_at` | sign-in; last rotation (sign-in, renewal, `sync`) |
//! | `idle_deadline`, `absolute_deadline`, `expires_at` | the two deadlines and their minimum: the row is dead at `expires_at`, whether or not a sweep removed it yet |
//! | `current_token` (unique) | `SHA-256` of the token the cookie carries (never the token, never the cookie) |
//! | `previous_token` (unique when set), `previous_until` | the token replaced by the last renewal and the end of its grace window |
//! | `metadata` | user agent, address, app fields: JSON |
//! | `auth_fingerprint`, `authenticated_at`, `series_id` | the credential fingerprint the session was created under, the last proof of password (sudo mode), the remember-me series that created it |
//!
//! Indexes: `current_token`, `previous_token` (partial), `(user_key, expires_at)`, `expires_at`,
//! `previous_until` (partial).
//!
//! **`keycard_throttle`** (migration 2): the login throttle's counters, when the app gives the store to
//! a [`LoginThrottle`](keycard::throttle::LoginThrottle) (the store implements
//! [`ThrottleStore`](keycard::throttle::ThrottleStore)). A reservation is one upsert whose `WHERE`
//! refuses a full window.
//!
//! | column | meaning |
//! |---|---|
//! | `counter` (primary key) | the counter's name: a keyed hash of the account, the address or both (32 bytes; never an email or an address) |
//! | `attempts` | attempts counted in the current window |
//! | `window_ends_at` | the window's end; index `window_ends_at`: `sweep_throttle` deletes the rows whose window ended |
//!
//! **`keycard_remember`** (migration 3): remember-me series ([`RememberStore`](keycard::remember::RememberStore)):
//! `series_id` (primary key, 16 bytes), `user_key`, `created_at`, `used_at`, `expires_at` (moved by every
//! redemption), `current_token` and `previous_token` / `previous_until` (`SHA-256` of the tokens; the
//! replaced one counts as a concurrent tab until `previous_until`), `auth_fingerprint`. A redemption is
//! one conditional `UPDATE … WHERE current_token = $presented … RETURNING`; indexes `(user_key,
//! expires_at)` and `expires_at` (`sweep_series`).
//!
//! **`keycard_identities`** (migration 6): linked identities
//! ([`IdentityStore`](keycard::identity::IdentityStore), the accounts at identity providers that sign in
//! as a user): `(provider, subject)` (primary key: one user per identity, so of concurrent links exactly
//! one inserts), `user_key` (index `(user_key, created_at)`: the settings page's list), `email` (as the
//! provider gave it when linked, `''` for none), `created_at`, `last_used_at`.
//!
//! **`keycard_schema_migrations`** records the applied migrations (this
//! crate's own table; it never touches sqlx's `_sqlx_migrations`).
//!
//! ## The model
//! - **`fetch` is one `SELECT`** (session joined to its user, by either token hash) when no renewal is due.
//!   A due renewal is one more statement, a conditional `UPDATE … WHERE current_token = $presented AND
//!   renewed_at <= $due`: of any number of concurrent requests on any number of nodes, exactly one changes
//!   the row; the others find the token moved to `previous_token` and resolve it as a grace token.
//! - **Nothing is resurrected**: only `create` inserts a session; every other write is an `UPDATE`/`DELETE`
//!   whose `WHERE` requires the row to exist and be live, so a renewal or `put_user` racing a sign-out or a
//!   revocation writes nothing.
//! - **`put_user` is one statement on the user row**: version-guarded, `WHERE EXISTS` a live session of
//!   the user (an index probe, whatever the number of sessions), touching no session.
//! - **Per-user serialization**: the write primitives that add or remove sessions run in one short
//!   transaction that locks the user's row first on PostgreSQL (SQLite's `BEGIN IMMEDIATE` holds its single
//!   write lock), so a user's record goes exactly when its last session does. See [`store`](SqlStore) for
//!   the statements of each primitive.
//!
//! ## Near cache and pushed invalidation (PostgreSQL)
//! With [`SqlConfig::with_notify`] every write notifies the store's channel inside its transaction, and
//! [`PostgresStore::near_cache`] puts a [`NearCache`](keycard::store::near::NearCache) in front of the
//! store, fed by a `LISTEN` connection ([`PgInvalidations`]): hot sessions are answered from memory,
//! a write on any node evicts them as soon as its notification arrives, and a node whose channel is down
//! or unconfirmed asks the database. See the [`near`] module for the model.
//!
//! ## Sweeping
//! [`Store::sweep`](keycard::Store::sweep) (run it with `CredentialsCache::spawn_sweeper`) deletes, in
//! batches of [`SqlConfig::with_sweep_batch`] rows (500), each its own transaction: sessions past
//! `expires_at`, together with those of their users that no session refers to any more (looked up by
//! key, in the same transaction: locked first, then deleted by a statement of its own that re-checks, so a
//! sign-in committed in between keeps its user), then replaced tokens past their grace window (`previous_token` set to
//! `NULL`). The tables therefore hold live sessions plus what expired since the last sweep. No statement
//! visits every user or every session: each is bounded by the batch, whatever the size of the tables. A
//! user record left without a session some other way (a sign-out racing the sweep, sessions deleted by
//! hand, an older version's sweep cut short) goes in the window pass: each sweep also checks the next
//! batch of users in key order, round and round, so such a record lasts at most users ÷ batch sweeps.
//!
//! ## Failure behaviour
//! Every call is bounded by [`SqlConfig::with_operation_timeout`] (2 s), waiting for a pool connection or a
//! lock included. A database that is down, full, locked or slow gives `Err(StoreError)` (backend `"sqlite"`
//! or `"postgres"`), which keycard-axum answers with `503` and `Retry-After`: never "signed in", never
//! "signed out". The pool reconnects by itself, so requests recover when the database is back. A row that
//! does not decode is treated as absent and logged with `tracing::warn!` (never the row, never a token).

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod backend;
mod codec;
// The checks of the fuzz target in fuzz/ (the record decoders), shared with the replay of fuzz/regressions/
// in this crate's tests. Behind the `fuzzing` feature and hidden: not part of the supported API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod __fuzz;
mod config;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod near;
#[cfg(feature = "postgres")]
mod postgres;
mod queries;
mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
pub mod sqlite_read;
mod store;

pub use config::{SqlConfig, SqlConfigError, SqliteReads, DEFAULT_TABLE_PREFIX};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use near::PgInvalidations;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{Postgres, PostgresStore};
pub use schema::{MigrateError, SCHEMA_VERSION};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{Sqlite, SqliteStore};
pub use store::SqlStore;

/// A store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a database URL this store understands.
    #[error("invalid database URL: {0}")]
    Url(String),
    /// The database could not be reached or opened.
    #[error("cannot open the database: {0}")]
    Database(#[source] sqlx::Error),
    /// The settings were refused.
    #[error(transparent)]
    Config(#[from] SqlConfigError),
    /// The migrations could not be applied.
    #[error(transparent)]
    Migrate(#[from] MigrateError),
}
