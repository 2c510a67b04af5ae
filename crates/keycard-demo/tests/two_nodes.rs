//! Two app nodes sharing their sessions: the built `keycard-demo` binary started twice on loopback ports
//! the OS picks, with the same `SECRET_KEY` and `DATABASE_URL` (a scratch PostgreSQL database created and
//! dropped by the test), and the credentials cache either in Redis (`CACHE_URL=redis://…` under a key
//! prefix unique to this run) or in that same PostgreSQL (`CACHE_URL=postgres://…`, no Redis at all). A
//! browser's requests land on either node, as behind a load balancer; every test runs one scenario.
//!
//! On PostgreSQL and on one Redis the nodes run their near cache (`CACHE_NEAR=on`, the default) in one
//! test and none (`CACHE_NEAR=off`) in another; on the Redis Cluster they run it (the default: one
//! `SSUBSCRIBE` connection per master). Without a near cache a write on one node is seen by the other on its very next request, and
//! the scenario asserts exactly that. With one, the other node sees it once the write's `NOTIFY` or
//! `PUBLISH` has reached it (well under a millisecond on loopback, a scheduling delay more on a busy
//! machine): the scenario's first read after a write on the other node polls until the write is seen
//! (bounded by `SETTLE_WITHIN`), and every later read must see it. That a node never answers from a
//! stale entry once the invalidation arrived is pinned by `keycard-sqlx`'s `tests/postgres_near.rs`,
//! `keycard-redis`'s `tests/redis_near` and, across real nodes, this crate's `tests/near_redis.rs`.
//!
//! Services: `KEYCARD_TEST_POSTGRES_URL` and `KEYCARD_TEST_REDIS_URL` (defaults in `common::services`).
//! When one cannot be reached the test prints `SKIPPED: …` and passes, unless `KEYCARD_REQUIRE_SERVICES=1`.
//! The whole scenario is bounded (`SCENARIO_LIMIT`); the nodes are killed when the test ends, however it
//! ends.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::procs::{demo_command, Node};
use common::services::{self, ScratchDb};
use common::{get_with_cookie, random_hex, Browser, TempDir, PASSWORD, SESSION_COOKIE};
use reqwest::StatusCode;

/// The longest the scenario may take (it needs about 15 s; the rest is slack for a busy machine).
const SCENARIO_LIMIT: Duration = Duration::from_secs(180);
/// How long a near-cached node may take to see another node's write (its notification's delivery).
const SETTLE_WITHIN: Duration = Duration::from_secs(10);
/// Short renewal and grace, so the renewal race runs in seconds. Grace < renewal < idle < absolute.
const RENEWAL_SECS: u64 = 3;
const GRACE_SECS: u64 = 2;

/// The settings both nodes (and the CLI) share.
struct Cluster {
    env: Vec<(&'static str, String)>,
    dir: TempDir,
    /// The cache's name as the demo logs it (`redis`, `postgres`).
    cache: &'static str,
    /// Whether the nodes run a near cache: another node's write is then seen once notified.
    near: bool,
}

impl Cluster {
    fn setting(&self, name: &str) -> &str {
        self.env
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no setting {name}"))
    }

    /// The first read on a node after a write on another: `seen` must hold at once without a near
    /// cache; with one, as soon as the write's notification has arrived (polled, bounded).
    async fn settle<F: std::future::Future<Output = bool>>(
        &self,
        what: &str,
        mut seen: impl FnMut() -> F,
    ) {
        let deadline = Instant::now() + SETTLE_WITHIN;
        while !seen().await {
            assert!(self.near, "{what}");
            assert!(
                Instant::now() < deadline,
                "{what}: not within {SETTLE_WITHIN:?}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut env = self.env.clone();
        env.push(("RUST_LOG", common::procs::NODE_LOG_FILTER.to_owned()));
        demo_command(self.dir.path(), &env)
            .args(args)
            .output()
            .expect("run keycard-demo users …")
    }
}

/// The settings of a two-node test, over `database_url`, with the cache at `cache_url`.
fn cluster(
    database_url: &str,
    cache: &'static str,
    cache_env: Vec<(&'static str, String)>,
) -> (Cluster, String) {
    let near = matches!(cache, "postgres" | "redis")
        && !cache_env.contains(&("CACHE_NEAR", "off".to_owned()));
    let secret = random_hex(48);
    let mut env = vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("SECRET_KEY", secret.clone()),
        ("SESSION_IDLE_SECS", "300".to_owned()),
        ("SESSION_RENEWAL_SECS", RENEWAL_SECS.to_string()),
        ("SESSION_GRACE_SECS", GRACE_SECS.to_string()),
        ("SESSION_ABSOLUTE_SECS", "600".to_owned()),
    ];
    env.extend(cache_env);
    let cluster = Cluster {
        env,
        dir: TempDir::new("two-nodes"),
        cache,
        near,
    };
    (cluster, secret)
}

/// Start both nodes on `cluster`, run the scenario, check the logs.
async fn run(test: &str, cluster: &Cluster, secret: &str) {
    let outcome = tokio::time::timeout(SCENARIO_LIMIT, async {
        // Both start at once: both run the migrations (PostgreSQL's advisory lock serializes them).
        let (a, b) = tokio::join!(
            Node::start("A", cluster.dir.path(), &cluster.env),
            Node::start("B", cluster.dir.path(), &cluster.env)
        );
        assert_ne!(a.addr, b.addr);
        let seen = scenario(cluster, &a, &b).await;
        // Never a password, a cookie value or the secret in a log, even at debug level.
        let mut secrets: Vec<&str> = seen.iter().map(String::as_str).collect();
        secrets.push(PASSWORD);
        secrets.push(secret);
        let connected = format!("credentials cache: {} connected", cluster.cache);
        for node in [&a, &b] {
            assert!(node.log().contains(&connected), "{}", node.log());
            node.assert_log_never_contains(&secrets);
        }
    })
    .await;
    outcome.unwrap_or_else(|_| panic!("{test} did not finish within {SCENARIO_LIMIT:?}"));
}

/// Sessions in PostgreSQL alone: the same scenario with no Redis anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgres_alone_share_sessions_users_revocations_and_renewals() {
    const TEST: &str = "two_nodes_on_postgres_alone_share_sessions_users_revocations_and_renewals";
    let Some(pg) = services::postgres_or_skip(TEST).await else {
        return;
    };
    let scratch = ScratchDb::create(&pg, "two_nodes_pg").await;
    let (cluster, secret) = cluster(
        &scratch.url,
        "postgres",
        vec![("CACHE_URL", scratch.url.clone())],
    );
    assert!(
        cluster.near,
        "the near cache is on by default with PostgreSQL"
    );
    run(TEST, &cluster, &secret).await;
}

/// The same with the near cache off: every write is seen by the other node on its very next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgres_without_a_near_cache_see_each_write_on_the_next_request() {
    const TEST: &str =
        "two_nodes_on_postgres_without_a_near_cache_see_each_write_on_the_next_request";
    let Some(pg) = services::postgres_or_skip(TEST).await else {
        return;
    };
    let scratch = ScratchDb::create(&pg, "two_nodes_pg_far").await;
    let (cluster, secret) = cluster(
        &scratch.url,
        "postgres",
        vec![
            ("CACHE_URL", scratch.url.clone()),
            ("CACHE_NEAR", "off".to_owned()),
        ],
    );
    run(TEST, &cluster, &secret).await;
}

// The Redis nodes need the Redis store, which only exists with the (default) `redis` feature.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_sessions_users_revocations_and_renewals() {
    const TEST: &str = "two_nodes_share_sessions_users_revocations_and_renewals";
    // Both checked, so a skip names every missing service.
    let pg = services::postgres_or_skip(TEST).await;
    let redis = services::redis_or_skip(TEST).await;
    let (Some(pg), Some(redis_url)) = (pg, redis) else {
        return;
    };
    let scratch = ScratchDb::create(&pg, "two_nodes").await;
    let prefix = services::unique_prefix("two-nodes");
    // Declared before the nodes: dropped (keys deleted, database dropped) after they are killed.
    let _keys = services::RedisKeys {
        url: redis_url.clone(),
        prefix: prefix.clone(),
    };
    let (cluster, secret) = cluster(
        &scratch.url,
        "redis",
        vec![
            ("CACHE_URL", redis_url.clone()),
            ("CACHE_KEY_PREFIX", prefix.clone()),
        ],
    );
    assert!(cluster.near, "the near cache is on by default with Redis");
    run(TEST, &cluster, &secret).await;
}

/// The same on Redis with the near cache off: every write is seen by the other node on its very next
/// request.
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_redis_without_a_near_cache_see_each_write_on_the_next_request() {
    const TEST: &str = "two_nodes_on_redis_without_a_near_cache_see_each_write_on_the_next_request";
    let pg = services::postgres_or_skip(TEST).await;
    let redis = services::redis_or_skip(TEST).await;
    let (Some(pg), Some(redis_url)) = (pg, redis) else {
        return;
    };
    let scratch = ScratchDb::create(&pg, "two_nodes_far").await;
    let prefix = services::unique_prefix("two-nodes-far");
    let _keys = services::RedisKeys {
        url: redis_url.clone(),
        prefix: prefix.clone(),
    };
    let (cluster, secret) = cluster(
        &scratch.url,
        "redis",
        vec![
            ("CACHE_URL", redis_url.clone()),
            ("CACHE_KEY_PREFIX", prefix.clone()),
            ("CACHE_NEAR", "off".to_owned()),
        ],
    );
    assert!(!cluster.near);
    run(TEST, &cluster, &secret).await;
}

/// The same scenario with the sessions on a Redis Cluster (`CACHE_URL=redis+cluster://…`,
/// `scripts/redis-cluster.sh start`), each node with its near cache (sharded pub/sub).
#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_sessions_on_a_redis_cluster() {
    const TEST: &str = "two_nodes_share_sessions_on_a_redis_cluster";
    let pg = services::postgres_or_skip(TEST).await;
    let redis = services::redis_cluster_or_skip(TEST).await;
    let (Some(pg), Some(cluster_url)) = (pg, redis) else {
        return;
    };
    let scratch = ScratchDb::create(&pg, "two_nodes_cluster").await;
    let prefix = services::unique_prefix("two-nodes-cluster");
    let (cluster, secret) = cluster(
        &scratch.url,
        "redis",
        vec![
            ("CACHE_URL", cluster_url.clone()),
            ("CACHE_KEY_PREFIX", prefix.clone()),
        ],
    );
    assert!(
        cluster.near,
        "the near cache is on by default on a Redis Cluster too"
    );
    run(TEST, &cluster, &secret).await;
}

fn plan_in(html: &str) -> &str {
    let marker = r#"<dd id="plan">"#;
    let start = html.find(marker).expect("the page shows a plan") + marker.len();
    let end = html[start..].find('<').expect("closing tag");
    &html[start..start + end]
}

/// The id of the session row that shows `user_agent` on a `/sessions` page.
fn session_id_of(html: &str, user_agent: &str) -> String {
    html.split(r#"<tr id="session-"#)
        .skip(1)
        .find(|row| row[..row.find("</tr>").expect("row end")].contains(user_agent))
        .map(|row| row[..32].to_owned())
        .unwrap_or_else(|| panic!("no session row for {user_agent}"))
}

fn cookie_header(value: &str) -> String {
    format!("{SESSION_COOKIE}={value}")
}

/// The scenario; returns every session cookie value it saw (for the log check).
async fn scenario(cluster: &Cluster, a: &Node, b: &Node) -> Vec<String> {
    let mut seen = Vec::new();
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");

    // ----- sign in on A, use the cookie on B -----
    let alice = Browser::at(&a.base, "alice-phone");
    alice.registered("alice@example.com").await;
    let cookie = alice.session_cookie().expect("signed in on A");
    seen.push(cookie.clone());
    let on_b = get_with_cookie(&raw, &b.url("/me"), &cookie_header(&cookie)).await;
    assert_eq!(
        on_b.status,
        StatusCode::OK,
        "A's cookie on B: {}",
        on_b.body
    );
    assert_eq!(on_b.json()["email"], "alice@example.com");
    let alice_b = alice.on(&b.base);
    let profile = alice_b.get("/profile").await;
    assert_eq!(profile.status, StatusCode::OK);
    assert_eq!(plan_in(&profile.body), "free");
    // B's /pro reads the user from the shared database.
    assert_eq!(alice_b.get("/pro").await.status, StatusCode::FORBIDDEN);

    // ----- POST /plan on A is seen on B -----
    let alice_laptop = Browser::at(&b.base, "alice-laptop");
    alice_laptop.signed_in("alice@example.com").await;
    let res = alice.post("/plan", &[("plan", "pro")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let synced = res
        .set_cookie_value(SESSION_COOKIE)
        .expect("the sync rotates the cookie");
    seen.push(synced.clone());
    // The same browser on B, and another session of alice's that only ever talked to B.
    cluster
        .settle("A's sync seen by another session on B", || async {
            alice_laptop.plan().await.as_deref() == Some("pro")
        })
        .await;
    assert_eq!(alice_b.plan().await.as_deref(), Some("pro"));
    assert_eq!(alice_laptop.plan().await.as_deref(), Some("pro"));
    assert_eq!(plan_in(&alice_laptop.get("/profile").await.body), "pro");
    assert_eq!(alice_laptop.get("/pro").await.status, StatusCode::OK);
    // The pre-sync cookie died everywhere at once (a privilege change has no grace).
    cluster
        .settle("the pre-sync cookie is out on B", || async {
            get_with_cookie(&raw, &b.url("/me"), &cookie_header(&cookie))
                .await
                .status
                == StatusCode::UNAUTHORIZED
        })
        .await;
    for node in [a, b] {
        let res = get_with_cookie(&raw, &node.url("/me"), &cookie_header(&cookie)).await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "old cookie on {}",
            node.name
        );
    }

    // ----- revoking a session on B signs it out on A -----
    let alice_tablet = Browser::at(&a.base, "alice-tablet");
    alice_tablet.signed_in("alice@example.com").await;
    seen.extend(alice_tablet.session_cookie());
    assert!(alice_tablet.me().await.is_some());
    let list = alice_laptop.get("/sessions").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.matches(r#"<tr id="session-"#).count(), 3);
    let tablet_id = session_id_of(&list.body, "alice-tablet");
    let res = alice_laptop
        .post(&format!("/sessions/{tablet_id}/delete"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/sessions"));
    cluster
        .settle("revoked on B, out on A", || async {
            alice_tablet.me().await.is_none()
        })
        .await;
    assert!(alice_tablet.me().await.is_none(), "revoked on B, out on A");
    let res = alice_tablet.get("/profile").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/session/new"));
    // "Log out everywhere else" on B ends the phone's session, which lives on A.
    let res = alice_laptop.post("/sessions/delete-others", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    cluster
        .settle("the phone is out on A", || async {
            alice.me().await.is_none()
        })
        .await;
    assert!(alice.me().await.is_none(), "the phone is out on A");
    assert!(alice_b.me().await.is_none(), "and on B");
    assert!(alice_laptop.me().await.is_some(), "the laptop stays");

    // ----- the CLI's set-plan, a third process, is seen by both nodes -----
    let bob_a = Browser::at(&a.base, "bob-a");
    bob_a.registered("bob@example.com").await;
    let bob_b = Browser::at(&b.base, "bob-b");
    bob_b.signed_in("bob@example.com").await;
    seen.extend(bob_a.session_cookie());
    seen.extend(bob_b.session_cookie());
    assert_eq!(bob_a.plan().await.as_deref(), Some("free"));
    let out = tokio::task::block_in_place(|| {
        cluster.cli(&["users", "set-plan", "BOB@example.com", "pro-trial"])
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "set-plan: {stdout}{stderr}");
    assert!(
        stdout.contains("Updated bob@example.com: plan is now pro-trial (ends "),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "Credentials cache ({}): the cached user was updated",
            cluster.cache
        )),
        "{stdout}"
    );
    assert!(!stderr.contains(PASSWORD) && !stderr.contains(cluster.setting("SECRET_KEY")));
    for (bob, node) in [(&bob_a, "A"), (&bob_b, "B")] {
        cluster
            .settle(&format!("the CLI's set-plan seen on {node}"), || async {
                bob.plan().await.as_deref() == Some("pro-trial")
            })
            .await;
    }
    assert_eq!(bob_a.plan().await.as_deref(), Some("pro-trial"), "A's /me");
    assert_eq!(bob_b.plan().await.as_deref(), Some("pro-trial"), "B's /me");
    assert_eq!(
        bob_a.on(&b.base).plan().await.as_deref(),
        Some("pro-trial"),
        "A's session on B"
    );
    assert_eq!(bob_b.get("/pro").await.status, StatusCode::OK);

    // ----- the renewal race: one stale cookie, 20 parallel requests split across A and B -----
    let carol = Browser::at(&a.base, "carol");
    carol.registered("carol@example.com").await;
    let signed_in_at = Instant::now();
    let stale = carol.session_cookie().expect("signed in");
    seen.push(stale.clone());
    tokio::time::sleep_until(
        (signed_in_at + Duration::from_millis(RENEWAL_SECS * 1000 + 500)).into(),
    )
    .await;
    const PARALLEL: usize = 20;
    let barrier = Arc::new(tokio::sync::Barrier::new(PARALLEL));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..PARALLEL {
        let url = if i % 2 == 0 {
            a.url("/me")
        } else {
            b.url("/me")
        };
        let (raw, barrier, header) = (raw.clone(), barrier.clone(), cookie_header(&stale));
        tasks.spawn(async move {
            barrier.wait().await;
            (i, get_with_cookie(&raw, &url, &header).await)
        });
    }
    let race_started = Instant::now();
    let mut issued = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, page) = joined.expect("request task");
        let node = if i % 2 == 0 { "A" } else { "B" };
        assert_eq!(
            page.status,
            StatusCode::OK,
            "request {i} on {node} was signed out: {}",
            page.body
        );
        assert_eq!(page.json()["email"], "carol@example.com");
        for c in page.set_cookies() {
            assert!(
                !(c.starts_with(&format!("{SESSION_COOKIE}=")) && c.contains("Max-Age=0")),
                "request {i} on {node} cleared the cookie: {c}"
            );
        }
        issued.extend(page.set_cookie_value(SESSION_COOKIE));
    }
    let race_took = race_started.elapsed();
    assert!(
        race_took < Duration::from_secs(GRACE_SECS),
        "the race took {race_took:?}, longer than the grace window: the test cannot judge it"
    );
    assert_eq!(
        issued.len(),
        1,
        "exactly one request wins the rotation: {issued:?}"
    );
    let renewed = issued.remove(0);
    seen.push(renewed.clone());
    assert_ne!(renewed, stale);
    for node in [a, b] {
        let res = get_with_cookie(&raw, &node.url("/me"), &cookie_header(&renewed)).await;
        assert_eq!(res.status, StatusCode::OK, "new cookie on {}", node.name);
        assert!(res.set_cookie_value(SESSION_COOKIE).is_none());
    }
    // After the grace window the stale cookie is dead on both nodes; the new one lives on.
    tokio::time::sleep(Duration::from_millis(GRACE_SECS * 1000 + 300)).await;
    for node in [a, b] {
        let res = get_with_cookie(&raw, &node.url("/me"), &cookie_header(&stale)).await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "stale on {}",
            node.name
        );
        let res = get_with_cookie(&raw, &node.url("/me"), &cookie_header(&renewed)).await;
        assert_eq!(res.status, StatusCode::OK, "renewed on {}", node.name);
    }

    // ----- a session revoked on B closes its event stream on A (issue 12, item 3) -----
    let dave_a = Browser::at(&a.base, "dave-a");
    dave_a.registered("dave@example.com").await;
    seen.extend(dave_a.session_cookie());
    let mut stream = dave_a
        .client
        .get(a.url("/events"))
        .send()
        .await
        .expect("GET /events on A");
    assert_eq!(stream.status(), StatusCode::OK);
    let mut text = String::new();
    while !text.contains("event: open") {
        let chunk = tokio::time::timeout(SETTLE_WITHIN, stream.chunk())
            .await
            .expect("the open event")
            .expect("the stream")
            .expect("a chunk");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let dave_b = Browser::at(&b.base, "dave-b");
    dave_b.signed_in("dave@example.com").await;
    let res = dave_b.post("/sessions/delete-others", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let revoked_at = Instant::now();
    let closed = tokio::time::timeout(SETTLE_WITHIN, async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        text
    })
    .await
    .expect("A's stream closes once B revoked its session");
    println!(
        "two-node events: A's /events closed {} ms after B's revocation",
        revoked_at.elapsed().as_millis()
    );
    assert!(closed.contains("event: ended"), "{closed:?}");

    // ----- "Remember me" on A signs a reopened browser back in on B -----
    let erin = Browser::at(&a.base, "erin");
    erin.registered("erin@example.com").await;
    erin.sign_out().await;
    let res = erin
        .post(
            "/session",
            &[
                ("email", "erin@example.com"),
                ("password", PASSWORD),
                ("remember_me", "on"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let remember = erin
        .cookie("keycard_remember")
        .expect("a remember-me cookie");
    let reopened = Browser::at(&b.base, "erin");
    reopened.plant("keycard_remember", &remember);
    let me = reopened.get("/me").await;
    assert_eq!(me.status, StatusCode::OK, "redeemed on B: {}", me.body);
    seen.extend(reopened.session_cookie());
    let rotated = reopened.cookie("keycard_remember").expect("rotated");
    assert_ne!(rotated, remember);
    // Signing out on A (the reopened browser's session, by the same jar) ends the series for both.
    let res = reopened.on(&a.base).sign_out().await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let again = Browser::at(&b.base, "erin");
    again.plant("keycard_remember", &rotated);
    assert!(
        again.me().await.is_none(),
        "the series ended with sign-out on A"
    );
    seen
}
