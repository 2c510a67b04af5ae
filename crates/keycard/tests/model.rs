//! Model-based property test: random operation sequences run against `CredentialsCache` over a
//! `MemoryStore` and against a reference model written here from the policy rules (plain maps, no
//! concurrency, no cleverness). After every step the observable results must agree: fetch found or not,
//! which session, which user value, current or grace token, renewed or not; put_user's outcome; what
//! sign-out, revoke and "log out everywhere" report; the session lists and the cached users.
//!
//! The model is the specification in executable form:
//! - a session is live while `now < min(idle_deadline, absolute_deadline)`;
//! - a fetch with the current token at `now >= renewed_at + renewal_interval` rotates: the successor
//!   becomes current, the presented token becomes the previous token until `now + grace`, `renewed_at = now`,
//!   `idle_deadline = min(now + idle_ttl, absolute_deadline)`; a previous token resolves (without renewing)
//!   while `now < grace_until`;
//! - sync/regenerate of a live session: new current token, no previous token, `renewed_at = now`, idle
//!   deadline moved (capped); sync also offers the user to the cache;
//! - the cached user is replaced unless both versions are known and the incoming one is older;
//! - put_user: `NotCached` unless the user has a live session, else `Stale` or `Updated` by that rule.
//!
//! Versions behave like a database row's: users 0 and 1 carry versions (a sign-in always carries the
//! latest; background writes may carry the latest + 1 or an older one), user 2 carries none.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use keycard::token::Token;
use keycard::{
    CachedUser, CookieSigner, CredentialsCache, ManualClock, MemoryStore, Policy, PutOutcome,
    SessionId, SessionMetadata, Timestamp, TokenUse,
};
use proptest::prelude::*;

const SECRET: [u8; 64] = [0x77; 64];
const T0: u64 = 1_700_000_000_000;
const IDLE: u64 = 600_000;
const RENEW: u64 = 120_000;
const GRACE: u64 = 10_000;
const ABSOLUTE: u64 = 1_500_000;
const USERS: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct User {
    id: u32,
    name: String,
    version: Option<u64>,
}

impl CachedUser for User {
    fn user_key(&self) -> String {
        format!("user-{}", self.id)
    }
    fn version(&self) -> Option<u64> {
        self.version
    }
}

fn user_key(id: u32) -> String {
    format!("user-{id}")
}

/// Picks one of the cookies or sessions issued so far (modulo how many there are); shrinks toward the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pick(usize);

impl Pick {
    fn index(self, len: usize) -> usize {
        self.0 % len
    }
}

impl Arbitrary for Pick {
    type Parameters = ();
    type Strategy = proptest::strategy::Map<std::ops::Range<usize>, fn(usize) -> Pick>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        (0..64usize).prop_map(Pick)
    }
}

/// What a background write carries.
#[derive(Debug, Clone, Copy)]
enum Freshness {
    /// The row's next version.
    Newer,
    /// The row's current version again.
    Same,
    /// An older version (`back` versions behind, at least 0).
    Older { back: u64 },
}

#[derive(Debug, Clone)]
enum Op {
    SignIn { user: u32 },
    Fetch { cookie: Pick },
    FetchForged,
    Advance { ms: u64 },
    PutUser { user: u32, fresh: Freshness },
    Sync { session: Pick, fresh: Freshness },
    Regenerate { session: Pick },
    Delete { cookie: Pick },
    DeleteSession { session: Pick },
    DeleteUserSessions { user: u32, except: Option<Pick> },
    Sweep,
    Sessions { user: u32 },
    Users,
}

fn freshness() -> impl Strategy<Value = Freshness> {
    prop_oneof![
        3 => Just(Freshness::Newer),
        1 => Just(Freshness::Same),
        2 => (1u64..4).prop_map(|back| Freshness::Older { back }),
    ]
}

fn advance() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(1),
        Just(GRACE - 1),
        Just(GRACE),
        Just(RENEW - 1),
        Just(RENEW),
        Just(IDLE - RENEW),
        Just(IDLE - 1),
        0..2_000u64,
        0..(IDLE + 10_000),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..USERS).prop_map(|user| Op::SignIn { user }),
        10 => any::<Pick>().prop_map(|cookie| Op::Fetch { cookie }),
        1 => Just(Op::FetchForged),
        6 => advance().prop_map(|ms| Op::Advance { ms }),
        3 => (0..USERS, freshness()).prop_map(|(user, fresh)| Op::PutUser { user, fresh }),
        2 => (any::<Pick>(), freshness()).prop_map(|(session, fresh)| Op::Sync { session, fresh }),
        1 => any::<Pick>().prop_map(|session| Op::Regenerate { session }),
        2 => any::<Pick>().prop_map(|cookie| Op::Delete { cookie }),
        1 => any::<Pick>().prop_map(|session| Op::DeleteSession { session }),
        1 => (0..USERS, proptest::option::of(any::<Pick>()))
            .prop_map(|(user, except)| Op::DeleteUserSessions { user, except }),
        1 => Just(Op::Sweep),
        2 => (0..USERS).prop_map(|user| Op::Sessions { user }),
        1 => Just(Op::Users),
    ]
}

// -------------------------------------------------------------------------------------------------------
// The reference model
// -------------------------------------------------------------------------------------------------------

/// A session in the model. Tokens are indices into the list of issued cookies.
#[derive(Debug, Clone)]
struct MSession {
    user: u32,
    created: u64,
    renewed: u64,
    idle: u64,
    absolute: u64,
    current: usize,
    previous: Option<(usize, u64)>,
}

impl MSession {
    fn live(&self, now: u64) -> bool {
        now < self.idle.min(self.absolute)
    }
}

#[derive(Debug, Default)]
struct Model {
    now: u64,
    /// Sessions never deleted (some may have expired), by session index.
    sessions: BTreeMap<usize, MSession>,
    /// The cached copy of each user, as last accepted.
    cached: BTreeMap<u32, User>,
    /// Each user's row version ("the database").
    db_version: BTreeMap<u32, u64>,
}

fn may_replace(cached: Option<u64>, incoming: Option<u64>) -> bool {
    match (cached, incoming) {
        (Some(c), Some(i)) => i >= c,
        _ => true,
    }
}

impl Model {
    fn has_live_session(&self, user: u32) -> bool {
        self.sessions
            .values()
            .any(|s| s.user == user && s.live(self.now))
    }

    /// The session `cookie` resolves to now, and how.
    fn resolve(&self, cookie: usize) -> Option<(usize, TokenUse)> {
        self.sessions.iter().find_map(|(idx, s)| {
            if !s.live(self.now) {
                return None;
            }
            if s.current == cookie {
                return Some((*idx, TokenUse::Current));
            }
            match s.previous {
                Some((p, until)) if p == cookie && self.now < until => {
                    Some((*idx, TokenUse::Grace))
                }
                _ => None,
            }
        })
    }

    fn offer(&mut self, u: User) -> bool {
        let cached = self.cached.get(&u.id).and_then(|c| c.version);
        if may_replace(cached, u.version) {
            self.cached.insert(u.id, u);
            true
        } else {
            false
        }
    }

    /// The version a write carries, and the row's version afterwards.
    fn version_for(&mut self, user: u32, fresh: Freshness) -> Option<u64> {
        if user == 2 {
            return None;
        }
        let db = self.db_version.entry(user).or_insert(1);
        Some(match fresh {
            Freshness::Newer => {
                *db += 1;
                *db
            }
            Freshness::Same => *db,
            Freshness::Older { back } => db.saturating_sub(back),
        })
    }

    fn live_ids(&self, user: u32) -> BTreeSet<usize> {
        self.sessions
            .iter()
            .filter(|(_, s)| s.user == user && s.live(self.now))
            .map(|(i, _)| *i)
            .collect()
    }
}

// -------------------------------------------------------------------------------------------------------
// Running a sequence against both
// -------------------------------------------------------------------------------------------------------

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
    fn new() -> Run {
        let clock = ManualClock::new(Timestamp(T0));
        let cache = CredentialsCache::builder(MemoryStore::<User>::new())
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
                for i in doomed {
                    self.model.sessions.remove(&i);
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
                    assert_eq!(r.user_key, user_key(*user));
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

fn run(ops: Vec<Op>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut r = Run::new();
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

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(256),
        max_shrink_iters: 2_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Invariants 1, 2, 3, 4, 7, 8 on random histories: the memory store behind the cache behaves exactly
    /// like the reference model.
    #[test]
    fn memory_store_behaves_like_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops);
    }
}

#[test]
fn model_smoke_covers_renewal_grace_and_expiry() {
    // A fixed history through the interesting edges, so a broken strategy cannot hide a broken model.
    let i = Pick;
    run(vec![
        Op::SignIn { user: 0 },
        Op::SignIn { user: 1 },
        Op::Advance { ms: RENEW },
        Op::Fetch { cookie: i(0) }, // renews: cookie #2
        Op::Fetch { cookie: i(0) }, // grace
        Op::Advance { ms: GRACE },
        Op::Fetch { cookie: i(0) }, // dead
        Op::PutUser {
            user: 0,
            fresh: Freshness::Older { back: 1 },
        },
        Op::PutUser {
            user: 0,
            fresh: Freshness::Newer,
        },
        Op::Sessions { user: 0 },
        Op::Users,
        Op::Advance {
            ms: IDLE - RENEW - GRACE,
        },
        Op::Fetch { cookie: i(1) }, // user 1 expired
        Op::PutUser {
            user: 1,
            fresh: Freshness::Newer,
        },
        Op::Sweep,
        Op::Users,
    ]);
}

/// A history the random search found (shrunk by hand): the user's renewed session is revoked, the other
/// one expires, and a background write must then report `NotCached`. Kept so the case is checked on every
/// run, not only when the search happens to find it.
#[test]
fn model_regression_put_user_when_only_expired_sessions_remain() {
    run(vec![
        Op::SignIn { user: 1 },
        Op::SignIn { user: 1 },
        Op::Advance { ms: RENEW },
        Op::Fetch { cookie: Pick(1) }, // session #1 renews: its deadline moves past session #0's
        Op::DeleteSession { session: Pick(1) },
        Op::Advance { ms: IDLE - RENEW }, // session #0 reaches its idle deadline
        Op::PutUser {
            user: 1,
            fresh: Freshness::Newer,
        },
        Op::Users,
    ]);
}
