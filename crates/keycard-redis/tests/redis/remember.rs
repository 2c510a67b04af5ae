//! Remember-me on the Redis store, beyond the kit's `remember_suite!` (run in `tests/conformance.rs`):
//! sessions keep the series they belong to, the series keys and their expiries, and undecodable series.

use std::sync::Arc;
use std::time::Duration;

use keycard::remember::{MemoryRemember, Redeemed, RememberMe, RememberPolicy, RememberStore};
use keycard::{CredentialsCache, ManualClock, SessionMetadata};
use keycard_redis::{hash_tag, RedisStore};
use keycard_store_tests::fixtures::{test_policy, RENEW, SECRET};
use keycard_store_tests::services::redis_url;
use keycard_store_tests::skip::or_skip;
use keycard_store_tests::{key, user, TestUser};

use crate::common::{admin, capture, keys_with_ttl, ms, shared_store, ttl_of};

const TTL: Duration = Duration::from_secs(600);
const GRACE: Duration = Duration::from_secs(10);

fn policy() -> RememberPolicy {
    RememberPolicy {
        ttl: TTL,
        grace: GRACE,
        ..RememberPolicy::default()
    }
}

fn remember_over(store: RedisStore, clock: &ManualClock) -> RememberMe {
    RememberMe::new(Arc::new(store), &SECRET)
        .unwrap()
        .with_policy(policy())
        .with_clock(Arc::new(clock.clone()))
}

/// A session created from a series reads back with `remember_series` from every script that returns
/// sessions: fetch, the renewal, `sync` (rotate) and the listing; a session without a series, and a
/// record written before the field existed (no `rs`), read back with none. (The series themselves are
/// kept in memory here: what is under test is the session hash.)
#[tokio::test]
async fn a_remembered_session_keeps_its_series_through_fetch_renewal_sync_and_listing() {
    const TEST: &str =
        "a_remembered_session_keeps_its_series_through_fetch_renewal_sync_and_listing";
    let Some(store) = or_skip(TEST, shared_store(TEST).await) else {
        return;
    };
    let p = store.key_prefix().to_owned();
    let clock = ManualClock::starting_now();
    let cache: CredentialsCache<TestUser> = CredentialsCache::builder(store.clone())
        .secret(SECRET)
        .policy(test_policy())
        .clock(clock.clone())
        .remember(MemoryRemember::new())
        .remember_policy(policy())
        .build()
        .unwrap();
    let r = cache
        .create_and_remember(user(1, "ann"), SessionMetadata::default())
        .await
        .unwrap();
    let id = Some(r.series.series_id);
    let sid = r.signed_in.session.session_id;
    let plain = cache
        .create(user(1, "ann"), SessionMetadata::default())
        .await
        .unwrap();

    let read = cache.fetch(r.signed_in.cookie.as_str()).await.unwrap();
    assert_eq!(read.expect("live").session.remember_series, id, "fetch");
    clock.advance(RENEW);
    let renewal = cache
        .fetch(r.signed_in.cookie.as_str())
        .await
        .unwrap()
        .expect("live");
    assert!(renewal.renewed.is_some(), "due: renewed");
    assert_eq!(renewal.session.remember_series, id, "renewal");
    let synced = cache
        .sync(&sid, user(1, "ann-2"))
        .await
        .unwrap()
        .expect("live");
    assert_eq!(synced.session.remember_series, id, "sync");
    let after = cache.fetch(synced.cookie.as_str()).await.unwrap();
    assert_eq!(
        after.expect("live").session.remember_series,
        id,
        "after sync"
    );
    let listed = cache.sessions(&key(1)).await.unwrap();
    assert_eq!(listed.len(), 2);
    for s in &listed {
        let want = if s.session_id == sid { id } else { None };
        assert_eq!(s.remember_series, want, "listing");
    }
    let read = cache.fetch(plain.cookie.as_str()).await.unwrap();
    assert_eq!(read.expect("live").session.remember_series, None);

    // A record of the layout before `rs`: the field is simply absent.
    let _: i64 = redis::cmd("HDEL")
        .arg(format!("{p}{}s:{}", hash_tag(&key(1)), sid.to_hex()))
        .arg("rs")
        .query_async(&mut admin(&redis_url()).await)
        .await
        .unwrap();
    let read = cache.fetch(synced.cookie.as_str()).await.unwrap();
    assert_eq!(read.expect("still live").session.remember_series, None);
}

/// A user's series keys carry the user's tag: the series hash for the series' remaining lifetime (moved
/// by each rotation), the user's series set for at least its longest-lived series.
#[tokio::test]
async fn series_keys_carry_the_users_tag_and_expire_with_the_series() {
    const TEST: &str = "series_keys_carry_the_users_tag_and_expire_with_the_series";
    let Some(store) = or_skip(TEST, shared_store(TEST).await) else {
        return;
    };
    let p = store.key_prefix().to_owned();
    let tag = hash_tag(&key(1));
    assert_eq!(
        RememberStore::route_tag(&store, &key(1)).map(|t| format!("{{{:02x}}}", t.0)),
        Some(tag.clone())
    );
    let clock = ManualClock::starting_now();
    let r = remember_over(store, &clock);
    let (first, a) = r.issue(&user(1, "ann")).await.unwrap();
    assert_eq!(format!("{{{:02x}}}", a.series_id.route_tag().0), tag);
    clock.advance(TTL / 2);
    let (_, b) = r.issue(&user(1, "ann")).await.unwrap();
    let keys = keys_with_ttl(&redis_url(), &p).await;
    let names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
    let ka = format!("{p}{tag}r:{}", a.series_id.to_hex());
    let kb = format!("{p}{tag}r:{}", b.series_id.to_hex());
    let set = format!("{p}{tag}ri:{}", key(1));
    let mut want = vec![ka.as_str(), kb.as_str(), set.as_str()];
    want.sort();
    assert_eq!(names, want, "two series and the user's set, nothing else");
    // Key lifetimes are remaining lifetimes on the cache's clock at the write (the crate's rule), so
    // both read the full TTL on Redis' clock, whatever the manual clock did in between.
    let slack = 5_000;
    let (ta, tb) = (ttl_of(&keys, &ka), ttl_of(&keys, &kb));
    for t in [ta, tb] {
        assert!(t > ms(TTL) - slack && t <= ms(TTL), "{t}");
    }
    assert!(
        ttl_of(&keys, &set) >= ta.max(tb) - 50,
        "the set outlives its series"
    );

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let before = ttl_of(&keys_with_ttl(&redis_url(), &p).await, &ka);
    assert!(matches!(
        r.redeem(first.as_str()).await.unwrap(),
        Redeemed::Rotated { .. }
    ));
    let moved = ttl_of(&keys_with_ttl(&redis_url(), &p).await, &ka);
    assert!(
        moved > before + 1_000 && moved <= ms(TTL),
        "moved: {before} -> {moved}"
    );
    let mut c = admin(&redis_url()).await;
    let ea: u64 = redis::cmd("HGET")
        .arg(&ka)
        .arg("ea")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(
        ea,
        keycard::Clock::now(&clock).0 + ms(TTL) as u64,
        "the deadline moved"
    );
    let score: u64 = redis::cmd("ZSCORE")
        .arg(&set)
        .arg(a.series_id.to_hex())
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(score, ea, "the set's score follows");
}

/// A series record that does not decode is unknown (never a panic, never a sign-in), unlisted, and
/// logged with its series id, never the cookie or a token hash.
#[tokio::test]
async fn undecodable_series_are_unknown_unlisted_and_logged_without_secrets() {
    const TEST: &str = "undecodable_series_are_unknown_unlisted_and_logged_without_secrets";
    let Some(store) = or_skip(TEST, shared_store(TEST).await) else {
        return;
    };
    let p = store.key_prefix().to_owned();
    let capture = capture::Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let clock = ManualClock::starting_now();
    let r = remember_over(store, &clock);
    let mut c = admin(&redis_url()).await;
    let tag = hash_tag(&key(1));
    for (what, field, value) in [
        ("unknown format version", "v", "9"),
        ("malformed deadline", "ea", "soon"),
        ("malformed token hash", "ct", "xyz"),
    ] {
        let (cookie, s) = r.issue(&user(1, "ann")).await.unwrap();
        let _: i64 = redis::cmd("HSET")
            .arg(format!("{p}{tag}r:{}", s.series_id.to_hex()))
            .arg(field)
            .arg(value)
            .query_async(&mut c)
            .await
            .unwrap();
        capture.clear();
        assert!(
            r.series(&key(1)).await.unwrap().is_empty(),
            "{what}: unlisted"
        );
        assert!(
            matches!(r.redeem(cookie.as_str()).await.unwrap(), Redeemed::Unknown),
            "{what}: unknown"
        );
        let warnings = capture.warnings();
        assert!(
            warnings.len() >= 2 && warnings.iter().all(|w| w.contains(&s.series_id.to_hex())),
            "{what}: {warnings:#?}"
        );
        for w in &warnings {
            assert!(!w.contains(cookie.as_str()), "{what}: the cookie in {w}");
            assert!(!w.contains(&s.current_token.to_hex()), "{what}: {w}");
            assert!(!w.contains(&s.current_token.short()), "{what}: {w}");
        }
        assert_eq!(r.forget_series(&s.series_id).await.unwrap(), None);
    }
    let (fine, _) = r.issue(&user(1, "ann")).await.unwrap();
    assert!(matches!(
        r.redeem(fine.as_str()).await.unwrap(),
        Redeemed::Rotated { .. }
    ));
}
