//! One round trip per request, shown with `MONITOR`.

use std::time::Duration;

use keycard::TokenUse;
use keycard_store_tests::fixtures::RENEW;
use keycard_store_tests::services::redis_url;
use keycard_store_tests::skip::or_skip;
use keycard_store_tests::{user, Harness};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::common::{admin, shared_store};

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
    let Some(store) = or_skip(TEST, shared_store(TEST).await) else {
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
    let h = Harness::new(store.clone());
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
    // An unknown token of a user slot is one script; an untagged one (an older layout's cookie) names
    // no slot of this layout and costs no round trip at all.
    let unknown = keycard::token::Token::generate_tagged(Some(keycard::RouteTag(7)));
    h.must_not_fetch(h.signer.encode(&unknown).as_str(), "unknown token")
        .await;
    h.must_not_fetch(&h.unknown_cookie(), "untagged unknown token")
        .await;
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

/// A remember-me redemption (rotation, grace answer, theft, unknown series) is one command on the wire:
/// one `EVALSHA` of the one redeem script; a series id without a tag of this layout costs none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeem_is_exactly_one_round_trip() {
    use keycard::remember::{Redeemed, RememberMe, RememberStore};
    use std::sync::Arc;
    const TEST: &str = "redeem_is_exactly_one_round_trip";
    let Some(store) = or_skip(TEST, shared_store(TEST).await) else {
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
    let clock = keycard::ManualClock::starting_now();
    let r = RememberMe::new(
        Arc::new(store.clone()),
        &keycard_store_tests::fixtures::SECRET,
    )
    .unwrap()
    .with_clock(Arc::new(clock.clone()));
    let (first, series) = r.issue(&user(1, "ann")).await.unwrap();
    let mut monitor = Monitor::start(&redis_url()).await;

    let second = match r.redeem(first.as_str()).await.unwrap() {
        Redeemed::Rotated { cookie, .. } => cookie,
        other => panic!("expected Rotated, got {other:?}"),
    };
    assert!(matches!(
        r.redeem(first.as_str()).await.unwrap(),
        Redeemed::Grace { .. }
    ));
    clock.advance(r.policy().grace);
    assert!(matches!(
        r.redeem(first.as_str()).await.unwrap(),
        Redeemed::Theft { .. }
    ));
    assert!(matches!(
        r.redeem(second.as_str()).await.unwrap(),
        Redeemed::Unknown
    ));
    // An id whose tag this layout never uses: unknown without I/O.
    let mut foreign = series.series_id;
    foreign.0[0] = 0xff;
    let plan = keycard::remember::RedeemPlan {
        alternate: None,
        next_token: series.current_token,
        now: keycard::Clock::now(&clock),
        grace_until: keycard::Clock::now(&clock),
        expires_at: keycard::Clock::now(&clock),
    };
    assert_eq!(
        store
            .redeem(&foreign, &series.current_token, plan)
            .await
            .unwrap(),
        keycard::remember::Redemption::Unknown
    );
    const REDEMPTIONS: usize = 4;

    let all = monitor.drain().await;
    let sent: Vec<&String> = all
        .iter()
        .filter(|l| l.contains(&format!(" {addr}] ")))
        .collect();
    eprintln!(
        "store connection {addr}: {} command(s) for {REDEMPTIONS} redemptions",
        sent.len()
    );
    assert_eq!(
        sent.len(),
        REDEMPTIONS,
        "one command per redemption: {sent:#?}"
    );
    let sha = |l: &String| l.split_whitespace().nth(4).map(str::to_owned);
    for l in &sent {
        assert!(l.contains("] \"EVALSHA\" "), "not an EVALSHA: {l}");
        assert_eq!(sha(l), sha(sent[0]), "every redemption runs the one script");
    }
    assert!(
        all.iter().any(|l| l.contains(" lua] \"HSET\" ")),
        "the rotation's writes ran inside the script"
    );
}
