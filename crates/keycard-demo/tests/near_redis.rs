//! The near cache on Redis across real nodes: two `keycard-demo` processes (users in a scratch
//! PostgreSQL database, sessions in a `redis-server` of the test's own, so `INFO commandstats` counts
//! only what these nodes send), the near cache on (`CACHE_NEAR=on`, the default with one Redis).
//!
//! - **Revocation lag**: while node A serves one session in a tight loop, node B revokes it; the time
//!   from B's response to A's first 401 is measured over 25 trials (p50/p99/max printed, not asserted),
//!   and A never answers 200 for it once the invalidation has arrived (A's `GET /healthz/near` counts
//!   what its subscription received: read before each request).
//! - **A hot `GET /me` sends no command to Redis**: on a warm node, 50 of them change no count of `INFO
//!   commandstats` but `ping` (the nodes' subscriptions) and `info` (the test's own).
//! - **The CLI's `users set-plan`** (a third process) is seen by both nodes on their first request once
//!   its invalidation has arrived, never an old plan after it.
//! - **A killed subscription** (`CLIENT KILL TYPE pubsub`, with `SUBSCRIBE` denied meanwhile so the
//!   node stays down): the node answers every request from Redis, with no stale answer, until it has
//!   subscribed again, then from memory.
//!
//! No timed assertion: every wait is a bounded poll. Skips (or fails under `KEYCARD_REQUIRE_SERVICES=1`)
//! without PostgreSQL or a `redis-server` binary.

// The nodes need the Redis store, which only exists with the (default) `redis` feature.
#![cfg(feature = "redis")]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::procs::{demo_command, Node, OwnRedis};
use common::services::{self, ScratchDb};
use common::{get_with_cookie, random_hex, Browser, TempDir, SESSION_COOKIE};
use reqwest::StatusCode;

/// The longest one scenario may take (a loaded 2-core machine).
const SCENARIO_LIMIT: Duration = Duration::from_secs(240);
/// The longest any single wait may take.
const BOUND: Duration = Duration::from_secs(60);
const TRIALS: usize = 25;

/// Two nodes on one Redis of the test's own and one scratch database, and the CLI's settings.
struct Setup {
    redis: OwnRedis,
    _scratch: ScratchDb,
    env: Vec<(&'static str, String)>,
    dir: TempDir,
    a: Node,
    b: Node,
    raw: reqwest::Client,
}

async fn setup(test: &str) -> Option<Setup> {
    let pg = services::postgres_or_skip(test).await;
    let redis = OwnRedis::start_or_skip(test, &[]).await;
    let (Some(pg), Some(redis)) = (pg, redis) else {
        return None;
    };
    let scratch = ScratchDb::create(&pg, "near_redis").await;
    let env = vec![
        ("DATABASE_URL", scratch.url.clone()),
        ("CACHE_URL", redis.url()),
        ("CACHE_KEY_PREFIX", "near-test:".to_owned()),
        ("SECRET_KEY", random_hex(48)),
    ];
    let dir = TempDir::new("near-redis");
    let (a, b) = tokio::join!(
        Node::start("A", dir.path(), &env),
        Node::start("B", dir.path(), &env)
    );
    for n in [&a, &b] {
        assert!(
            n.log().contains("credentials cache: redis connected") && n.log().contains("near=true"),
            "node {} runs a near cache: {}",
            n.name,
            n.log()
        );
    }
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let s = Setup {
        redis,
        _scratch: scratch,
        env,
        dir,
        a,
        b,
        raw,
    };
    s.until_confirmed(&s.a).await;
    s.until_confirmed(&s.b).await;
    Some(s)
}

impl Setup {
    /// `GET /healthz/near` on `node`.
    async fn near(&self, node: &Node) -> serde_json::Value {
        let res = self
            .raw
            .get(node.url("/healthz/near"))
            .send()
            .await
            .expect("GET /healthz/near");
        assert_eq!(res.status(), StatusCode::OK);
        let v: serde_json::Value = res.json().await.expect("json");
        assert_eq!(v["near"], true, "node {} has a near cache", node.name);
        v
    }

    async fn count(&self, node: &Node, field: &str) -> u64 {
        self.near(node).await[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field} is a number"))
    }

    async fn until_confirmed(&self, node: &Node) {
        let deadline = Instant::now() + BOUND;
        while self.near(node).await["confirmed"] != true {
            assert!(Instant::now() < deadline, "{} never confirmed", node.name);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn me(&self, node: &Node, cookie: &str) -> (StatusCode, serde_json::Value) {
        let p = get_with_cookie(
            &self.raw,
            &node.url("/me"),
            &format!("{SESSION_COOKIE}={cookie}"),
        )
        .await;
        let json = if p.status == StatusCode::OK {
            p.json()
        } else {
            serde_json::Value::Null
        };
        (p.status, json)
    }

    /// `GET /me` on `node` until one answer came from its near cache (its hit count went up).
    async fn until_a_hit(&self, node: &Node, cookie: &str) {
        let deadline = Instant::now() + BOUND;
        loop {
            let hits = self.count(node, "hits").await;
            let (status, _) = self.me(node, cookie).await;
            assert_eq!(status, StatusCode::OK, "signed in on {}", node.name);
            if self.count(node, "hits").await > hits {
                return;
            }
            assert!(Instant::now() < deadline, "never a hit on {}", node.name);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// After a write elsewhere (`received_before`: `node`'s count before it): `GET /me` on `node` until
    /// `seen`, asserting that no answer after the invalidation arrived is the old one. Returns how many
    /// old answers came before it arrived.
    async fn until_seen_never_stale_after_arrival(
        &self,
        node: &Node,
        cookie: &str,
        received_before: u64,
        seen: impl Fn(StatusCode, &serde_json::Value) -> bool,
    ) -> usize {
        let deadline = Instant::now() + BOUND;
        let mut before = 0;
        loop {
            let arrived = self.count(node, "received").await > received_before;
            let (status, json) = self.me(node, cookie).await;
            if seen(status, &json) {
                return before;
            }
            assert!(
                !arrived,
                "{} answered {status} {json} after the invalidation arrived",
                node.name
            );
            before += 1;
            assert!(Instant::now() < deadline, "never seen on {}", node.name);
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

    async fn redis_cmd<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        let mut c = redis::Client::open(self.redis.url())
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("admin connection");
        cmd.query_async(&mut c).await.expect("admin command")
    }

    /// `INFO commandstats` as command → calls.
    async fn commandstats(&self) -> BTreeMap<String, u64> {
        let info: String = self.redis_cmd(redis::cmd("INFO").arg("commandstats")).await;
        info.lines()
            .filter_map(|l| {
                let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = rest.split(',').find_map(|f| f.strip_prefix("calls="))?;
                Some((name.to_owned(), calls.parse().ok()?))
            })
            .collect()
    }
}

/// The id of the session row that shows `user_agent` on a `/sessions` page.
fn session_id_of(html: &str, user_agent: &str) -> String {
    html.split(r#"<tr id="session-"#)
        .skip(1)
        .find(|row| row[..row.find("</tr>").expect("row end")].contains(user_agent))
        .map(|row| row[..32].to_owned())
        .unwrap_or_else(|| panic!("no session row for {user_agent}"))
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_node_b_reaches_node_a_serving_it_in_a_tight_loop() {
    const TEST: &str = "a_revocation_on_node_b_reaches_node_a_serving_it_in_a_tight_loop";
    let Some(s) = setup(TEST).await else {
        return;
    };
    tokio::time::timeout(SCENARIO_LIMIT, async {
        let laptop = Browser::at(&s.b.base, "alice-laptop");
        laptop.registered("alice@example.com").await;
        let mut lags = Vec::new();
        let mut early = 0;
        for i in 0..TRIALS {
            let agent = format!("alice-phone-{i}");
            let phone = Browser::at(&s.a.base, &agent);
            phone.signed_in("alice@example.com").await;
            let cookie = phone.session_cookie().expect("signed in on A");
            s.until_a_hit(&s.a, &cookie).await;
            let list = laptop.get("/sessions").await;
            assert_eq!(list.status, StatusCode::OK);
            let id = session_id_of(&list.body, &agent);
            let received = s.count(&s.a, "received").await;

            // A serves the phone's session in a tight loop while B revokes it.
            let (revoked_tx, revoked_rx) = tokio::sync::oneshot::channel::<Instant>();
            let looping = async {
                let mut answers_after = 0usize;
                loop {
                    let arrived = s.count(&s.a, "received").await > received;
                    let (status, _) = s.me(&s.a, &cookie).await;
                    let at = Instant::now();
                    if status == StatusCode::UNAUTHORIZED {
                        return (at, answers_after);
                    }
                    assert_eq!(status, StatusCode::OK, "A: signed in until revoked");
                    assert!(!arrived, "A answered 200 after the revocation arrived");
                    answers_after += 1;
                }
            };
            let revoke = async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let res = laptop.post(&format!("/sessions/{id}/delete"), &[]).await;
                let at = Instant::now();
                assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
                let _ = revoked_tx.send(at);
            };
            let ((first_401, answered), ()) = tokio::join!(looping, revoke);
            let revoked_at = revoked_rx.await.expect("revoked");
            early += answered;
            lags.push(first_401.saturating_duration_since(revoked_at));
            // And it stays out.
            assert_eq!(s.me(&s.a, &cookie).await.0, StatusCode::UNAUTHORIZED);
            assert_eq!(s.me(&s.b, &cookie).await.0, StatusCode::UNAUTHORIZED);
        }
        lags.sort();
        println!(
            "near_redis: revocation on B (its response) to A's first 401, {TRIALS} trials, A in a tight \
             loop (each iteration also reads /healthz/near): p50 {:?}, p99 {:?}, max {:?}; {early} 200s \
             from A in all trials, every one before the invalidation arrived",
            percentile(&lags, 0.50),
            percentile(&lags, 0.99),
            lags[lags.len() - 1],
        );
    })
    .await
    .unwrap_or_else(|_| panic!("{TEST} did not finish within {SCENARIO_LIMIT:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_node_sends_no_redis_command_for_a_hot_me_and_both_nodes_see_the_clis_set_plan() {
    const TEST: &str =
        "a_warm_node_sends_no_redis_command_for_a_hot_me_and_both_nodes_see_the_clis_set_plan";
    let Some(s) = setup(TEST).await else {
        return;
    };
    tokio::time::timeout(SCENARIO_LIMIT, async {
        let bob_a = Browser::at(&s.a.base, "bob-a");
        bob_a.registered("bob@example.com").await;
        let bob_b = Browser::at(&s.b.base, "bob-b");
        bob_b.signed_in("bob@example.com").await;
        let on_a = bob_a.session_cookie().expect("signed in on A");
        let on_b = bob_b.session_cookie().expect("signed in on B");
        s.until_a_hit(&s.a, &on_a).await;
        s.until_a_hit(&s.b, &on_b).await;

        // ----- 50 hot GET /me on A: no command to Redis -----
        let hits = s.count(&s.a, "hits").await;
        let before = s.commandstats().await;
        for _ in 0..50 {
            let (status, json) = s.me(&s.a, &on_a).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(json["email"], "bob@example.com");
        }
        let after = s.commandstats().await;
        let hot_hits = s.count(&s.a, "hits").await - hits;
        let sent: BTreeMap<&String, u64> = after
            .iter()
            .map(|(k, v)| (k, v - before.get(k).copied().unwrap_or(0)))
            .filter(|(k, d)| *d > 0 && !matches!(k.as_str(), "ping" | "info"))
            .collect();
        println!(
            "near_redis: 50 hot GET /me on A: {hot_hits} answered from memory; commands Redis ran \
             meanwhile (but ping, info): {sent:?}; ping: {}",
            after.get("ping").copied().unwrap_or(0) - before.get("ping").copied().unwrap_or(0)
        );
        assert!(sent.is_empty(), "a hot /me sent commands to Redis: {sent:?}");
        // A channel that lapsed on a very loaded machine would have sent those to Redis: none did.
        assert_eq!(hot_hits, 50);

        // ----- the CLI's set-plan, a third process, is seen by both nodes -----
        let (ra, rb) = (
            s.count(&s.a, "received").await,
            s.count(&s.b, "received").await,
        );
        let out = tokio::task::block_in_place(|| {
            s.cli(&["users", "set-plan", "bob@example.com", "pro-trial"])
        });
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "set-plan: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("Credentials cache (redis): the cached user was updated"),
            "{stdout}"
        );
        let pro = |status: StatusCode, json: &serde_json::Value| {
            assert_eq!(status, StatusCode::OK);
            json["plan"] == "pro-trial"
        };
        let stale_a = s
            .until_seen_never_stale_after_arrival(&s.a, &on_a, ra, pro)
            .await;
        let stale_b = s
            .until_seen_never_stale_after_arrival(&s.b, &on_b, rb, pro)
            .await;
        println!(
            "near_redis: the CLI's set-plan: {stale_a} (A) and {stale_b} (B) old answers before its \
             invalidation arrived"
        );
        for (node, cookie) in [(&s.a, &on_a), (&s.b, &on_b), (&s.b, &on_a), (&s.a, &on_b)] {
            let (status, json) = s.me(node, cookie).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(json["plan"], "pro-trial", "on {}", node.name);
        }
        s.until_a_hit(&s.a, &on_a).await;
        assert_eq!(s.me(&s.a, &on_a).await.1["plan"], "pro-trial");
    })
    .await
    .unwrap_or_else(|_| panic!("{TEST} did not finish within {SCENARIO_LIMIT:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_subscription_makes_the_node_answer_from_redis_with_no_stale_answer() {
    const TEST: &str =
        "a_killed_subscription_makes_the_node_answer_from_redis_with_no_stale_answer";
    let Some(s) = setup(TEST).await else {
        return;
    };
    tokio::time::timeout(SCENARIO_LIMIT, async {
        let carol = Browser::at(&s.a.base, "carol-a");
        carol.registered("carol@example.com").await;
        let cookie = carol.session_cookie().expect("signed in on A");
        s.until_a_hit(&s.a, &cookie).await;
        assert_eq!(s.me(&s.a, &cookie).await.1["plan"], "free");

        // Deny SUBSCRIBE (writes still publish), so the node stays down until it is allowed again.
        let _: String = s
            .redis_cmd(
                redis::cmd("ACL")
                    .arg("SETUSER")
                    .arg("default")
                    .arg("-subscribe"),
            )
            .await;
        let downs = s.count(&s.a, "downs").await;
        let killed: i64 = s
            .redis_cmd(redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("pubsub"))
            .await;
        assert_eq!(killed, 2, "both nodes' subscriptions");
        let deadline = Instant::now() + BOUND;
        while s.count(&s.a, "downs").await <= downs {
            assert!(Instant::now() < deadline, "A never noticed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(s.near(&s.a).await["confirmed"], false);

        // Written while A cannot subscribe: its invalidation never reaches A.
        let out = tokio::task::block_in_place(|| {
            s.cli(&["users", "set-plan", "carol@example.com", "pro-trial"])
        });
        assert!(out.status.success());
        let bypassed = s.count(&s.a, "bypassed").await;
        for _ in 0..20 {
            let (status, json) = s.me(&s.a, &cookie).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(json["plan"], "pro-trial", "no stale answer while down");
        }
        let near = s.near(&s.a).await;
        assert_eq!(near["confirmed"], false, "still down: SUBSCRIBE is denied");
        assert_eq!(
            near["bypassed"].as_u64().expect("number") - bypassed,
            20,
            "all 20 from Redis"
        );

        // Allowed again: A subscribes, confirms, and answers from memory, still the new plan.
        let _: String = s
            .redis_cmd(
                redis::cmd("ACL")
                    .arg("SETUSER")
                    .arg("default")
                    .arg("+subscribe"),
            )
            .await;
        s.until_confirmed(&s.a).await;
        s.until_a_hit(&s.a, &cookie).await;
        assert_eq!(s.me(&s.a, &cookie).await.1["plan"], "pro-trial");
        // And the new subscription delivers: the next write (the CLI again) reaches A.
        let received = s.count(&s.a, "received").await;
        let out = tokio::task::block_in_place(|| {
            s.cli(&["users", "set-plan", "carol@example.com", "free"])
        });
        assert!(out.status.success());
        s.until_seen_never_stale_after_arrival(&s.a, &cookie, received, |status, json| {
            status == StatusCode::OK && json["plan"] == "free"
        })
        .await;
    })
    .await
    .unwrap_or_else(|_| panic!("{TEST} did not finish within {SCENARIO_LIMIT:?}"));
}
