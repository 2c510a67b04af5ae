//! A Redis outage under a running node: the built `keycard-demo` binary with `CACHE_URL` pointing at a
//! `redis-server` of this test's own (a free loopback port, no persistence; users in a temp SQLite file).
//!
//! - **Hang** (`SIGSTOP`: the TCP connection stays open, nothing answers): the node's near cache (on by
//!   default with one Redis) may answer a hot session from memory until its lease runs out (its `PING`s
//!   on the subscription stop coming back: at most 2 s; a hung Redis commits no revocation meanwhile),
//!   then `/profile`, `/me` and `/pro` answer 503 within the store's response timeout, never 200 again,
//!   never the sign-in redirect or 401; a sign-in is 503 too, never a session. After `SIGCONT` the **same
//!   cookie** works again, same process.
//! - **Crash** (`SIGKILL`, then a new server on the same port): 503 while it is down; once it is back the
//!   node recovers by itself (reconnects, reloads its scripts). The sessions died with the server's memory,
//!   so the old cookie is now simply unknown (anonymous), and signing in again works.
//!
//! Needs `redis-server` (on `PATH` or `KEYCARD_TEST_REDIS_SERVER`); without it the test prints
//! `SKIPPED: …` and passes, unless `KEYCARD_REQUIRE_SERVICES=1`. Bounded by `SCENARIO_LIMIT`.

// The nodes need the Redis store, which only exists with the (default) `redis` feature.
#![cfg(feature = "redis")]

mod common;

use std::time::{Duration, Instant};

use common::procs::{Node, OwnRedis};
use common::{get_with_cookie, random_hex, Browser, Page, TempDir, PASSWORD, SESSION_COOKIE};
use reqwest::StatusCode;

const SCENARIO_LIMIT: Duration = Duration::from_secs(120);
/// The Redis store's default response timeout is 2 s; a 503 must come well before a browser gives up.
const ANSWER_WITHIN: Duration = Duration::from_secs(8);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_is_503_never_signed_in_or_out_and_the_node_recovers_by_itself() {
    const TEST: &str =
        "a_redis_outage_is_503_never_signed_in_or_out_and_the_node_recovers_by_itself";
    // `volatile-lru` only so the start-up warning can be checked: without `maxmemory` nothing is evicted.
    let Some(mut redis) =
        OwnRedis::start_or_skip(TEST, &["--maxmemory-policy", "volatile-lru"]).await
    else {
        return;
    };
    let dir = TempDir::new("outage");
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("users.db").display()
    );
    let secret = random_hex(48);
    let env = vec![
        ("DATABASE_URL", db),
        ("CACHE_URL", redis.url()),
        ("CACHE_KEY_PREFIX", "outage-test:".to_owned()),
        ("SECRET_KEY", secret.clone()),
    ];

    let outcome = tokio::time::timeout(SCENARIO_LIMIT, async {
        let mut node = Node::start("node", dir.path(), &env).await;
        assert!(
            node.log().contains("maxmemory-policy is not noeviction"),
            "the start-up warns about an evicting policy:\n{}",
            node.log()
        );
        let seen = scenario(&mut redis, &mut node).await;
        assert!(node.is_running(), "the same process throughout");
        // Only the registration and the last sign-in happened: the one refused during the hang is not
        // audited as a sign-in.
        assert_eq!(
            node.log().matches("event=\"sign_in.succeeded\"").count(),
            2,
            "{}",
            node.log()
        );
        let mut secrets: Vec<&str> = seen.iter().map(String::as_str).collect();
        secrets.push(PASSWORD);
        secrets.push(&secret);
        node.assert_log_never_contains(&secrets);
    })
    .await;
    outcome.unwrap_or_else(|_| panic!("{TEST} did not finish within {SCENARIO_LIMIT:?}"));
}

fn cookie_header(value: &str) -> String {
    format!("{SESSION_COOKIE}={value}")
}

/// GET `path` on `node` with `cookie`, timed.
async fn timed_get(raw: &reqwest::Client, node: &Node, path: &str, cookie: &str) -> Page {
    let started = Instant::now();
    let page = get_with_cookie(raw, &node.url(path), &cookie_header(cookie)).await;
    assert!(
        started.elapsed() < ANSWER_WITHIN,
        "{path} took {:?}",
        started.elapsed()
    );
    page
}

/// `/profile`, `/me` and `/pro` in parallel with `cookie`: each must be a 503 with `Retry-After`.
async fn assert_all_503(raw: &reqwest::Client, node: &Node, cookie: &str, phase: &str) {
    let (profile, me, pro) = tokio::join!(
        timed_get(raw, node, "/profile", cookie),
        timed_get(raw, node, "/me", cookie),
        timed_get(raw, node, "/pro", cookie),
    );
    for (path, page) in [("/profile", profile), ("/me", me), ("/pro", pro)] {
        assert_eq!(
            page.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{phase}: {path} answered {} (location {:?}): {}",
            page.status,
            page.location(),
            page.body
        );
        assert!(page.headers.contains_key("retry-after"), "{phase}: {path}");
        assert!(
            page.set_cookie_value(SESSION_COOKIE).is_none(),
            "{phase}: {path} touched the session cookie: {:?}",
            page.set_cookies()
        );
    }
}

/// After a hang: poll `/me` until it is 503; every answer before it must be the signed-in user (from the
/// near cache, until its lease runs out), never "signed out". Bounded, not timed: the time is printed.
async fn me_until_503_answered_from_memory_before(
    raw: &reqwest::Client,
    node: &Node,
    cookie: &str,
    what: &str,
) {
    let started = Instant::now();
    let mut from_memory = 0;
    loop {
        let page = timed_get(raw, node, "/me", cookie).await;
        if page.status == StatusCode::SERVICE_UNAVAILABLE {
            println!(
                "outage: {what}: first 503 after {:?}, {from_memory} answers from the near cache before it",
                started.elapsed()
            );
            return;
        }
        assert_eq!(page.status, StatusCode::OK, "{what}: {}", page.body);
        from_memory += 1;
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what}: still answering from memory after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Poll `/me` with `cookie` until it is no longer 503; every answer meanwhile must be 503. Returns the
/// first other answer.
async fn me_until_not_503(raw: &reqwest::Client, node: &Node, cookie: &str) -> Page {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = timed_get(raw, node, "/me", cookie).await;
        if page.status != StatusCode::SERVICE_UNAVAILABLE {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "still 503 30 s after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn scenario(redis: &mut OwnRedis, node: &mut Node) -> Vec<String> {
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let alice = Browser::at(&node.base, "alice");
    alice.registered("alice@example.com").await;
    let res = alice.post("/plan", &[("plan", "pro")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let cookie = alice.session_cookie().expect("signed in");
    for path in ["/profile", "/me", "/pro"] {
        let page = timed_get(&raw, node, path, &cookie).await;
        assert_eq!(page.status, StatusCode::OK, "{path} before the outage");
    }
    // A browser that has its CSRF cookie and token before the outage (the sign-in page needs no store).
    let bob = Browser::at(&node.base, "bob");
    let bob_token = bob.csrf().await;

    // ----- hang: SIGSTOP -----
    redis.pause();
    me_until_503_answered_from_memory_before(&raw, node, &cookie, "hung Redis").await;
    assert_all_503(&raw, node, &cookie, "redis hung").await;
    // Signing in while the store hangs is a 503 too, and no session cookie.
    let res = bob
        .post_raw(
            "/session",
            &[
                ("_csrf_token", bob_token.as_str()),
                ("email", "alice@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    assert!(res.set_cookie_value(SESSION_COOKIE).is_none());
    redis.resume();
    // The same cookie, the same process: signed in again as soon as Redis answers.
    let page = me_until_not_503(&raw, node, &cookie).await;
    assert_eq!(page.status, StatusCode::OK, "after SIGCONT: {}", page.body);
    assert_eq!(page.json()["email"], "alice@example.com");
    for path in ["/profile", "/pro"] {
        let page = timed_get(&raw, node, path, &cookie).await;
        assert_eq!(page.status, StatusCode::OK, "{path} after SIGCONT");
    }

    // ----- crash: SIGKILL, then a new, empty server on the same port -----
    redis.kill();
    // The subscription learns of the crash from its closed connection: until it has (a moment),
    // the near cache may still answer, as it would have a moment before the crash.
    me_until_503_answered_from_memory_before(&raw, node, &cookie, "killed Redis").await;
    assert_all_503(&raw, node, &cookie, "redis down").await;
    redis.restart().await;
    // Recovered by itself: no more 503. The sessions were in the killed server's memory, so the cookie is
    // unknown now: anonymous (401 / sign-in redirect), which is the truth, not a failure reported as one.
    let page = me_until_not_503(&raw, node, &cookie).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    let page = timed_get(&raw, node, "/profile", &cookie).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/session/new"));
    // Signing in again works (new scripts loaded into the new server, new session).
    let again = Browser::at(&node.base, "alice-again");
    again.signed_in("alice@example.com").await;
    assert_eq!(again.plan().await.as_deref(), Some("pro"));
    assert_eq!(again.get("/pro").await.status, StatusCode::OK);
    let mut seen = vec![cookie];
    seen.extend(again.session_cookie());
    seen
}
