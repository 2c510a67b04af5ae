//! The conformance suite against the Redis store, plus what only the Redis store promises: one round trip
//! per request, fail-closed behaviour when Redis is down, hung or full, decoding failures treated as
//! absence, real key expiries, and sharing between app nodes.
//!
//! Redis: `KEYCARD_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`). When it cannot be reached every
//! test that needs it prints `SKIPPED: redis not reachable at …` to stderr and passes, unless
//! `KEYCARD_REQUIRE_SERVICES=1` (CI), which turns that into a failure. Tests isolate themselves with a
//! unique key prefix, so they run in parallel (and next to other users of the same Redis); every key they
//! write expires by itself within the test policy's lifetimes.
//!
//! The outage, hang and out-of-memory tests start their own `redis-server` (found on `PATH`, or at
//! `KEYCARD_TEST_REDIS_SERVER`) on a free loopback port with `--save '' --appendonly no`, so they never
//! disturb the shared server; without the binary they skip by the same rule.
#![cfg(feature = "redis")]

#[macro_use]
mod conformance;

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use conformance::DynStore;
use keycard::store::redis::{RedisConfig, RedisStore};

/// The Redis the tests use.
fn redis_url() -> String {
    std::env::var("KEYCARD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// Whether an unreachable service must fail the test (CI) instead of skipping it.
fn services_required() -> bool {
    std::env::var("KEYCARD_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Apply the skip rule: print `SKIPPED: …` and return it as the skip reason, or panic when services are
/// required.
///
/// The notice goes straight to the process' stderr: libtest captures `eprintln!` of passing tests, so a
/// skip announced that way would only show with `--nocapture`.
fn skip_or_fail(test: &str, what: String) -> String {
    if services_required() {
        panic!("{test}: {what}, and KEYCARD_REQUIRE_SERVICES=1 makes that a failure");
    }
    let reason = format!("SKIPPED: {what}");
    let _ = writeln!(std::io::stderr(), "{test}: {reason}");
    reason
}

/// A key prefix no other test (or run) uses.
fn unique_prefix(test: &str) -> String {
    let nonce = keycard::SessionId::generate().to_hex();
    format!("keycard-test:{test}:{}:", &nonce[..12])
}

/// Can Redis at `url` be reached (one connection and a PING, bounded)?
async fn reachable(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| format!("invalid URL: {e}"))?;
    let ping = async {
        let mut c = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut c).await
    };
    match tokio::time::timeout(Duration::from_secs(2), ping).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 2 s".to_owned()),
    }
}

/// A store on the shared Redis with a fresh prefix, or the skip reason.
///
/// Only reachability decides a skip: once Redis answers, a store that fails to connect (a script that does
/// not load, say) fails the test.
async fn shared_store(test: &'static str) -> Result<RedisStore, String> {
    let url = redis_url();
    if let Err(e) = reachable(&url).await {
        return Err(skip_or_fail(
            test,
            format!("redis not reachable at {url} ({e})"),
        ));
    }
    let config = RedisConfig {
        key_prefix: unique_prefix(test),
        // Generous: the suite runs many tests in parallel on a small, busy machine. The timeout itself
        // is tested below with its default-sized value.
        response_timeout: Duration::from_secs(10),
        ..RedisConfig::default()
    };
    Ok(RedisStore::connect(&url, config).await.unwrap_or_else(|e| {
        panic!("{test}: redis answers PING at {url} but the store cannot connect: {e}")
    }))
}

conformance_suite!(|test: &'static str| async move {
    shared_store(test).await.map(|s| Arc::new(s) as DynStore)
});

// =========================================================================================================
// What only the Redis store promises
// =========================================================================================================

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use conformance::{key, test_policy, user, Harness, TestUser, GRACE, IDLE, RENEW, SECRET};
use keycard::{CredentialsCache, ManualClock, PutOutcome, SessionMetadata, Timestamp, TokenUse};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A plain connection to `url` for test-side inspection (never the store's own connection).
async fn admin(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("admin connection")
}

/// Every key under `prefix` with its remaining lifetime (test-only `SCAN`).
async fn keys_with_ttl(url: &str, prefix: &str) -> Vec<(String, i64)> {
    let mut c = admin(url).await;
    let mut cursor = 0u64;
    let mut keys = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut c)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let mut out = Vec::new();
    for k in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&k)
            .query_async(&mut c)
            .await
            .unwrap();
        out.push((k, ttl));
    }
    out.sort();
    out
}

fn ttl_of(keys: &[(String, i64)], key: &str) -> i64 {
    keys.iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no key {key} in {keys:#?}"))
        .1
}

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

/// A cache over `store` with the suite's policy and secret and the given clock.
fn cache_over(store: RedisStore, clock: ManualClock) -> CredentialsCache<TestUser> {
    CredentialsCache::builder(store)
        .secret(SECRET)
        .policy(test_policy())
        .clock(clock)
        .build()
        .unwrap()
}

/// A `MONITOR` feed on a raw connection (no extra client library needed to read the stream).
struct Monitor {
    url: String,
    lines: tokio::io::Lines<BufReader<tokio::net::TcpStream>>,
}

impl Monitor {
    async fn start(url: &str) -> Monitor {
        let info = redis::Client::open(url)
            .unwrap()
            .get_connection_info()
            .clone();
        let redis::ConnectionAddr::Tcp(host, port) = &info.addr else {
            panic!("the round-trip test needs a TCP Redis URL");
        };
        let mut stream = tokio::net::TcpStream::connect((host.as_str(), *port))
            .await
            .unwrap();
        let mut hello = Vec::new();
        if let Some(password) = &info.redis.password {
            let user = info
                .redis
                .username
                .clone()
                .unwrap_or_else(|| "default".into());
            hello.extend(resp(&["AUTH", &user, password]));
        }
        hello.extend(resp(&["MONITOR"]));
        stream.write_all(&hello).await.unwrap();
        let mut lines = BufReader::new(stream).lines();
        loop {
            let l = lines.next_line().await.unwrap().expect("MONITOR reply");
            assert!(l.starts_with('+'), "MONITOR refused: {l}");
            if l == "+OK" {
                break;
            }
        }
        Monitor {
            url: url.to_owned(),
            lines,
        }
    }

    /// Everything the server executed until now: sends a marker from another connection and returns the
    /// lines before it (`MONITOR` reports commands in execution order).
    async fn drain(&mut self) -> Vec<String> {
        let marker = format!("keycard-marker-{}", keycard::SessionId::generate().to_hex());
        let _: String = redis::cmd("ECHO")
            .arg(&marker)
            .query_async(&mut admin(&self.url).await)
            .await
            .unwrap();
        let mut out = Vec::new();
        loop {
            let l = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
                .await
                .expect("MONITOR went quiet before the marker")
                .unwrap()
                .expect("MONITOR connection closed");
            if l.contains(&marker) {
                return out;
            }
            out.push(l);
        }
    }
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n{a}\r\n", a.len()).into_bytes());
    }
    out
}

/// One `fetch` (plain read, renewal, grace read, successor read, unknown token) is one command on the
/// wire: exactly one `EVALSHA` from the store's connection, always the same script. The commands the
/// script runs inside Redis show up in `MONITOR` as `[… lua]`, not as the client's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_is_exactly_one_round_trip() {
    const TEST: &str = "fetch_is_exactly_one_round_trip";
    let Ok(store) = shared_store(TEST).await else {
        return;
    };
    let info: String = redis::cmd("CLIENT")
        .arg("INFO")
        .query_async(&mut store.connection())
        .await
        .unwrap();
    let addr = info
        .split_whitespace()
        .find_map(|f| f.strip_prefix("addr="))
        .expect("CLIENT INFO has addr=")
        .to_owned();
    let mine = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.contains(&format!(" {addr}] ")))
            .cloned()
            .collect()
    };
    let h = Harness::new(Arc::new(store.clone()));
    let mut monitor = Monitor::start(&redis_url()).await;

    let s = h.sign_in(user(1, "ann")).await;
    let created = mine(&monitor.drain().await);
    assert_eq!(created.len(), 1, "sign-in is one command: {created:#?}");

    let old = s.cookie.as_str().to_owned();
    assert!(h.must_fetch(&old, "plain read").await.renewed.is_none());
    h.advance(RENEW);
    let new = h
        .must_fetch(&old, "renewal")
        .await
        .renewed
        .expect("due: renews")
        .into_string();
    assert_eq!(
        h.must_fetch(&old, "grace read").await.token_use,
        TokenUse::Grace
    );
    assert_eq!(
        h.must_fetch(&new, "successor").await.token_use,
        TokenUse::Current
    );
    h.must_not_fetch(&h.unknown_cookie(), "unknown token").await;
    const FETCHES: usize = 5;

    let all = monitor.drain().await;
    let sent = mine(&all);
    // The evidence, for `--nocapture` (arguments past the script's SHA elided).
    eprintln!(
        "store connection {addr}: {} command(s) for {FETCHES} fetches",
        sent.len()
    );
    for l in &sent {
        eprintln!(
            "  {}",
            l.split_whitespace().take(5).collect::<Vec<_>>().join(" ")
        );
    }
    eprintln!(
        "  (+ {} commands run inside the scripts, reported by MONITOR as `lua`)",
        all.iter().filter(|l| l.contains(" lua] ")).count()
    );
    assert_eq!(sent.len(), FETCHES, "one command per fetch: {sent:#?}");
    let sha = |l: &String| l.split_whitespace().nth(4).map(str::to_owned);
    for l in &sent {
        assert!(l.contains("] \"EVALSHA\" "), "not an EVALSHA: {l}");
        assert_eq!(
            sha(l),
            sha(&sent[0]),
            "every fetch runs the one fetch script"
        );
    }
    assert!(
        all.iter().any(|l| l.contains(" lua] \"HSET\" ")),
        "the renewal's writes ran inside the script"
    );
}

/// Nothing listens at the address: `connect` is an error (backend "redis"), quickly; a bad URL too.
#[tokio::test]
async fn unreachable_redis_is_an_error_not_a_hang() {
    let port = free_port();
    let started = Instant::now();
    let e = RedisStore::connect(&format!("redis://127.0.0.1:{port}"), RedisConfig::default())
        .await
        .expect_err("nothing listens there");
    assert_eq!(e.backend, "redis");
    assert!(e.message.contains("cannot reach Redis"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let e = RedisStore::connect("definitely not a url", RedisConfig::default())
        .await
        .expect_err("bad URL");
    assert_eq!(e.backend, "redis");
}

/// Something accepts the connection but never answers (a hung Redis, a black-holing proxy): `connect` fails
/// after the timeouts instead of hanging.
#[tokio::test]
async fn silent_server_is_an_error_not_a_hang() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock); // keep it open, say nothing
        }
    });
    let config = RedisConfig {
        response_timeout: Duration::from_millis(300),
        connect_timeout: Duration::from_millis(300),
        ..RedisConfig::default()
    };
    let started = Instant::now();
    let e = RedisStore::connect(&format!("redis://127.0.0.1:{port}"), config)
        .await
        .expect_err("a server that never answers");
    assert_eq!(e.backend, "redis");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    hold.abort();
}

// ---------------------------------------------------------------------------------------------------------
// A redis-server of the test's own, for outages, hangs and memory limits
// ---------------------------------------------------------------------------------------------------------

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn redis_server_bin() -> String {
    std::env::var("KEYCARD_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned())
}

/// A `redis-server` child process on a free loopback port, without persistence. Killed on drop.
struct OwnRedis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl OwnRedis {
    /// Start one, or apply the skip rule when that is impossible.
    async fn start(test: &str) -> Option<OwnRedis> {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "keycard-{test}-{port}-{}",
            &keycard::SessionId::generate().to_hex()[..8]
        ));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            skip_or_fail(test, format!("cannot create {}: {e}", dir.display()));
            return None;
        }
        let mut r = OwnRedis {
            child: None,
            port,
            dir,
        };
        match r.spawn().await {
            Ok(()) => Some(r),
            Err(e) => {
                skip_or_fail(test, format!("cannot run {}: {e}", redis_server_bin()));
                None
            }
        }
    }

    async fn spawn(&mut self) -> Result<(), String> {
        let child = Command::new(redis_server_bin())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        self.child = Some(child);
        for _ in 0..100 {
            if reachable(&self.url()).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.stop();
        Err("it did not answer PING within 5 s".into())
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kill it (SIGKILL: an abrupt outage) and wait for it to be gone.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start it again on the same port (empty: there is no persistence).
    async fn restart(&mut self) {
        self.spawn().await.expect("restart redis-server");
    }

    /// Send a signal to our own child (`-STOP` hangs it, `-CONT` resumes it).
    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .arg(sig)
            .arg(pid.to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill {sig} {pid}");
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Poll `fetch` until it stops failing; panics after `limit`.
async fn fetch_until_ok(
    h: &Harness,
    cookie: &str,
    limit: Duration,
) -> Option<keycard::Authenticated<TestUser>> {
    let deadline = Instant::now() + limit;
    loop {
        match h.cache.fetch(cookie).await {
            Ok(r) => return r,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no recovery within {limit:?}: {e}"),
        }
    }
}

/// Invariant 6 against a real outage: with Redis killed, every operation is an error (backend "redis"),
/// quickly, never "signed out" and never a user; once Redis is back the same store answers again by
/// itself (reconnecting, and reloading the scripts the new server does not know), with no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fails_closed_and_requests_recover_without_a_restart() {
    const TEST: &str = "redis_outage_fails_closed_and_requests_recover_without_a_restart";
    let Some(mut server) = OwnRedis::start(TEST).await else {
        return;
    };
    let config = RedisConfig {
        response_timeout: Duration::from_secs(1),
        ..RedisConfig::with_prefix(unique_prefix(TEST))
    };
    let store = RedisStore::connect(&server.url(), config).await.unwrap();
    let h = Harness::new(Arc::new(store));
    let s = h.sign_in(user(1, "ann")).await;
    let cookie = s.cookie.as_str().to_owned();
    h.must_fetch(&cookie, "before the outage").await;

    server.stop();
    for round in 0..3 {
        let started = Instant::now();
        match h.cache.fetch(&cookie).await {
            Err(e) => assert_eq!(e.backend, "redis", "{e}"),
            Ok(r) => panic!(
                "round {round}: fetch during an outage must be Err, got Ok({:?})",
                r.map(|a| a.user)
            ),
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
    assert!(h
        .cache
        .create(user(2, "bob"), SessionMetadata::default())
        .await
        .is_err());
    assert!(h.cache.put_user(user(1, "x")).await.is_err());
    assert!(h
        .cache
        .sync(&s.session.session_id, user(1, "x"))
        .await
        .is_err());
    assert!(h.cache.delete(&cookie).await.is_err());
    assert!(h.cache.delete_session(&s.session.session_id).await.is_err());
    assert!(h.cache.delete_user_sessions(&key(1), None).await.is_err());
    assert!(h.cache.sessions(&key(1)).await.is_err());
    assert!(h.cache.users().await.is_err());
    assert!(h.cache.sweep().await.is_err());

    server.restart().await;
    let after = fetch_until_ok(&h, &cookie, Duration::from_secs(20)).await;
    assert!(
        after.is_none(),
        "the new server is empty (no persistence): the session is gone, and that is an answer, not an error"
    );
    let again = h.sign_in(user(1, "ann")).await;
    assert_eq!(
        *h.must_fetch(again.cookie.as_str(), "after recovery")
            .await
            .user,
        user(1, "ann")
    );
}

/// A Redis that hangs (SIGSTOP) makes calls fail after the response timeout instead of hanging; when it
/// resumes, the same cookie works again: the data survived, the connection recovered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_redis_is_an_error_and_the_same_cookie_works_after() {
    const TEST: &str = "hung_redis_is_an_error_and_the_same_cookie_works_after";
    let Some(server) = OwnRedis::start(TEST).await else {
        return;
    };
    let config = RedisConfig {
        response_timeout: Duration::from_millis(500),
        ..RedisConfig::with_prefix(unique_prefix(TEST))
    };
    let store = RedisStore::connect(&server.url(), config).await.unwrap();
    let h = Harness::new(Arc::new(store));
    let s = h.sign_in(user(1, "ann")).await;
    let cookie = s.cookie.as_str().to_owned();
    h.must_fetch(&cookie, "before").await;

    server.signal("-STOP");
    let started = Instant::now();
    let r = h.cache.fetch(&cookie).await;
    let took = started.elapsed();
    server.signal("-CONT"); // before asserting, so a failure does not leave it stopped longer than needed
    match r {
        Err(e) => assert_eq!(e.backend, "redis", "{e}"),
        Ok(r) => panic!(
            "fetch from a hung Redis must be Err, got Ok({:?})",
            r.map(|a| a.user)
        ),
    }
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "bounded by the 500 ms response timeout: {took:?}"
    );

    let a = fetch_until_ok(&h, &cookie, Duration::from_secs(10))
        .await
        .expect("the same cookie works once Redis answers");
    assert_eq!(a.session.session_id, s.session.session_id);
    assert_eq!(*a.user, user(1, "ann"));
}

/// `maxmemory` reached under `noeviction`: writes that would grow memory (sign-in, renewal, sync,
/// put_user) are errors and write nothing at all; reads and sign-outs keep working; when memory is
/// available again the same session renews normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_memory_refuses_writes_whole_and_keeps_reads_working() {
    const TEST: &str = "out_of_memory_refuses_writes_whole_and_keeps_reads_working";
    let Some(server) = OwnRedis::start(TEST).await else {
        return;
    };
    let store = RedisStore::connect(&server.url(), RedisConfig::with_prefix(unique_prefix(TEST)))
        .await
        .unwrap();
    let h = Harness::new(Arc::new(store));
    let s = h.sign_in(user(1, "ann")).await;
    let other = h.sign_in(user(2, "bob")).await;
    let cookie = s.cookie.as_str().to_owned();
    let mut c = admin(&server.url()).await;
    let set_maxmemory = |v: &'static str| {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory")
            .arg(v)
            .clone()
    };
    let _: () = set_maxmemory("1").query_async(&mut c).await.unwrap();

    let a = h.must_fetch(&cookie, "plain read while full").await;
    assert!(a.renewed.is_none());
    let e = h
        .cache
        .create(user(3, "cid"), SessionMetadata::default())
        .await
        .expect_err("sign-in while full");
    assert!(e.message.contains("OOM"), "{e}");
    assert!(h.cache.put_user(user(1, "ann-2")).await.is_err());
    assert!(h
        .cache
        .sync(&s.session.session_id, user(1, "ann-3"))
        .await
        .is_err());
    h.advance(RENEW);
    assert!(
        h.cache.fetch(&cookie).await.is_err(),
        "a due renewal needs a write"
    );
    // Nothing was half-written: the session is exactly as signed in, the user unchanged.
    assert_eq!(h.sessions(1).await, vec![(*s.session).clone()]);
    assert!(h.cache.sessions(&key(3)).await.unwrap().is_empty());
    // Sign-out frees memory and works.
    assert_eq!(
        h.cache.delete(other.cookie.as_str()).await.unwrap(),
        Some(other.session.session_id)
    );

    let _: () = set_maxmemory("0").query_async(&mut c).await.unwrap();
    let a = h.must_fetch(&cookie, "after memory is back").await;
    assert!(
        a.renewed.is_some(),
        "the renewal that was refused happens now"
    );
    assert_eq!(*a.user, user(1, "ann"));
}

/// The start-up check returns the policy and warns (tracing) for every policy that can evict session
/// keys, `volatile-*` included; `noeviction` passes silently.
#[tokio::test]
async fn eviction_policy_is_reported_and_anything_but_noeviction_warns() {
    const TEST: &str = "eviction_policy_is_reported_and_anything_but_noeviction_warns";
    let Some(server) = OwnRedis::start(TEST).await else {
        return;
    };
    let capture = capture::Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let store = RedisStore::connect(&server.url(), RedisConfig::with_prefix(unique_prefix(TEST)))
        .await
        .unwrap();
    assert_eq!(store.check_eviction_policy().await.unwrap(), "noeviction");
    assert!(capture.warnings().is_empty(), "{:?}", capture.warnings());
    let mut c = admin(&server.url()).await;
    for policy in [
        "allkeys-lru",
        "volatile-ttl",
        "volatile-lru",
        "allkeys-random",
    ] {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory-policy")
            .arg(policy)
            .query_async(&mut c)
            .await
            .unwrap();
        capture.clear();
        assert_eq!(store.check_eviction_policy().await.unwrap(), policy);
        let w = capture.warnings();
        assert_eq!(w.len(), 1, "{policy}: {w:?}");
        assert!(
            w[0].contains(policy) && w[0].contains("noeviction"),
            "{w:?}"
        );
        // Connecting checks too.
        capture.clear();
        RedisStore::connect(&server.url(), RedisConfig::default())
            .await
            .unwrap();
        assert_eq!(capture.warnings().len(), 1, "{policy}: connect warns");
    }
}

/// A record that fails to decode is absent (never a panic, never a sign-in, never an error) and is
/// logged without secrets: neither the cookie nor the full token hash appears in the log.
#[tokio::test]
async fn undecodable_records_are_absent_and_logged_without_secrets() {
    const TEST: &str = "undecodable_records_are_absent_and_logged_without_secrets";
    let Ok(store) = shared_store(TEST).await else {
        return;
    };
    let url = redis_url();
    let p = store.key_prefix().to_owned();
    let capture = capture::Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let h = Harness::new(Arc::new(store));
    let mut c = admin(&url).await;

    // (what, the commands that corrupt it, given the token, session and user keys)
    type Corrupt = fn(&str, &str, &str) -> Vec<Vec<Vec<u8>>>;
    let cases: Vec<(&str, Corrupt)> = vec![
        ("user blob with an unknown format byte", |_t, _s, u| {
            vec![vec![
                b"HSET".to_vec(),
                u.into(),
                b"d".to_vec(),
                vec![9, 1, 2, 3],
            ]]
        }),
        ("user blob that is not the user type", |_t, _s, u| {
            vec![vec![
                b"HSET".to_vec(),
                u.into(),
                b"d".to_vec(),
                vec![1, 0xa3, b'a', b'b', b'c'],
            ]]
        }),
        ("user key of the wrong type", |_t, _s, u| {
            vec![
                vec![b"DEL".to_vec(), u.into()],
                vec![b"SET".to_vec(), u.into(), b"x".to_vec()],
            ]
        }),
        ("session of an unknown format version", |_t, s, _u| {
            vec![vec![
                b"HSET".to_vec(),
                s.into(),
                b"v".to_vec(),
                b"9".to_vec(),
            ]]
        }),
        ("session with a malformed deadline", |_t, s, _u| {
            vec![vec![
                b"HSET".to_vec(),
                s.into(),
                b"id".to_vec(),
                b"soon".to_vec(),
            ]]
        }),
        ("session with undecodable metadata", |_t, s, _u| {
            vec![vec![
                b"HSET".to_vec(),
                s.into(),
                b"m".to_vec(),
                vec![1, 0xc1],
            ]]
        }),
        ("session key of the wrong type", |_t, s, _u| {
            vec![
                vec![b"DEL".to_vec(), s.into()],
                vec![b"SET".to_vec(), s.into(), b"x".to_vec()],
            ]
        }),
        ("token key of the wrong type", |t, _s, _u| {
            vec![
                vec![b"DEL".to_vec(), t.into()],
                vec![b"RPUSH".to_vec(), t.into(), b"x".to_vec()],
            ]
        }),
    ];
    for (i, (what, corrupt)) in cases.into_iter().enumerate() {
        let uid = 100 + i as u32;
        let s = h.sign_in(user(uid, "victim")).await;
        let cookie = s.cookie.as_str().to_owned();
        let hash = h.hash_of(&cookie).to_hex();
        h.must_fetch(&cookie, what).await;
        let tkey = format!("{p}t:{hash}");
        let skey = format!("{p}s:{}", s.session.session_id.to_hex());
        let ukey = format!("{p}u:{}", key(uid));
        for args in corrupt(&tkey, &skey, &ukey) {
            let mut cmd = redis::cmd(std::str::from_utf8(&args[0]).unwrap());
            for a in &args[1..] {
                cmd.arg(a.as_slice());
            }
            let _: redis::Value = cmd.query_async(&mut c).await.unwrap();
        }
        capture.clear();
        h.must_not_fetch(&cookie, what).await;
        // The other operations answer (Ok), and list nothing undecodable.
        let listed = h.cache.sessions(&key(uid)).await.unwrap();
        assert!(
            listed.iter().all(|r| r.session_id == s.session.session_id),
            "{what}"
        );
        let users = h.cache.users().await.unwrap();
        assert!(
            users.iter().all(|u| u.id != uid || u.name == "victim"),
            "{what}"
        );
        h.cache.put_user(user(uid, "x")).await.unwrap();
        let warnings = capture.warnings();
        assert!(!warnings.is_empty(), "{what}: no warning logged");
        for w in &warnings {
            assert!(!w.contains(&cookie), "{what}: the cookie was logged: {w}");
            assert!(
                !w.contains(&hash),
                "{what}: a full token hash was logged: {w}"
            );
        }
        h.cache.delete_session(&s.session.session_id).await.unwrap();
    }
    // Healthy sessions are unaffected.
    let fine = h.sign_in(user(1, "fine")).await;
    h.must_fetch(fine.cookie.as_str(), "a healthy session")
        .await;
}

/// Every key carries an expiry set by the script that wrote it: sessions and current tokens for the
/// session's remaining lifetime, a replaced token for its grace window, and the user record, index and
/// users set for at least the longest-lived session. No key is immortal.
#[tokio::test]
async fn every_key_expires_with_what_it_belongs_to() {
    const TEST: &str = "every_key_expires_with_what_it_belongs_to";
    let Ok(store) = shared_store(TEST).await else {
        return;
    };
    let p = store.key_prefix().to_owned();
    let h = Harness::new(Arc::new(store));
    let a = h.sign_in(user(1, "ann")).await;
    let b = h.sign_in(user(1, "ann")).await;
    h.advance(RENEW);
    let new = h
        .must_fetch(a.cookie.as_str(), "renew a")
        .await
        .renewed
        .unwrap()
        .into_string();
    let keys = keys_with_ttl(&redis_url(), &p).await;
    assert_eq!(
        keys.len(),
        8,
        "2 sessions, 3 tokens, user, index, users set: {keys:#?}"
    );
    for (k, ttl) in &keys {
        assert!(*ttl > 0, "{k} has no expiry ({ttl})");
    }
    let slack = 5_000;
    let sa = ttl_of(&keys, &format!("{p}s:{}", a.session.session_id.to_hex()));
    let sb = ttl_of(&keys, &format!("{p}s:{}", b.session.session_id.to_hex()));
    assert!(
        sa > ms(IDLE) - slack && sa <= ms(IDLE),
        "renewed session: {sa}"
    );
    assert!(sb > 0 && sb <= ms(IDLE), "{sb}");
    let token = |cookie: &str| ttl_of(&keys, &format!("{p}t:{}", h.hash_of(cookie).to_hex()));
    assert!(
        (token(&new) - sa).abs() < slack,
        "current token lives with its session"
    );
    assert!((token(b.cookie.as_str()) - sb).abs() < slack);
    let grace = token(a.cookie.as_str());
    assert!(grace > 0 && grace <= ms(GRACE), "replaced token: {grace}");
    let longest = sa.max(sb);
    for k in [
        format!("{p}u:{}", key(1)),
        format!("{p}i:{}", key(1)),
        format!("{p}users"),
    ] {
        let t = ttl_of(&keys, &k);
        assert!(t >= longest - 50 && t <= ms(IDLE), "{k}: {t} vs {longest}");
    }
}

/// Liveness follows the cache's clock only, and key expiries are the remaining lifetimes on that clock:
/// a clock in 2001 or in 2100 still gets working sessions whose keys live no longer than the policy says.
#[tokio::test]
async fn a_clock_far_from_the_wall_clock_still_works_and_keys_expire_on_time() {
    const TEST: &str = "a_clock_far_from_the_wall_clock_still_works_and_keys_expire_on_time";
    for start in [Timestamp(1_000_000_000_000), Timestamp(4_102_444_800_000)] {
        let Ok(store) = shared_store(TEST).await else {
            return;
        };
        let p = store.key_prefix().to_owned();
        let clock = ManualClock::new(start);
        let cache = cache_over(store, clock.clone());
        let s = cache
            .create(user(1, "ann"), SessionMetadata::default())
            .await
            .unwrap();
        let a = cache
            .fetch(s.cookie.as_str())
            .await
            .unwrap()
            .expect("live at {start:?}");
        assert!(a.renewed.is_none());
        clock.advance(RENEW);
        let renewed = cache
            .fetch(s.cookie.as_str())
            .await
            .unwrap()
            .unwrap()
            .renewed
            .unwrap();
        assert!(cache.fetch(renewed.as_str()).await.unwrap().is_some());
        assert_eq!(
            cache.put_user(user(1, "ann-2")).await.unwrap(),
            PutOutcome::Updated
        );
        for (k, ttl) in keys_with_ttl(&redis_url(), &p).await {
            assert!(
                ttl > 0 && ttl <= ms(IDLE),
                "{start:?}: {k} expires in {ttl} ms"
            );
        }
        clock.advance(IDLE);
        assert!(cache.fetch(renewed.as_str()).await.unwrap().is_none());
        assert_eq!(
            cache.put_user(user(1, "ann-3")).await.unwrap(),
            PutOutcome::NotCached
        );
    }
}

/// Two app nodes (two stores, two caches, one Redis, one prefix): a session made on one works on the
/// other, a renewal race split across both has exactly one winner and signs nobody out, and updates and
/// revocations through either node are seen by both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_sessions_and_a_split_renewal_race_has_one_winner() {
    const TEST: &str = "two_nodes_share_sessions_and_a_split_renewal_race_has_one_winner";
    let Ok(first) = shared_store(TEST).await else {
        return;
    };
    let second = RedisStore::connect(&redis_url(), RedisConfig::with_prefix(first.key_prefix()))
        .await
        .unwrap();
    let clock = ManualClock::starting_now();
    let nodes = [
        cache_over(first, clock.clone()),
        cache_over(second, clock.clone()),
    ];
    for round in 0..10u32 {
        let s = nodes[0]
            .create(user(round, "racer"), SessionMetadata::default())
            .await
            .unwrap();
        assert!(
            nodes[1].fetch(s.cookie.as_str()).await.unwrap().is_some(),
            "made on A, works on B"
        );
        clock.advance(RENEW);
        let barrier = Arc::new(tokio::sync::Barrier::new(20));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (node, b, c) = (
                nodes[i % 2].clone(),
                barrier.clone(),
                s.cookie.as_str().to_owned(),
            );
            tasks.push(tokio::spawn(async move {
                b.wait().await;
                node.fetch(&c).await
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            let a = t
                .await
                .unwrap()
                .unwrap()
                .expect("nobody is signed out by the race");
            if let Some(c) = a.renewed {
                winners.push(c);
            } else {
                assert_eq!(a.token_use, TokenUse::Grace);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        for node in &nodes {
            let a = node.fetch(winners[0].as_str()).await.unwrap().unwrap();
            assert_eq!(a.token_use, TokenUse::Current);
        }
        assert_eq!(
            nodes[1].put_user(user(round, "updated")).await.unwrap(),
            PutOutcome::Updated
        );
        let a = nodes[0].fetch(winners[0].as_str()).await.unwrap().unwrap();
        assert_eq!(a.user.name, "updated");
        assert!(nodes[1]
            .delete_session(&s.session.session_id)
            .await
            .unwrap());
        assert!(nodes[0].fetch(winners[0].as_str()).await.unwrap().is_none());
    }
}

/// Two apps on one Redis with different prefixes (and, here, the same secret) never see each other's
/// sessions, users or indexes.
#[tokio::test]
async fn key_prefixes_keep_apps_apart() {
    const TEST: &str = "key_prefixes_keep_apps_apart";
    let (Ok(one), Ok(two)) = (shared_store(TEST).await, shared_store(TEST).await) else {
        return;
    };
    assert_ne!(one.key_prefix(), two.key_prefix());
    let clock = ManualClock::starting_now();
    let (one, two) = (cache_over(one, clock.clone()), cache_over(two, clock));
    let s = one
        .create(user(1, "ann"), SessionMetadata::default())
        .await
        .unwrap();
    assert!(two.fetch(s.cookie.as_str()).await.unwrap().is_none());
    assert!(two.sessions(&key(1)).await.unwrap().is_empty());
    assert!(two.users().await.unwrap().is_empty());
    assert_eq!(
        two.put_user(user(1, "x")).await.unwrap(),
        PutOutcome::NotCached
    );
    assert_eq!(two.delete_user_sessions(&key(1), None).await.unwrap(), 0);
    assert_eq!(
        one.fetch(s.cookie.as_str())
            .await
            .unwrap()
            .unwrap()
            .user
            .name,
        "ann"
    );
}

/// A minimal `tracing` subscriber that records events, to check what the store logs.
mod capture {
    use std::fmt::Write as _;
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::{span, Event, Level, Metadata, Subscriber};

    #[derive(Clone, Default)]
    pub struct Capture(Arc<Mutex<Vec<(Level, String)>>>);

    impl Capture {
        /// The WARN (and worse) events so far, as `field=value` text.
        pub fn warnings(&self) -> Vec<String> {
            self.0
                .lock()
                .unwrap()
                .iter()
                .filter(|(l, _)| *l <= Level::WARN)
                .map(|(_, s)| s.clone())
                .collect()
        }

        pub fn clear(&self) {
            self.0.lock().unwrap().clear();
        }
    }

    struct Text<'a>(&'a mut String);

    impl Visit for Text<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, "{}={:?} ", field.name(), value);
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
            span::Id::from_u64(1)
        }
        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut text = String::new();
            event.record(&mut Text(&mut text));
            self.0
                .lock()
                .unwrap()
                .push((*event.metadata().level(), text));
        }
        fn enter(&self, _: &span::Id) {}
        fn exit(&self, _: &span::Id) {}
    }
}
