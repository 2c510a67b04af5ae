//! Running a history against the store under test (through a cache) and the reference model at once.

use std::collections::BTreeSet;
use std::time::Duration;

use keycard::token::Token;
use keycard::{
    CookieSigner, CredentialsCache, ManualClock, Policy, PutOutcome, SessionId, SessionMetadata,
    Store, Timestamp, TokenUse,
};

use super::ops::{Freshness, Op};
use super::reference::{MSession, Model};
use super::{ABSOLUTE, GRACE, IDLE, RENEW, SECRET, T0, USERS};
use crate::fixtures::{key as user_key, TestUser as User};

struct Run {
    cache: CredentialsCache<User>,
    clock: ManualClock,
    model: Model,
    /// Every cookie ever issued, in order; the model names tokens by index here.
    cookies: Vec<String>,
    /// Every session ever created, in order; the model names sessions by index here.
    ids: Vec<SessionId>,
    step: usize,
}

impl Run {
    fn new(store: impl Store<User>) -> Run {
        let clock = ManualClock::new(Timestamp(T0));
        let cache = CredentialsCache::builder(store)
            .secret(SECRET)
            .policy(
                Policy::default()
                    .with_idle_ttl(Duration::from_millis(IDLE))
                    .with_renewal_interval(Duration::from_millis(RENEW))
                    .with_grace(Duration::from_millis(GRACE))
                    .with_absolute_ttl(Duration::from_millis(ABSOLUTE)),
            )
            .clock(clock.clone())
            .build()
            .unwrap();
        Run {
            cache,
            clock,
            model: Model {
                now: T0,
                ..Model::default()
            },
            cookies: Vec::new(),
            ids: Vec::new(),
            step: 0,
        }
    }

    fn name(&self) -> String {
        format!("n{}", self.step)
    }

    fn session_index(&self, id: &SessionId) -> usize {
        self.ids
            .iter()
            .position(|i| i == id)
            .unwrap_or_else(|| panic!("unknown session id {id}"))
    }

    fn issue(&mut self, cookie: String) -> usize {
        self.cookies.push(cookie);
        self.cookies.len() - 1
    }

    async fn apply(&mut self, op: &Op) {
        let now = self.model.now;
        match op {
            Op::SignIn { user } => {
                let version = self.model.version_for(*user, Freshness::Same);
                let u = User {
                    id: *user,
                    name: self.name(),
                    version,
                    credentials: None,
                };
                let s = self
                    .cache
                    .create(u.clone(), SessionMetadata::default())
                    .await
                    .unwrap();
                self.ids.push(s.session.session_id);
                let current = self.issue(s.cookie.into_string());
                self.model.sessions.insert(
                    self.ids.len() - 1,
                    MSession {
                        user: *user,
                        created: now,
                        renewed: now,
                        idle: (now + IDLE).min(now + ABSOLUTE),
                        absolute: now + ABSOLUTE,
                        current,
                        previous: None,
                    },
                );
                assert!(self.model.offer(u), "a sign-in carries the latest version");
            }
            Op::Fetch { cookie } => {
                if self.cookies.is_empty() {
                    return;
                }
                let c = cookie.index(self.cookies.len());
                let got = self.cache.fetch(&self.cookies[c]).await.unwrap();
                let expected = self.model.resolve(c);
                match (expected, got) {
                    (None, None) => {}
                    (Some((idx, token_use)), Some(a)) => {
                        assert_eq!(a.session.session_id, self.ids[idx], "which session");
                        assert_eq!(a.token_use, token_use, "current or grace");
                        let s = &self.model.sessions[&idx];
                        let due = token_use == TokenUse::Current && s.renewed + RENEW <= now;
                        assert_eq!(a.renewed.is_some(), due, "renewed");
                        if let Some(new) = a.renewed {
                            self.cookies.push(new.into_string());
                            let s = self.model.sessions.get_mut(&idx).unwrap();
                            s.previous = Some((c, now + GRACE));
                            s.current = self.cookies.len() - 1;
                            s.renewed = now;
                            s.idle = (now + IDLE).min(s.absolute);
                        }
                        let s = &self.model.sessions[&idx];
                        assert_eq!(a.session.renewed_at, Timestamp(s.renewed), "renewed_at");
                        assert_eq!(a.session.idle_deadline, Timestamp(s.idle), "idle deadline");
                        assert_eq!(a.session.absolute_deadline, Timestamp(s.absolute));
                        assert_eq!(a.session.created_at, Timestamp(s.created));
                        assert_eq!(*a.user, self.model.cached[&s.user], "the cached user");
                    }
                    (e, g) => panic!(
                        "fetch of cookie #{c}: model {e:?}, store {:?}",
                        g.map(|a| (self.session_index(&a.session.session_id), a.token_use))
                    ),
                }
            }
            Op::FetchForged => {
                let forged = CookieSigner::new(&[0x78; 64])
                    .unwrap()
                    .encode(&Token::generate())
                    .into_string();
                assert!(self.cache.fetch(&forged).await.unwrap().is_none());
            }
            Op::Advance { ms } => {
                self.clock.advance(Duration::from_millis(*ms));
                self.model.now += ms;
            }
            Op::PutUser { user, fresh } => {
                let version = self.model.version_for(*user, *fresh);
                let u = User {
                    id: *user,
                    name: self.name(),
                    version,
                    credentials: None,
                };
                let got = self.cache.put_user(u.clone()).await.unwrap();
                let expected = if !self.model.has_live_session(*user) {
                    PutOutcome::NotCached
                } else if self.model.offer(u) {
                    PutOutcome::Updated
                } else {
                    PutOutcome::Stale
                };
                assert_eq!(got, expected, "put_user outcome");
            }
            Op::Sync { session, fresh } => {
                if self.ids.is_empty() {
                    return;
                }
                let idx = session.index(self.ids.len());
                let uid = self.model.sessions.get(&idx).map(|s| s.user).unwrap_or(0);
                let version = self.model.version_for(uid, *fresh);
                let u = User {
                    id: uid,
                    name: self.name(),
                    version,
                    credentials: None,
                };
                let got = self.cache.sync(&self.ids[idx], u.clone()).await.unwrap();
                let live = self.model.sessions.get(&idx).is_some_and(|s| s.live(now));
                assert_eq!(got.is_some(), live, "sync of session #{idx}");
                if let Some(s) = got {
                    let current = self.issue(s.cookie.into_string());
                    self.rotate_model(idx, current);
                    self.model.offer(u);
                    assert_eq!(s.session.session_id, self.ids[idx]);
                }
            }
            Op::Regenerate { session } => {
                if self.ids.is_empty() {
                    return;
                }
                let idx = session.index(self.ids.len());
                let got = self.cache.regenerate(&self.ids[idx]).await.unwrap();
                let live = self.model.sessions.get(&idx).is_some_and(|s| s.live(now));
                assert_eq!(got.is_some(), live, "regenerate of session #{idx}");
                if let Some((cookie, rec)) = got {
                    let current = self.issue(cookie.into_string());
                    self.rotate_model(idx, current);
                    assert_eq!(rec.session_id, self.ids[idx]);
                    assert_eq!(rec.idle_deadline, Timestamp(self.model.sessions[&idx].idle));
                }
            }
            Op::Delete { cookie } => {
                if self.cookies.is_empty() {
                    return;
                }
                let c = cookie.index(self.cookies.len());
                let got = self.cache.delete(&self.cookies[c]).await.unwrap();
                let expected = self.model.resolve(c).map(|(idx, _)| idx);
                assert_eq!(
                    got.map(|id| self.session_index(&id)),
                    expected,
                    "sign-out with cookie #{c}"
                );
                if let Some(idx) = expected {
                    self.model.sessions.remove(&idx);
                }
            }
            Op::DeleteSession { session } => {
                if self.ids.is_empty() {
                    return;
                }
                let idx = session.index(self.ids.len());
                let got = self.cache.delete_session(&self.ids[idx]).await.unwrap();
                match self.model.sessions.remove(&idx) {
                    Some(s) if s.live(now) => assert!(got, "revoke of live session #{idx}"),
                    Some(_) => {} // expired: a store may or may not still hold it
                    None => assert!(!got, "revoke of deleted session #{idx}"),
                }
            }
            Op::DeleteUserSessions { user, except } => {
                let except_idx = match except {
                    Some(e) if !self.ids.is_empty() => Some(e.index(self.ids.len())),
                    _ => None,
                };
                let except_id = except_idx.map(|i| self.ids[i]);
                let got = self
                    .cache
                    .delete_user_sessions(&user_key(*user), except_id.as_ref())
                    .await
                    .unwrap();
                let doomed: Vec<usize> = self
                    .model
                    .sessions
                    .iter()
                    .filter(|(i, s)| s.user == *user && Some(**i) != except_idx)
                    .map(|(i, _)| *i)
                    .collect();
                let live = doomed
                    .iter()
                    .filter(|i| self.model.sessions[i].live(now))
                    .count();
                assert!(
                    live <= got && got <= doomed.len(),
                    "delete_user_sessions counted {got}, expected {live}..={}",
                    doomed.len()
                );
                // The live ones are gone. An expired one may still be held (a store that pruned its index
                // entry without removing the record, which then lingers until a sweep or its own key
                // expiry): it stays in the model as expired, where "held or not" is allowed.
                for i in doomed {
                    if self.model.sessions[&i].live(now) {
                        self.model.sessions.remove(&i);
                    }
                }
            }
            Op::Sweep => {
                let stats = self.cache.sweep().await.unwrap();
                let expired = self
                    .model
                    .sessions
                    .values()
                    .filter(|s| !s.live(now))
                    .count();
                assert!(
                    stats.sessions <= expired,
                    "sweep removed a live session: {stats:?}"
                );
            }
            Op::Sessions { user } => {
                let got = self.cache.sessions(&user_key(*user)).await.unwrap();
                assert!(
                    got.windows(2).all(|w| w[0].created_at <= w[1].created_at),
                    "oldest first"
                );
                let got_ids: BTreeSet<usize> = got
                    .iter()
                    .map(|r| self.session_index(&r.session_id))
                    .collect();
                assert_eq!(
                    got_ids,
                    self.model.live_ids(*user),
                    "sessions() of user {user}"
                );
                for r in &got {
                    let s = &self.model.sessions[&self.session_index(&r.session_id)];
                    assert_eq!(r.renewed_at, Timestamp(s.renewed));
                    assert_eq!(r.idle_deadline, Timestamp(s.idle));
                    assert_eq!(&*r.user_key, user_key(*user));
                }
            }
            Op::Users => {
                let mut got: Vec<User> = self
                    .cache
                    .users()
                    .await
                    .unwrap()
                    .iter()
                    .map(|u| (**u).clone())
                    .collect();
                got.sort_by_key(|u| u.id);
                let expected: Vec<User> = (0..USERS)
                    .filter(|u| self.model.has_live_session(*u))
                    .map(|u| self.model.cached[&u].clone())
                    .collect();
                assert_eq!(got, expected, "users()");
            }
        }
    }

    fn rotate_model(&mut self, idx: usize, current: usize) {
        let now = self.model.now;
        let s = self.model.sessions.get_mut(&idx).unwrap();
        s.current = current;
        s.previous = None;
        s.renewed = now;
        s.idle = (now + IDLE).min(s.absolute);
    }
}

/// Run `ops` against `store` and the model, step by step, on `rt`; panics at the first disagreement,
/// naming the step.
pub(crate) fn run(rt: &tokio::runtime::Runtime, store: impl Store<User>, ops: &[Op]) {
    let mut r = Run::new(store);
    for (i, op) in ops.iter().enumerate() {
        r.step = i;
        let step =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(r.apply(op))));
        if let Err(p) = step {
            // Name the failing step; proptest then prints the shrunk sequence.
            eprintln!("model mismatch at step {i}: {op:?}");
            std::panic::resume_unwind(p);
        }
    }
}
