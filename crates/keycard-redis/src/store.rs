//! The [`Store`] primitives: one script call each (`users` and `sweep` one per batch of users of one
//! tag), each routed to the slot of the user it concerns (see `layout`).

use std::sync::Arc;

use keycard::store::{FetchOutcome, NewSession, RenewalPlan, Rotation};
use keycard::token::{SessionId, TokenHash};
use keycard::{
    CachedUser, CreateOutcome, Fingerprint, PutOutcome, SessionRecord, Store, StoreError,
    SweepStats, Timestamp, TokenUse,
};

use crate::codec::{
    array, bytes, decode, encode, fingerprint_arg, int, is_nil, malformed, parse_session, str_arg,
    text, ts_arg, version_arg, warn_session, warn_user, SESSION_WIDTH,
};
use crate::connect::RedisStore;
use crate::layout::{
    base, index_key, session_key, tag_of, tag_of_session, tag_of_token, token_key, user_record_key,
    users_bucket, TAGS,
};
use crate::scripts::SCRIPTS;
use crate::{err, BACKEND};
use futures_util::{StreamExt as _, TryStreamExt as _};
use keycard::RouteTag;

/// How many users one `users`/`sweep` script handles.
const BATCH: usize = 100;
/// Upper bound on sweep batches per call, so a sweep always ends.
const MAX_SWEEP_BATCHES: usize = 100_000;
/// How many tags `users` and `sweep` work on at once.
const TAGS_AT_ONCE: usize = 16;

#[async_trait::async_trait]
impl<U: CachedUser> Store<U> for RedisStore {
    async fn create(&self, new: NewSession<U>) -> Result<CreateOutcome, StoreError> {
        const OP: &str = "create";
        let s = &new.session;
        let user =
            encode(&*new.user).map_err(|e| err(OP, "could not encode the user").with_source(e))?;
        let metadata = encode(&s.metadata)
            .map_err(|e| err(OP, "could not encode the session metadata").with_source(e))?;
        let tag = tag_of(&s.user_key);
        if tag_of_session(&s.session_id) != Some(tag) || tag_of_token(&s.current_token) != Some(tag)
        {
            return Err(err(
                OP,
                "the session id or token does not carry the user's route tag (create sessions through \
                 a CredentialsCache over this store)",
            ));
        }
        let b = base(self.key_prefix(), tag);
        let keys = [
            session_key(&b, &s.session_id),
            token_key(&b, &s.current_token),
            user_record_key(&b, &s.user_key),
            index_key(&b, &s.user_key),
            users_bucket(&b),
        ];
        let args = vec![
            s.session_id.to_hex().into_bytes(),
            str_arg(&s.user_key),
            ts_arg(s.renewed_at),
            ts_arg(s.created_at),
            ts_arg(s.idle_deadline),
            ts_arg(s.absolute_deadline),
            s.current_token.to_hex().into_bytes(),
            metadata,
            user,
            version_arg(new.user.version()),
            fingerprint_arg(s.auth_fingerprint),
            s.authenticated_at.map(ts_arg).unwrap_or_default(),
            s.remember_series
                .map(|id| id.to_hex().into_bytes())
                .unwrap_or_default(),
        ];
        match int(&self.run(OP, &SCRIPTS.create, &b, &keys, args).await?) {
            Some(1) => Ok(CreateOutcome::Created),
            Some(0) => {
                tracing::debug!(session_id = %s.session_id, "session already expired at creation; nothing written");
                Ok(CreateOutcome::Created)
            }
            Some(2) => Ok(CreateOutcome::CredentialsChanged),
            _ => Err(malformed(OP)),
        }
    }

    async fn fetch(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> Result<FetchOutcome<U>, StoreError> {
        const OP: &str = "fetch";
        let Some(tag) = tag_of_token(token) else {
            // Not a token of this layout (untagged: an older layout's cookie, or another store's).
            return Ok(FetchOutcome::NotFound);
        };
        let b = base(self.key_prefix(), tag);
        let keys = [token_key(&b, token)];
        // The script must be able to rotate in the same round trip, so the successor exists up front.
        let next = plan.next_token.hash();
        let args = vec![
            token.to_hex().into_bytes(),
            ts_arg(now),
            ts_arg(plan.due_if_renewed_at_or_before),
            next.to_hex().into_bytes(),
            ts_arg(plan.idle_deadline),
            ts_arg(plan.grace_until),
        ];
        let reply = self.run(OP, &SCRIPTS.fetch, &b, &keys, args).await?;
        let items = array(reply).ok_or_else(|| malformed(OP))?;
        match items.first().and_then(int) {
            Some(0) => Ok(FetchOutcome::NotFound),
            // A live token whose session (or a live session whose user) is not on this node: lost on a
            // single Redis, but on a cluster also what a script sees while the slot is being moved (a
            // key already sent to, or not yet received from, the other node). Not "signed out" there.
            Some(-4 | -2) if self.is_cluster() => Err(err(
                OP,
                "a record of this session is not on the node serving its slot (the slot may be \
                 migrating); try again",
            )),
            Some(-4) => Ok(FetchOutcome::NotFound),
            Some(-1) => {
                let reason = items.get(1).and_then(text).unwrap_or("undecodable record");
                let sid = items.get(2).and_then(text);
                tracing::warn!(
                    backend = BACKEND,
                    operation = OP,
                    token = %token.short(),
                    session_id = sid.unwrap_or("?"),
                    reason,
                    "undecodable record treated as absent"
                );
                Ok(FetchOutcome::NotFound)
            }
            Some(-2) => {
                let user_key = items.get(1).and_then(text).unwrap_or("?");
                warn_user(OP, user_key, "a live session has no cached user");
                Ok(FetchOutcome::NotFound)
            }
            Some(-3) => {
                let session_id = items
                    .get(1)
                    .and_then(text)
                    .and_then(SessionId::parse)
                    .ok_or_else(|| malformed(OP))?;
                let user_key = items.get(2).and_then(text).ok_or_else(|| malformed(OP))?;
                Ok(FetchOutcome::Ended {
                    session_id,
                    user_key: user_key.to_owned(),
                })
            }
            Some(1) if items.len() == 3 + SESSION_WIDTH + 1 => {
                let token_use = match int(&items[1]) {
                    Some(1) => TokenUse::Current,
                    Some(2) => TokenUse::Grace,
                    _ => return Err(malformed(OP)),
                };
                let renewed = match int(&items[2]) {
                    Some(0) => false,
                    Some(1) => true,
                    _ => return Err(malformed(OP)),
                };
                let session = match parse_session(&items[3..3 + SESSION_WIDTH]) {
                    Ok(s) => s,
                    Err(reason) => {
                        warn_session(OP, text(&items[3]), reason);
                        return Ok(FetchOutcome::NotFound);
                    }
                };
                let user_blob = bytes(&items[3 + SESSION_WIDTH]).ok_or_else(|| malformed(OP))?;
                let user: U = match decode(user_blob) {
                    Ok(u) => u,
                    Err(reason) => {
                        warn_user(OP, &session.user_key, reason);
                        return Ok(FetchOutcome::NotFound);
                    }
                };
                Ok(FetchOutcome::Found {
                    session: Arc::new(session),
                    user: Arc::new(user),
                    token_use,
                    renewed,
                })
            }
            _ => Err(malformed(OP)),
        }
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
        const OP: &str = "rotate";
        let Some(tag) = tag_of_session(session_id) else {
            return Ok(None);
        };
        let b = base(self.key_prefix(), tag);
        let keys = [session_key(&b, session_id)];
        let (has_user, blob, version, fingerprint) = match &user {
            Some(u) => (
                b"1".to_vec(),
                encode(&**u).map_err(|e| err(OP, "could not encode the user").with_source(e))?,
                version_arg(u.version()),
                fingerprint_arg(Fingerprint::of(&**u)),
            ),
            None => (b"0".to_vec(), Vec::new(), Vec::new(), Vec::new()),
        };
        let args = vec![
            session_id.to_hex().into_bytes(),
            new_token.to_hex().into_bytes(),
            ts_arg(now),
            ts_arg(idle_deadline),
            has_user,
            blob,
            version,
            fingerprint,
            authenticated_at.map(ts_arg).unwrap_or_default(),
        ];
        let reply = self.run(OP, &SCRIPTS.rotate, &b, &keys, args).await?;
        let items = array(reply).ok_or_else(|| malformed(OP))?;
        match items.first().and_then(int) {
            Some(0) => Ok(None),
            Some(-1) => {
                let reason = items.get(1).and_then(text).unwrap_or("undecodable record");
                warn_session(OP, Some(&session_id.to_hex()), reason);
                Ok(None)
            }
            Some(1) if items.len() == 1 + SESSION_WIDTH => match parse_session(&items[1..]) {
                Ok(s) => Ok(Some(Arc::new(s))),
                Err(reason) => {
                    warn_session(OP, Some(&session_id.to_hex()), reason);
                    Ok(None)
                }
            },
            _ => Err(malformed(OP)),
        }
    }

    async fn put_user(&self, user: Arc<U>, now: Timestamp) -> Result<PutOutcome, StoreError> {
        const OP: &str = "put_user";
        let blob =
            encode(&*user).map_err(|e| err(OP, "could not encode the user").with_source(e))?;
        let user_key = user.user_key();
        let b = base(self.key_prefix(), tag_of(&user_key));
        let keys = [user_record_key(&b, &user_key), index_key(&b, &user_key)];
        let args = vec![
            str_arg(&user_key),
            ts_arg(now),
            blob,
            version_arg(user.version()),
            fingerprint_arg(Fingerprint::of(&*user)),
        ];
        let reply = self.run(OP, &SCRIPTS.put_user, &b, &keys, args).await?;
        match int(&reply) {
            Some(0) => Ok(PutOutcome::NotCached),
            Some(1) => Ok(PutOutcome::Updated),
            Some(2) => Ok(PutOutcome::Stale),
            _ => Err(malformed(OP)),
        }
    }

    async fn delete_by_token(
        &self,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(SessionId, String)>, StoreError> {
        const OP: &str = "delete_by_token";
        let Some(tag) = tag_of_token(token) else {
            return Ok(None);
        };
        let b = base(self.key_prefix(), tag);
        let keys = [token_key(&b, token)];
        let args = vec![token.to_hex().into_bytes(), ts_arg(now)];
        match self
            .run(OP, &SCRIPTS.delete_by_token, &b, &keys, args)
            .await?
        {
            v if is_nil(&v) => Ok(None),
            v => {
                let pair = array(v).ok_or_else(|| malformed(OP))?;
                match pair.as_slice() {
                    [sid, uk] => Ok(Some((
                        text(sid)
                            .and_then(SessionId::parse)
                            .ok_or_else(|| malformed(OP))?,
                        text(uk).ok_or_else(|| malformed(OP))?.to_owned(),
                    ))),
                    _ => Err(malformed(OP)),
                }
            }
        }
    }

    async fn delete_session(&self, session_id: &SessionId) -> Result<Option<String>, StoreError> {
        const OP: &str = "delete_session";
        let Some(tag) = tag_of_session(session_id) else {
            return Ok(None);
        };
        let b = base(self.key_prefix(), tag);
        let keys = [session_key(&b, session_id)];
        let args = vec![session_id.to_hex().into_bytes()];
        match self
            .run(OP, &SCRIPTS.delete_session, &b, &keys, args)
            .await?
        {
            v if is_nil(&v) => Ok(None),
            v => text(&v)
                .map(|uk| Some(uk.to_owned()))
                .ok_or_else(|| malformed(OP)),
        }
    }

    async fn delete_user_sessions(
        &self,
        user_key: &str,
        except: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        const OP: &str = "delete_user_sessions";
        let b = base(self.key_prefix(), tag_of(user_key));
        let keys = [index_key(&b, user_key), user_record_key(&b, user_key)];
        let args = vec![
            str_arg(user_key),
            except.map(|s| s.to_hex().into_bytes()).unwrap_or_default(),
        ];
        int(&self
            .run(OP, &SCRIPTS.delete_user_sessions, &b, &keys, args)
            .await?)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| malformed(OP))
    }

    async fn sessions(
        &self,
        user_key: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        const OP: &str = "sessions";
        let b = base(self.key_prefix(), tag_of(user_key));
        let keys = [index_key(&b, user_key), user_record_key(&b, user_key)];
        let args = vec![str_arg(user_key), ts_arg(now)];
        let reply = self.run(OP, &SCRIPTS.sessions, &b, &keys, args).await?;
        let entries = array(reply).ok_or_else(|| malformed(OP))?;
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let fields = array(entry).ok_or_else(|| malformed(OP))?;
            if fields.len() != SESSION_WIDTH {
                warn_session(
                    OP,
                    fields.first().and_then(text),
                    "session key holds the wrong Redis type",
                );
                continue;
            }
            match parse_session(&fields) {
                Ok(s) if *s.user_key == *user_key && s.is_live(now) => out.push(s),
                Ok(_) => {}
                Err(reason) => warn_session(OP, text(&fields[0]), reason),
            }
        }
        out.sort_by_key(|s| (s.created_at, s.session_id));
        Ok(out)
    }

    async fn session(
        &self,
        user_key: &str,
        session_id: &SessionId,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        const OP: &str = "session";
        let tag = tag_of(user_key);
        if tag_of_session(session_id) != Some(tag) {
            return Ok(None); // not an id of this user's slot: not theirs
        }
        let b = base(self.key_prefix(), tag);
        let keys = [session_key(&b, session_id), user_record_key(&b, user_key)];
        let args = vec![session_id.to_hex().into_bytes(), str_arg(user_key)];
        let reply = self.run(OP, &SCRIPTS.session, &b, &keys, args).await?;
        let fields = array(reply).ok_or_else(|| malformed(OP))?;
        if fields.is_empty() {
            return Ok(None);
        }
        if fields.len() != SESSION_WIDTH {
            warn_session(
                OP,
                fields.first().and_then(text),
                "session key holds the wrong Redis type",
            );
            return Ok(None);
        }
        match parse_session(&fields) {
            Ok(s) if *s.user_key == *user_key && s.is_live(now) => Ok(Some(s)),
            Ok(_) => Ok(None),
            Err(reason) => {
                warn_session(OP, text(&fields[0]), reason);
                Ok(None)
            }
        }
    }

    async fn users(&self, now: Timestamp) -> Result<Vec<Arc<U>>, StoreError> {
        let per_tag: Vec<Vec<Arc<U>>> = futures_util::stream::iter(0..TAGS)
            .map(|tag| self.users_of_tag(tag, now))
            .buffered(TAGS_AT_ONCE)
            .try_collect()
            .await?;
        Ok(per_tag.into_iter().flatten().collect())
    }

    async fn sweep(&self, now: Timestamp) -> Result<SweepStats, StoreError> {
        let per_tag: Vec<SweepStats> = futures_util::stream::iter(0..TAGS)
            .map(|tag| self.sweep_tag(tag, now))
            .buffer_unordered(TAGS_AT_ONCE)
            .try_collect()
            .await?;
        let mut stats = SweepStats::default();
        for s in per_tag {
            stats.sessions += s.sessions;
            stats.tokens += s.tokens;
            stats.users += s.users;
        }
        Ok(stats)
    }

    fn route_tag(&self, user_key: &str) -> Option<RouteTag> {
        Some(RouteTag(tag_of(user_key)))
    }

    fn session_route_tag(&self, session_id: &SessionId) -> Option<RouteTag> {
        Some(session_id.route_tag())
    }
}

impl RedisStore {
    /// `users` for the users of one tag: its bucket, then its users in batches.
    async fn users_of_tag<U: CachedUser>(
        &self,
        tag: u16,
        now: Timestamp,
    ) -> Result<Vec<Arc<U>>, StoreError> {
        const OP: &str = "users";
        let b = base(self.key_prefix(), tag);
        let keys = [users_bucket(&b)];
        let reply = self
            .run(OP, &SCRIPTS.users_list, &b, &keys, vec![ts_arg(now)])
            .await?;
        let user_keys: Vec<Vec<u8>> = array(reply)
            .ok_or_else(|| malformed(OP))?
            .iter()
            .map(|v| bytes(v).map(<[u8]>::to_vec))
            .collect::<Option<_>>()
            .ok_or_else(|| malformed(OP))?;
        let mut out = Vec::with_capacity(user_keys.len());
        for chunk in user_keys.chunks(BATCH) {
            let mut args = Vec::with_capacity(chunk.len() + 1);
            args.push(ts_arg(now));
            args.extend(chunk.iter().cloned());
            let reply = self.run(OP, &SCRIPTS.users_batch, &b, &keys, args).await?;
            for entry in array(reply).ok_or_else(|| malformed(OP))? {
                let pair = array(entry).ok_or_else(|| malformed(OP))?;
                let [uk, blob] = pair.as_slice() else {
                    return Err(malformed(OP));
                };
                let user_key = text(uk).unwrap_or("?");
                match bytes(blob) {
                    Some(b) => match decode::<U>(b) {
                        Ok(u) => out.push(Arc::new(u)),
                        Err(reason) => warn_user(OP, user_key, reason),
                    },
                    None => warn_user(OP, user_key, "a live session has no cached user"),
                }
            }
        }
        Ok(out)
    }

    /// `sweep` for the users of one tag, one batch per script.
    async fn sweep_tag(&self, tag: u16, now: Timestamp) -> Result<SweepStats, StoreError> {
        const OP: &str = "sweep";
        let b = base(self.key_prefix(), tag);
        let keys = [users_bucket(&b)];
        let mut stats = SweepStats::default();
        for _ in 0..MAX_SWEEP_BATCHES {
            let args = vec![ts_arg(now), BATCH.to_string().into_bytes()];
            let reply = self.run(OP, &SCRIPTS.sweep, &b, &keys, args).await?;
            let n: Vec<usize> = array(reply)
                .ok_or_else(|| malformed(OP))?
                .iter()
                .map(|v| int(v).and_then(|i| usize::try_from(i).ok()))
                .collect::<Option<_>>()
                .ok_or_else(|| malformed(OP))?;
            let [sessions, tokens, users, processed] = n.as_slice() else {
                return Err(malformed(OP));
            };
            stats.sessions += sessions;
            stats.tokens += tokens;
            stats.users += users;
            if *processed < BATCH {
                break;
            }
        }
        Ok(stats)
    }
}
