//! Switching from the single-instance key layout (keycard-redis before per-user hash tags): its
//! sessions are not read. Their users are signed out once, the store says so when it connects, and the
//! old keys are left to expire.

use keycard::token::Token;
use keycard_redis::{RedisConfig, RedisStore};
use keycard_store_tests::services::redis_url;
use keycard_store_tests::skip::or_skip;
use keycard_store_tests::{key, user, Harness};

use crate::common::{admin, capture, shared_store};

/// A session written in the old layout (`{prefix}t:…`, `{prefix}s:…`, `{prefix}u:…`, the global
/// `{prefix}users` set) with its old 86-character cookie: the store warns once at connect, the cookie
/// reads as signed out (no error, no round trip), a new sign-in of the same user works, and the old keys
/// are untouched (they expire by themselves).
#[tokio::test]
async fn sessions_of_the_single_instance_layout_sign_out_once_with_a_warning() {
    const TEST: &str = "sessions_of_the_single_instance_layout_sign_out_once_with_a_warning";
    let Some(probe) = or_skip(TEST, shared_store(TEST).await) else {
        return;
    };
    let url = redis_url();
    let p = probe.key_prefix().to_owned();
    let h = Harness::new(probe);
    // The old layout, as keycard-redis 0.1 wrote it for one session.
    let old = Token::generate();
    let old_cookie = h.signer.encode(&old).into_string();
    assert_eq!(old_cookie.len(), keycard::token::COOKIE_VALUE_LEN);
    let sid = keycard::SessionId::generate().to_hex();
    let mut c = admin(&url).await;
    let old_keys = [
        format!("{p}t:{}", old.hash().to_hex()),
        format!("{p}s:{sid}"),
        format!("{p}u:{}", key(1)),
        format!("{p}i:{}", key(1)),
        format!("{p}users"),
    ];
    let _: () = redis::pipe()
        .cmd("SET")
        .arg(&old_keys[0])
        .arg(&sid)
        .arg("PX")
        .arg(60_000)
        .ignore()
        .cmd("HSET")
        .arg(&old_keys[1])
        .arg("v")
        .arg("1")
        .arg("uk")
        .arg(key(1))
        .ignore()
        .cmd("PEXPIRE")
        .arg(&old_keys[1])
        .arg(60_000)
        .ignore()
        .cmd("HSET")
        .arg(&old_keys[2])
        .arg("d")
        .arg("x")
        .ignore()
        .cmd("PEXPIRE")
        .arg(&old_keys[2])
        .arg(60_000)
        .ignore()
        .cmd("ZADD")
        .arg(&old_keys[3])
        .arg(1)
        .arg(&sid)
        .ignore()
        .cmd("PEXPIRE")
        .arg(&old_keys[3])
        .arg(60_000)
        .ignore()
        .cmd("ZADD")
        .arg(&old_keys[4])
        .arg(1)
        .arg(key(1))
        .ignore()
        .cmd("PEXPIRE")
        .arg(&old_keys[4])
        .arg(60_000)
        .ignore()
        .query_async(&mut c)
        .await
        .unwrap();

    let capture = capture::Capture::default();
    let store = {
        let _guard = tracing::subscriber::set_default(capture.clone());
        RedisStore::connect(&url, RedisConfig::with_prefix(p.clone()))
            .await
            .unwrap()
    };
    let warnings = capture.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("single-instance key layout") && w.contains("sign in again")),
        "{warnings:#?}"
    );
    let h = Harness::new(store);
    assert!(
        h.cache.fetch(&old_cookie).await.unwrap().is_none(),
        "an old cookie reads as signed out, not as an error"
    );
    let s = h.sign_in(user(1, "ann")).await;
    assert_eq!(
        s.cookie.as_str().len(),
        keycard::token::TAGGED_COOKIE_VALUE_LEN
    );
    h.must_fetch(s.cookie.as_str(), "a new sign-in").await;
    for k in &old_keys {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(k)
            .query_async(&mut c)
            .await
            .unwrap();
        assert_eq!(exists, 1, "{k}: the old layout's keys are left to expire");
    }
}
