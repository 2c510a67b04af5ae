//! The cluster layout: every key of a user hashes to one slot, whose tag the user's tokens and session
//! ids carry through renewal and `sync`, and users spread over every master.

use std::collections::{BTreeMap, BTreeSet};

use keycard_redis::hash_tag;
use keycard_store_tests::fixtures::RENEW;
use keycard_store_tests::skip::or_skip;
use keycard_store_tests::{key, user, Harness};

use crate::cluster_store;

async fn keyslot(conn: &mut keycard_redis::RedisConnection, key: &str) -> i64 {
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(conn)
        .await
        .unwrap()
}

/// The master serving each slot range, from `CLUSTER SLOTS`: (first, last, "host:port").
async fn masters(conn: &mut keycard_redis::RedisConnection) -> Vec<(i64, i64, String)> {
    let slots: Vec<redis::Value> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(conn)
        .await
        .unwrap();
    slots
        .into_iter()
        .map(|range| {
            let redis::Value::Array(r) = range else {
                panic!("CLUSTER SLOTS entry: {range:?}")
            };
            let int = |v: &redis::Value| match v {
                redis::Value::Int(i) => *i,
                other => panic!("slot: {other:?}"),
            };
            let redis::Value::Array(node) = &r[2] else {
                panic!("CLUSTER SLOTS node: {:?}", r[2])
            };
            let host = match &node[0] {
                redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("host: {other:?}"),
            };
            (int(&r[0]), int(&r[1]), format!("{host}:{}", int(&node[1])))
        })
        .collect()
}

/// A user's tokens and session id carry the user's tag through sign-in, renewal and `sync`; the user's
/// record, index, session and tokens all hash to that tag's slot and exist there.
#[tokio::test]
async fn a_users_tokens_session_and_records_share_the_users_slot() {
    const TEST: &str = "a_users_tokens_session_and_records_share_the_users_slot";
    let Some(store) = or_skip(TEST, cluster_store(TEST).await) else {
        return;
    };
    let p = store.key_prefix().to_owned();
    let mut conn = store.connection();
    let h = Harness::new(store);
    let s = h.sign_in(user(1, "ann")).await;
    let tag = hash_tag(&key(1));
    let tag_value = u16::from_str_radix(tag.trim_matches(['{', '}']), 16).unwrap();
    assert_eq!(s.session.session_id.route_tag().0, tag_value);
    assert_eq!(h.hash_of(s.cookie.as_str()).route_tag().0, tag_value);
    h.advance(RENEW);
    let renewed = h
        .must_fetch(s.cookie.as_str(), "renewal")
        .await
        .renewed
        .expect("due: renews");
    assert_eq!(h.hash_of(renewed.as_str()).route_tag().0, tag_value);
    let synced = h
        .cache
        .sync(&s.session.session_id, user(1, "ann-2"))
        .await
        .unwrap()
        .expect("live: syncs");
    assert_eq!(h.hash_of(synced.cookie.as_str()).route_tag().0, tag_value);
    h.must_fetch(synced.cookie.as_str(), "after sync").await;

    let keys = [
        format!("{p}{tag}u:{}", key(1)),
        format!("{p}{tag}i:{}", key(1)),
        format!("{p}{tag}s:{}", s.session.session_id.to_hex()),
        format!("{p}{tag}t:{}", h.hash_of(synced.cookie.as_str()).to_hex()),
        format!("{p}{tag}users"),
    ];
    let slot = keyslot(&mut conn, &keys[0]).await;
    for k in &keys {
        assert_eq!(keyslot(&mut conn, k).await, slot, "{k}");
        let exists: i64 = redis::cmd("EXISTS")
            .arg(k)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(exists, 1, "{k} exists (routed by the cluster client)");
    }
}

/// Users spread over every master: 60 users' slots fall on all three, and every one of them is served
/// (listing, fetch) through the one store.
#[tokio::test]
async fn users_spread_over_every_master_and_are_all_listed() {
    const TEST: &str = "users_spread_over_every_master_and_are_all_listed";
    let Some(store) = or_skip(TEST, cluster_store(TEST).await) else {
        return;
    };
    let p = store.key_prefix().to_owned();
    let mut conn = store.connection();
    let ranges = masters(&mut conn).await;
    let h = Harness::new(store);
    let mut per_master: BTreeMap<String, usize> = BTreeMap::new();
    let mut cookies = Vec::new();
    for id in 0..60 {
        let s = h.sign_in(user(id, "u")).await;
        cookies.push(s.cookie.as_str().to_owned());
        let slot = keyslot(
            &mut conn,
            &format!("{p}{}u:{}", hash_tag(&key(id)), key(id)),
        )
        .await;
        let (_, _, master) = ranges
            .iter()
            .find(|(a, b, _)| (*a..=*b).contains(&slot))
            .expect("every slot is served");
        *per_master.entry(master.clone()).or_default() += 1;
    }
    let all: BTreeSet<&String> = ranges.iter().map(|(_, _, m)| m).collect();
    assert_eq!(
        per_master.len(),
        all.len(),
        "users on every master: {per_master:?}"
    );
    for c in &cookies {
        h.must_fetch(c, "every user is served").await;
    }
    let listed: BTreeSet<u32> = h
        .cache
        .users()
        .await
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(listed, (0..60).collect());
    eprintln!("users per master: {per_master:?}");
}

/// Remember-me on the cluster: a user's series ids carry the user's tag, and the series hash and the
/// user's series set hash to the user's slot (the one of their cached user record) and exist there,
/// through a rotation.
#[tokio::test]
async fn a_users_series_keys_share_the_users_slot() {
    use keycard::remember::{Redeemed, RememberMe};
    const TEST: &str = "a_users_series_keys_share_the_users_slot";
    let Some(store) = or_skip(TEST, cluster_store(TEST).await) else {
        return;
    };
    let p = store.key_prefix().to_owned();
    let mut conn = store.connection();
    let r = RememberMe::new(
        std::sync::Arc::new(store),
        &keycard_store_tests::fixtures::SECRET,
    )
    .unwrap();
    let mut slots = BTreeSet::new();
    for id in 0..12 {
        let tag = hash_tag(&key(id));
        let tag_value = u16::from_str_radix(tag.trim_matches(['{', '}']), 16).unwrap();
        let (cookie, s) = r.issue(&user(id, "u")).await.unwrap();
        assert_eq!(s.series_id.route_tag().0, tag_value);
        assert!(matches!(
            r.redeem(cookie.as_str()).await.unwrap(),
            Redeemed::Rotated { .. }
        ));
        let user_slot = keyslot(&mut conn, &format!("{p}{tag}u:{}", key(id))).await;
        slots.insert(user_slot);
        for k in [
            format!("{p}{tag}r:{}", s.series_id.to_hex()),
            format!("{p}{tag}ri:{}", key(id)),
        ] {
            assert_eq!(keyslot(&mut conn, &k).await, user_slot, "{k}");
            let exists: i64 = redis::cmd("EXISTS")
                .arg(&k)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(exists, 1, "{k} exists (routed by the cluster client)");
        }
        assert_eq!(r.series(&key(id)).await.unwrap().len(), 1);
    }
    assert!(slots.len() > 1, "users spread over slots: {slots:?}");
}
