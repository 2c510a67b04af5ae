//! The conformance suite: the behaviour every [`Store`] must show through a [`CredentialsCache`], written
//! once and run unchanged against every backend.
//!
//! # How a store runs it
//! ```ignore
//! #[macro_use]
//! mod conformance;
//!
//! conformance_suite!(|_test: &'static str| async {
//!     Ok::<_, String>(std::sync::Arc::new(keycard::MemoryStore::new()) as conformance::DynStore)
//! });
//! ```
//! The argument is a **factory**: called once per test with the test's name, it returns a fresh, isolated
//! store, or `Err(reason)` when the backend cannot be reached (a Redis store without a Redis server, say).
//! Then the test writes `skip: <test>: <reason>` to the process' stderr (not captured by libtest) and
//! passes; the memory store never skips. A networked backend isolates tests by deriving a unique key
//! prefix from the name it is given (plus something random, since a test binary may run twice against
//! one server).
//!
//! The macro expands to one `#[tokio::test]` per behaviour (multi-thread runtime, so the concurrency tests
//! race for real). Each test's doc comment names the DESIGN.md invariant(s) it pins.
//!
//! # What the tests may assume
//! Nothing about the backend beyond the [`Store`] trait docs. Time comes from a [`ManualClock`] that starts
//! at the wall clock (so a backend that also sets real key expiries from the deadlines keeps the keys long
//! enough) and only moves when a test moves it: no test sleeps. Every store call goes through a [`Probe`],
//! which counts calls, records the token hashes the store is shown, and can be switched to fail.
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use keycard::store::{FetchOutcome, NewSession, RenewalPlan};
use keycard::token::{Token, TokenHash};
use keycard::{
    Authenticated, CachedUser, CookieSigner, CredentialsCache, ManualClock, Policy, PutOutcome,
    SessionId, SessionMetadata, SessionRecord, SignedIn, Store, StoreError, SweepStats, Timestamp,
    TokenUse,
};
use tokio::sync::Barrier;

/// The store under test, as the factory hands it over.
pub type DynStore = Arc<dyn Store<TestUser>>;

/// Expands to one `#[tokio::test]` per conformance behaviour, each over a fresh store from `$factory`.
///
/// `$factory` is an expression of a type `FnOnce(&'static str) -> impl Future<Output = Result<DynStore, String>>`;
/// it is evaluated once per test.
macro_rules! conformance_suite {
    ($factory:expr) => {
        conformance_tests!($factory;
            sign_in_creates_a_session_with_a_current_token_and_policy_deadlines,
            forged_or_malformed_cookie_never_reaches_the_store,
            unknown_token_reads_nothing_and_writes_nothing,
            store_sees_only_token_hashes_never_tokens_or_cookie_values,
            put_user_is_seen_by_every_session_of_the_user,
            put_user_reaches_hundreds_of_sessions_with_one_store_call,
            sync_through_one_session_is_seen_by_every_session_of_the_user,
            sign_in_replaces_the_cached_user_for_every_session,
            put_user_for_a_user_without_sessions_stores_nothing,
            put_user_after_the_last_session_ends_stores_nothing,
            put_user_when_only_expired_sessions_remain_stores_nothing,
            put_user_never_extends_the_idle_deadline,
            put_user_never_extends_the_absolute_lifetime,
            put_user_never_replaces_a_newer_version,
            sync_never_replaces_a_newer_version,
            sign_in_never_replaces_a_newer_version,
            fetch_before_the_renewal_interval_does_not_renew,
            fetch_after_the_renewal_interval_rotates_the_token,
            many_concurrent_fetches_with_a_stale_token_have_exactly_one_winner,
            grace_token_works_inside_the_window_and_dies_after,
            grace_token_cannot_extend_or_rotate_the_session,
            sign_out_kills_the_current_and_the_grace_token,
            sign_out_through_the_grace_token_kills_the_current_token,
            sync_kills_the_old_tokens_at_once_and_keeps_the_session_identity,
            regenerate_kills_the_old_tokens_at_once_and_keeps_the_cached_user,
            sync_or_regenerate_of_a_dead_session_creates_nothing,
            delete_user_sessions_ends_every_session_of_the_user,
            delete_user_sessions_except_keeps_only_that_session,
            delete_session_ends_one_session_and_both_its_tokens,
            sessions_lists_live_sessions_oldest_first_with_metadata,
            users_lists_one_copy_per_user_with_a_live_session,
            idle_session_expires_at_its_idle_deadline,
            absolute_lifetime_cannot_be_passed_by_renewals,
            index_never_lists_dead_sessions_and_keeps_renewed_ones,
            sweep_removes_expired_records_and_put_user_does_not_resurrect_them,
            sweep_removes_nothing_live,
            deleted_session_stays_deleted_when_a_renewal_races_the_delete,
            deleted_session_stays_deleted_when_sync_races_the_delete,
            deleted_user_stays_deleted_when_put_user_races_the_delete,
            sign_in_racing_delete_user_sessions_leaves_a_consistent_user,
            deleted_session_stays_deleted_when_everything_races_the_delete,
            store_errors_never_authenticate_and_never_sign_out,
        );
    };
}

/// Implementation detail of [`conformance_suite!`].
macro_rules! conformance_tests {
    ($factory:expr; $($name:ident),+ $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            if let Some(h) = $crate::conformance::Harness::setup(stringify!($name), $factory).await {
                $crate::conformance::$name(h).await;
            }
        }
    )+};
}

// ---------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------

/// The idle lifetime of the test policy.
pub const IDLE: Duration = Duration::from_secs(600);
/// The renewal interval of the test policy.
pub const RENEW: Duration = Duration::from_secs(120);
/// The grace window of the test policy.
pub const GRACE: Duration = Duration::from_secs(10);
/// The absolute lifetime of the test policy.
pub const ABSOLUTE: Duration = Duration::from_secs(1800);
/// One clock tick.
pub const MS: Duration = Duration::from_millis(1);

/// The app secret of every test cache.
pub const SECRET: [u8; 64] = [0x5a; 64];

/// Short, explicit policy: idle 10 min, renew after 2 min, grace 10 s, absolute 30 min.
pub fn test_policy() -> Policy {
    Policy::default()
        .with_idle_ttl(IDLE)
        .with_renewal_interval(RENEW)
        .with_grace(GRACE)
        .with_absolute_ttl(ABSOLUTE)
}

/// The user type of the suite: a key, a display name that tests change, and an optional version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TestUser {
    /// Primary key.
    pub id: u32,
    /// What tests update.
    pub name: String,
    /// Row version, when the test uses one.
    pub version: Option<u64>,
}

impl CachedUser for TestUser {
    fn user_key(&self) -> String {
        key(self.id)
    }
    fn version(&self) -> Option<u64> {
        self.version
    }
}

/// An unversioned user.
pub fn user(id: u32, name: &str) -> TestUser {
    TestUser {
        id,
        name: name.to_owned(),
        version: None,
    }
}

/// A versioned user.
pub fn user_v(id: u32, name: &str, version: u64) -> TestUser {
    TestUser {
        id,
        name: name.to_owned(),
        version: Some(version),
    }
}

/// The user key of user `id`.
pub fn key(id: u32) -> String {
    format!("u{id}")
}

/// Metadata with a user agent and an ip.
pub fn meta(user_agent: &str, ip: &str) -> SessionMetadata {
    SessionMetadata {
        user_agent: Some(user_agent.to_owned()),
        ip: Some(ip.to_owned()),
        fields: Default::default(),
    }
}

/// A fresh cache over the store under test, with a manual clock and the test policy.
pub struct Harness {
    /// The store under test, wrapped.
    pub probe: Arc<Probe>,
    /// The cache over it.
    pub cache: CredentialsCache<TestUser>,
    /// The clock the cache reads.
    pub clock: ManualClock,
    /// A signer with the cache's secret, to look inside cookies.
    pub signer: CookieSigner,
}

impl Harness {
    /// Build the store for `test` with `factory`; `None` (after saying why on stderr) if it must be skipped.
    pub async fn setup<F, Fut>(test: &'static str, factory: F) -> Option<Harness>
    where
        F: FnOnce(&'static str) -> Fut,
        Fut: Future<Output = Result<DynStore, String>>,
    {
        match factory(test).await {
            Ok(store) => Some(Harness::new(store)),
            Err(reason) => {
                // Straight to the process' stderr: libtest captures `eprintln!` of passing tests.
                use std::io::Write as _;
                let _ = writeln!(std::io::stderr(), "skip: {test}: {reason}");
                None
            }
        }
    }

    /// A harness over `store`.
    pub fn new(store: DynStore) -> Harness {
        let probe = Arc::new(Probe::new(store));
        let clock = ManualClock::starting_now();
        let cache = CredentialsCache::builder_arc(probe.clone() as DynStore)
            .secret(SECRET)
            .policy(test_policy())
            .clock(clock.clone())
            .build()
            .expect("the test configuration is valid");
        Harness {
            probe,
            cache,
            clock,
            signer: CookieSigner::new(&SECRET).unwrap(),
        }
    }

    /// Now, on the cache's clock.
    pub fn now(&self) -> Timestamp {
        self.cache.now()
    }

    /// Move the clock forward.
    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    /// Sign `u` in with default metadata.
    pub async fn sign_in(&self, u: TestUser) -> SignedIn<TestUser> {
        self.cache
            .create(u, SessionMetadata::default())
            .await
            .expect("create")
    }

    /// Sign `u` in with `m`.
    pub async fn sign_in_with(&self, u: TestUser, m: SessionMetadata) -> SignedIn<TestUser> {
        self.cache.create(u, m).await.expect("create")
    }

    /// `fetch`, with a store error failing the test.
    pub async fn fetch(&self, cookie: &str) -> Option<Authenticated<TestUser>> {
        self.cache.fetch(cookie).await.expect("fetch")
    }

    /// `fetch` that must find the session; returns it.
    pub async fn must_fetch(&self, cookie: &str, what: &str) -> Authenticated<TestUser> {
        match self.fetch(cookie).await {
            Some(a) => a,
            None => panic!("{what}: expected the cookie to resolve to a session, got None"),
        }
    }

    /// `fetch` that must find nothing.
    pub async fn must_not_fetch(&self, cookie: &str, what: &str) {
        if let Some(a) = self.fetch(cookie).await {
            panic!(
                "{what}: expected no session, got session {} of {} ({:?})",
                a.session.session_id, a.session.user_key, a.token_use
            );
        }
    }

    /// `put_user`, with a store error failing the test.
    pub async fn put(&self, u: TestUser) -> PutOutcome {
        self.cache.put_user(u).await.expect("put_user")
    }

    /// The live session `id` of user `uid`, as `sessions()` lists it.
    pub async fn session(&self, uid: u32, id: &SessionId) -> Option<SessionRecord> {
        self.sessions(uid)
            .await
            .into_iter()
            .find(|s| &s.session_id == id)
    }

    /// `sessions(key(uid))`.
    pub async fn sessions(&self, uid: u32) -> Vec<SessionRecord> {
        self.cache.sessions(&key(uid)).await.expect("sessions")
    }

    /// The ids `sessions(key(uid))` lists, in its order.
    pub async fn session_ids(&self, uid: u32) -> Vec<SessionId> {
        self.sessions(uid)
            .await
            .into_iter()
            .map(|s| s.session_id)
            .collect()
    }

    /// `users()`, sorted by id.
    pub async fn users(&self) -> Vec<TestUser> {
        let mut v: Vec<TestUser> = self
            .cache
            .users()
            .await
            .expect("users")
            .iter()
            .map(|u| (**u).clone())
            .collect();
        v.sort_by_key(|u| u.id);
        v
    }

    /// The ids of the users `users()` lists, sorted.
    pub async fn user_ids(&self) -> Vec<u32> {
        self.users().await.into_iter().map(|u| u.id).collect()
    }

    /// The hash the store keys `cookie`'s token by.
    pub fn hash_of(&self, cookie: &str) -> TokenHash {
        self.signer
            .decode(cookie)
            .expect("a cookie this cache issued")
            .hash()
    }

    /// A well-signed cookie for a token nobody was ever issued.
    pub fn unknown_cookie(&self) -> String {
        self.signer.encode(&Token::generate()).into_string()
    }

    /// Sign in, then move past the renewal interval and renew: returns (sign-in, old cookie, new cookie).
    pub async fn sign_in_and_renew(&self, u: TestUser) -> (SignedIn<TestUser>, String, String) {
        let s = self.sign_in(u).await;
        let old = s.cookie.as_str().to_owned();
        self.advance(RENEW);
        let a = self.must_fetch(&old, "renewal").await;
        let new = a
            .renewed
            .expect("a fetch after the renewal interval renews")
            .into_string();
        (s, old, new)
    }
}

// ---------------------------------------------------------------------------------------------------------
// The probe: a transparent wrapper that counts, records and can fail.
// ---------------------------------------------------------------------------------------------------------

/// Wraps the store under test: counts calls, records every token hash the store is shown, and fails every
/// call while [`Probe::set_failing`] is on.
pub struct Probe {
    inner: DynStore,
    calls: AtomicUsize,
    failing: AtomicBool,
    hashes: Mutex<Vec<TokenHash>>,
}

impl Probe {
    /// Wrap `inner`.
    pub fn new(inner: DynStore) -> Probe {
        Probe {
            inner,
            calls: AtomicUsize::new(0),
            failing: AtomicBool::new(false),
            hashes: Mutex::new(Vec::new()),
        }
    }

    /// How many store calls were made so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Make every following call fail (`true`) or pass through again (`false`).
    pub fn set_failing(&self, on: bool) {
        self.failing.store(on, Ordering::SeqCst);
    }

    /// Every token hash passed to or returned by the store so far.
    pub fn seen_hashes(&self) -> Vec<TokenHash> {
        self.hashes.lock().unwrap().clone()
    }

    fn enter(&self, op: &'static str) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::new("probe", op, "injected failure"))
        } else {
            Ok(())
        }
    }

    fn saw(&self, h: &TokenHash) {
        self.hashes.lock().unwrap().push(*h);
    }

    fn saw_session(&self, s: &SessionRecord) {
        self.saw(&s.current_token);
        if let Some((p, _)) = &s.previous_token {
            self.saw(p);
        }
    }
}

#[async_trait::async_trait]
impl Store<TestUser> for Probe {
    async fn create(&self, new: NewSession<TestUser>) -> Result<(), StoreError> {
        self.enter("create")?;
        self.saw_session(&new.session);
        self.inner.create(new).await
    }

    async fn fetch(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> Result<FetchOutcome<TestUser>, StoreError> {
        self.enter("fetch")?;
        self.saw(token);
        let out = self.inner.fetch(token, now, plan).await?;
        if let FetchOutcome::Found { session, .. } = &out {
            self.saw_session(session);
        }
        Ok(out)
    }

    async fn rotate(
        &self,
        session_id: &SessionId,
        new_token: &TokenHash,
        user: Option<Arc<TestUser>>,
        now: Timestamp,
        idle_deadline: Timestamp,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        self.enter("rotate")?;
        self.saw(new_token);
        self.inner
            .rotate(session_id, new_token, user, now, idle_deadline)
            .await
    }

    async fn put_user(
        &self,
        user: Arc<TestUser>,
        now: Timestamp,
    ) -> Result<PutOutcome, StoreError> {
        self.enter("put_user")?;
        self.inner.put_user(user, now).await
    }

    async fn delete_by_token(
        &self,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<SessionId>, StoreError> {
        self.enter("delete_by_token")?;
        self.saw(token);
        self.inner.delete_by_token(token, now).await
    }

    async fn delete_session(&self, session_id: &SessionId) -> Result<bool, StoreError> {
        self.enter("delete_session")?;
        self.inner.delete_session(session_id).await
    }

    async fn delete_user_sessions(
        &self,
        user_key: &str,
        except: Option<&SessionId>,
    ) -> Result<usize, StoreError> {
        self.enter("delete_user_sessions")?;
        self.inner.delete_user_sessions(user_key, except).await
    }

    async fn sessions(
        &self,
        user_key: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.enter("sessions")?;
        let out = self.inner.sessions(user_key, now).await?;
        for s in &out {
            self.saw_session(s);
        }
        Ok(out)
    }

    async fn users(&self, now: Timestamp) -> Result<Vec<Arc<TestUser>>, StoreError> {
        self.enter("users")?;
        self.inner.users(now).await
    }

    async fn sweep(&self, now: Timestamp) -> Result<SweepStats, StoreError> {
        self.enter("sweep")?;
        self.inner.sweep(now).await
    }
}

/// Replace the character at `i` by another base64url character.
fn flip(s: &str, i: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

// ---------------------------------------------------------------------------------------------------------
// Sign-in and reading
// ---------------------------------------------------------------------------------------------------------

/// Invariants 2, 3, 8: sign-in is the one operation that creates a session; the new session carries the
/// policy's deadlines, no previous token, its metadata, and resolves as the current token without renewing.
pub async fn sign_in_creates_a_session_with_a_current_token_and_policy_deadlines(h: Harness) {
    let t0 = h.now();
    let s = h
        .sign_in_with(user(1, "ann"), meta("Firefox/128", "192.0.2.1"))
        .await;
    assert_eq!(s.session.user_key, key(1));
    assert_eq!(s.session.created_at, t0);
    assert_eq!(s.session.renewed_at, t0);
    assert_eq!(s.session.idle_deadline, t0.saturating_add(IDLE));
    assert_eq!(s.session.absolute_deadline, t0.saturating_add(ABSOLUTE));
    assert_eq!(s.session.previous_token, None);
    assert_eq!(s.session.current_token, h.hash_of(s.cookie.as_str()));

    let a = h.must_fetch(s.cookie.as_str(), "fresh session").await;
    assert_eq!(*a.user, user(1, "ann"));
    assert_eq!(a.token_use, TokenUse::Current);
    assert!(a.renewed.is_none(), "a fresh session must not renew");
    assert_eq!(
        *a.session, *s.session,
        "the store returns what sign-in stored"
    );

    let s2 = h.sign_in(user(1, "ann")).await;
    assert_ne!(s2.session.session_id, s.session.session_id);
    assert_ne!(s2.cookie, s.cookie);
    assert_eq!(h.sessions(1).await.len(), 2);
}

/// Invariant 5: a cookie that fails its shape or signature check is refused before any store access, for
/// `fetch` and for `delete`; the session it imitates is unaffected.
pub async fn forged_or_malformed_cookie_never_reaches_the_store(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let good = s.cookie.as_str().to_owned();
    let other_signer = CookieSigner::new(&[0x11; 64]).unwrap();
    let hash_hex = h.hash_of(&good).to_hex();
    let mut bad_alphabet = good.clone();
    bad_alphabet.replace_range(40..41, "*");
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("one character", "x".into()),
        ("truncated", good[..good.len() - 1].to_owned()),
        ("one character too long", format!("{good}A")),
        ("oversized", "A".repeat(64 * 1024)),
        ("wrong alphabet", bad_alphabet),
        ("padded", format!("{}=", &good[..good.len() - 1])),
        ("token part tampered", flip(&good, 10)),
        ("signature part tampered", flip(&good, 70)),
        (
            "signed by another secret",
            other_signer.encode(&Token::generate()).into_string(),
        ),
        (
            "our token re-signed with another secret",
            other_signer
                .encode(&h.signer.decode(&good).unwrap())
                .into_string(),
        ),
        ("the store key itself", hash_hex),
    ];
    h.advance(RENEW); // the real session is due: a forged cookie must not renew it either
    let before = h.probe.calls();
    for (what, cookie) in &cases {
        assert!(
            h.cache.fetch(cookie).await.expect("fetch").is_none(),
            "{what}: a refused cookie must read as signed out"
        );
        assert_eq!(
            h.cache.delete(cookie).await.expect("delete"),
            None,
            "{what}"
        );
    }
    assert_eq!(
        h.probe.calls(),
        before,
        "refused cookies must never reach the store"
    );
    let a = h.must_fetch(&good, "the genuine cookie").await;
    assert_eq!(a.token_use, TokenUse::Current);
    assert!(
        a.renewed.is_some(),
        "the genuine session was not renewed by forged cookies"
    );
}

/// Invariants 5, 2: a well-signed cookie for a token nobody was issued resolves to nothing, signs nobody
/// out, and changes no record (not even when sessions are due for renewal).
pub async fn unknown_token_reads_nothing_and_writes_nothing(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let _t = h.sign_in(user(2, "bob")).await;
    h.advance(RENEW + MS);
    let sessions_before = (h.sessions(1).await, h.sessions(2).await);
    let users_before = h.users().await;

    for _ in 0..10 {
        let unknown = h.unknown_cookie();
        h.must_not_fetch(&unknown, "unknown token").await;
        assert_eq!(h.cache.delete(&unknown).await.unwrap(), None);
    }

    assert_eq!((h.sessions(1).await, h.sessions(2).await), sessions_before);
    assert_eq!(h.users().await, users_before);
    let a = h.must_fetch(s.cookie.as_str(), "the real session").await;
    assert!(
        a.renewed.is_some(),
        "the real session is renewed by its own token only"
    );
}

/// Invariant 5: the store is shown `SHA-256(token)` only: never the token, never the cookie value.
pub async fn store_sees_only_token_hashes_never_tokens_or_cookie_values(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let mut cookies = vec![s.cookie.as_str().to_owned()];
    h.must_fetch(&cookies[0], "fresh").await;
    h.advance(RENEW);
    let renewed = h.must_fetch(&cookies[0], "due").await.renewed.unwrap();
    cookies.push(renewed.into_string());
    let synced = h
        .cache
        .sync(&s.session.session_id, user(1, "ann-2"))
        .await
        .unwrap()
        .unwrap();
    cookies.push(synced.cookie.as_str().to_owned());
    h.sessions(1).await;
    h.cache.delete(&cookies[2]).await.unwrap();

    let seen = h.probe.seen_hashes();
    assert!(!seen.is_empty());
    let expected: Vec<TokenHash> = cookies.iter().map(|c| h.hash_of(c)).collect();
    for c in &cookies {
        let raw = URL_SAFE_NO_PAD.decode(c).unwrap();
        let token_bytes = &raw[..32];
        for hash in &seen {
            assert_ne!(&hash.0[..], token_bytes, "the store was shown a raw token");
            assert_ne!(&hash.0[..], &raw[32..], "the store was shown a signature");
            assert!(
                expected.contains(hash),
                "the store was shown something that is not the hash of an issued token"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// One cached user (invariant 1)
// ---------------------------------------------------------------------------------------------------------

/// Invariant 1: `put_user` replaces the one cached copy; every session of that user sees it, no other
/// user's session does.
pub async fn put_user_is_seen_by_every_session_of_the_user(h: Harness) {
    let mut ann = Vec::new();
    for _ in 0..3 {
        ann.push(h.sign_in(user(1, "ann")).await.cookie.into_string());
    }
    let bob = h.sign_in(user(2, "bob")).await.cookie.into_string();

    assert_eq!(h.put(user(1, "ann-pro")).await, PutOutcome::Updated);
    for c in &ann {
        let a = h.must_fetch(c, "ann's session").await;
        assert_eq!(*a.user, user(1, "ann-pro"));
        assert!(a.renewed.is_none(), "put_user does not rotate anything");
    }
    assert_eq!(*h.must_fetch(&bob, "bob").await.user, user(2, "bob"));
    assert_eq!(h.users().await, vec![user(1, "ann-pro"), user(2, "bob")]);
}

/// Invariant 1: one `put_user` is one store call, and it reaches every one of 300 sessions.
pub async fn put_user_reaches_hundreds_of_sessions_with_one_store_call(h: Harness) {
    let mut cookies = Vec::new();
    for _ in 0..300 {
        cookies.push(h.sign_in(user(1, "ann")).await.cookie.into_string());
    }
    let before = h.probe.calls();
    assert_eq!(h.put(user(1, "ann-pro")).await, PutOutcome::Updated);
    assert_eq!(h.probe.calls(), before + 1);
    for c in &cookies {
        assert_eq!(h.must_fetch(c, "session").await.user.name, "ann-pro");
    }
    assert_eq!(
        h.users().await.len(),
        1,
        "one cached copy, not one per session"
    );
}

/// Invariants 1, 4: `sync` through one session updates the one cached copy: all of the user's sessions see
/// it, and only the synced session's token rotates.
pub async fn sync_through_one_session_is_seen_by_every_session_of_the_user(h: Harness) {
    let a = h.sign_in(user(1, "ann")).await;
    let b = h.sign_in(user(1, "ann")).await;
    let c = h.sign_in(user(2, "cid")).await;
    let synced = h
        .cache
        .sync(&a.session.session_id, user(1, "ann-pro"))
        .await
        .unwrap()
        .expect("live session");
    let via_a = h.must_fetch(synced.cookie.as_str(), "synced session").await;
    assert_eq!(*via_a.user, user(1, "ann-pro"));
    let via_b = h.must_fetch(b.cookie.as_str(), "the other session").await;
    assert_eq!(*via_b.user, user(1, "ann-pro"));
    assert_eq!(
        via_b.token_use,
        TokenUse::Current,
        "b's token was not rotated"
    );
    assert_eq!(
        *h.must_fetch(c.cookie.as_str(), "c").await.user,
        user(2, "cid")
    );
}

/// Invariant 1: signing in again replaces the cached copy for the sessions the user already has.
pub async fn sign_in_replaces_the_cached_user_for_every_session(h: Harness) {
    let a = h.sign_in(user(1, "ann")).await;
    let b = h.sign_in(user(1, "ann-renamed")).await;
    assert_eq!(
        *h.must_fetch(a.cookie.as_str(), "a").await.user,
        user(1, "ann-renamed")
    );
    assert_eq!(
        *h.must_fetch(b.cookie.as_str(), "b").await.user,
        user(1, "ann-renamed")
    );
    assert_eq!(h.users().await, vec![user(1, "ann-renamed")]);
}

// ---------------------------------------------------------------------------------------------------------
// Background put_user (invariant 7) and no resurrection (invariant 2)
// ---------------------------------------------------------------------------------------------------------

/// Invariants 7, 2: `put_user` for a user with no session writes nothing: no user record appears, and a
/// later sign-in with an older version is not vetoed by it.
pub async fn put_user_for_a_user_without_sessions_stores_nothing(h: Harness) {
    let bob = h.sign_in(user(2, "bob")).await;
    assert_eq!(h.put(user_v(1, "ghost", 100)).await, PutOutcome::NotCached);
    assert_eq!(h.users().await, vec![user(2, "bob")]);
    assert!(h.sessions(1).await.is_empty());

    let s = h.sign_in(user_v(1, "ann", 1)).await;
    assert_eq!(
        *h.must_fetch(s.cookie.as_str(), "later sign-in").await.user,
        user_v(1, "ann", 1),
        "the refused put_user left nothing behind to veto the sign-in"
    );
    assert_eq!(h.users().await, vec![user_v(1, "ann", 1), user(2, "bob")]);
    assert_eq!(
        *h.must_fetch(bob.cookie.as_str(), "bob").await.user,
        user(2, "bob")
    );
}

/// Invariants 7, 2, 8: once the user's last session has ended (sign-out, revoke, revoke-all, expiry), the
/// user counts as uncached: `put_user` reports `NotCached`, `users()` omits it, and the next sign-in shows
/// exactly the user it signed in with.
pub async fn put_user_after_the_last_session_ends_stores_nothing(h: Harness) {
    // 1: sign-out. 2: delete_session. 3: delete_user_sessions. 4: idle expiry (no sweep).
    let s1 = h.sign_in(user(1, "a")).await;
    let s2 = h.sign_in(user(2, "b")).await;
    let s3 = h.sign_in(user(3, "c")).await;
    let s4 = h.sign_in(user(4, "d")).await;
    h.advance(IDLE / 2);
    let s5 = h.sign_in(user(5, "e")).await; // stays live throughout

    assert!(h.cache.delete(s1.cookie.as_str()).await.unwrap().is_some());
    assert!(h
        .cache
        .delete_session(&s2.session.session_id)
        .await
        .unwrap());
    assert_eq!(
        h.cache.delete_user_sessions(&key(3), None).await.unwrap(),
        1
    );
    h.advance(IDLE / 2); // user 4's only session reaches its idle deadline

    for id in 1..=4 {
        assert_eq!(
            h.put(user(id, "ghost")).await,
            PutOutcome::NotCached,
            "user {id} has no live session"
        );
    }
    assert_eq!(h.user_ids().await, vec![5]);
    for s in [&s1, &s2, &s3, &s4] {
        h.must_not_fetch(s.cookie.as_str(), "ended session").await;
    }
    for id in 1..=4 {
        let again = h.sign_in(user(id, "back")).await;
        assert_eq!(
            *h.must_fetch(again.cookie.as_str(), "new sign-in")
                .await
                .user,
            user(id, "back")
        );
    }
    assert_eq!(
        *h.must_fetch(s5.cookie.as_str(), "e").await.user,
        user(5, "e")
    );
}

/// Invariants 7, 8: a user whose only remaining session has expired is uncached, even when a session that
/// would still be live (renewed further into the future) was revoked earlier: "live" is decided by the
/// sessions that are left, not by the longest deadline the user ever had.
pub async fn put_user_when_only_expired_sessions_remain_stores_nothing(h: Harness) {
    let expiring = h.sign_in(user_v(1, "ann", 1)).await;
    let renewed = h.sign_in(user_v(1, "ann", 1)).await;
    h.advance(IDLE / 2);
    let a = h.must_fetch(renewed.cookie.as_str(), "renews").await;
    assert!(a.renewed.is_some());
    assert!(h
        .cache
        .delete_session(&renewed.session.session_id)
        .await
        .unwrap());
    assert_eq!(h.session_ids(1).await, vec![expiring.session.session_id]);
    h.advance(IDLE / 2); // the remaining session reaches its idle deadline
                         // Nothing reads the user's sessions before put_user: a store must not rely on a listing to prune first.
    assert_eq!(
        h.put(user_v(1, "ghost", 9)).await,
        PutOutcome::NotCached,
        "no live session is left"
    );
    assert!(h.sessions(1).await.is_empty());
    assert!(h.users().await.is_empty());
    h.must_not_fetch(expiring.cookie.as_str(), "expired").await;
    // Whatever the refused write carried must not surface in (or veto) the next sign-in.
    let back = h.sign_in(user_v(1, "ann", 2)).await;
    assert_eq!(
        *h.must_fetch(back.cookie.as_str(), "next sign-in")
            .await
            .user,
        user_v(1, "ann", 2)
    );
}

/// Invariants 7, 8: `put_user` moves no deadline: the session still dies at its original idle deadline,
/// and its token and `renewed_at` are untouched.
pub async fn put_user_never_extends_the_idle_deadline(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let before = h.session(1, &s.session.session_id).await.unwrap();
    h.advance(IDLE - MS);
    assert_eq!(h.put(user(1, "ann-2")).await, PutOutcome::Updated);
    let after = h
        .session(1, &s.session.session_id)
        .await
        .expect("still live");
    assert_eq!(after, before, "put_user touched the session record");
    h.advance(MS);
    h.must_not_fetch(s.cookie.as_str(), "at the original idle deadline")
        .await;
    assert!(h.sessions(1).await.is_empty());
    assert_eq!(h.put(user(1, "ann-3")).await, PutOutcome::NotCached);
}

/// Invariants 7, 8, 3: however often `put_user` runs between renewals, the session dies at its absolute
/// deadline.
pub async fn put_user_never_extends_the_absolute_lifetime(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let absolute = s.session.absolute_deadline;
    let mut cookie = s.cookie.into_string();
    let mut n = 0;
    while h.now().saturating_add(RENEW) < absolute {
        h.advance(RENEW);
        if let Some(c) = h.must_fetch(&cookie, "renewing").await.renewed {
            cookie = c.into_string();
        }
        n += 1;
        assert_eq!(
            h.put(user(1, &format!("ann-{n}"))).await,
            PutOutcome::Updated
        );
        let rec = h.session(1, &s.session.session_id).await.unwrap();
        assert_eq!(rec.absolute_deadline, absolute);
        assert!(rec.idle_deadline <= absolute);
    }
    h.clock.set(absolute);
    assert_eq!(h.put(user(1, "late")).await, PutOutcome::NotCached);
    h.must_not_fetch(&cookie, "at the absolute deadline").await;
}

/// Invariant 7: `put_user` never replaces a newer version with an older one; an equal or newer version,
/// or an unversioned user, replaces it.
pub async fn put_user_never_replaces_a_newer_version(h: Harness) {
    let s = h.sign_in(user_v(1, "v5", 5)).await;
    let c = s.cookie.as_str();
    assert_eq!(h.put(user_v(1, "v3", 3)).await, PutOutcome::Stale);
    assert_eq!(
        *h.must_fetch(c, "after stale").await.user,
        user_v(1, "v5", 5)
    );
    assert_eq!(h.put(user_v(1, "v5-again", 5)).await, PutOutcome::Updated);
    assert_eq!(
        *h.must_fetch(c, "equal").await.user,
        user_v(1, "v5-again", 5)
    );
    assert_eq!(h.put(user_v(1, "v6", 6)).await, PutOutcome::Updated);
    assert_eq!(h.put(user_v(1, "v4", 4)).await, PutOutcome::Stale);
    assert_eq!(
        *h.must_fetch(c, "after newer").await.user,
        user_v(1, "v6", 6)
    );
    assert_eq!(h.users().await, vec![user_v(1, "v6", 6)]);
    assert_eq!(h.put(user(1, "unversioned")).await, PutOutcome::Updated);
    assert_eq!(
        *h.must_fetch(c, "unversioned").await.user,
        user(1, "unversioned")
    );
}

/// Invariants 7, 4: `sync` with an older version still rotates the token, but keeps the newer cached user.
pub async fn sync_never_replaces_a_newer_version(h: Harness) {
    let a = h.sign_in(user_v(1, "v5", 5)).await;
    let b = h.sign_in(user_v(1, "v5", 5)).await;
    let synced = h
        .cache
        .sync(&a.session.session_id, user_v(1, "v3", 3))
        .await
        .unwrap()
        .expect("live session");
    h.must_not_fetch(a.cookie.as_str(), "the token before sync")
        .await;
    assert_eq!(
        *h.must_fetch(synced.cookie.as_str(), "synced").await.user,
        user_v(1, "v5", 5)
    );
    assert_eq!(
        *h.must_fetch(b.cookie.as_str(), "other").await.user,
        user_v(1, "v5", 5)
    );
}

/// Invariant 7: a sign-in carrying an older version than the cached copy keeps the newer copy.
pub async fn sign_in_never_replaces_a_newer_version(h: Harness) {
    let a = h.sign_in(user_v(1, "v5", 5)).await;
    let b = h.sign_in(user_v(1, "v3", 3)).await;
    assert_eq!(
        *h.must_fetch(a.cookie.as_str(), "a").await.user,
        user_v(1, "v5", 5)
    );
    assert_eq!(
        *h.must_fetch(b.cookie.as_str(), "b").await.user,
        user_v(1, "v5", 5)
    );
}

// ---------------------------------------------------------------------------------------------------------
// Renewal and grace (invariant 3)
// ---------------------------------------------------------------------------------------------------------

/// Invariant 3: before the renewal interval a read writes nothing: no new cookie, same token, same deadlines.
pub async fn fetch_before_the_renewal_interval_does_not_renew(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    h.advance(RENEW - MS);
    for _ in 0..3 {
        let a = h.must_fetch(s.cookie.as_str(), "inside the interval").await;
        assert!(a.renewed.is_none());
        assert_eq!(a.token_use, TokenUse::Current);
        assert_eq!(*a.session, *s.session);
    }
    assert_eq!(
        h.session(1, &s.session.session_id).await.unwrap(),
        *s.session
    );
}

/// Invariant 3: the first read at the renewal interval rotates: a new cookie that works, `renewed_at` and
/// the idle deadline move to now, the absolute deadline and the session's identity do not, and the old
/// token resolves to the same session as a grace token.
pub async fn fetch_after_the_renewal_interval_rotates_the_token(h: Harness) {
    let s = h
        .sign_in_with(user(1, "ann"), meta("Safari/17", "198.51.100.7"))
        .await;
    let old = s.cookie.as_str().to_owned();
    h.advance(RENEW);
    let now = h.now();
    let a = h.must_fetch(&old, "due").await;
    let new = a.renewed.expect("renewed").into_string();
    assert_ne!(new, old);
    assert_eq!(a.token_use, TokenUse::Current);
    assert_eq!(*a.user, user(1, "ann"));
    let r = &a.session;
    assert_eq!(r.session_id, s.session.session_id);
    assert_eq!(r.created_at, s.session.created_at);
    assert_eq!(r.renewed_at, now);
    assert_eq!(r.idle_deadline, now.saturating_add(IDLE));
    assert_eq!(r.absolute_deadline, s.session.absolute_deadline);
    assert_eq!(r.metadata, s.session.metadata);
    assert_eq!(r.current_token, h.hash_of(&new));

    let b = h.must_fetch(&new, "successor").await;
    assert_eq!(b.token_use, TokenUse::Current);
    assert!(b.renewed.is_none(), "the successor is fresh");
    assert_eq!(b.session.session_id, s.session.session_id);
    let listed = h.session(1, &s.session.session_id).await.unwrap();
    assert_eq!(listed.renewed_at, now);
    assert_eq!(listed.idle_deadline, now.saturating_add(IDLE));

    let g = h.must_fetch(&old, "replaced token inside grace").await;
    assert_eq!(g.token_use, TokenUse::Grace);
    assert!(g.renewed.is_none());
    assert_eq!(g.session.session_id, s.session.session_id);

    // The session now lives to the moved idle deadline, past the original one.
    h.clock.set(s.session.idle_deadline);
    h.must_fetch(&new, "past the original idle deadline").await;
}

/// Invariant 3: 32 requests racing with the same stale token all succeed, exactly one rotates (the
/// others resolve the replaced token as a grace token), and all resolve to the same session. Repeated.
pub async fn many_concurrent_fetches_with_a_stale_token_have_exactly_one_winner(h: Harness) {
    const TASKS: usize = 32;
    for round in 0..12u32 {
        let s = h.sign_in(user(round, "racer")).await;
        let old = s.cookie.into_string();
        h.advance(RENEW);
        let barrier = Arc::new(Barrier::new(TASKS));
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let (cache, barrier, old) = (h.cache.clone(), barrier.clone(), old.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                cache.fetch(&old).await
            }));
        }
        let mut winners = Vec::new();
        let mut grace = 0;
        for t in tasks {
            let a = t
                .await
                .unwrap()
                .expect("no store error")
                .unwrap_or_else(|| panic!("round {round}: a racing request was signed out"));
            assert_eq!(a.session.session_id, s.session.session_id);
            match (a.renewed, a.token_use) {
                (Some(c), TokenUse::Current) => winners.push(c.into_string()),
                (None, TokenUse::Grace) => grace += 1,
                (r, u) => panic!(
                    "round {round}: unexpected outcome renewed={} use={u:?}",
                    r.is_some()
                ),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one successor");
        assert_eq!(grace, TASKS - 1);
        let a = h.must_fetch(&winners[0], "the successor").await;
        assert_eq!(a.token_use, TokenUse::Current);
        assert!(a.renewed.is_none());
        assert_eq!(
            h.must_fetch(&old, "the replaced token").await.token_use,
            TokenUse::Grace
        );
    }
}

/// Invariant 3: the replaced token works until the end of the grace window (same session, same user) and
/// not a millisecond later; after that it cannot sign out either. The successor is unaffected.
pub async fn grace_token_works_inside_the_window_and_dies_after(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    h.advance(GRACE - MS);
    let g = h.must_fetch(&old, "last grace millisecond").await;
    assert_eq!(g.token_use, TokenUse::Grace);
    assert_eq!(g.session.session_id, s.session.session_id);
    assert_eq!(*g.user, user(1, "ann"));
    h.advance(MS);
    h.must_not_fetch(&old, "grace window over").await;
    assert_eq!(h.cache.delete(&old).await.unwrap(), None);
    let a = h.must_fetch(&new, "successor after grace").await;
    assert_eq!(a.token_use, TokenUse::Current);
}

/// Invariant 3: the replaced token can neither move the session's deadlines, nor rotate it, nor slide its
/// own grace window by being used; the successor stays the current token and rotates on schedule, which
/// kills the older token for good.
pub async fn grace_token_cannot_extend_or_rotate_the_session(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let after_renewal = h.session(1, &s.session.session_id).await.unwrap();
    for _ in 0..9 {
        h.advance(Duration::from_secs(1));
        let g = h.must_fetch(&old, "inside grace").await;
        assert_eq!(g.token_use, TokenUse::Grace);
        assert!(g.renewed.is_none(), "a grace token must never rotate");
        assert_eq!(*g.session, after_renewal, "a grace token must not write");
    }
    assert_eq!(
        h.session(1, &s.session.session_id).await.unwrap(),
        after_renewal
    );
    h.advance(GRACE - Duration::from_secs(9));
    h.must_not_fetch(&old, "used all through its window, still dies on time")
        .await;

    // The successor rotates on schedule; the first token stays dead.
    h.clock.set(after_renewal.renewed_at.saturating_add(RENEW));
    let a = h.must_fetch(&new, "successor due").await;
    let newer = a.renewed.expect("the successor rotates").into_string();
    h.must_not_fetch(&old, "the first token").await;
    assert_eq!(
        h.must_fetch(&new, "second grace").await.token_use,
        TokenUse::Grace
    );
    assert_eq!(
        h.must_fetch(&newer, "third token").await.token_use,
        TokenUse::Current
    );
}

// ---------------------------------------------------------------------------------------------------------
// Privilege changes (invariant 4)
// ---------------------------------------------------------------------------------------------------------

/// Invariants 4, 3: signing out with the current token ends the session: the current token and the grace
/// token die at once.
pub async fn sign_out_kills_the_current_and_the_grace_token(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let other = h.sign_in(user(1, "ann")).await;
    assert_eq!(
        h.cache.delete(&new).await.unwrap(),
        Some(s.session.session_id)
    );
    h.must_not_fetch(&new, "signed-out current token").await;
    h.must_not_fetch(&old, "signed-out grace token").await;
    assert_eq!(h.session_ids(1).await, vec![other.session.session_id]);
    assert_eq!(h.cache.delete(&new).await.unwrap(), None);
    h.must_fetch(other.cookie.as_str(), "the user's other session")
        .await;
}

/// Invariants 4, 3: signing out with the grace token (a request the browser sent before it got the new
/// cookie) ends the session too, successor included.
pub async fn sign_out_through_the_grace_token_kills_the_current_token(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    assert_eq!(
        h.cache.delete(&old).await.unwrap(),
        Some(s.session.session_id)
    );
    h.must_not_fetch(&new, "successor after sign-out through grace")
        .await;
    h.must_not_fetch(&old, "grace token after sign-out").await;
    assert!(h.sessions(1).await.is_empty());
    assert_eq!(h.put(user(1, "x")).await, PutOutcome::NotCached);
}

/// Invariants 4, 1: `sync` kills the current and the grace token at once (no grace), and keeps the
/// session's identity: `session_id`, `created_at`, the absolute deadline and the metadata.
pub async fn sync_kills_the_old_tokens_at_once_and_keeps_the_session_identity(h: Harness) {
    let s = h
        .sign_in_with(user(1, "ann"), meta("Chrome/126", "203.0.113.9"))
        .await;
    let old = s.cookie.as_str().to_owned();
    h.advance(RENEW);
    let new = h
        .must_fetch(&old, "due")
        .await
        .renewed
        .unwrap()
        .into_string();
    h.advance(GRACE / 2); // inside the grace window
    let now = h.now();
    let synced = h
        .cache
        .sync(&s.session.session_id, user(1, "ann-pro"))
        .await
        .unwrap()
        .expect("live session");
    let newest = synced.cookie.as_str();
    h.must_not_fetch(&old, "grace token after sync").await;
    h.must_not_fetch(&new, "current token before sync").await;
    let a = h.must_fetch(newest, "sync's cookie").await;
    assert_eq!(a.token_use, TokenUse::Current);
    assert_eq!(*a.user, user(1, "ann-pro"));
    for r in [&*a.session, &*synced.session] {
        assert_eq!(r.session_id, s.session.session_id);
        assert_eq!(r.created_at, s.session.created_at);
        assert_eq!(r.absolute_deadline, s.session.absolute_deadline);
        assert_eq!(r.metadata, s.session.metadata);
        assert_eq!(r.renewed_at, now);
        assert_eq!(r.idle_deadline, now.saturating_add(IDLE));
        assert_eq!(r.current_token, h.hash_of(newest));
        assert_eq!(r.previous_token, None, "no grace after a privilege change");
    }
    assert_eq!(h.session_ids(1).await, vec![s.session.session_id]);
}

/// Invariant 4: `regenerate` (password change) kills the current and the grace token at once and keeps
/// the session and the cached user.
pub async fn regenerate_kills_the_old_tokens_at_once_and_keeps_the_cached_user(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let now = h.now();
    let (cookie, rec) = h
        .cache
        .regenerate(&s.session.session_id)
        .await
        .unwrap()
        .expect("live session");
    h.must_not_fetch(&old, "grace token after regenerate").await;
    h.must_not_fetch(&new, "current token before regenerate")
        .await;
    let a = h.must_fetch(cookie.as_str(), "regenerated cookie").await;
    assert_eq!(a.token_use, TokenUse::Current);
    assert_eq!(*a.user, user(1, "ann"));
    assert_eq!(rec.session_id, s.session.session_id);
    assert_eq!(rec.created_at, s.session.created_at);
    assert_eq!(rec.renewed_at, now);
    assert_eq!(rec.previous_token, None);
    assert_eq!(rec.current_token, h.hash_of(cookie.as_str()));
}

/// Invariants 2, 4: `sync` and `regenerate` of a session that was signed out, revoked, expired or never
/// existed return `None` and create nothing: no session, no token, no user record.
pub async fn sync_or_regenerate_of_a_dead_session_creates_nothing(h: Harness) {
    let signed_out = h.sign_in(user(1, "a")).await;
    let revoked = h.sign_in(user(2, "b")).await;
    let expiring = h.sign_in(user(3, "c")).await;
    h.cache.delete(signed_out.cookie.as_str()).await.unwrap();
    h.cache
        .delete_session(&revoked.session.session_id)
        .await
        .unwrap();
    h.advance(IDLE);
    let ids = [
        (1, signed_out.session.session_id),
        (2, revoked.session.session_id),
        (3, expiring.session.session_id),
        (4, SessionId::generate()),
    ];
    for (uid, id) in ids {
        assert!(h
            .cache
            .sync(&id, user(uid, "ghost"))
            .await
            .unwrap()
            .is_none());
        assert!(h.cache.regenerate(&id).await.unwrap().is_none());
        assert!(h.sessions(uid).await.is_empty(), "user {uid}");
        assert_eq!(h.put(user(uid, "ghost-2")).await, PutOutcome::NotCached);
    }
    assert!(h.users().await.is_empty());
    for s in [&signed_out, &revoked, &expiring] {
        h.must_not_fetch(s.cookie.as_str(), "dead session").await;
    }
}

/// Invariant 4: "log out everywhere": every session of the user ends, grace tokens included; other
/// users are untouched; the user is no longer cached.
pub async fn delete_user_sessions_ends_every_session_of_the_user(h: Harness) {
    let (_, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let a2 = h.sign_in(user(1, "ann")).await;
    let a3 = h.sign_in(user(1, "ann")).await;
    let bob = h.sign_in(user(2, "bob")).await;
    assert_eq!(
        h.cache.delete_user_sessions(&key(1), None).await.unwrap(),
        3
    );
    for c in [
        &old,
        &new,
        &a2.cookie.into_string(),
        &a3.cookie.into_string(),
    ] {
        h.must_not_fetch(c, "after log-out everywhere").await;
    }
    assert!(h.sessions(1).await.is_empty());
    assert_eq!(h.put(user(1, "x")).await, PutOutcome::NotCached);
    assert_eq!(
        h.cache.delete_user_sessions(&key(1), None).await.unwrap(),
        0
    );
    assert_eq!(
        *h.must_fetch(bob.cookie.as_str(), "bob").await.user,
        user(2, "bob")
    );
    assert_eq!(h.user_ids().await, vec![2]);
}

/// Invariant 4: "log out everywhere else": every session but `except` ends; `except` keeps its token and
/// the cached user, which `put_user` can still update.
pub async fn delete_user_sessions_except_keeps_only_that_session(h: Harness) {
    let keep = h.sign_in(user(1, "ann")).await;
    let (_, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let other = h.sign_in(user(1, "ann")).await;
    assert_eq!(
        h.cache
            .delete_user_sessions(&key(1), Some(&keep.session.session_id))
            .await
            .unwrap(),
        2
    );
    for c in [&old, &new, &other.cookie.into_string()] {
        h.must_not_fetch(c, "after log-out everywhere else").await;
    }
    assert_eq!(h.session_ids(1).await, vec![keep.session.session_id]);
    assert_eq!(h.put(user(1, "ann-2")).await, PutOutcome::Updated);
    let a = h.must_fetch(keep.cookie.as_str(), "the kept session").await;
    assert_eq!(*a.user, user(1, "ann-2"));
    // `except` naming a session of another user deletes all of this user's sessions.
    let bob = h.sign_in(user(2, "bob")).await;
    assert_eq!(
        h.cache
            .delete_user_sessions(&key(1), Some(&bob.session.session_id))
            .await
            .unwrap(),
        1
    );
    h.must_not_fetch(keep.cookie.as_str(), "no longer excepted")
        .await;
    h.must_fetch(bob.cookie.as_str(), "bob").await;
}

/// Invariant 4: revoking one session by id ends it and both its tokens, and nothing else.
pub async fn delete_session_ends_one_session_and_both_its_tokens(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let other = h.sign_in(user(1, "ann")).await;
    assert!(h.cache.delete_session(&s.session.session_id).await.unwrap());
    h.must_not_fetch(&old, "revoked grace token").await;
    h.must_not_fetch(&new, "revoked current token").await;
    assert!(!h.cache.delete_session(&s.session.session_id).await.unwrap());
    assert!(!h
        .cache
        .delete_session(&SessionId::generate())
        .await
        .unwrap());
    assert_eq!(h.session_ids(1).await, vec![other.session.session_id]);
    h.must_fetch(other.cookie.as_str(), "the other session")
        .await;
}

// ---------------------------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------------------------

/// Invariant 8: `sessions()` lists the user's live sessions oldest first, with their metadata and renewal
/// time, and hides revoked and expired ones.
pub async fn sessions_lists_live_sessions_oldest_first_with_metadata(h: Harness) {
    let t0 = h.now();
    let mut m1 = meta("Firefox/128", "192.0.2.1");
    m1.fields.insert("device".into(), "laptop".into());
    let s1 = h.sign_in_with(user(1, "ann"), m1.clone()).await;
    h.advance(Duration::from_secs(100));
    let s2 = h
        .sign_in_with(user(1, "ann"), meta("Safari/17", "192.0.2.2"))
        .await;
    h.advance(Duration::from_secs(100));
    let s3 = h
        .sign_in_with(user(1, "ann"), meta("curl/8", "192.0.2.3"))
        .await;
    let s4 = h
        .sign_in_with(user(1, "ann"), meta("Edge/1", "192.0.2.4"))
        .await;
    h.sign_in(user(2, "bob")).await;

    // t0+200: s1 is due and renews.
    h.must_fetch(s1.cookie.as_str(), "s1")
        .await
        .renewed
        .unwrap();
    let list = h.sessions(1).await;
    assert_eq!(list.len(), 4);
    assert_eq!(list[0].session_id, s1.session.session_id);
    assert_eq!(list[1].session_id, s2.session.session_id);
    assert!(list.windows(2).all(|w| w[0].created_at <= w[1].created_at));
    assert_eq!(list[0].metadata, m1);
    assert_eq!(list[0].created_at, t0);
    assert_eq!(list[0].renewed_at, h.now());
    assert_eq!(list[1].metadata.user_agent.as_deref(), Some("Safari/17"));
    assert_eq!(list[1].metadata.ip.as_deref(), Some("192.0.2.2"));
    assert!(list.iter().all(|r| r.user_key == key(1)));

    assert!(h
        .cache
        .delete_session(&s4.session.session_id)
        .await
        .unwrap());
    // t0+700: s2 (idle deadline t0+700) is dead; s1 renewed at t0+200 and s3 (created t0+200) live.
    h.clock
        .set(t0.saturating_add(IDLE + Duration::from_secs(100)));
    assert_eq!(
        h.session_ids(1).await,
        vec![s1.session.session_id, s3.session.session_id]
    );
    assert!(h.cache.sessions("nobody").await.unwrap().is_empty());
}

/// Invariants 1, 8: `users()` lists one copy per user that has a live session, the latest copy.
pub async fn users_lists_one_copy_per_user_with_a_live_session(h: Harness) {
    assert!(h.users().await.is_empty());
    h.sign_in(user(1, "ann")).await;
    h.sign_in(user(1, "ann")).await;
    let bob = h.sign_in(user(2, "bob")).await;
    h.put(user(1, "ann-2")).await;
    assert_eq!(h.users().await, vec![user(1, "ann-2"), user(2, "bob")]);
    h.cache.delete(bob.cookie.as_str()).await.unwrap();
    assert_eq!(h.users().await, vec![user(1, "ann-2")]);
    h.advance(IDLE);
    assert!(h.users().await.is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// Expiry and sweeping (invariant 8)
// ---------------------------------------------------------------------------------------------------------

/// Invariant 8: a session not renewed dies at exactly its idle deadline, for every operation, swept or not.
pub async fn idle_session_expires_at_its_idle_deadline(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let t = h.sign_in(user(1, "ann")).await;
    h.advance(IDLE - MS);
    assert_eq!(h.sessions(1).await.len(), 2, "alive one millisecond before");
    h.advance(MS);
    h.must_not_fetch(s.cookie.as_str(), "at the idle deadline")
        .await;
    assert!(h.sessions(1).await.is_empty());
    assert!(h.users().await.is_empty());
    assert_eq!(h.put(user(1, "x")).await, PutOutcome::NotCached);
    assert!(h
        .cache
        .sync(&t.session.session_id, user(1, "y"))
        .await
        .unwrap()
        .is_none());
    assert!(h
        .cache
        .regenerate(&t.session.session_id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(h.cache.delete(t.cookie.as_str()).await.unwrap(), None);
    h.must_not_fetch(t.cookie.as_str(), "the other session")
        .await;
}

/// Invariants 8, 3: renewals push the idle deadline but never past the absolute deadline; the session
/// (and its grace token) dies at the absolute deadline however active it is, and `regenerate` cannot
/// pass it either.
pub async fn absolute_lifetime_cannot_be_passed_by_renewals(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let absolute = s.session.absolute_deadline;
    let mut cookie = s.cookie.into_string();
    let mut previous = None;
    let mut renewals = 0;
    while h.now().saturating_add(RENEW) < absolute {
        h.advance(RENEW);
        let a = h.must_fetch(&cookie, "active session").await;
        if let Some(c) = a.renewed {
            previous = Some(std::mem::replace(&mut cookie, c.into_string()));
            renewals += 1;
        }
        assert_eq!(a.session.absolute_deadline, absolute);
        assert!(
            a.session.idle_deadline <= absolute,
            "idle deadline past the absolute one"
        );
    }
    assert!(renewals >= 10);
    h.clock.set(absolute.saturating_sub(Duration::from_secs(5)));
    let (c, rec) = h
        .cache
        .regenerate(&s.session.session_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rec.idle_deadline, absolute,
        "regenerate caps at the absolute deadline"
    );
    cookie = c.into_string();
    h.clock.set(absolute.saturating_sub(MS));
    h.must_fetch(&cookie, "last millisecond").await;
    h.clock.set(absolute);
    h.must_not_fetch(&cookie, "at the absolute deadline").await;
    if let Some(p) = previous {
        h.must_not_fetch(&p, "older token at the absolute deadline")
            .await;
    }
    assert!(h.sessions(1).await.is_empty());
}

/// Invariant 8: the per-user index never lists a dead session, and does not drop a live one: a session
/// renewed past its original idle deadline stays listed.
pub async fn index_never_lists_dead_sessions_and_keeps_renewed_ones(h: Harness) {
    let t0 = h.now();
    let s1 = h.sign_in(user(1, "ann")).await;
    let mut doomed = Vec::new();
    for _ in 0..20 {
        doomed.push(h.sign_in(user(1, "ann")).await);
    }
    h.advance(Duration::from_secs(300));
    let s2 = h.sign_in(user(1, "ann")).await;
    h.advance(Duration::from_secs(200));
    h.must_fetch(s1.cookie.as_str(), "s1 renews at t0+500")
        .await
        .renewed
        .unwrap();
    h.clock.set(t0.saturating_add(IDLE)); // the original deadline of s1 and the 20 doomed ones
    assert_eq!(
        h.session_ids(1).await,
        vec![s1.session.session_id, s2.session.session_id]
    );
    h.clock.set(t0.saturating_add(Duration::from_secs(900))); // s2's idle deadline
    assert_eq!(h.session_ids(1).await, vec![s1.session.session_id]);
    let s3 = h.sign_in(user(1, "ann")).await;
    assert_eq!(
        h.session_ids(1).await,
        vec![s1.session.session_id, s3.session.session_id]
    );
    for d in &doomed {
        h.must_not_fetch(d.cookie.as_str(), "expired session").await;
    }
    // Revoking everything counts the live sessions; dead ones are not resurrected to be counted.
    let n = h.cache.delete_user_sessions(&key(1), None).await.unwrap();
    assert!(n >= 2, "both live sessions are deleted (got {n})");
    assert!(h.sessions(1).await.is_empty());
}

/// Invariants 8, 2: a sweep removes expired sessions, their tokens and users left without a live session;
/// afterwards `put_user` cannot bring such a user back and their cookies stay dead.
pub async fn sweep_removes_expired_records_and_put_user_does_not_resurrect_them(h: Harness) {
    let a1 = h.sign_in(user(1, "ann")).await;
    let a2 = h.sign_in(user(1, "ann")).await;
    h.advance(IDLE / 2);
    let bob = h.sign_in(user(2, "bob")).await;
    h.advance(IDLE / 2); // both of ann's sessions expire now; bob's lives on
    let stats = h.cache.sweep().await.unwrap();
    if stats != SweepStats::default() {
        assert_eq!(stats.sessions, 2, "{stats:?}");
        assert_eq!(stats.users, 1, "{stats:?}");
        assert!(stats.tokens >= 2, "{stats:?}");
    }
    assert_eq!(h.put(user(1, "ghost")).await, PutOutcome::NotCached);
    assert_eq!(h.users().await, vec![user(2, "bob")]);
    assert!(h.sessions(1).await.is_empty());
    h.must_not_fetch(a1.cookie.as_str(), "swept").await;
    h.must_not_fetch(a2.cookie.as_str(), "swept").await;
    assert!(h
        .cache
        .sync(&a1.session.session_id, user(1, "g"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        *h.must_fetch(bob.cookie.as_str(), "bob").await.user,
        user(2, "bob")
    );

    let again = h.cache.sweep().await.unwrap();
    assert_eq!((again.sessions, again.users), (0, 0), "{again:?}");
    let back = h.sign_in(user(1, "ann-back")).await;
    assert_eq!(
        *h.must_fetch(back.cookie.as_str(), "new sign-in").await.user,
        user(1, "ann-back")
    );
}

/// Invariants 8, 3: sweeping never removes a live session, a live user, or a token inside its grace
/// window; after the window it may drop the replaced token, and the successor keeps working.
pub async fn sweep_removes_nothing_live(h: Harness) {
    let (s, old, new) = h.sign_in_and_renew(user(1, "ann")).await;
    let other = h.sign_in(user(2, "bob")).await;
    let stats = h.cache.sweep().await.unwrap();
    assert_eq!(
        (stats.sessions, stats.users, stats.tokens),
        (0, 0, 0),
        "{stats:?}"
    );
    assert_eq!(
        h.must_fetch(&old, "grace after sweep").await.token_use,
        TokenUse::Grace
    );
    h.advance(GRACE);
    let stats = h.cache.sweep().await.unwrap();
    assert_eq!((stats.sessions, stats.users), (0, 0), "{stats:?}");
    assert!(stats.tokens <= 1, "{stats:?}");
    h.must_not_fetch(&old, "after grace").await;
    let a = h.must_fetch(&new, "successor").await;
    assert_eq!(a.session.session_id, s.session.session_id);
    h.must_fetch(other.cookie.as_str(), "bob").await;
    assert_eq!(h.user_ids().await, vec![1, 2]);
}

// ---------------------------------------------------------------------------------------------------------
// Races against deletes (invariant 2)
// ---------------------------------------------------------------------------------------------------------

const RACE_ROUNDS: u32 = 150;

/// Check that user `uid` is entirely gone: no session listed, not cached, `put_user` refused, none of
/// `cookies` resolves.
async fn assert_gone(h: &Harness, uid: u32, cookies: &[String], what: &str) {
    for c in cookies {
        h.must_not_fetch(c, what).await;
    }
    assert!(
        h.sessions(uid).await.is_empty(),
        "{what}: a session came back"
    );
    assert_eq!(
        h.put(user(uid, "zombie")).await,
        PutOutcome::NotCached,
        "{what}: the user record came back"
    );
    assert!(
        !h.user_ids().await.contains(&uid),
        "{what}: users() lists a deleted user"
    );
}

/// Invariant 2 (and 3): a renewing fetch racing a sign-out or a revoke never brings the session back:
/// the delete always finds the session (through the current or the grace token), and neither the old nor
/// the successor token works afterwards.
pub async fn deleted_session_stays_deleted_when_a_renewal_races_the_delete(h: Harness) {
    for i in 0..RACE_ROUNDS {
        let s = h.sign_in(user(i, "racer")).await;
        let old = s.cookie.into_string();
        h.advance(RENEW);
        let barrier = Arc::new(Barrier::new(3));
        let renew = {
            let (cache, b, c) = (h.cache.clone(), barrier.clone(), old.clone());
            tokio::spawn(async move {
                b.wait().await;
                cache.fetch(&c).await.unwrap()
            })
        };
        let renew2 = {
            let (cache, b, c) = (h.cache.clone(), barrier.clone(), old.clone());
            tokio::spawn(async move {
                b.wait().await;
                cache.fetch(&c).await.unwrap()
            })
        };
        let by_token = i % 2 == 0;
        let (cache, c, id) = (h.cache.clone(), old.clone(), s.session.session_id);
        barrier.wait().await;
        let deleted = if by_token {
            cache.delete(&c).await.unwrap() == Some(id)
        } else {
            cache.delete_session(&id).await.unwrap()
        };
        assert!(deleted, "round {i}: the delete must find the session");
        let mut cookies = vec![old];
        for r in [renew.await.unwrap(), renew2.await.unwrap()] {
            if let Some(c) = r.and_then(|a| a.renewed) {
                cookies.push(c.into_string());
            }
        }
        assert_gone(&h, i, &cookies, &format!("round {i}")).await;
    }
}

/// Invariant 2 (and 4): `sync` racing a revoke never re-creates the session or the user; if `sync` won,
/// its new cookie dies with the session.
pub async fn deleted_session_stays_deleted_when_sync_races_the_delete(h: Harness) {
    for i in 0..RACE_ROUNDS {
        let s = h.sign_in(user(i, "racer")).await;
        let id = s.session.session_id;
        let barrier = Arc::new(Barrier::new(2));
        let sync = {
            let (cache, b) = (h.cache.clone(), barrier.clone());
            tokio::spawn(async move {
                b.wait().await;
                if i % 2 == 0 {
                    cache
                        .sync(&id, user(i, "synced"))
                        .await
                        .unwrap()
                        .map(|s| s.cookie)
                } else {
                    cache.regenerate(&id).await.unwrap().map(|(c, _)| c)
                }
            })
        };
        barrier.wait().await;
        assert!(h.cache.delete_session(&id).await.unwrap(), "round {i}");
        let mut cookies = vec![s.cookie.into_string()];
        cookies.extend(sync.await.unwrap().map(|c| c.into_string()));
        assert_gone(&h, i, &cookies, &format!("round {i}")).await;
    }
}

/// Invariants 2, 7: a background `put_user` racing "log out everywhere" never re-creates the user record.
pub async fn deleted_user_stays_deleted_when_put_user_races_the_delete(h: Harness) {
    for i in 0..RACE_ROUNDS {
        let a = h.sign_in(user(i, "racer")).await;
        let b = h.sign_in(user(i, "racer")).await;
        let barrier = Arc::new(Barrier::new(3));
        let mut puts = Vec::new();
        for n in 0..2 {
            let (cache, bar) = (h.cache.clone(), barrier.clone());
            puts.push(tokio::spawn(async move {
                bar.wait().await;
                cache.put_user(user(i, &format!("bg-{n}"))).await.unwrap()
            }));
        }
        barrier.wait().await;
        assert_eq!(
            h.cache.delete_user_sessions(&key(i), None).await.unwrap(),
            2
        );
        for p in puts {
            let out = p.await.unwrap();
            assert!(
                matches!(out, PutOutcome::Updated | PutOutcome::NotCached),
                "round {i}: {out:?}"
            );
        }
        let cookies = [a.cookie.into_string(), b.cookie.into_string()];
        assert_gone(&h, i, &cookies, &format!("round {i}")).await;
    }
}

/// Invariants 2, 1: a sign-in racing "log out everywhere" ends either deleted or live, never half: if its
/// session survived, it is listed, its user is cached and `put_user` reaches it; if not, nothing is left.
pub async fn sign_in_racing_delete_user_sessions_leaves_a_consistent_user(h: Harness) {
    for i in 0..RACE_ROUNDS {
        let first = h.sign_in(user(i, "first")).await;
        let barrier = Arc::new(Barrier::new(2));
        let create = {
            let (cache, b) = (h.cache.clone(), barrier.clone());
            tokio::spawn(async move {
                b.wait().await;
                cache
                    .create(user(i, "second"), SessionMetadata::default())
                    .await
                    .unwrap()
            })
        };
        barrier.wait().await;
        let n = h.cache.delete_user_sessions(&key(i), None).await.unwrap();
        let second = create.await.unwrap();
        h.must_not_fetch(first.cookie.as_str(), "first session")
            .await;
        match h.fetch(second.cookie.as_str()).await {
            Some(a) => {
                assert_eq!(n, 1, "round {i}");
                assert_eq!(*a.user, user(i, "second"));
                assert_eq!(h.session_ids(i).await, vec![second.session.session_id]);
                assert!(h.users().await.contains(&user(i, "second")), "round {i}");
                assert_eq!(h.put(user(i, "later")).await, PutOutcome::Updated);
                assert_eq!(
                    h.must_fetch(second.cookie.as_str(), "second")
                        .await
                        .user
                        .name,
                    "later"
                );
                h.cache
                    .delete_session(&second.session.session_id)
                    .await
                    .unwrap();
            }
            None => {
                assert_eq!(n, 2, "round {i}");
                assert_gone(&h, i, &[second.cookie.into_string()], &format!("round {i}")).await;
            }
        }
    }
}

/// Invariants 2, 3, 4, 7: renewals, `sync`, `regenerate` and `put_user` all racing one "log out
/// everywhere": the delete finds the one session, and afterwards no token any of them produced works and
/// no record is left.
pub async fn deleted_session_stays_deleted_when_everything_races_the_delete(h: Harness) {
    for i in 0..RACE_ROUNDS / 2 {
        let s = h.sign_in(user(i, "racer")).await;
        let old = s.cookie.into_string();
        let id = s.session.session_id;
        h.advance(RENEW);
        let barrier = Arc::new(Barrier::new(8));
        let mut tasks = Vec::new();
        for k in 0..7u32 {
            let (cache, b, c) = (h.cache.clone(), barrier.clone(), old.clone());
            tasks.push(tokio::spawn(async move {
                b.wait().await;
                let cookie = match k {
                    0..=3 => cache.fetch(&c).await.unwrap().and_then(|a| a.renewed),
                    4 => cache
                        .sync(&id, user(i, "s"))
                        .await
                        .unwrap()
                        .map(|s| s.cookie),
                    5 => cache.regenerate(&id).await.unwrap().map(|(c, _)| c),
                    _ => {
                        cache.put_user(user(i, "bg")).await.unwrap();
                        None
                    }
                };
                cookie.map(|c| c.into_string())
            }));
        }
        barrier.wait().await;
        assert_eq!(
            h.cache.delete_user_sessions(&key(i), None).await.unwrap(),
            1
        );
        let mut cookies = vec![old];
        for t in tasks {
            cookies.extend(t.await.unwrap());
        }
        assert_gone(&h, i, &cookies, &format!("round {i}")).await;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Fail closed (invariant 6)
// ---------------------------------------------------------------------------------------------------------

/// Invariant 6: while the store fails, every operation is an error: never a user, never "signed out";
/// a due renewal does not happen; when the store recovers, the session is intact.
pub async fn store_errors_never_authenticate_and_never_sign_out(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let cookie = s.cookie.as_str();
    let id = s.session.session_id;
    h.advance(RENEW);
    h.probe.set_failing(true);
    assert!(
        h.cache.fetch(cookie).await.is_err(),
        "fetch must be Err, not Ok(None)"
    );
    assert!(h.cache.delete(cookie).await.is_err());
    assert!(h
        .cache
        .create(user(2, "b"), SessionMetadata::default())
        .await
        .is_err());
    assert!(h.cache.sync(&id, user(1, "x")).await.is_err());
    assert!(h.cache.regenerate(&id).await.is_err());
    assert!(h.cache.put_user(user(1, "x")).await.is_err());
    assert!(h.cache.delete_session(&id).await.is_err());
    assert!(h.cache.delete_user_sessions(&key(1), None).await.is_err());
    assert!(h.cache.sessions(&key(1)).await.is_err());
    assert!(h.cache.users().await.is_err());
    assert!(h.cache.sweep().await.is_err());
    // A forged cookie is still refused without asking the store.
    assert!(h.cache.fetch(&flip(cookie, 10)).await.unwrap().is_none());
    h.probe.set_failing(false);
    let a = h.must_fetch(cookie, "after the outage").await;
    assert_eq!(
        *a.user,
        user(1, "ann"),
        "no write went through during the outage"
    );
    assert_eq!(a.token_use, TokenUse::Current);
    assert!(
        a.renewed.is_some(),
        "the renewal happens now, not during the outage"
    );
    assert_eq!(h.user_ids().await, vec![1]);
}
