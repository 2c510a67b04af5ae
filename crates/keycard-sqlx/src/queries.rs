//! Every statement the store runs, rendered once per store with its table prefix and dialect.
//!
//! Placeholders are `$1`, `$2`, … in both dialects (sqlx's SQLite driver binds `$N` by number).

use crate::backend::Backend;
use crate::schema::render;

/// The session columns, in the order [`crate::codec::session_from_row`] reads them (`{s}` is the table
/// alias, or nothing in a `RETURNING` clause, where SQLite accepts no qualified names).
const SESSION_COLS: &str =
    "{s}session_id, {s}user_key, {s}created_at, {s}renewed_at, {s}idle_deadline, \
     {s}absolute_deadline, {s}current_token, {s}previous_token, {s}previous_until, {s}metadata, \
     {s}auth_fingerprint, {s}authenticated_at, {s}series_id";

/// How many columns [`SESSION_COLS`] has: the user's columns follow them in [`Queries::fetch`].
pub(crate) const SESSION_WIDTH: usize = 13;

/// Lock the users `which` selects (a condition on `u`, then maybe a `LIMIT`) that no session refers to,
/// skipping rows another transaction holds → their keys. Only candidates: a sign-in that committed after
/// this statement's snapshot is not seen here (PostgreSQL re-checks a changed row's own columns, not the
/// `NOT EXISTS`), so the `DELETE` that follows re-checks in a statement of its own, whose snapshot is taken
/// once the locks are held.
fn lock_unused_users(which: &str) -> String {
    format!(
        "SELECT u.user_key FROM {{p}}users u WHERE NOT EXISTS \
         (SELECT 1 FROM {{p}}sessions s WHERE s.user_key = u.user_key) AND {which}{{lock_skip}}"
    )
}

/// The last key and the size of the window of at most $2 users after (`op` `>`) or from (`>=`) $1.
fn user_window(op: &str) -> String {
    format!(
        "SELECT MAX(user_key), CAST(COUNT(*) AS {{int}}) FROM (SELECT user_key FROM {{p}}users \
         WHERE user_key {op} $1 ORDER BY user_key LIMIT $2) w"
    )
}

/// The rendered statements of one store.
#[derive(Debug)]
pub(crate) struct Queries {
    /// $1 token, $2 now → session columns, then the user's data, version, fingerprint (NULL if missing).
    pub fetch: String,
    /// $1 grace until, $2 successor, $3 now, $4 idle deadline, $5 session id, $6 presented token, $7 due.
    pub renew: String,
    /// $1 user key, $2 data, $3 version, $4 fingerprint: insert, or replace unless the stored version is
    /// newer (no row changed: kept).
    pub upsert_user: String,
    /// $1 user key → the cached user's fingerprint (after `lock_user`: the one every other write waits on).
    pub user_fingerprint: String,
    /// $1..$14: every session column.
    pub insert_session: String,
    /// $1 session id → user key.
    pub session_user: String,
    /// $1 user key: lock the user's row for this transaction (PostgreSQL; empty lock on SQLite) → its
    /// fingerprint.
    pub lock_user: String,
    /// $1 session id → its credential fingerprint.
    pub session_fingerprint: String,
    /// $1 session id, $2 fingerprint: the session takes new credentials (the sync that set them).
    pub adopt_fingerprint: String,
    /// $1 new token, $2 now, $3 idle deadline, $4 session id, $5 a new proof of password (NULL: keep) →
    /// session columns.
    pub rotate: String,
    /// $1 user key, $2 data, $3 version, $4 fingerprint, $5 now: replace if live and not newer.
    pub put_user: String,
    /// $1 user key, $2 now → (has a live session, has a user record).
    pub classify_user: String,
    /// $1 token, $2 now → session id, user key of the live session the token resolves to.
    pub find_by_token: String,
    /// $1 session id.
    pub delete_session: String,
    /// $1 user key: delete the user record once no session refers to it.
    pub delete_user_if_unused: String,
    /// $1 user key, $2 session id to keep (NULL: none).
    pub delete_user_sessions: String,
    /// $1 user key → session columns, oldest first, live or not, then the cached user's fingerprint.
    pub list_sessions: String,
    /// $1 user key, $2 session id → its session columns, then the cached user's fingerprint.
    pub one_session: String,
    /// $1 user key, $2 now: delete the user's sessions that are expired or whose credentials are not the
    /// cached user's.
    pub prune_user_sessions: String,
    /// $1 now → user key, data of every user with a live session.
    pub users: String,
    /// $1 now, $2 batch → one row per deleted session: its user key, how many token hashes it held.
    pub sweep_sessions: String,
    /// $1 now, $2 batch: forget replaced tokens past their grace window.
    pub sweep_grace: String,
    /// $1 user keys (a JSON array of strings, at most one batch) → those no session refers to, locked.
    pub lock_unused_users_of: String,
    /// $1 lower bound (exclusive), $2 batch → the last user key of the next window of `batch` users
    /// (NULL when none is left) and how many the window holds.
    pub user_window_after: String,
    /// `user_window_after` from the first user key ($1 inclusive: pass `''`).
    pub user_window_from: String,
    /// $1 lower bound (exclusive), $2 upper bound (inclusive), $3 batch → the window's users no session
    /// refers to, locked.
    pub lock_unused_window_after: String,
    /// `lock_unused_window_after` from $1 inclusive (the first window).
    pub lock_unused_window_from: String,
    /// $1 user keys (a JSON array, locked by this transaction): delete those no session refers to.
    pub delete_unused_users: String,
    /// $1 channel, $2 payload: notify near caches, delivered when the transaction commits (PostgreSQL).
    pub notify: String,
    /// `renew`, then $8 channel, $9 payload notified when it changed the row: one row when it won.
    pub renew_notify: String,
    /// `put_user`, then $6 channel, $7 payload notified when it changed the row: one row when written.
    pub put_user_notify: String,
}

impl Queries {
    pub(crate) fn new<B: Backend>(prefix: &str) -> Queries {
        let r = |t: &str| {
            let t = t
                .replace("{session_cols}", &SESSION_COLS.replace("{s}", "s."))
                .replace("{returning_cols}", &SESSION_COLS.replace("{s}", ""));
            render::<B>(&t, prefix)
        };
        let renew = "UPDATE {p}sessions SET previous_token = current_token, previous_until = $1, \
                 current_token = $2, renewed_at = $3, \
                 idle_deadline = {least}($4, absolute_deadline), expires_at = {least}($4, absolute_deadline) \
                 WHERE session_id = $5 AND current_token = $6 AND renewed_at <= $7 AND expires_at > $3";
        let put_user = "UPDATE {p}users SET data = $2, version = $3, auth_fingerprint = $4 \
                 WHERE user_key = $1 AND (version IS NULL OR $3 IS NULL OR $3 >= version) \
                 AND EXISTS (SELECT 1 FROM {p}sessions s WHERE s.user_key = $1 AND s.expires_at > $5)";
        Queries {
            notify: r("SELECT pg_notify($1, $2)"),
            renew_notify: r(&format!(
                "WITH w AS ({renew} RETURNING session_id) SELECT pg_notify($8, $9) FROM w"
            )),
            put_user_notify: r(&format!(
                "WITH w AS ({put_user} RETURNING user_key) SELECT pg_notify($6, $7) FROM w"
            )),
            fetch: r("SELECT {session_cols}, u.data, u.version, u.auth_fingerprint \
                 FROM {p}sessions s LEFT JOIN {p}users u ON u.user_key = s.user_key \
                 WHERE (s.current_token = $1 OR (s.previous_token = $1 AND s.previous_until > $2)) \
                 AND s.expires_at > $2"),
            renew: r(renew),
            upsert_user: r("INSERT INTO {p}users (user_key, data, version, auth_fingerprint) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_key) DO UPDATE SET data = excluded.data, version = excluded.version, \
                 auth_fingerprint = excluded.auth_fingerprint \
                 WHERE {p}users.version IS NULL OR excluded.version IS NULL \
                 OR excluded.version >= {p}users.version"),
            insert_session: r("INSERT INTO {p}sessions (session_id, user_key, created_at, renewed_at, \
                 idle_deadline, absolute_deadline, expires_at, current_token, previous_token, \
                 previous_until, metadata, auth_fingerprint, authenticated_at, series_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"),
            session_user: r("SELECT user_key FROM {p}sessions WHERE session_id = $1"),
            lock_user: r("SELECT auth_fingerprint FROM {p}users WHERE user_key = $1{lock}"),
            user_fingerprint: r("SELECT auth_fingerprint FROM {p}users WHERE user_key = $1"),
            session_fingerprint: r("SELECT auth_fingerprint FROM {p}sessions WHERE session_id = $1"),
            adopt_fingerprint: r("UPDATE {p}sessions SET auth_fingerprint = $2 WHERE session_id = $1"),
            rotate: r("UPDATE {p}sessions SET current_token = $1, previous_token = NULL, \
                 previous_until = NULL, renewed_at = $2, \
                 idle_deadline = {least}($3, absolute_deadline), expires_at = {least}($3, absolute_deadline), \
                 authenticated_at = COALESCE($5, authenticated_at) \
                 WHERE session_id = $4 AND expires_at > $2 RETURNING {returning_cols}"),
            put_user: r(put_user),
            classify_user: r("SELECT \
                 CAST(CASE WHEN EXISTS (SELECT 1 FROM {p}sessions s \
                   WHERE s.user_key = $1 AND s.expires_at > $2) THEN 1 ELSE 0 END AS {int}), \
                 CAST(CASE WHEN EXISTS (SELECT 1 FROM {p}users WHERE user_key = $1) \
                   THEN 1 ELSE 0 END AS {int})"),
            find_by_token: r("SELECT session_id, user_key FROM {p}sessions \
                 WHERE (current_token = $1 OR (previous_token = $1 AND previous_until > $2)) \
                 AND expires_at > $2"),
            delete_session: r("DELETE FROM {p}sessions WHERE session_id = $1"),
            delete_user_if_unused: r("DELETE FROM {p}users WHERE user_key = $1 \
                 AND NOT EXISTS (SELECT 1 FROM {p}sessions s WHERE s.user_key = $1)"),
            delete_user_sessions: r("DELETE FROM {p}sessions WHERE user_key = $1 \
                 AND ($2 IS NULL OR session_id <> $2)"),
            list_sessions: r("SELECT {session_cols}, u.auth_fingerprint FROM {p}sessions s \
                 LEFT JOIN {p}users u ON u.user_key = s.user_key WHERE s.user_key = $1 \
                 ORDER BY s.created_at, s.session_id"),
            one_session: r("SELECT {session_cols}, u.auth_fingerprint FROM {p}sessions s \
                 LEFT JOIN {p}users u ON u.user_key = s.user_key \
                 WHERE s.user_key = $1 AND s.session_id = $2"),
            prune_user_sessions: r("DELETE FROM {p}sessions WHERE user_key = $1 AND (expires_at <= $2 \
                 OR auth_fingerprint IS DISTINCT FROM \
                   (SELECT u.auth_fingerprint FROM {p}users u WHERE u.user_key = $1))"),
            users: r("SELECT u.user_key, u.data FROM {p}users u WHERE EXISTS \
                 (SELECT 1 FROM {p}sessions s WHERE s.user_key = u.user_key AND s.expires_at > $1 \
                   AND s.auth_fingerprint IS NOT DISTINCT FROM u.auth_fingerprint) \
                 ORDER BY u.user_key"),
            // Each batch is chosen once, in a materialized CTE: as a plain `IN (SELECT … LIMIT n)`,
            // PostgreSQL may re-run the subquery for every row it deletes and so ignore the limit.
            sweep_sessions: r("WITH batch AS MATERIALIZED (SELECT session_id FROM {p}sessions \
                 WHERE expires_at <= $1 LIMIT $2{lock_skip}) \
                 DELETE FROM {p}sessions WHERE expires_at <= $1 \
                 AND session_id IN (SELECT session_id FROM batch) \
                 RETURNING user_key, CAST(CASE WHEN previous_token IS NULL THEN 1 ELSE 2 END AS {int})"),
            sweep_grace: r("WITH batch AS MATERIALIZED (SELECT session_id FROM {p}sessions \
                 WHERE previous_until <= $1 LIMIT $2{lock_skip}) \
                 UPDATE {p}sessions SET previous_token = NULL, previous_until = NULL \
                 WHERE previous_until <= $1 AND session_id IN (SELECT session_id FROM batch)"),
            // Users are looked up by key or key range only (index probes): never an anti-join over every
            // user, whose cost grows with the table (half a second and more at 10^6 sessions).
            lock_unused_users_of: r(&lock_unused_users("u.user_key IN ({text_list})")),
            user_window_after: r(&user_window(">")),
            user_window_from: r(&user_window(">=")),
            lock_unused_window_after: r(&lock_unused_users(
                "u.user_key > $1 AND u.user_key <= $2 LIMIT $3",
            )),
            lock_unused_window_from: r(&lock_unused_users(
                "u.user_key >= $1 AND u.user_key <= $2 LIMIT $3",
            )),
            delete_unused_users: r("DELETE FROM {p}users WHERE user_key IN ({text_list}) \
                 AND NOT EXISTS (SELECT 1 FROM {p}sessions s WHERE s.user_key = {p}users.user_key)"),
        }
    }
}
