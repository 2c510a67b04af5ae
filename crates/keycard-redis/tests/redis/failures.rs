//! Fail closed: unreachable, silent, killed, hung (SIGSTOP) and full (`maxmemory`) Redis servers make every
//! call an error, quickly, and requests recover by themselves when Redis is back.

use std::time::{Duration, Instant};

use keycard::SessionMetadata;
use keycard_redis::{RedisConfig, RedisStore};
use keycard_store_tests::fixtures::RENEW;
use keycard_store_tests::services::{unique_prefix, OwnRedis};
use keycard_store_tests::{key, user, Harness, TestUser};

use crate::common::{admin, free_port};

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
    let config = RedisConfig::default()
        .response_timeout(Duration::from_millis(300))
        .connect_timeout(Duration::from_millis(300));
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

/// Invariant 6 against a real outage: with Redis killed, every operation is an error (backend "redis"),
/// quickly, never "signed out" and never a user; once Redis is back the same store answers again by
/// itself (reconnecting, and reloading the scripts the new server does not know), with no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fails_closed_and_requests_recover_without_a_restart() {
    const TEST: &str = "redis_outage_fails_closed_and_requests_recover_without_a_restart";
    let Some(mut server) = OwnRedis::start_or_skip(TEST, &[]).await else {
        return;
    };
    let config =
        RedisConfig::with_prefix(unique_prefix(TEST)).response_timeout(Duration::from_secs(1));
    let store = RedisStore::connect(&server.url(), config).await.unwrap();
    let h = Harness::new(store);
    let s = h.sign_in(user(1, "ann")).await;
    let cookie = s.cookie.as_str().to_owned();
    h.must_fetch(&cookie, "before the outage").await;

    server.kill();
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
    let Some(server) = OwnRedis::start_or_skip(TEST, &[]).await else {
        return;
    };
    let config =
        RedisConfig::with_prefix(unique_prefix(TEST)).response_timeout(Duration::from_millis(500));
    let store = RedisStore::connect(&server.url(), config).await.unwrap();
    let h = Harness::new(store);
    let s = h.sign_in(user(1, "ann")).await;
    let cookie = s.cookie.as_str().to_owned();
    h.must_fetch(&cookie, "before").await;

    server.pause();
    let started = Instant::now();
    let r = h.cache.fetch(&cookie).await;
    let took = started.elapsed();
    server.resume(); // before asserting, so a failure does not leave it stopped longer than needed
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
    let Some(server) = OwnRedis::start_or_skip(TEST, &[]).await else {
        return;
    };
    let store = RedisStore::connect(&server.url(), RedisConfig::with_prefix(unique_prefix(TEST)))
        .await
        .unwrap();
    let h = Harness::new(store);
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
    match e {
        keycard::CreateError::Store(e) => assert!(e.message.contains("OOM"), "{e}"),
        other => panic!("a full Redis is a store error, got {other:?}"),
    }
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
