//! The [`Store`] primitives in SQL, written once for both dialects.
//!
//! | primitive | statements | guard |
//! |---|---|---|
//! | `fetch` (no renewal due) | 1 `SELECT` (session ⋈ user) | — |
//! | `fetch` (renewal due) | + 1 conditional `UPDATE … WHERE current_token = $presented AND renewed_at <= $due` | one winner: the loser's `UPDATE` matches no row and it re-reads the token as a grace token |
//! | `create` | upsert user (version-guarded), insert session | one write transaction |
//! | `rotate` | lock user, `UPDATE … WHERE expires_at > now RETURNING`, upsert user | one write transaction; nothing written for a dead session |
//! | `put_user` | 1 `UPDATE users … WHERE version ok AND EXISTS (live session)` | one statement; writes nothing without a live session |
//! | deletes | lock user, `DELETE` sessions, `DELETE` the user once unused | one write transaction |
//! | `sessions` | 1 `SELECT`; dead rows met are deleted in a write transaction | — |
//! | `sweep` | batches of `DELETE … LIMIT n`, each its own short transaction | re-checks the expiry on the row it deletes |
//!
//! "Lock user" is `SELECT … FOR UPDATE` on PostgreSQL and nothing on SQLite (whose `BEGIN IMMEDIATE`
//! already excludes every other writer). Every call is bounded by [`SqlConfig::operation_timeout`].

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use keycard::store::{FetchOutcome, NewSession, RenewalPlan};
use keycard::token::TokenHash;
use keycard::{
    CachedUser, PutOutcome, SessionId, SessionRecord, Store, StoreError, SweepStats, Timestamp,
    TokenUse,
};

use crate::backend::{Arg, Backend, Exec, Row};
use crate::codec::{self, ts};
use crate::queries::{Queries, SESSION_WIDTH};
use crate::schema::{self, MigrateError, SCHEMA_VERSION};
use crate::SqlConfig;

/// A credentials store in SQL: [`SqliteStore`](crate::SqliteStore) or
/// [`PostgresStore`](crate::PostgresStore). See the [crate docs](crate) for the schema and the model.
pub struct SqlStore<B: Backend> {
    pool: B::Pool,
    fast: Arc<B::Fast>,
    q: Arc<Queries>,
    config: SqlConfig,
    _backend: PhantomData<fn() -> B>,
}

impl<B: Backend> Clone for SqlStore<B> {
    fn clone(&self) -> Self {
        SqlStore {
            pool: self.pool.clone(),
            fast: self.fast.clone(),
            q: self.q.clone(),
            config: self.config.clone(),
            _backend: PhantomData,
        }
    }
}

impl<B: Backend> std::fmt::Debug for SqlStore<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &B::NAME)
            .field("table_prefix", &self.config.table_prefix())
            .finish_non_exhaustive()
    }
}

/// Which of a user's sessions [`SqlStore::delete_for_user`] deletes.
enum Deletion<'a> {
    /// This one.
    One(&'a SessionId),
    /// All of them but this one (if any).
    AllExcept(Option<&'a SessionId>),
    /// The ones dead at this instant.
    ExpiredAt(Timestamp),
}

/// What a user record needs in SQL.
struct UserRow {
    key: String,
    data: String,
    version: Option<i64>,
}

fn user_row<U: CachedUser>(
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
    })
}

impl<B: Backend> SqlStore<B> {
    /// A store over an existing pool (the app's own, say). Does not migrate: call
    /// [`migrate`](Self::migrate) once at start-up.
    pub fn from_pool(pool: B::Pool, config: SqlConfig) -> Result<Self, crate::SqlConfigError> {
        config.validate()?;
        Ok(SqlStore {
            q: Arc::new(Queries::new::<B>(config.table_prefix())),
            fast: Arc::new(B::fast(&pool, &config)),
            pool,
            config,
            _backend: PhantomData,
        })
    }

    /// Create or upgrade this store's tables (see [`schema`](crate#schema)). Safe to call on every
    /// start-up, from several processes at once. Returns the migration versions applied now.
    pub async fn migrate(&self) -> Result<Vec<i64>, MigrateError> {
        schema::migrate::<B>(&self.pool, self.config.table_prefix()).await
    }

    /// Whether the database holds exactly the schema this version of the crate uses: `Ok(false)` when
    /// [`migrate`](Self::migrate) has not been run (or a newer crate migrated it).
    pub async fn is_migrated(&self) -> Result<bool, sqlx::Error> {
        Ok(
            schema::installed_version::<B>(&self.pool, self.config.table_prefix()).await?
                == Some(SCHEMA_VERSION),
        )
    }

    /// The pool this store runs on.
    pub fn pool(&self) -> &B::Pool {
        &self.pool
    }

    /// The backend's fast reader state.
    pub(crate) fn fast_reader(&self) -> Option<&B::Fast> {
        Some(&self.fast)
    }

    /// The settings.
    pub fn config(&self) -> &SqlConfig {
        &self.config
    }

    fn err(&self, op: &'static str, e: sqlx::Error) -> StoreError {
        StoreError::new(B::NAME, op, e.to_string()).with_source(e)
    }

    /// Run one primitive, bounded by the operation timeout.
    async fn bounded<T>(
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
    /// the database's one write lock).
    async fn lock_user(&self, tx: &mut B::Tx, user_key: &str) -> Result<(), sqlx::Error> {
        if !B::DIALECT.lock_row.is_empty() {
            tx.fetch_optional(&self.q.lock_user, &[Arg::Text(user_key)])
                .await?;
        }
        Ok(())
    }

    /// Delete sessions of one user in a transaction that holds the user's lock, then the user record if
    /// no session refers to it any more. Returns how many sessions were deleted.
    async fn delete_for_user(
        &self,
        user_key: &str,
        which: Deletion<'_>,
    ) -> Result<u64, sqlx::Error> {
        let mut tx = B::begin(&self.pool).await?;
        self.lock_user(&mut tx, user_key).await?;
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
            Deletion::ExpiredAt(now) => {
                tx.execute(
                    &self.q.prune_user_sessions,
                    &[Arg::Text(user_key), Arg::Int(ts(now))],
                )
                .await?
            }
        };
        tx.execute(&self.q.delete_user_if_unused, &[Arg::Text(user_key)])
            .await?;
        B::commit(tx).await?;
        Ok(n)
    }

    /// The live session `token` resolves to at `now`, and its user: one `SELECT`, through the fast reader
    /// when the backend has one. `Ok(None)` for no live session, or one whose row does not decode.
    async fn resolve<U: CachedUser>(
        &self,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(SessionRecord, Arc<U>)>, sqlx::Error> {
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

/// A fetched row: the session and the user, or why it counts as absent.
fn decode_fetch<U: CachedUser>(
    backend: &'static str,
    row: &impl Row,
) -> Option<(SessionRecord, Arc<U>)> {
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
    Some((session, Arc::new(user)))
}

#[async_trait::async_trait]
impl<U: CachedUser, B: Backend> Store<U> for SqlStore<B> {
    async fn create(&self, new: NewSession<U>) -> Result<(), StoreError> {
        let NewSession { session: s, user } = new;
        if !s.is_live(s.renewed_at) {
            return Ok(()); // dead on arrival: nothing to keep
        }
        let u = user_row(&*user, "create", B::NAME)?;
        let metadata = codec::encode(&s.metadata).map_err(|e| {
            StoreError::new(B::NAME, "create", "session metadata does not serialize").with_source(e)
        })?;
        self.bounded("create", async {
            let mut tx = B::begin(&self.pool).await?;
            tx.execute(
                &self.q.upsert_user,
                &[
                    Arg::Text(&u.key),
                    Arg::Text(&u.data),
                    Arg::OptInt(u.version),
                    Arg::OptBytes(None),
                ],
            )
            .await?;
            let prev = s.previous_token.as_ref();
            tx.execute(
                &self.q.insert_session,
                &[
                    Arg::Bytes(&s.session_id.0),
                    Arg::Text(&s.user_key),
                    Arg::Int(ts(s.created_at)),
                    Arg::Int(ts(s.renewed_at)),
                    Arg::Int(ts(s.idle_deadline)),
                    Arg::Int(ts(s.absolute_deadline)),
                    Arg::Int(ts(s.expires_at())),
                    Arg::Bytes(&s.current_token.0),
                    Arg::OptBytes(prev.map(|(t, _)| &t.0[..])),
                    Arg::OptInt(prev.map(|(_, until)| ts(*until))),
                    Arg::Text(&metadata),
                    Arg::OptBytes(None),
                    Arg::OptInt(Some(ts(s.created_at))),
                    Arg::OptBytes(None),
                ],
            )
            .await?;
            B::commit(tx).await
        })
        .await
    }

    async fn fetch(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> Result<FetchOutcome<U>, StoreError> {
        self.bounded("fetch", async {
            let Some((session, user)) = self.resolve::<U>(token, now).await? else {
                return Ok(FetchOutcome::NotFound);
            };
            let Some(token_use) = session.token_use(token, now) else {
                return Ok(FetchOutcome::NotFound);
            };
            let due = token_use == TokenUse::Current
                && session.renewed_at <= plan.due_if_renewed_at_or_before;
            if !due {
                return Ok(FetchOutcome::Found {
                    session: Arc::new(session),
                    user,
                    token_use,
                    renewed: false,
                });
            }
            // Renewal: one conditional UPDATE; exactly one concurrent caller changes the row.
            let next = plan.next_token.hash();
            let won = B::on_pool(&self.pool)
                .execute(
                    &self.q.renew,
                    &[
                        Arg::Int(ts(plan.grace_until)),
                        Arg::Bytes(&next.0),
                        Arg::Int(ts(now)),
                        Arg::Int(ts(plan.idle_deadline)),
                        Arg::Bytes(&session.session_id.0),
                        Arg::Bytes(&token.0),
                        Arg::Int(ts(plan.due_if_renewed_at_or_before)),
                    ],
                )
                .await?
                == 1;
            if won {
                let mut renewed = session;
                renewed.renewed_at = now;
                renewed.idle_deadline = plan.idle_deadline.min(renewed.absolute_deadline);
                renewed.previous_token = Some((*token, plan.grace_until));
                renewed.current_token = next;
                return Ok(FetchOutcome::Found {
                    session: Arc::new(renewed),
                    user,
                    token_use: TokenUse::Current,
                    renewed: true,
                });
            }
            // Somebody else rotated (or ended the session) first: resolve the token again.
            let Some((session, user)) = self.resolve::<U>(token, now).await? else {
                return Ok(FetchOutcome::NotFound);
            };
            Ok(match session.token_use(token, now) {
                Some(token_use) => FetchOutcome::Found {
                    session: Arc::new(session),
                    user,
                    token_use,
                    renewed: false,
                },
                None => FetchOutcome::NotFound,
            })
        })
        .await
    }

    async fn rotate(
        &self,
        session_id: &SessionId,
        new_token: &TokenHash,
        user: Option<Arc<U>>,
        now: Timestamp,
        idle_deadline: Timestamp,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        let u = user
            .as_deref()
            .map(|u| user_row(u, "rotate", B::NAME))
            .transpose()?;
        self.bounded("rotate", async {
            let mut tx = B::begin(&self.pool).await?;
            let Some(owner) = tx
                .fetch_optional(&self.q.session_user, &[Arg::Bytes(&session_id.0)])
                .await?
            else {
                return Ok(None);
            };
            let user_key = owner.text(0)?.to_owned();
            self.lock_user(&mut tx, &user_key).await?;
            let Some(row) = tx
                .fetch_optional(
                    &self.q.rotate,
                    &[
                        Arg::Bytes(&new_token.0),
                        Arg::Int(ts(now)),
                        Arg::Int(ts(idle_deadline)),
                        Arg::Bytes(&session_id.0),
                    ],
                )
                .await?
            else {
                return Ok(None); // gone or expired: nothing written (the transaction rolls back)
            };
            let session = match codec::session_from_row(&row) {
                Ok(s) => s,
                Err(reason) => {
                    codec::warn_undecodable(B::NAME, "rotate", reason);
                    return Ok(None);
                }
            };
            if let Some(u) = &u {
                tx.execute(
                    &self.q.upsert_user,
                    &[
                        Arg::Text(&u.key),
                        Arg::Text(&u.data),
                        Arg::OptInt(u.version),
                        Arg::OptBytes(None),
                    ],
                )
                .await?;
            }
            B::commit(tx).await?;
            Ok(Some(Arc::new(session)))
        })
        .await
    }

    async fn put_user(&self, user: Arc<U>, now: Timestamp) -> Result<PutOutcome, StoreError> {
        let u = user_row(&*user, "put_user", B::NAME)?;
        self.bounded("put_user", async {
            let mut db = B::on_pool(&self.pool);
            let written = db
                .execute(
                    &self.q.put_user,
                    &[
                        Arg::Text(&u.key),
                        Arg::Text(&u.data),
                        Arg::OptInt(u.version),
                        Arg::OptBytes(None),
                        Arg::Int(ts(now)),
                    ],
                )
                .await?;
            if written == 1 {
                return Ok(PutOutcome::Updated);
            }
            // Nothing written: say why (a live session and a record mean the cached copy is newer).
            let why = db
                .fetch_optional(
                    &self.q.classify_user,
                    &[Arg::Text(&u.key), Arg::Int(ts(now))],
                )
                .await?;
            let (live, cached) = match &why {
                Some(r) => (r.int(0)? == 1, r.int(1)? == 1),
                None => (false, false),
            };
            Ok(if live && cached {
                PutOutcome::Stale
            } else {
                PutOutcome::NotCached
            })
        })
        .await
    }

    async fn delete_by_token(
        &self,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<SessionId>, StoreError> {
        self.bounded("delete_by_token", async {
            let Some(row) = B::on_pool(&self.pool)
                .fetch_optional(
                    &self.q.find_by_token,
                    &[Arg::Bytes(&token.0), Arg::Int(ts(now))],
                )
                .await?
            else {
                return Ok(None);
            };
            let Ok(sid) = codec::read_session_id(&row, 0) else {
                return Ok(None);
            };
            let user_key = row.text(1)?.to_owned();
            let n = self.delete_for_user(&user_key, Deletion::One(&sid)).await?;
            Ok((n > 0).then_some(sid))
        })
        .await
    }

    async fn delete_session(&self, session_id: &SessionId) -> Result<bool, StoreError> {
        let sid = *session_id;
        self.bounded("delete_session", async {
            let Some(row) = B::on_pool(&self.pool)
                .fetch_optional(&self.q.session_user, &[Arg::Bytes(&sid.0)])
                .await?
            else {
                return Ok(false);
            };
            let user_key = row.text(0)?.to_owned();
            let n = self.delete_for_user(&user_key, Deletion::One(&sid)).await?;
            Ok(n > 0)
        })
        .await
    }

    async fn delete_user_sessions(
        &self,
        user_key: &str,
        except: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        self.bounded("delete_user_sessions", async {
            let n = self
                .delete_for_user(user_key, Deletion::AllExcept(except))
                .await?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
        .await
    }

    async fn sessions(
        &self,
        user_key: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.bounded("sessions", async {
            let rows = B::on_pool(&self.pool)
                .fetch_all(&self.q.list_sessions, &[Arg::Text(user_key)])
                .await?;
            let mut live = Vec::with_capacity(rows.len());
            let mut dead = false;
            for row in &rows {
                match codec::session_from_row(row) {
                    Ok(s) if s.is_live(now) => live.push(s),
                    Ok(_) => dead = true,
                    Err(reason) => codec::warn_undecodable(B::NAME, "sessions", reason),
                }
            }
            if dead {
                // Pruned as it is read: the dead rows met, and the user record if nothing is left.
                self.delete_for_user(user_key, Deletion::ExpiredAt(now))
                    .await?;
            }
            Ok(live)
        })
        .await
    }

    async fn users(&self, now: Timestamp) -> Result<Vec<Arc<U>>, StoreError> {
        self.bounded("users", async {
            let rows = B::on_pool(&self.pool)
                .fetch_all(&self.q.users, &[Arg::Int(ts(now))])
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                match codec::decode::<U>(row.text(1)?) {
                    Ok(u) => out.push(Arc::new(u)),
                    Err(reason) => {
                        tracing::warn!(
                            backend = B::NAME,
                            user_key = row.text(0)?,
                            reason,
                            "undecodable cached user skipped"
                        );
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn sweep(&self, now: Timestamp) -> Result<SweepStats, StoreError> {
        let batch = i64::from(self.config.sweep_batch());
        let mut stats = SweepStats::default();
        // Each batch is its own short transaction, bounded on its own: a sweep never holds a lock for long
        // and ends when a batch comes back short.
        loop {
            let tokens: Vec<i64> = self
                .bounded("sweep", async {
                    let mut tx = B::begin(&self.pool).await?;
                    let rows = tx
                        .fetch_all(
                            &self.q.sweep_sessions,
                            &[Arg::Int(ts(now)), Arg::Int(batch)],
                        )
                        .await?;
                    B::commit(tx).await?;
                    rows.iter().map(|r| r.int(0)).collect()
                })
                .await?;
            stats.sessions += tokens.len();
            stats.tokens += tokens.iter().map(|&n| n as usize).sum::<usize>();
            if (tokens.len() as i64) < batch {
                break;
            }
            tokio::task::yield_now().await;
        }
        loop {
            let n = self
                .bounded("sweep", async {
                    B::on_pool(&self.pool)
                        .execute(&self.q.sweep_grace, &[Arg::Int(ts(now)), Arg::Int(batch)])
                        .await
                })
                .await?;
            stats.tokens += n as usize;
            if (n as i64) < batch {
                break;
            }
            tokio::task::yield_now().await;
        }
        loop {
            let n = self
                .bounded("sweep", async {
                    let mut tx = B::begin(&self.pool).await?;
                    let n = tx.execute(&self.q.sweep_users, &[Arg::Int(batch)]).await?;
                    B::commit(tx).await?;
                    Ok(n)
                })
                .await?;
            stats.users += n as usize;
            if (n as i64) < batch {
                break;
            }
            tokio::task::yield_now().await;
        }
        Ok(stats)
    }
}
