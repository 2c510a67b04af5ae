//! One round trip per request, shown with `MONITOR` (the test kit's feed,
//! `keycard_store_tests::services::monitor`, which the near-cache tests use too).

use keycard::TokenUse;
use keycard_redis::RedisStore;
use keycard_store_tests::fixtures::RENEW;
use keycard_store_tests::services::monitor::{client_addr, sent_by, Monitor};
use keycard_store_tests::services::redis_url;
use keycard_store_tests::skip::or_skip;
use keycard_store_tests::{user, Harness};

use crate::common::shared_store;

/// A store on the shared Redis and the address Redis lists for its connection (what `MONITOR` shows
/// its commands under), or `None` after the skip rule.
async fn store_and_addr(test: &'static str) -> Option<(RedisStore, String)> {
    let store = or_skip(test, shared_store(test).await)?;
    let addr = client_addr(&mut store.connection()).await;
    Some((store, addr))
}

/// One `fetch` (plain read, renewal, grace read, successor read, unknown token) is one command on the
/// wire: exactly one `EVALSHA` from the store's connection, always the same script. The commands the
/// script runs inside Redis show up in `MONITOR` as `[… lua]`, not as the client's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_is_exactly_one_round_trip() {
    let Some((store, addr)) = store_and_addr("fetch_is_exactly_one_round_trip").await else {
        return;
    };
    let mine = |lines: &[String]| sent_by(lines, &addr);
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
    assert_one_evalsha_each(&all, &sent, FETCHES, "fetch", "renewal");
}

/// A remember-me redemption (rotation, grace answer, theft, unknown series) is one command on the wire:
/// one `EVALSHA` of the one redeem script; a series id without a tag of this layout costs none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redeem_is_exactly_one_round_trip() {
    use keycard::remember::{Redeemed, RememberMe, RememberStore};
    use std::sync::Arc;
    let Some((store, addr)) = store_and_addr("redeem_is_exactly_one_round_trip").await else {
        return;
    };
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
        alternates: [None; keycard::remember::MAX_RETRY_CHAIN],
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
    let sent = sent_by(&all, &addr);
    eprintln!(
        "store connection {addr}: {} command(s) for {REDEMPTIONS} redemptions",
        sent.len()
    );
    assert_one_evalsha_each(&all, &sent, REDEMPTIONS, "redemption", "rotation");
}

/// `sent` (the store connection's lines of `all`) is `calls` commands, one per `call`, each an
/// `EVALSHA` of one and the same script, and the writes of the `write` ran inside that script (MONITOR
/// reports them as `lua`).
fn assert_one_evalsha_each(all: &[String], sent: &[String], calls: usize, call: &str, write: &str) {
    assert_eq!(sent.len(), calls, "one command per {call}: {sent:#?}");
    let sha = |l: &String| l.split_whitespace().nth(4).map(str::to_owned);
    for l in sent {
        assert!(l.contains("] \"EVALSHA\" "), "not an EVALSHA: {l}");
        assert_eq!(sha(l), sha(&sent[0]), "every {call} runs the one script");
    }
    assert!(
        all.iter().any(|l| l.contains(" lua] \"HSET\" ")),
        "the {write}'s writes ran inside the script"
    );
}
