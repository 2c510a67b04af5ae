//! The [`Store`] primitives, one method each (the table in the [module docs](super) says what each
//! runs).

use std::sync::Arc;

use keycard::store::{credentials_match, FetchOutcome, NewSession, RenewalPlan, Rotation};
use keycard::token::TokenHash;
use keycard::{
    CachedUser, CreateOutcome, PutOutcome, SessionId, SessionRecord, Store, StoreError, SweepStats,
    Timestamp, TokenUse,
};

use super::access::{decode_error, user_row, Deletion, Resolved, UserRow};
use super::{notify, SqlStore};
use crate::backend::{Arg, Backend, Exec, Row};
use crate::codec::{self, ts};

#[async_trait::async_trait]
impl<U: CachedUser, B: Backend> Store<U> for SqlStore<B> {
    async fn create(&self, new: NewSession<U>) -> Result<CreateOutcome, StoreError> {
        let NewSession { session: s, user } = new;
        if !s.is_live(s.renewed_at) {
            return Ok(CreateOutcome::Created); // dead on arrival: nothing to keep
        }
        let u = user_row(&*user, "create", B::NAME)?;
        let metadata = codec::encode(&s.metadata).map_err(|e| {
            StoreError::new(B::NAME, "create", "session metadata does not serialize").with_source(e)
        })?;
        self.bounded("create", async {
            let mut tx = B::begin(&self.pool).await?;
            if !self.upsert_user(&mut tx, &u).await? {
                // A newer copy was kept: this sign-in's credentials must still be its.
                let cached = match tx
                    .fetch_optional(&self.q.user_fingerprint, &[Arg::Text(&u.key)])
                    .await?
                {
                    Some(row) => codec::read_fingerprint(&row, 0).map_err(decode_error)?,
                    None => None,
                };
                if !credentials_match(s.auth_fingerprint, cached) {
                    return Ok(CreateOutcome::CredentialsChanged); // rolls back: nothing written
                }
            }
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
                    Arg::OptBytes(s.auth_fingerprint.as_ref().map(|f| &f.0[..])),
                    Arg::OptInt(s.authenticated_at.map(ts)),
                    Arg::OptBytes(s.remember_series.as_ref().map(|id| &id.0[..])),
                ],
            )
            .await?;
            self.notify_in(&mut tx, &notify::user(&u.key)).await?;
            B::commit(tx).await?;
            Ok(CreateOutcome::Created)
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
            let Some(Resolved {
                session,
                user,
                user_fingerprint,
            }) = self.resolve::<U>(token, now).await?
            else {
                return Ok(FetchOutcome::NotFound);
            };
            let Some(token_use) = session.token_use(token, now) else {
                return Ok(FetchOutcome::NotFound);
            };
            if !credentials_match(session.auth_fingerprint, user_fingerprint) {
                // Signed in with other credentials than the cached user's: it ends here (with every
                // other such session of the user, in the same write).
                self.delete_for_user(&session.user_key, Deletion::Dead(now))
                    .await?;
                return Ok(FetchOutcome::Ended {
                    session_id: session.session_id,
                    user_key: session.user_key.to_string(),
                });
            }
            if !plan.is_due(&session, token_use) {
                return Ok(FetchOutcome::Found {
                    session: Arc::new(session),
                    user,
                    token_use,
                    renewed: false,
                });
            }
            // Renewal: one conditional UPDATE; exactly one concurrent caller changes the row.
            let next = plan.next_token.hash();
            let args = [
                Arg::Int(ts(plan.grace_until)),
                Arg::Bytes(&next.0),
                Arg::Int(ts(now)),
                Arg::Int(ts(plan.idle_deadline)),
                Arg::Bytes(&session.session_id.0),
                Arg::Bytes(&token.0),
                Arg::Int(ts(plan.due_if_renewed_at_or_before)),
            ];
            let won = match self.notify_channel() {
                // The same UPDATE, notifying in its own statement when (and only when) it changed the row.
                Some(channel) => {
                    let payload = notify::session(&session.session_id);
                    let mut with_notify = args.to_vec();
                    with_notify.extend([Arg::Text(channel), Arg::Text(&payload)]);
                    B::on_pool(&self.pool)
                        .fetch_all(&self.q.renew_notify, &with_notify)
                        .await?
                        .len()
                        == 1
                }
                None => B::on_pool(&self.pool).execute(&self.q.renew, &args).await? == 1,
            };
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
            let Some(Resolved { session, user, .. }) = self.resolve::<U>(token, now).await? else {
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
        rotation: Rotation<U>,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        let Rotation {
            ref session_id,
            ref new_token,
            user,
            now,
            idle_deadline,
            authenticated_at,
        } = rotation;
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
            let cached = self.lock_user(&mut tx, &user_key).await?.flatten();
            let own = match tx
                .fetch_optional(&self.q.session_fingerprint, &[Arg::Bytes(&session_id.0)])
                .await?
            {
                Some(row) => codec::read_fingerprint(&row, 0).map_err(decode_error)?,
                None => return Ok(None),
            };
            if !credentials_match(own, cached) {
                // Already ended by a credential change: it does not get to adopt the new credentials.
                drop(tx);
                self.delete_for_user(&user_key, Deletion::Dead(now)).await?;
                return Ok(None);
            }
            let Some(row) = tx
                .fetch_optional(
                    &self.q.rotate,
                    &[
                        Arg::Bytes(&new_token.0),
                        Arg::Int(ts(now)),
                        Arg::Int(ts(idle_deadline)),
                        Arg::Bytes(&session_id.0),
                        Arg::OptInt(authenticated_at.map(ts)),
                    ],
                )
                .await?
            else {
                return Ok(None); // gone or expired: nothing written (the transaction rolls back)
            };
            let mut session = match codec::session_from_row(&row) {
                Ok(s) => s,
                Err(reason) => {
                    codec::warn_undecodable(B::NAME, "rotate", reason);
                    return Ok(None);
                }
            };
            self.notify_in(&mut tx, &notify::session(session_id))
                .await?;
            if let Some(u) = &u {
                let replaced = self.upsert_user(&mut tx, u).await?;
                if replaced {
                    self.notify_in(&mut tx, &notify::user(&u.key)).await?;
                }
                if replaced && u.fingerprint != session.auth_fingerprint {
                    // The session that changes the credentials takes them; every other session ends.
                    tx.execute(
                        &self.q.adopt_fingerprint,
                        &[
                            Arg::Bytes(&session_id.0),
                            Arg::OptBytes(u.fingerprint_arg()),
                        ],
                    )
                    .await?;
                    session.auth_fingerprint = u.fingerprint;
                }
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
            let args = [
                Arg::Text(&u.key),
                Arg::Text(&u.data),
                Arg::OptInt(u.version),
                Arg::OptBytes(u.fingerprint_arg()),
                Arg::Int(ts(now)),
            ];
            let written = match self.notify_channel() {
                Some(channel) => {
                    let payload = notify::user(&u.key);
                    let mut with_notify = args.to_vec();
                    with_notify.extend([Arg::Text(channel), Arg::Text(&payload)]);
                    db.fetch_all(&self.q.put_user_notify, &with_notify)
                        .await?
                        .len() as u64
                }
                None => db.execute(&self.q.put_user, &args).await?,
            };
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
    ) -> Result<Option<(SessionId, String)>, StoreError> {
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
            Ok((n > 0).then_some((sid, user_key)))
        })
        .await
    }

    async fn delete_session(&self, session_id: &SessionId) -> Result<Option<String>, StoreError> {
        let sid = *session_id;
        self.bounded("delete_session", async {
            let Some(row) = B::on_pool(&self.pool)
                .fetch_optional(&self.q.session_user, &[Arg::Bytes(&sid.0)])
                .await?
            else {
                return Ok(None);
            };
            let user_key = row.text(0)?.to_owned();
            let n = self.delete_for_user(&user_key, Deletion::One(&sid)).await?;
            Ok((n > 0).then_some(user_key))
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
                let decoded = codec::session_from_row(row).and_then(|s| {
                    codec::read_fingerprint(row, crate::queries::SESSION_WIDTH).map(|fp| (s, fp))
                });
                match decoded {
                    Ok((s, fp)) if s.is_live(now) && credentials_match(s.auth_fingerprint, fp) => {
                        live.push(s)
                    }
                    Ok(_) => dead = true,
                    Err(reason) => codec::warn_undecodable(B::NAME, "sessions", reason),
                }
            }
            if dead {
                // Pruned as it is read: the dead rows met, and the user record if nothing is left.
                self.delete_for_user(user_key, Deletion::Dead(now)).await?;
            }
            Ok(live)
        })
        .await
    }

    async fn session(
        &self,
        user_key: &str,
        session_id: &SessionId,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.bounded("session", async {
            let Some(row) = B::on_pool(&self.pool)
                .fetch_optional(
                    &self.q.one_session,
                    &[Arg::Text(user_key), Arg::Bytes(&session_id.0)],
                )
                .await?
            else {
                return Ok(None);
            };
            let decoded = codec::session_from_row(&row).and_then(|s| {
                codec::read_fingerprint(&row, crate::queries::SESSION_WIDTH).map(|fp| (s, fp))
            });
            match decoded {
                Ok((s, fp)) if s.is_live(now) && credentials_match(s.auth_fingerprint, fp) => {
                    Ok(Some(s))
                }
                Ok(_) => Ok(None),
                Err(reason) => {
                    codec::warn_undecodable(B::NAME, "session", reason);
                    Ok(None)
                }
            }
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
        self.sweep_in_batches(now).await
    }
}

impl<B: Backend> SqlStore<B> {
    /// Insert `u`, or replace the cached copy unless it is newer: `true` when the row was written.
    async fn upsert_user(&self, tx: &mut B::Tx, u: &UserRow) -> Result<bool, sqlx::Error> {
        let written = tx
            .execute(
                &self.q.upsert_user,
                &[
                    Arg::Text(&u.key),
                    Arg::Text(&u.data),
                    Arg::OptInt(u.version),
                    Arg::OptBytes(u.fingerprint_arg()),
                ],
            )
            .await?;
        Ok(written > 0)
    }
}
