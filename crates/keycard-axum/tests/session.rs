//! The session layer, the auth handle and the extractors, through a real axum `Router` over the memory store.

mod common;

use std::time::Duration;

use axum::body::Body;
use cookie::SameSite;
use http::{header, Request, StatusCode};
use keycard::token::COOKIE_VALUE_LEN;
use keycard::SessionMetadata;
use keycard_axum::{ClientIpSource, CookieConfig, SessionLayer};
use tower::ServiceExt;

use common::*;

#[tokio::test]
async fn anonymous_requests_cost_no_store_call_and_get_no_cookie() {
    let h = harness();
    let res = h.get("/public", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(set_cookie(&res).is_none());
    assert!(!varies_on_cookie(&res), "nothing read the session");
    assert!(!no_store(&res));

    let res = h.get("/me", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&res).is_none());
    assert!(varies_on_cookie(&res), "the answer depends on the cookie");

    assert_eq!(body(h.get("/maybe", None).await).await, "anon");
    assert_eq!(body(h.get("/optional", None).await).await, "anon");
    assert_eq!(body(h.get("/whoami", None).await).await, "anon");
    assert_eq!(h.store_calls(), 0, "no cookie, no store access");
}

#[tokio::test]
async fn sign_in_sets_a_session_cookie_with_safe_attributes() {
    // The default configuration, as `SessionLayer::new(cache)` alone gives it.
    let h = harness_with_layer(|l| l, "__Host-keycard_session".into());
    let res = h.post("/login/1", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(no_store(&res));
    assert!(varies_on_cookie(&res));
    let raw = header_str(res.headers(), header::SET_COOKIE)[0].to_string();
    let c = set_cookie(&res).unwrap();
    assert_eq!(c.name(), "__Host-keycard_session", "{raw}");
    assert_eq!(c.value().len(), COOKIE_VALUE_LEN);
    assert_eq!(c.http_only(), Some(true));
    assert_eq!(c.same_site(), Some(SameSite::Lax));
    assert_eq!(c.path(), Some("/"));
    assert_eq!(c.domain(), None);
    assert_eq!(c.max_age(), None);
    assert_eq!(c.expires(), None);
    assert_eq!(c.secure(), Some(true), "Secure by default: {raw}");

    let cookie = c.value().to_string();
    let res = h.get("/me", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(set_cookie(&res).is_none(), "a plain read writes no cookie");
    assert_eq!(
        body(h.get("/optional", Some(&cookie)).await).await,
        "1:free"
    );
    assert!(varies_on_cookie(&res));
    assert!(!no_store(&res));
    assert_eq!(body(res).await, "1:free");

    // Requests that carry the cookie vary on it even when no handler reads it.
    let res = h.get("/public", Some(&cookie)).await;
    assert!(varies_on_cookie(&res));
    assert!(set_cookie(&res).is_none());
}

#[tokio::test]
async fn secure_config_adds_secure_and_the_host_prefix() {
    let h = harness_with(
        CookieConfig::default()
            .with_secure(true)
            .with_max_age(Some(Duration::from_secs(7200))),
    );
    let res = h.post("/login/1", None).await;
    let raw = header_str(res.headers(), header::SET_COOKIE)[0].to_string();
    let c = set_cookie(&res).unwrap();
    assert_eq!(c.name(), "__Host-keycard_session");
    assert_eq!(c.secure(), Some(true), "{raw}");
    assert_eq!(c.path(), Some("/"));
    assert_eq!(c.domain(), None);
    assert_eq!(c.max_age(), Some(cookie::time::Duration::seconds(7200)));
    let value = c.value().to_string();

    // Read back under the prefixed name only.
    assert_eq!(body(h.get("/me", Some(&value)).await).await, "1:free");
    let plain = Request::get("/me")
        .header(header::COOKIE, format!("keycard_session={value}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(plain).await.status(), StatusCode::UNAUTHORIZED);

    // Sign-out clears the prefixed cookie, still Secure.
    let res = h.post("/logout", Some(&value)).await;
    let c = set_cookie(&res).unwrap();
    assert_eq!(c.name(), "__Host-keycard_session");
    assert_eq!(c.value(), "");
    assert_eq!(c.secure(), Some(true));
    assert_eq!(c.max_age(), Some(cookie::time::Duration::ZERO));
}

#[test]
fn invalid_cookie_config_is_refused() {
    let cache = cache_over(test_store(), keycard::ManualClock::starting_now());
    let bad = CookieConfig::default().with_name("has space");
    assert!(SessionLayer::new(cache).try_with_config(bad).is_err());
}

#[tokio::test]
async fn sign_out_clears_the_cookie_and_kills_the_session_on_the_server() {
    let h = harness();
    let cookie = h.login(1).await;
    let res = h.post("/logout", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(no_store(&res));
    assert!(varies_on_cookie(&res));
    let raw = header_str(res.headers(), header::SET_COOKIE)[0].to_string();
    let c = set_cookie(&res).unwrap();
    assert_eq!(c.name(), COOKIE);
    assert_eq!(c.value(), "");
    assert_eq!(c.max_age(), Some(cookie::time::Duration::ZERO), "{raw}");
    assert_eq!(c.http_only(), Some(true));
    assert_eq!(c.path(), Some("/"));

    // Replay after logout: dead on the server, not just in the browser.
    assert_eq!(
        h.get("/me", Some(&cookie)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(h.cache.fetch(&cookie).await.unwrap().is_none());
    assert!(h.cache.sessions("1").await.unwrap().is_empty());

    // Signing out with no session still clears the cookie and succeeds.
    let res = h.post("/logout", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(set_cookie(&res).unwrap().value(), "");
}

#[tokio::test]
async fn sync_replaces_the_cached_user_for_every_session_and_rotates_this_cookie() {
    let h = harness();
    let a = h.login(1).await;
    let b = h.login(1).await;
    let a_id = h.session_id(&a).await;

    let res = h.post("/sync/pro", Some(&a)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(no_store(&res));
    let a2 = set_cookie(&res).unwrap().value().to_string();
    assert_ne!(a2, a, "sync rotates the token");
    assert_eq!(body(res).await, a_id, "same session id across sync");

    // The old token dies at once (no grace for privilege changes).
    assert_eq!(
        h.get("/me", Some(&a)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(body(h.get("/me", Some(&a2)).await).await, "1:pro");
    // The other session of the same user sees the new cached user, and keeps its cookie.
    let res = h.get("/me", Some(&b)).await;
    assert!(set_cookie(&res).is_none());
    assert_eq!(body(res).await, "1:pro");
}

#[tokio::test]
async fn sync_of_a_session_revoked_meanwhile_does_not_resurrect_it() {
    let h = harness();
    let a = h.login(1).await;
    let res = h.post("/sync-after-revoke", Some(&a)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let c = set_cookie(&res).unwrap();
    assert_eq!(c.value(), "", "the cookie is cleared");
    assert!(h.cache.sessions("1").await.unwrap().is_empty());
}

#[tokio::test]
async fn delete_then_create_in_one_request_writes_only_the_new_cookie() {
    let h = harness();
    let a = h.login(1).await;
    let res = h.post("/relogin/2", Some(&a)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let c = set_cookie(&res).expect("exactly one Set-Cookie");
    assert_eq!(c.value().len(), COOKIE_VALUE_LEN);
    assert_eq!(body(h.get("/me", Some(c.value())).await).await, "2:free");
    assert_eq!(
        h.get("/me", Some(&a)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn regenerate_rotates_the_token_and_keeps_the_session() {
    let h = harness();
    let a = h.login(1).await;
    let id = h.session_id(&a).await;
    let res = h.post("/regenerate", Some(&a)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(no_store(&res));
    let a2 = set_cookie(&res).unwrap().value().to_string();
    assert_ne!(a, a2);
    assert_eq!(body(res).await, id);
    assert_eq!(
        h.get("/me", Some(&a)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(h.session_id(&a2).await, id);

    // Not signed in: 401, no cookie written.
    let res = h.post("/regenerate", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&res).is_none());
}

#[tokio::test]
async fn renewal_sets_a_new_cookie_and_the_old_one_works_only_within_grace() {
    let h = harness();
    let old = h.login(1).await;

    // Before the renewal interval: no new cookie.
    h.clock.advance(Duration::from_secs(14 * 60));
    let res = h.get("/me", Some(&old)).await;
    assert!(set_cookie(&res).is_none());

    // After it: the next request rotates.
    h.clock.advance(Duration::from_secs(2 * 60));
    let res = h.get("/me", Some(&old)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        no_store(&res),
        "a response that sets the cookie is not cacheable"
    );
    let c = set_cookie(&res).expect("renewal sets a new cookie");
    let new = c.value().to_string();
    assert_ne!(new, old);
    assert_eq!(c.http_only(), Some(true));
    assert_eq!(c.same_site(), Some(SameSite::Lax));

    // A parallel request still carrying the old cookie, inside grace: served, cannot rotate again.
    h.clock.advance(Duration::from_secs(30));
    let res = h.get("/whoami", Some(&old)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(set_cookie(&res).is_none());
    assert!(body(res).await.starts_with("1:free "));
    assert_eq!(body(h.get("/me", Some(&new)).await).await, "1:free");

    // After grace: the old cookie is dead, the new one lives.
    h.clock.advance(Duration::from_secs(31));
    assert_eq!(
        h.get("/me", Some(&old)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(h.get("/me", Some(&new)).await.status(), StatusCode::OK);

    // Idle past the deadline: gone.
    h.clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(
        h.get("/me", Some(&new)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn parallel_requests_with_a_stale_cookie_renew_once_and_all_succeed() {
    let h = harness();
    let old = h.login(1).await;
    h.clock.advance(Duration::from_secs(16 * 60));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let app = h.app.clone();
        let req = h.req("GET", "/whoami", Some(&old));
        tasks.push(tokio::spawn(async move { app.oneshot(req).await.unwrap() }));
    }
    let mut renewed = 0;
    for t in tasks {
        let res = t.await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        if set_cookie(&res).is_some() {
            renewed += 1;
        }
        assert!(
            body(res).await.starts_with("1:free "),
            "every request is signed in"
        );
    }
    assert_eq!(renewed, 1, "exactly one winner per rotation");
}

#[tokio::test]
async fn planted_cookie_is_replaced_at_sign_in_and_its_session_ends() {
    let h = harness();
    // The attacker's own live session, planted in the victim's browser.
    let planted = h
        .cache
        .create(user(2, "attacker"), SessionMetadata::default())
        .await
        .unwrap();
    let planted = planted.cookie.as_str().to_string();
    assert_eq!(body(h.get("/me", Some(&planted)).await).await, "2:attacker");

    // The victim signs in carrying it.
    let res = h.post("/login/1", Some(&planted)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let now = set_cookie(&res).unwrap().value().to_string();
    assert_ne!(now, planted);
    assert_eq!(body(h.get("/me", Some(&now)).await).await, "1:free");
    assert_eq!(
        h.get("/me", Some(&planted)).await.status(),
        StatusCode::UNAUTHORIZED,
        "the planted cookie is dead"
    );
    assert!(
        h.cache.sessions("2").await.unwrap().is_empty(),
        "the planted session is gone"
    );

    // A planted cookie of the same user: sign-in rotates it away too.
    let same = h
        .cache
        .create(user(1, "free"), SessionMetadata::default())
        .await
        .unwrap()
        .cookie
        .as_str()
        .to_string();
    let res = h.post("/login/1", Some(&same)).await;
    let after = set_cookie(&res).unwrap().value().to_string();
    assert_ne!(after, same);
    assert_eq!(
        h.get("/me", Some(&same)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(h.get("/me", Some(&after)).await.status(), StatusCode::OK);

    // A planted cookie the server never issued: ignored, a fresh session is made.
    let forged = "A".repeat(COOKIE_VALUE_LEN);
    let res = h.post("/login/3", Some(&forged)).await;
    let fresh = set_cookie(&res).unwrap().value().to_string();
    assert_ne!(fresh, forged);
    assert_eq!(body(h.get("/me", Some(&fresh)).await).await, "3:free");
}

/// Requests whose cookies must make them anonymous without touching the store and without a 500.
#[tokio::test]
async fn tampered_oversized_non_utf8_and_duplicate_cookies_are_anonymous_not_errors() {
    let h = harness();
    let good = h.login(1).await;
    let other = h.login(2).await;

    let mut tampered = good.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();

    let mut cases: Vec<(String, Vec<u8>)> = vec![
        (
            "tampered".into(),
            format!("{COOKIE}={tampered}").into_bytes(),
        ),
        (
            "truncated".into(),
            format!("{COOKIE}={}", &good[..40]).into_bytes(),
        ),
        ("empty".into(), format!("{COOKIE}=").into_bytes()),
        (
            "quoted".into(),
            format!("{COOKIE}=\"{}\"", &good[2..]).into_bytes(),
        ),
        (
            "duplicate, both valid".into(),
            format!("{COOKIE}={good}; {COOKIE}={other}").into_bytes(),
        ),
        (
            "duplicate, same value".into(),
            format!("{COOKIE}={good}; theme=dark; {COOKIE}={good}").into_bytes(),
        ),
    ];
    for size in [4 * 1024, 16 * 1024, 1024 * 1024] {
        cases.push((
            format!("oversized value {size}"),
            format!("{COOKIE}={}", "A".repeat(size)).into_bytes(),
        ));
        if size > keycard_axum::MAX_COOKIE_HEADER_BYTES {
            cases.push((
                format!("oversized header {size}"),
                format!("{COOKIE}={good}; pad={}", "x".repeat(size)).into_bytes(),
            ));
        }
    }
    let mut non_utf8 = format!("{COOKIE}={good}; x=").into_bytes();
    non_utf8.extend_from_slice(&[0xc3, 0x28, 0xff]);
    cases.push(("non-UTF-8".into(), non_utf8));
    let mut non_utf8_value = format!("{COOKIE}=").into_bytes();
    non_utf8_value.extend_from_slice(&[0xff; COOKIE_VALUE_LEN]);
    cases.push(("non-UTF-8 value".into(), non_utf8_value));

    for (name, raw) in cases {
        for path in ["/me", "/maybe", "/whoami", "/public"] {
            let before = h.store_calls();
            let req = Request::get(path)
                .header(header::COOKIE, http::HeaderValue::from_bytes(&raw).unwrap())
                .body(Body::empty())
                .unwrap();
            let res = h.send(req).await;
            let status = res.status();
            assert!(
                status == StatusCode::OK || status == StatusCode::UNAUTHORIZED,
                "{name} {path}: {status}"
            );
            assert!(set_cookie(&res).is_none(), "{name}: no cookie written");
            assert!(varies_on_cookie(&res), "{name}");
            let text = body(res).await;
            match path {
                "/me" => assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}"),
                "/maybe" | "/whoami" => assert_eq!(text, "anon", "{name}"),
                _ => assert_eq!(text, "public"),
            }
            if name != "tampered" {
                assert_eq!(h.store_calls(), before, "{name}: no store access");
            }
        }
    }
    // The tampered cookie fails its signature before the store too (checked by the core): the store saw
    // no fetch for it.
    let before = h.store_calls();
    h.get("/me", Some(&tampered)).await;
    assert_eq!(h.store_calls(), before);

    // A 4 KiB header of other cookies is normal: the session cookie in it is used.
    let req = Request::get("/maybe")
        .header(
            header::COOKIE,
            format!("pad={}; {COOKIE}={good}", "x".repeat(4096)),
        )
        .body(Body::empty())
        .unwrap();
    assert_eq!(body(h.send(req).await).await, "1:free");

    // Two separate Cookie headers each holding the session cookie: anonymous as well.
    let req = Request::get("/maybe")
        .header(header::COOKIE, format!("{COOKIE}={good}"))
        .header(header::COOKIE, format!("{COOKIE}={other}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(body(h.send(req).await).await, "anon");
    // Split across headers but only once: found.
    let req = Request::get("/maybe")
        .header(header::COOKIE, "theme=dark")
        .header(header::COOKIE, format!("{COOKIE}={good}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(body(h.send(req).await).await, "1:free");
}

#[tokio::test]
async fn failing_store_is_503_never_signed_in_nor_signed_out() {
    let h = harness();
    let cookie = h.login(1).await;
    h.fail_store(true);

    for path in ["/me", "/maybe", "/optional", "/whoami", "/page"] {
        let res = h.get(path, Some(&cookie)).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(
            header_str(res.headers(), header::RETRY_AFTER),
            vec!["5"],
            "{path}"
        );
        assert!(
            set_cookie(&res).is_none(),
            "{path}: the cookie is not cleared"
        );
        assert!(varies_on_cookie(&res));
    }
    // The app's own rejection type sees StoreUnavailable.
    let res = h.get("/api/me", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body(res).await, r#"{"error":"unavailable"}"#);
    // Handlers that do not need the session still run.
    let res = h.get("/public", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(set_cookie(&res).is_none());
    // Anonymous requests need no store and are unaffected.
    assert_eq!(h.get("/me", None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body(h.get("/maybe", None).await).await, "anon");
    // Signing in while the store is down: 503, no cookie.
    let res = h.post("/login/2", None).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookie(&res).is_none());

    // The store comes back: the session was never lost.
    h.fail_store(false);
    assert_eq!(body(h.get("/me", Some(&cookie)).await).await, "1:free");
}

#[tokio::test]
async fn store_failing_during_sign_out_keeps_the_cookie() {
    let h = harness();
    let cookie = h.login(1).await;
    // The session resolves, then the store fails just before the sign-out reaches it.
    let store = h.store.clone();
    let app = axum::Router::new()
        .route(
            "/logout",
            axum::routing::post(move |auth: keycard_axum::Auth<User>| async move {
                store.set_failing(true);
                auth.delete().await.map(|()| "bye")
            }),
        )
        .layer(
            SessionLayer::new(h.cache.clone()).with_config(CookieConfig::insecure_for_localhost()),
        );
    let res = app
        .oneshot(h.req("POST", "/logout", Some(&cookie)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header_str(res.headers(), header::RETRY_AFTER), vec!["5"]);
    assert!(
        set_cookie(&res).is_none(),
        "no half sign-out: the cookie stays"
    );
    h.fail_store(false);
    assert_eq!(h.get("/me", Some(&cookie)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn users_list_and_end_only_their_own_sessions() {
    let h = harness();
    let a = h.login(1).await;
    let b = h.login(1).await;
    let d = h.login(1).await;
    let c = h.login(2).await;
    let (a_id, b_id, c_id) = (
        h.session_id(&a).await,
        h.session_id(&b).await,
        h.session_id(&c).await,
    );

    let list = body(h.get("/sessions", Some(&a)).await).await;
    assert_eq!(list.split(',').count(), 3);
    assert!(list.contains(&a_id) && list.contains(&b_id) && !list.contains(&c_id));

    // Somebody else's session: refused, and it lives on.
    let res = h.post(&format!("/sessions/{c_id}/delete"), Some(&a)).await;
    assert_eq!(body(res).await, "false");
    assert_eq!(h.get("/me", Some(&c)).await.status(), StatusCode::OK);

    // One's own other session: ended; this one untouched.
    let res = h.post(&format!("/sessions/{b_id}/delete"), Some(&a)).await;
    assert!(set_cookie(&res).is_none());
    assert_eq!(body(res).await, "true");
    assert_eq!(
        h.get("/me", Some(&b)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(h.get("/me", Some(&a)).await.status(), StatusCode::OK);

    // Everywhere else.
    let e = h.login(1).await;
    let res = h.post("/sessions/delete-others", Some(&a)).await;
    assert_eq!(body(res).await, "2");
    assert_eq!(
        h.get("/me", Some(&d)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.get("/me", Some(&e)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(h.get("/me", Some(&a)).await.status(), StatusCode::OK);
    assert_eq!(h.get("/me", Some(&c)).await.status(), StatusCode::OK);

    // The current session by id: that is a sign-out.
    let res = h.post(&format!("/sessions/{a_id}/delete"), Some(&a)).await;
    assert_eq!(set_cookie(&res).unwrap().value(), "");
    assert_eq!(body(res).await, "true");
    assert_eq!(
        h.get("/me", Some(&a)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Anonymous: 401.
    assert_eq!(
        h.get("/sessions", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sign_in_records_user_agent_and_connect_info_address_not_forwarded_for() {
    let h = harness();
    let long_ua = format!("Mozilla/5.0 {}", "x".repeat(1000));
    let req = Request::post("/login/1")
        .header(header::USER_AGENT, &long_ua)
        .header("x-forwarded-for", "6.6.6.6")
        .body(Body::empty())
        .unwrap();
    let res = h.send(with_connect_info(req, "10.1.2.3:5555")).await;
    let cookie = set_cookie(&res).unwrap().value().to_string();
    let meta = body(h.get("/meta", Some(&cookie)).await).await;
    let (ip, ua) = meta.split_once('|').unwrap();
    assert_eq!(ip, "10.1.2.3");
    assert_eq!(ua.chars().count(), 256);
    assert!(long_ua.starts_with(ua));

    // Without ConnectInfo: no address rather than a guessed one.
    let req = Request::post("/login/1")
        .header("x-forwarded-for", "6.6.6.6")
        .body(Body::empty())
        .unwrap();
    let res = h.send(req).await;
    let cookie = set_cookie(&res).unwrap().value().to_string();
    assert_eq!(body(h.get("/meta", Some(&cookie)).await).await, "|");

    // Behind one trusted proxy, when configured: the rightmost address.
    let h = harness_with_layer(
        |l| {
            l.with_config(CookieConfig::insecure_for_localhost())
                .client_ip(ClientIpSource::RightmostForwardedFor)
        },
        COOKIE.into(),
    );
    let req = Request::post("/login/1")
        .header("x-forwarded-for", "6.6.6.6, 203.0.113.9")
        .body(Body::empty())
        .unwrap();
    let res = h.send(with_connect_info(req, "10.0.0.1:1")).await;
    let cookie = set_cookie(&res).unwrap().value().to_string();
    assert_eq!(
        body(h.get("/meta", Some(&cookie)).await).await,
        "203.0.113.9|"
    );
}

#[tokio::test]
async fn assign_current_user_lasts_for_this_request_only() {
    let h = harness();
    let a = h.login(1).await;
    let res = h.get("/assign", Some(&a)).await;
    assert!(
        set_cookie(&res).is_none(),
        "nothing cached, no cookie change"
    );
    assert_eq!(body(res).await, r#"Some("999:assigned") Some("1:free")"#);
    assert_eq!(body(h.get("/me", Some(&a)).await).await, "1:free");
}

#[tokio::test]
async fn required_user_rejection_is_chosen_by_the_app() {
    let h = harness();
    // API default: 401.
    let res = h.get("/me", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Pages: redirect to the sign-in form.
    let res = h.get("/page", None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header_str(res.headers(), header::LOCATION),
        vec!["/session/new"]
    );
    assert!(varies_on_cookie(&res));
    // The app's own type.
    let res = h.get("/api/me", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header_str(res.headers(), header::CONTENT_TYPE),
        vec!["application/json"]
    );
    assert_eq!(body(res).await, r#"{"error":"unauthenticated"}"#);
    // Signed in, all three serve the user.
    let a = h.login(1).await;
    for path in ["/me", "/page", "/api/me"] {
        assert_eq!(body(h.get(path, Some(&a)).await).await, "1:free", "{path}");
    }
}

#[tokio::test]
async fn missing_layer_is_a_500_not_anonymous() {
    let app = routes();
    for path in ["/me", "/maybe", "/whoami", "/page", "/api/me"] {
        let res = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
    }
}

#[tokio::test]
async fn vary_is_merged_with_the_handlers_own() {
    let h = harness();
    let a = h.login(1).await;
    let res = h.get("/vary", Some(&a)).await;
    let vary = header_str(res.headers(), header::VARY).join(",");
    assert!(vary.contains("Accept-Encoding"), "{vary}");
    assert_eq!(
        vary.split(',')
            .filter(|t| t.trim().eq_ignore_ascii_case("cookie"))
            .count(),
        1,
        "{vary}"
    );
}
