//! How the primitives reach their rows: errors and the per-call bound, the user lock, deleting a user's
//! sessions (and the user once unused), resolving a token to its session and user.

use std::future::Future;
use std::sync::Arc;

use keycard::token::TokenHash;
use keycard::{CachedUser, Fingerprint, SessionId, SessionRecord, StoreError, Timestamp};

use super::SqlStore;
use crate::backend::{Arg, Backend, Exec, Row};
use crate::codec::{self, ts};
use crate::queries::SESSION_WIDTH;

/// Which of a user's sessions [`SqlStore::delete_for_user`] deletes.
pub(super) enum Deletion<'a> {
    /// This one.
    One(&'a SessionId),
    /// All of them but this one (if any).
    AllExcept(Option<&'a SessionId>),
    /// The ones dead at this instant: expired, or signed in with other credentials than the cached
    /// user's.
    Dead(Timestamp),
}

/// A resolved token: the session, its user, and the user's credential fingerprint.
pub(super) struct Resolved<U> {
    pub(super) session: SessionRecord,
    pub(super) user: Arc<U>,
    pub(super) user_fingerprint: Option<Fingerprint>,
}

/// What a user record needs in SQL.
pub(super) struct UserRow {
    pub(super) key: String,
    pub(super) data: String,
    pub(super) version: Option<i64>,
    pub(super) fingerprint: Option<Fingerprint>,
}

impl UserRow {
    /// The fingerprint column's value.
    pub(super) fn fingerprint_arg(&self) -> Option<&[u8]> {
        self.fingerprint.as_ref().map(|f| &f.0[..])
    }
}

pub(super) fn user_row<U: CachedUser>(
    user: &U,
    op: &'static str,
    backend: &'static str,
) -> Result<UserRow, StoreError> {
    let data = codec::encode(user).map_err(|e| {
        StoreError::new(backend, op, "the user does not serialize to JSON").with_source(e)
    })?;
    Ok(UserRow {
        key: user.user_key(),
        data,
        version: user.version().map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
        fingerprint: Fingerprint::of(user),
    })
}

impl<B: Backend> SqlStore<B> {
    pub(super) fn err(&self, op: &'static str, e: sqlx::Error) -> StoreError {
        StoreError::new(B::NAME, op, e.to_string()).with_source(e)
    }

    /// Run one primitive, bounded by the operation timeout.
    pub(super) async fn bounded<T>(
        &self,
        op: &'static str,
        f: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.config.operation_timeout(), f).await {
            Ok(r) => r.map_err(|e| self.err(op, e)),
            Err(_) => Err(StoreError::new(
                B::NAME,
                op,
                format!(
                    "no answer within {:?} (SqlConfig::operation_timeout)",
                    self.config.operation_timeout()
                ),
            )),
        }
    }

    /// Lock the user's row for the rest of `tx` (PostgreSQL; SQLite's write transaction already holds
    /// the database's one write lock) and read its credential fingerprint, which cannot change before
    /// `tx` ends. `None` when the user has no record.
    pub(super) async fn lock_user(
        &self,
        tx: &mut B::Tx,
        user_key: &str,
    ) -> Result<Option<Option<Fingerprint>>, sqlx::Error> {
        let row = tx
            .fetch_optional(&self.q.lock_user, &[Arg::Text(user_key)])
            .await?;
        row.map(|r| codec::read_fingerprint(&r, 0).map_err(decode_error))
            .transpose()
    }

    /// Delete sessions of one user in a transaction that holds the user's lock, then the user record if
    /// no session refers to it any more. Returns how many sessions were deleted.
    pub(super) async fn delete_for_user(
        &self,
        user_key: &str,
        which: Deletion<'_>,
    ) -> Result<u64, sqlx::Error> {
        let mut tx = B::begin(&self.pool).await?;
        self.lock_user(&mut tx, user_key).await?;
        let payload = match &which {
            Deletion::One(sid) => super::notify::session(sid),
            Deletion::AllExcept(_) | Deletion::Dead(_) => super::notify::user(user_key),
        };
        let n = match which {
            Deletion::One(sid) => {
                tx.execute(&self.q.delete_session, &[Arg::Bytes(&sid.0)])
                    .await?
            }
            Deletion::AllExcept(except) => {
                tx.execute(
                    &self.q.delete_user_sessions,
                    &[Arg::Text(user_key), Arg::OptBytes(except.map(|s| &s.0[..]))],
                )
                .await?
            }
            Deletion::Dead(now) => {
                tx.execute(
                    &self.q.prune_user_sessions,
                    &[Arg::Text(user_key), Arg::Int(ts(now))],
                )
                .await?
            }
        };
        tx.execute(&self.q.delete_user_if_unused, &[Arg::Text(user_key)])
            .await?;
        if n > 0 {
            self.notify_in(&mut tx, &payload).await?;
        }
        B::commit(tx).await?;
        Ok(n)
    }

    /// The live session `token` resolves to at `now`, and its user: one `SELECT`, through the fast reader
    /// when the backend has one. `Ok(None)` for no live session, or one whose row does not decode.
    pub(super) async fn resolve<U: CachedUser>(
        &self,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<Resolved<U>>, sqlx::Error> {
        let args = [Arg::Bytes(&token.0), Arg::Int(ts(now))];
        if let Some(read) = B::fast_fetch(&self.fast, &self.q.fetch, &args) {
            return Ok(read?.and_then(|row| decode_fetch::<U>(B::NAME, &row)));
        }
        let row = B::on_pool(&self.pool)
            .fetch_optional(&self.q.fetch, &args)
            .await?;
        Ok(row.and_then(|row| decode_fetch::<U>(B::NAME, &row)))
    }
}

/// A column that does not hold what the schema says.
pub(super) fn decode_error(reason: &'static str) -> sqlx::Error {
    sqlx::Error::Decode(reason.into())
}

/// A fetched row: the session, the user and its fingerprint, or why it counts as absent.
fn decode_fetch<U: CachedUser>(backend: &'static str, row: &impl Row) -> Option<Resolved<U>> {
    let session = match codec::session_from_row(row) {
        Ok(s) => s,
        Err(reason) => {
            codec::warn_undecodable(backend, "fetch", reason);
            return None;
        }
    };
    let user = match row.opt_text(SESSION_WIDTH) {
        Ok(Some(text)) => match codec::decode::<U>(text) {
            Ok(u) => u,
            Err(reason) => {
                tracing::warn!(backend, user_key = %session.user_key, reason, "undecodable cached user treated as absent");
                return None;
            }
        },
        Ok(None) => {
            tracing::warn!(backend, session_id = %session.session_id, "session without a cached user treated as absent");
            return None;
        }
        Err(_) => {
            codec::warn_undecodable(backend, "fetch", "the user's data is not text");
            return None;
        }
    };
    let user_fingerprint = match codec::read_fingerprint(row, SESSION_WIDTH + 2) {
        Ok(f) => f,
        Err(reason) => {
            codec::warn_undecodable(backend, "fetch", reason);
            return None;
        }
    };
    Some(Resolved {
        session,
        user: Arc::new(user),
        user_fingerprint,
    })
}
