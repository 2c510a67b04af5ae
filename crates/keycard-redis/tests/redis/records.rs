//! Records: what does not decode is absent (and logged without secrets), every key expires with what it
//! belongs to, and key lifetimes follow the cache's clock.

use keycard::{ManualClock, PutOutcome, SessionMetadata, Timestamp};
use keycard_redis::hash_tag;
use keycard_store_tests::fixtures::{GRACE, IDLE, RENEW};
use keycard_store_tests::services::redis_url;
use keycard_store_tests::skip::or_skip;
use keycard_store_tests::{key, user, Harness};

use crate::common::{admin, cache_over, capture, keys_with_ttl, ms, shared_store, ttl_of};

/// A record that fails to decode is absent (never a panic, never a sign-in, never an error) and is
/// logged without secrets: neither the cookie nor the full token hash appears in the log.
#[tokio::test]
async fn undecodable_records_are_absent_and_logged_without_secrets() {
    const TEST: &str = "undecodable_records_are_absent_and_logged_without_secrets";
    let Some(store) = or_skip(TEST, shared_store(TEST).await) else {
        return;
    };
    let url = redis_url();
    let p = store.key_prefix().to_owned();
    let capture = capture::Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let h = Harness::new(store);
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
        let tag = hash_tag(&key(uid));
        let tkey = format!("{p}{tag}t:{hash}");
        let skey = format!("{p}{tag}s:{}", s.session.session_id.to_hex());
        let ukey = format!("{p}{tag}u:{}", key(uid));
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
    let Some(store) = or_skip(TEST, shared_store(TEST).await) else {
        return;
    };
    let p = store.key_prefix().to_owned();
    let h = Harness::new(store);
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
    let tag = hash_tag(&key(1));
    let sa = ttl_of(
        &keys,
        &format!("{p}{tag}s:{}", a.session.session_id.to_hex()),
    );
    let sb = ttl_of(
        &keys,
        &format!("{p}{tag}s:{}", b.session.session_id.to_hex()),
    );
    assert!(
        sa > ms(IDLE) - slack && sa <= ms(IDLE),
        "renewed session: {sa}"
    );
    assert!(sb > 0 && sb <= ms(IDLE), "{sb}");
    let token = |cookie: &str| ttl_of(&keys, &format!("{p}{tag}t:{}", h.hash_of(cookie).to_hex()));
    assert!(
        (token(&new) - sa).abs() < slack,
        "current token lives with its session"
    );
    assert!((token(b.cookie.as_str()) - sb).abs() < slack);
    let grace = token(a.cookie.as_str());
    assert!(grace > 0 && grace <= ms(GRACE), "replaced token: {grace}");
    let longest = sa.max(sb);
    for k in [
        format!("{p}{tag}u:{}", key(1)),
        format!("{p}{tag}i:{}", key(1)),
        format!("{p}{tag}users"),
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
        let Some(store) = or_skip(TEST, shared_store(TEST).await) else {
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
