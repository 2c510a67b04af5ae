//! Sign-in and reading: what a new session holds, and what never reaches the store (invariants 2, 3, 5, 8).

use super::prelude::*;

/// Invariants 2, 3, 8: sign-in is the one operation that creates a session; the new session carries the
/// policy's deadlines, no previous token, its metadata, and resolves as the current token without renewing.
pub async fn sign_in_creates_a_session_with_a_current_token_and_policy_deadlines(h: Harness) {
    let t0 = h.now();
    let s = h
        .sign_in_with(user(1, "ann"), meta("Firefox/128", "192.0.2.1"))
        .await;
    assert_eq!(&*s.session.user_key, key(1));
    assert_eq!(s.session.created_at, t0);
    assert_eq!(s.session.renewed_at, t0);
    assert_eq!(s.session.idle_deadline, t0.saturating_add(IDLE));
    assert_eq!(s.session.absolute_deadline, t0.saturating_add(ABSOLUTE));
    assert_eq!(s.session.previous_token, None);
    assert_eq!(s.session.current_token, h.hash_of(s.cookie.as_str()));

    let a = h.must_fetch(s.cookie.as_str(), "fresh session").await;
    assert_eq!(*a.user, user(1, "ann"));
    assert_eq!(a.token_use, TokenUse::Current);
    assert!(a.renewed.is_none(), "a fresh session must not renew");
    assert_eq!(
        *a.session, *s.session,
        "the store returns what sign-in stored"
    );

    let s2 = h.sign_in(user(1, "ann")).await;
    assert_ne!(s2.session.session_id, s.session.session_id);
    assert_ne!(s2.cookie, s.cookie);
    assert_eq!(h.sessions(1).await.len(), 2);
}

/// Invariant 5: a cookie that fails its shape or signature check is refused before any store access, for
/// `fetch` and for `delete`; the session it imitates is unaffected.
pub async fn forged_or_malformed_cookie_never_reaches_the_store(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let good = s.cookie.as_str().to_owned();
    let other_signer = CookieSigner::new(&[0x11; 64]).unwrap();
    let hash_hex = h.hash_of(&good).to_hex();
    let mut bad_alphabet = good.clone();
    bad_alphabet.replace_range(40..41, "*");
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("one character", "x".into()),
        ("truncated", good[..good.len() - 1].to_owned()),
        ("one character too long", format!("{good}A")),
        ("oversized", "A".repeat(64 * 1024)),
        ("wrong alphabet", bad_alphabet),
        ("padded", format!("{}=", &good[..good.len() - 1])),
        ("token part tampered", flip(&good, 10)),
        ("signature part tampered", flip(&good, 70)),
        (
            "signed by another secret",
            other_signer.encode(&Token::generate()).into_string(),
        ),
        (
            "our token re-signed with another secret",
            other_signer
                .encode(&h.signer.decode(&good).unwrap())
                .into_string(),
        ),
        ("the store key itself", hash_hex),
    ];
    h.advance(RENEW); // the real session is due: a forged cookie must not renew it either
    let before = h.spy.calls();
    for (what, cookie) in &cases {
        assert!(
            h.cache.fetch(cookie).await.expect("fetch").is_none(),
            "{what}: a refused cookie must read as signed out"
        );
        assert_eq!(
            h.cache.delete(cookie).await.expect("delete"),
            None,
            "{what}"
        );
    }
    assert_eq!(
        h.spy.calls(),
        before,
        "refused cookies must never reach the store"
    );
    let a = h.must_fetch(&good, "the genuine cookie").await;
    assert_eq!(a.token_use, TokenUse::Current);
    assert!(
        a.renewed.is_some(),
        "the genuine session was not renewed by forged cookies"
    );
}

/// Invariants 5, 2: a well-signed cookie for a token nobody was issued resolves to nothing, signs nobody
/// out, and changes no record (not even when sessions are due for renewal).
pub async fn unknown_token_reads_nothing_and_writes_nothing(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let _t = h.sign_in(user(2, "bob")).await;
    h.advance(RENEW + MS);
    let sessions_before = (h.sessions(1).await, h.sessions(2).await);
    let users_before = h.users().await;

    for _ in 0..10 {
        let unknown = h.unknown_cookie();
        h.must_not_fetch(&unknown, "unknown token").await;
        assert_eq!(h.cache.delete(&unknown).await.unwrap(), None);
    }

    assert_eq!((h.sessions(1).await, h.sessions(2).await), sessions_before);
    assert_eq!(h.users().await, users_before);
    let a = h.must_fetch(s.cookie.as_str(), "the real session").await;
    assert!(
        a.renewed.is_some(),
        "the real session is renewed by its own token only"
    );
}

/// Invariant 5: the store is shown `SHA-256(token)` only: never the token, never the cookie value.
pub async fn store_sees_only_token_hashes_never_tokens_or_cookie_values(h: Harness) {
    let s = h.sign_in(user(1, "ann")).await;
    let mut cookies = vec![s.cookie.as_str().to_owned()];
    h.must_fetch(&cookies[0], "fresh").await;
    h.advance(RENEW);
    let renewed = h.must_fetch(&cookies[0], "due").await.renewed.unwrap();
    cookies.push(renewed.into_string());
    let synced = h
        .cache
        .sync(&s.session.session_id, user(1, "ann-2"))
        .await
        .unwrap()
        .unwrap();
    cookies.push(synced.cookie.as_str().to_owned());
    h.sessions(1).await;
    h.cache.delete(&cookies[2]).await.unwrap();

    let seen = h.spy.seen_hashes();
    assert!(!seen.is_empty());
    let expected: Vec<TokenHash> = cookies.iter().map(|c| h.hash_of(c)).collect();
    for c in &cookies {
        let raw = URL_SAFE_NO_PAD.decode(c).unwrap();
        let token_bytes = &raw[..32];
        for hash in &seen {
            assert_ne!(&hash.0[..], token_bytes, "the store was shown a raw token");
            assert_ne!(&hash.0[..], &raw[32..], "the store was shown a signature");
            assert!(
                expected.contains(hash),
                "the store was shown something that is not the hash of an issued token"
            );
        }
    }
}
