//! Remember-me on the Redis store: sessions keep the series they belong to.

use std::time::Duration;

use keycard::remember::{MemoryRemember, RememberPolicy};
use keycard::{CredentialsCache, ManualClock, SessionMetadata};
use keycard_redis::hash_tag;
use keycard_store_tests::fixtures::{test_policy, RENEW, SECRET};
use keycard_store_tests::services::redis_url;
use keycard_store_tests::skip::or_skip;
use keycard_store_tests::{key, user, TestUser};

use crate::common::{admin, shared_store};

const TTL: Duration = Duration::from_secs(600);
const GRACE: Duration = Duration::from_secs(10);

fn policy() -> RememberPolicy {
    RememberPolicy {
        ttl: TTL,
        grace: GRACE,
    }
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
