//! HTTP tests: the real demo router on 127.0.0.1:<ephemeral port>, a temp SQLite file, the memory store and
//! a manual clock, driven by reqwest clients with cookie jars that do not follow redirects. One test per flow
//! of the Pow guide (and of issue 3).
//!
//! The same tests run on PostgreSQL and/or Redis with `KEYCARD_TEST_DATABASE=postgres` and
//! `KEYCARD_TEST_CACHE=redis` (see `common`); `.ci/run` runs them that way too.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{get_with_cookie, Browser, TestApp, PASSWORD, SESSION_COOKIE};
use keycard::Policy;
use keycard_axum::ClientIpSource;
use keycard_demo::domain::users::{self, Key, Plan};
use reqwest::header::HeaderValue;
use reqwest::StatusCode;

fn plan_in(html: &str) -> &str {
    let marker = r#"<dd id="plan">"#;
    let start = html.find(marker).expect("the page shows a plan") + marker.len();
    let end = html[start..].find('<').expect("closing tag");
    &html[start..start + end]
}

async fn db_plan(app: &TestApp, email: &str) -> Plan {
    users::find_with_password_by_email(app.db(), email)
        .await
        .expect("select")
        .expect("user exists")
        .0
        .plan
}

async fn set_db_plan(app: &TestApp, email: &str, plan: Plan) {
    users::update_plan(
        app.db(),
        Key::Email(email),
        plan,
        app.app.state.clock.now_secs(),
        3600,
    )
    .await
    .expect("update")
    .expect("user exists");
}

fn cookie_header(value: &str) -> String {
    format!("{SESSION_COOKIE}={value}")
}

// ----- register, sign in, sign out -----

#[tokio::test]
async fn register_sign_out_and_sign_in_again() {
    let app = TestApp::start().await;
    let b = app.browser();

    let form = b.get("/registration/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"name="_csrf_token""#));

    // Email is trimmed and lower-cased.
    let res = b.register("  Alice@Example.COM ", PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/profile"));
    let first = res
        .set_cookie_value(SESSION_COOKIE)
        .expect("a session cookie");
    let profile = b.get("/profile").await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(profile.body.contains("alice@example.com"));
    assert_eq!(plan_in(&profile.body), "free");

    let out = b.sign_out().await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), Some("/"));
    let cleared = out
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("{SESSION_COOKIE}=")))
        .expect("sign-out clears the cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(b.get("/").await.body.contains("You have been signed out."));
    let anon = b.get("/profile").await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.location(), Some("/session/new"));
    // The old cookie is dead on the server, not only in the jar.
    let replay = get_with_cookie(&app.raw(), &app.url("/me"), &cookie_header(&first)).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);

    let res = b.sign_in("ALICE@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/profile"));
    assert_eq!(
        b.me().await.expect("signed in")["email"],
        "alice@example.com"
    );
    app.stop().await;
}

#[tokio::test]
async fn registration_errors_are_422_with_field_messages() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b
        .post(
            "/registration",
            &[
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirmation", "different"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Email is not a valid email address"));
    assert!(res.body.contains("Password must be at least 8 characters"));
    assert!(res
        .body
        .contains("Password confirmation does not match the password"));
    assert!(res.set_cookie_value(SESSION_COOKIE).is_none());

    let long = "xy".repeat(513);
    let res = b.register("bob@example.com", &long).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Password must be at most 1024 bytes"));

    let res = b.post("/registration", &[]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.contains("Email can&#39;t be blank") || res.body.contains("Email can't be blank")
    );

    b.registered("bob@example.com").await;
    let other = app.browser();
    let res = other.register(" BOB@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Email has already been taken"));
    app.stop().await;
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_401() {
    let app = TestApp::start().await;
    app.browser().registered("alice@example.com").await;
    let b = app.browser();
    let unknown = b.sign_in("nobody@example.com", PASSWORD).await;
    let wrong = b.sign_in("alice@example.com", "wrong password!").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.body.contains("Invalid email or password."));
    // Byte for byte the same page, apart from the email the visitor typed, which is shown back, and the
    // CSRF token, which is masked afresh for every response (two identical requests differ there too).
    let same = |page: &common::Page, email: &str| {
        page.body
            .replace(email, "EMAIL")
            .replace(&page.csrf_token(), "TOKEN")
    };
    assert_eq!(
        same(&unknown, "nobody@example.com"),
        same(&wrong, "alice@example.com")
    );
    assert!(unknown.set_cookie_value(SESSION_COOKIE).is_none());
    assert!(wrong.set_cookie_value(SESSION_COOKIE).is_none());
    app.stop().await;
}

#[tokio::test]
async fn sign_in_is_throttled_per_account_and_address() {
    let app = TestApp::start().await;
    app.browser().registered("alice@example.com").await;
    let b = app.browser();
    for i in 0..keycard_demo::domain::throttle::MAX_FAILURES {
        let res = b.sign_in("alice@example.com", "wrong password!").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Locked now, even with the right password: nothing is checked.
    let res = b.sign_in("alice@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.body.contains("Too many failed sign-in attempts"));
    let retry: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    // The email is normalized before it is counted.
    let res = b.sign_in(" ALICE@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);

    // Another address is not locked out (no lockout of the real user by a stranger).
    let elsewhere = app.browser_from("127.0.0.2".parse::<IpAddr>().unwrap());
    elsewhere.signed_in("alice@example.com").await;
    // Another account from the same address is not locked out either.
    b.registered("bob@example.com").await;

    // After the window, the pair may try again.
    app.advance(15 * 60);
    let b2 = app.browser();
    b2.signed_in("alice@example.com").await;
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_throttle_bucket() {
    // One reverse proxy in front (every request's TCP peer is 127.0.0.1), configured as such.
    let app = TestApp::start_with(|c| c.client_ip = ClientIpSource::RightmostForwardedFor).await;
    app.browser().registered("alice@example.com").await;
    let guesser = app.browser_behind_proxy("203.0.113.7");
    for i in 0..keycard_demo::domain::throttle::MAX_FAILURES {
        let res = guesser
            .sign_in("alice@example.com", "wrong password!")
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = guesser.sign_in("alice@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);

    // Alice, behind the same proxy, has a bucket of her own: she signs in.
    let alice = app.browser_behind_proxy("198.51.100.20");
    alice.signed_in("alice@example.com").await;
    // The session layer took her address by the same rule.
    let sessions = alice.get("/sessions").await;
    assert_eq!(sessions.status, StatusCode::OK);
    assert!(sessions.body.contains("198.51.100.20"), "{}", sessions.body);
    // The proxy appends to what the client sent: only the rightmost entry counts, so a guesser cannot
    // pick a fresh bucket by sending one of its own.
    let spoofing = app.browser_behind_proxy("10.9.9.9, 203.0.113.7");
    let res = spoofing.sign_in("alice@example.com", PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

#[tokio::test]
async fn without_a_trusted_proxy_x_forwarded_for_does_not_open_a_new_throttle_bucket() {
    // The default (`connect-info`): the TCP peer counts, whatever `X-Forwarded-For` says.
    let app = TestApp::start().await;
    app.browser().registered("alice@example.com").await;
    for i in 0..keycard_demo::domain::throttle::MAX_FAILURES {
        let b = app.browser_behind_proxy(&format!("203.0.113.{i}"));
        let res = b.sign_in("alice@example.com", "wrong password!").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = app
        .browser_behind_proxy("198.51.100.20")
        .sign_in("alice@example.com", PASSWORD)
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

#[tokio::test]
async fn a_pow_hash_verifies_and_is_upgraded_to_argon2id_on_sign_in() {
    // PBKDF2-SHA512, 100,000 iterations: computed with Python's hashlib.pbkdf2_hmac.
    const POW_HASH: &str = "$pbkdf2-sha512$100000$bGF0Y2hrZXktZGVtby1wdw==$Qqt/Iugj3GSCbrEqTnUD4IdHDecAiBexdxvJnLq6hQPVPioa0QtDGxrniPvknDOi5Lulsu3HKO0fHka6eS2YFw==";
    let app = TestApp::start().await;
    let user = users::create(app.db(), "pow@example.com", POW_HASH, 1)
        .await
        .expect("insert a user migrated from Pow");
    let b = app.browser();
    assert_eq!(
        b.sign_in("pow@example.com", "wrong password!").await.status,
        StatusCode::UNAUTHORIZED
    );
    b.signed_in("pow@example.com").await;
    let stored = users::password_hash(app.db(), &user.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.starts_with("$argon2id$"), "rehashed: {stored}");
    let again = app.browser();
    again.signed_in("pow@example.com").await;
    app.stop().await;
}

// ----- the guide: cached profile, reloaded pro page, sync on plan change -----

#[tokio::test]
async fn profile_shows_the_cached_plan_while_pro_reads_the_database() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    assert_eq!(b.get("/pro").await.status, StatusCode::FORBIDDEN);

    // Changed behind the cache's back (another process, a console): the database says pro.
    set_db_plan(&app, "alice@example.com", Plan::Pro).await;
    let profile = b.get("/profile").await;
    assert_eq!(
        plan_in(&profile.body),
        "free",
        "the profile shows the cached copy"
    );
    assert_eq!(b.plan().await.as_deref(), Some("free"));
    let pro = b.get("/pro").await;
    assert_eq!(pro.status, StatusCode::OK, "/pro reloads from the database");
    assert!(pro.body.contains("your plan is <strong>pro</strong>"));
    // ReloadUser assigns for this request only: the cache is untouched.
    assert_eq!(b.plan().await.as_deref(), Some("free"));

    // And the other way round: the cache says pro (after a sync), the database says free.
    let res = b.post("/plan", &[("plan", "pro")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    set_db_plan(&app, "alice@example.com", Plan::Free).await;
    assert_eq!(plan_in(&b.get("/profile").await.body), "pro");
    assert_eq!(b.get("/pro").await.status, StatusCode::FORBIDDEN);

    // A new sign-in caches the database's copy.
    b.sign_out().await;
    b.signed_in("alice@example.com").await;
    assert_eq!(plan_in(&b.get("/profile").await.body), "free");
    app.stop().await;
}

#[tokio::test]
async fn plan_update_syncs_the_cache_and_rotates_the_session_cookie() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let old = b.session_cookie().expect("signed in");
    let other_session = app.browser();
    other_session.signed_in("alice@example.com").await;

    let edit = b.get("/plan/edit").await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.body.contains(r#"value="pro-trial""#));

    let res = b.post("/plan", &[("plan", "pro")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/profile"));
    let new = res
        .set_cookie_value(SESSION_COOKIE)
        .expect("sync sets a new session cookie");
    assert_ne!(new, old);
    assert_eq!(db_plan(&app, "alice@example.com").await, Plan::Pro);

    let profile = b.get("/profile").await;
    assert!(profile.body.contains("Plan updated successfully."));
    assert_eq!(plan_in(&profile.body), "pro");
    assert!(
        !b.get("/profile")
            .await
            .body
            .contains("Plan updated successfully."),
        "a flash shows once"
    );
    assert_eq!(b.get("/pro").await.status, StatusCode::OK);

    // The old cookie stopped working at once (no grace after a privilege change).
    let client = app.raw();
    let replay = get_with_cookie(&client, &app.url("/me"), &cookie_header(&old)).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    let replay = get_with_cookie(&client, &app.url("/profile"), &cookie_header(&old)).await;
    assert_eq!(replay.status, StatusCode::SEE_OTHER);
    let ok = get_with_cookie(&client, &app.url("/me"), &cookie_header(&new)).await;
    assert_eq!(ok.status, StatusCode::OK);

    // One cached user per user: the other session sees the synced plan too, without signing in again.
    assert_eq!(other_session.plan().await.as_deref(), Some("pro"));
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_plan_is_422_and_changes_nothing() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let before = b.session_cookie();
    for bad in ["gold", "", "PRO"] {
        let res = b.post("/plan", &[("plan", bad)]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert!(res
            .body
            .contains("Plan must be one of free, pro, pro-trial"));
        assert!(res.set_cookie_value(SESSION_COOKIE).is_none());
    }
    assert_eq!(b.session_cookie(), before);
    assert_eq!(db_plan(&app, "alice@example.com").await, Plan::Free);
    app.stop().await;
}

#[tokio::test]
async fn the_plan_job_ends_a_trial_for_every_signed_in_session() {
    let app = TestApp::start_with(|c| {
        c.trial = Duration::from_secs(60);
        c.plan_job_interval = Duration::from_millis(50);
    })
    .await;
    let a = app.browser_as("browser-a");
    let b = app.browser_as("browser-b");
    a.registered("alice@example.com").await;
    b.signed_in("alice@example.com").await;

    let res = a.post("/plan", &[("plan", "pro-trial")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let (user, _) = users::find_with_password_by_email(app.db(), "alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.plan, Plan::ProTrial);
    assert_eq!(
        user.plan_expires_at,
        Some(app.app.state.clock.now_secs() + 60),
        "pro-trial ends TRIAL_SECS from now"
    );
    assert_eq!(a.plan().await.as_deref(), Some("pro-trial"));
    assert_eq!(b.plan().await.as_deref(), Some("pro-trial"));
    assert_eq!(b.get("/pro").await.status, StatusCode::OK);

    // The trial ends. The pro page knows at once (database + expiry); the job then downgrades.
    app.advance(61);
    assert_eq!(b.get("/pro").await.status, StatusCode::FORBIDDEN);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if a.plan().await.as_deref() == Some("free") && b.plan().await.as_deref() == Some("free") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the background job did not downgrade the trial in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(db_plan(&app, "alice@example.com").await, Plan::Free);
    // Both sessions stayed signed in and show `free` on their profile (no sign-in needed).
    assert_eq!(plan_in(&a.get("/profile").await.body), "free");
    assert_eq!(plan_in(&b.get("/profile").await.body), "free");
    // Running the job again finds nothing.
    let report = app.app.plan_job.run_once().await.unwrap();
    assert_eq!(report.downgraded, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_deleted_user_is_signed_out_by_reload_user() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let cookie = b.session_cookie().unwrap();
    let (user, _) = users::find_with_password_by_email(app.db(), "alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(users::delete(app.db(), &user.id).await.unwrap());

    // The cached pages do not know yet…
    assert!(b.me().await.is_some());
    // …the reloaded page does: session ended, cookie cleared, the request continues anonymous.
    let pro = b.get("/pro").await;
    assert_eq!(pro.status, StatusCode::SEE_OTHER);
    assert_eq!(pro.location(), Some("/session/new"));
    assert!(pro
        .set_cookies()
        .iter()
        .any(|c| c.starts_with(&format!("{SESSION_COOKIE}=")) && c.contains("Max-Age=0")));
    assert!(b.me().await.is_none());
    let replay = get_with_cookie(&app.raw(), &app.url("/me"), &cookie_header(&cookie)).await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "ended on the server"
    );
    app.stop().await;
}

// ----- session lifetimes -----

fn short_policy(c: &mut keycard_demo::config::Config) {
    c.policy = Policy::default()
        .with_idle_ttl(Duration::from_secs(60))
        .with_renewal_interval(Duration::from_secs(20))
        .with_grace(Duration::from_secs(5))
        .with_absolute_ttl(Duration::from_secs(100));
}

#[tokio::test]
async fn renewal_rotates_the_token_and_the_old_one_works_only_inside_the_grace_window() {
    let app = TestApp::start_with(short_policy).await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let first = b.session_cookie().unwrap();
    let client = app.raw();

    app.advance(10);
    let res = b.get("/me").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.set_cookie_value(SESSION_COOKIE).is_none(),
        "no rotation before the renewal interval"
    );

    app.advance(11); // 21 s after sign-in
    let res = b.get("/me").await;
    assert_eq!(res.status, StatusCode::OK);
    let second = res
        .set_cookie_value(SESSION_COOKIE)
        .expect("the first request after the renewal interval rotates the token");
    assert_ne!(second, first);

    // A parallel request still carrying the old token, inside the grace window: same session, no rotation.
    let res = get_with_cookie(&client, &app.url("/me"), &cookie_header(&first)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["email"], "alice@example.com");
    assert!(res.set_cookie_value(SESSION_COOKIE).is_none());

    app.advance(6); // grace over
    let res = get_with_cookie(&client, &app.url("/me"), &cookie_header(&first)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = get_with_cookie(&client, &app.url("/me"), &cookie_header(&second)).await;
    assert_eq!(res.status, StatusCode::OK);

    // Idle: no request for longer than the idle lifetime since the last renewal.
    app.advance(61);
    assert!(b.me().await.is_none());
    app.stop().await;
}

#[tokio::test]
async fn the_absolute_lifetime_ends_even_an_active_session() {
    let app = TestApp::start_with(short_policy).await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    for _ in 0..4 {
        app.advance(21);
        assert!(b.me().await.is_some(), "renewed while active");
    }
    app.advance(21); // 105 s after sign-in
    assert!(b.me().await.is_none());
    app.stop().await;
}

// ----- attacks on the cookie -----

#[tokio::test]
async fn a_cookie_planted_before_sign_in_is_not_the_one_after() {
    let app = TestApp::start().await;
    // The attacker signs in to their own account and plants that cookie in the victim's browser.
    let attacker = app.browser();
    attacker.registered("mallory@example.com").await;
    let planted = attacker.session_cookie().unwrap();
    let victim = app.browser();
    victim.plant(SESSION_COOKIE, &planted);
    assert_eq!(victim.me().await.unwrap()["email"], "mallory@example.com");

    victim.registered("victim@example.com").await;
    let after = victim.session_cookie().unwrap();
    assert_ne!(after, planted);
    assert_eq!(victim.me().await.unwrap()["email"], "victim@example.com");
    // The planted cookie does not lead into the victim's account (its session ended at the sign-in).
    let res = get_with_cookie(&app.raw(), &app.url("/me"), &cookie_header(&planted)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);

    // A made-up cookie value planted before sign-in is replaced as well.
    let other = app.browser();
    other.plant(SESSION_COOKIE, &"A".repeat(86));
    other.signed_in("victim@example.com").await;
    assert_ne!(other.session_cookie().unwrap(), "A".repeat(86));
    assert!(other.me().await.is_some());
    app.stop().await;
}

#[tokio::test]
async fn tampered_malformed_and_duplicate_cookies_are_anonymous_never_500() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let good = b.session_cookie().unwrap();
    let client = app.raw();
    let me = app.url("/me");

    let mut chars: Vec<char> = good.chars().collect();
    chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let cases = [
        cookie_header(&tampered),
        cookie_header(&good[..good.len() - 1]),
        cookie_header(&format!("{good}A")),
        cookie_header(""),
        cookie_header(&"A".repeat(4 * 1024)),
        cookie_header(&"A".repeat(16 * 1024)),
        format!("{}; {}", cookie_header(&good), cookie_header(&good)),
        format!("{}; {}", cookie_header(&good), cookie_header(&tampered)),
    ];
    for (i, cookie) in cases.iter().enumerate() {
        let res = get_with_cookie(&client, &me, cookie).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "case {i}");
        let res = get_with_cookie(&client, &app.url("/profile"), cookie).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "case {i}");
    }
    // Not UTF-8.
    let res = client
        .get(&me)
        .header(
            "cookie",
            HeaderValue::from_bytes(b"keycard_session=\xff\xfe\xfd").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The good cookie still works.
    let res = get_with_cookie(&client, &me, &cookie_header(&good)).await;
    assert_eq!(res.status, StatusCode::OK);
    app.stop().await;
}

// ----- CSRF -----

#[tokio::test]
async fn state_changing_posts_need_a_valid_csrf_token_and_no_cross_site_marker() {
    let app = TestApp::start().await;
    app.browser().registered("alice@example.com").await;
    let b = app.browser();
    let token = b.csrf().await;
    let form = |t: &str| {
        vec![
            ("_csrf_token", t.to_owned()),
            ("email", "alice@example.com".to_owned()),
            ("password", PASSWORD.to_owned()),
        ]
    };
    // Sign-in (login CSRF): missing, wrong, another browser's token.
    let missing = b
        .post_raw(
            "/session",
            &[("email", "alice@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = b
        .client
        .post(app.url("/session"))
        .form(&form("AAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let stranger_token = app.browser().csrf().await;
    let res = b
        .client
        .post(app.url("/session"))
        .form(&form(&stranger_token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A token without its cookie.
    let res = app
        .raw()
        .post(app.url("/session"))
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The right token, but the browser says the request came from another site.
    let res = b
        .client
        .post(app.url("/session"))
        .header("sec-fetch-site", "cross-site")
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(b.me().await.is_none(), "none of those signed in");
    // Same-origin with the right token goes through.
    let res = b
        .client
        .post(app.url("/session"))
        .header("sec-fetch-site", "same-origin")
        .form(&form(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(b.me().await.is_some());

    // Signed in: plan change, password change, sign-out, revocation without a token are refused.
    for path in [
        "/plan",
        "/account/password",
        "/session/delete",
        "/sessions/delete-others",
        "/registration",
    ] {
        let res = b
            .post_raw(path, &[("plan", "pro"), ("password", "x")])
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(db_plan(&app, "alice@example.com").await, Plan::Free);
    assert!(b.me().await.is_some(), "still signed in");

    // The header form works for non-form clients.
    let token = b.csrf().await;
    let res = b
        .client
        .post(app.url("/session/delete"))
        .header("x-csrf-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(b.me().await.is_none());
    app.stop().await;
}

#[tokio::test]
async fn sign_in_replaces_the_csrf_cookie() {
    let app = TestApp::start().await;
    let b = app.browser();
    let before_token = b.csrf().await;
    let before = b.cookie("keycard_csrf").unwrap();
    b.registered("alice@example.com").await;
    let after = b.cookie("keycard_csrf").unwrap();
    assert_ne!(before, after);
    // A token from before sign-in no longer works.
    let res = b
        .post_raw("/plan", &[("_csrf_token", &before_token), ("plan", "pro")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn get_never_changes_state() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    for path in [
        "/session/delete",
        "/plan?plan=pro",
        "/sessions/delete-others",
        "/account/password",
        "/registration?email=x@y.z&password=12345678&password_confirmation=12345678",
        "/session?email=alice@example.com&password=x",
    ] {
        let res = b.get(path).await;
        assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
    }
    assert!(b.me().await.is_some());
    assert_eq!(db_plan(&app, "alice@example.com").await, Plan::Free);
    app.stop().await;
}

#[tokio::test]
async fn sign_out_replaces_the_csrf_cookie_and_the_sessions_tokens_die() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let signed_in_token = b.csrf().await;
    let before = b.cookie("keycard_csrf").unwrap();
    assert_eq!(b.sign_out().await.status, StatusCode::SEE_OTHER);
    let after = b.cookie("keycard_csrf").unwrap();
    assert_ne!(before, after, "rotated at sign-out");
    // The signed-in session's token is useless now, for sign-in as much as for anything else.
    let res = b
        .post_raw(
            "/session",
            &[
                ("_csrf_token", &signed_in_token),
                ("email", "alice@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    b.signed_in("alice@example.com").await;
    app.stop().await;
}

// ----- W1 (issue 9): the attacker's own CSRF cookie and token, a foreign Origin, Sec-Fetch-Site -----

/// The attacker's own anonymous CSRF cookie and the token that goes with it, from a fresh browser of
/// theirs: what they would plant in a victim's browser from a sibling subdomain or over plain http.
async fn attackers_pair(app: &TestApp) -> (String, String) {
    let attacker = app.browser_as("attacker");
    let token = attacker.csrf().await;
    let cookie = attacker
        .cookie("keycard_csrf")
        .expect("an anonymous CSRF cookie");
    (cookie, token)
}

/// W1, signed in: the victim's session cookie plus the attacker's planted CSRF cookie and token. This
/// used to pass (the token was bound only to the CSRF cookie): `POST /plan` was accepted. The token of a
/// signed-in request must now be that session's, so it fails, even from the app's own origin.
#[tokio::test]
async fn w1_a_planted_csrf_cookie_and_token_cannot_act_for_a_signed_in_victim() {
    let app = TestApp::start().await;
    let (cookie, token) = attackers_pair(&app).await;
    let victim = app.browser();
    victim.registered("victim@example.com").await;
    victim.plant("keycard_csrf", &cookie);
    assert_eq!(
        victim.cookie("keycard_csrf"),
        Some(cookie.clone()),
        "planted"
    );
    let origin = app.base.clone();
    for (path, form) in [
        ("/plan", vec![("plan", "pro")]),
        ("/sessions/delete-others", vec![]),
        ("/session/delete", vec![]),
        (
            "/account/password",
            vec![
                ("current_password", PASSWORD),
                ("password", "attacker chose this"),
                ("password_confirmation", "attacker chose this"),
            ],
        ),
    ] {
        let mut fields = vec![("_csrf_token", token.as_str())];
        fields.extend(form);
        for headers in [vec![], vec![("origin", origin.as_str())]] {
            let res = victim.post_with_headers(path, &fields, &headers).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{path} {headers:?}");
            assert!(
                res.body.contains("security token"),
                "{path}: the refusal page"
            );
        }
    }
    assert_eq!(db_plan(&app, "victim@example.com").await, Plan::Free);
    assert_eq!(victim.me().await.unwrap()["email"], "victim@example.com");
    let c = app.browser();
    c.signed_in("victim@example.com").await; // the password did not change
    app.stop().await;
}

/// W1, login CSRF: the victim is anonymous and carries the attacker's planted CSRF cookie; the attacker's
/// page posts the attacker's own credentials with the matching token, to sign the victim into the
/// attacker's account. The token check alone passes (the pair is genuine); the browser's `Origin`,
/// `Referer` and `Sec-Fetch-Site` say where the form came from, and each is refused.
#[tokio::test]
async fn w1_login_csrf_into_the_attackers_account_is_refused() {
    let app = TestApp::start().await;
    app.browser().registered("mallory@example.com").await;
    let (cookie, token) = attackers_pair(&app).await;
    let victim = app.browser();
    victim.plant("keycard_csrf", &cookie);
    let form = [
        ("_csrf_token", token.as_str()),
        ("email", "mallory@example.com"),
        ("password", PASSWORD),
    ];
    let port = app.addr.port();
    let sibling = format!("http://evil.localhost:{port}");
    let other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1));
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("origin", "http://evil.example")],
        vec![("origin", &sibling)],
        vec![("origin", &other_port)],
        vec![("origin", "null")],
        vec![("referer", "http://evil.example/login-csrf.html")],
        vec![
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://evil.example"),
        ],
        vec![("sec-fetch-site", "same-site"), ("origin", &sibling)],
        vec![("sec-fetch-site", "same-site")],
        vec![("sec-fetch-site", "cross-site")],
    ];
    for headers in &cases {
        let res = victim.post_with_headers("/session", &form, headers).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(
            res.body.contains("another site"),
            "{headers:?}: {}",
            res.body
        );
        assert!(
            res.set_cookie_value(SESSION_COOKIE).is_none(),
            "{headers:?}"
        );
        assert!(victim.me().await.is_none(), "{headers:?}: not signed in");
    }
    // What stands in the way is the origin, not a broken test pair: the same planted pair, from the app's
    // own origin, is a sign-in. (A browser on the attacker's page never sends that; with secure cookies
    // the `__Host-` prefix also keeps a sibling subdomain or plain http from planting the cookie.)
    let own = [
        ("origin", app.base.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    let res = victim.post_with_headers("/session", &form, &own).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    app.stop().await;
}

/// W1's last part: a foreign `Origin` and `Sec-Fetch-Site: same-site` were accepted with a valid token.
#[tokio::test]
async fn w1_a_foreign_origin_or_same_site_is_refused_even_with_the_victims_own_token() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let token = b.csrf().await;
    let form = [("_csrf_token", token.as_str()), ("plan", "pro")];
    let port = app.addr.port();
    let sibling = format!("http://www.localhost:{port}");
    for headers in [
        vec![("origin", "http://evil.example")],
        vec![("origin", sibling.as_str())],
        vec![("referer", "http://evil.example/")],
        vec![("sec-fetch-site", "same-site")],
        vec![("sec-fetch-site", "cross-site")],
    ] {
        let res = b.post_with_headers("/plan", &form, &headers).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{headers:?}");
    }
    assert_eq!(db_plan(&app, "alice@example.com").await, Plan::Free);
    // The app's own origins: the bound address, and localhost on the same port.
    let localhost = format!("http://localhost:{port}");
    for origin in [app.base.as_str(), localhost.as_str()] {
        let headers = [("origin", origin), ("sec-fetch-site", "same-origin")];
        let token = b.csrf().await;
        let form = [("_csrf_token", token.as_str()), ("plan", "pro")];
        let res = b.post_with_headers("/plan", &form, &headers).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{origin}");
    }
    let referer = format!("{}/plan/edit", app.base);
    let token = b.csrf().await;
    let form = [("_csrf_token", token.as_str()), ("plan", "free")];
    let res = b
        .post_with_headers("/plan", &form, &[("referer", referer.as_str())])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(db_plan(&app, "alice@example.com").await, Plan::Free);
    app.stop().await;
}

// ----- W3 (issue 9): security headers on every page, no inline script or style -----

/// Every page the demo serves, anonymous and signed in, with the statuses they answer.
async fn every_page(app: &TestApp) -> Vec<(String, common::Page)> {
    let mut pages = Vec::new();
    let anon = app.browser();
    for path in [
        "/",
        "/registration/new",
        "/session/new",
        "/profile",
        "/me",
        "/healthz",
        "/static/app.css",
        "/nowhere",
    ] {
        pages.push((format!("anonymous GET {path}"), anon.get(path).await));
    }
    pages.push((
        "CSRF refusal".into(),
        anon.post_raw("/session", &[("email", "x")]).await,
    ));
    pages.push((
        "failed sign-in".into(),
        anon.sign_in("nobody@example.com", PASSWORD).await,
    ));
    pages.push((
        "registration errors".into(),
        anon.post("/registration", &[("email", "bad")]).await,
    ));
    let b = app.browser();
    b.registered("alice@example.com").await;
    for path in ["/", "/profile", "/plan/edit", "/pro", "/sessions", "/me"] {
        pages.push((format!("signed-in GET {path}"), b.get(path).await));
    }
    pages.push((
        "plan errors".into(),
        b.post("/plan", &[("plan", "gold")]).await,
    ));
    pages.push((
        "password errors".into(),
        b.post("/account/password", &[("password", "x")]).await,
    ));
    pages.push((
        "plan update".into(),
        b.post("/plan", &[("plan", "pro")]).await,
    ));
    pages.push(("flash page".into(), b.get("/profile").await));
    pages.push(("pro page".into(), b.get("/pro").await));
    pages
}

#[tokio::test]
async fn w3_every_response_carries_the_security_headers() {
    let app = TestApp::start().await;
    for (what, page) in every_page(&app).await {
        let h = &page.headers;
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{what}: no CSP"))
            .to_str()
            .unwrap();
        for directive in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{what}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{what}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(h["referrer-policy"], "same-origin", "{what}");
        // Plain http on loopback: no HSTS (the secure configuration has its own test).
        assert!(h.get("strict-transport-security").is_none(), "{what}");
    }
    app.stop().await;
}

#[tokio::test]
async fn w3_no_page_has_inline_script_or_style_and_the_stylesheet_is_a_file() {
    let app = TestApp::start().await;
    let mut html_pages = 0;
    for (what, page) in every_page(&app).await {
        let html = page
            .headers
            .get("content-type")
            .is_some_and(|ct| ct.to_str().unwrap().starts_with("text/html"));
        if !html {
            continue; // JSON, the stylesheet itself, plain text
        }
        let body = page.body.to_ascii_lowercase();
        for inline in ["<script", "<style", "style=", "javascript:", " on"] {
            let found = match inline {
                // Event handler attributes (`onclick=`, …): ` on` followed by letters and `=`.
                " on" => body.split(" on").skip(1).any(|rest| {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphabetic())
                        .collect();
                    !name.is_empty() && rest[name.len()..].starts_with('=')
                }),
                "<script" => has_inline_script(&body),
                other => body.contains(other),
            };
            assert!(!found, "{what}: inline {inline:?} in {}", page.body);
        }
        html_pages += 1;
        assert!(
            body.contains(r#"<link rel="stylesheet" href="/static/app.css">"#),
            "{what}"
        );
    }
    assert!(html_pages >= 15, "{html_pages} pages checked");
    let css = app.browser().get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(css.body.contains(".flash"), "the rules moved into the file");
    assert!(
        css.set_cookies().is_empty(),
        "no cookie work for the stylesheet"
    );
    app.stop().await;
}

// ----- W5 (issue 9): secure cookies everywhere but a loopback address -----

/// Behind an HTTPS proxy (here: the test talks plain http to the app, as the proxy would): every cookie
/// is `Secure` with the `__Host-` prefix, HSTS is sent, and forms must come from `PUBLIC_ORIGIN`.
#[tokio::test]
async fn w5_secure_configuration_marks_every_cookie_secure_and_host_prefixed() {
    const ORIGIN: &str = "https://demo.example";
    let app = TestApp::start_with(|c| {
        c.cookie_secure = true;
        c.public_origin = Some(ORIGIN.into());
    })
    .await;
    let raw = app.raw();
    let page = get_with_cookie(&raw, &app.url("/session/new"), "").await;
    assert_eq!(
        page.headers["strict-transport-security"],
        "max-age=31536000"
    );
    let csrf = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-keycard_csrf="))
        .expect("the CSRF cookie is __Host- prefixed");
    assert!(csrf.contains("; Secure") && csrf.contains("Path=/") && !csrf.contains("Domain"));
    let csrf_value = page.set_cookie_value("__Host-keycard_csrf").unwrap();
    let token = page.csrf_token();
    let register = |origin: &'static str| {
        let raw = raw.clone();
        let url = app.url("/registration");
        let cookie = format!("__Host-keycard_csrf={csrf_value}");
        let token = token.clone();
        async move {
            raw.post(url)
                .header("cookie", cookie)
                .header("origin", origin)
                .form(&[
                    ("_csrf_token", token.as_str()),
                    ("email", "alice@example.com"),
                    ("password", PASSWORD),
                    ("password_confirmation", PASSWORD),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // The plain-http origin of the same host is not the app's.
    let res = register("http://demo.example").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = register(ORIGIN).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("__Host-keycard_session="))
        .expect("the session cookie is __Host- prefixed");
    assert!(session.contains("; Secure"), "{session}");
    assert!(
        set.iter()
            .all(|c| c.starts_with("__Host-") && c.contains("Secure")),
        "{set:?}"
    );
    // The flash cookie too (sign-out sets one).
    let session_value = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-keycard_session=")
        .to_owned();
    let cookies = format!("__Host-keycard_session={session_value}");
    let page = get_with_cookie(&raw, &app.url("/profile"), &cookies).await;
    assert_eq!(page.status, StatusCode::OK);
    let res = raw
        .post(app.url("/session/delete"))
        .header("cookie", &cookies)
        .header("origin", ORIGIN)
        .form(&[("_csrf_token", page.csrf_token())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set: Vec<&str> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        set.iter().any(|c| c.starts_with("__Host-keycard_flash=")),
        "{set:?}"
    );
    assert!(
        set.iter()
            .all(|c| c.starts_with("__Host-") && c.contains("Secure")),
        "{set:?}"
    );
    app.stop().await;
}

// ----- password change -----

#[tokio::test]
async fn password_change_ends_other_sessions_and_rotates_this_one() {
    let app = TestApp::start().await;
    let a = app.browser();
    let b = app.browser();
    a.registered("alice@example.com").await;
    b.signed_in("alice@example.com").await;
    let a_old = a.session_cookie().unwrap();

    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        [
            ("current_password", current),
            ("password", new),
            ("password_confirmation", confirm),
        ]
    };
    let res = a
        .post(
            "/account/password",
            &change("wrong password!", "new password 42", "new password 42"),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Current password is incorrect"));
    let res = a
        .post("/account/password", &change(PASSWORD, "short", "short"))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Password must be at least 8 characters"));
    let res = a
        .post(
            "/account/password",
            &change(PASSWORD, "new password 42", "new password 43"),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("does not match"));
    assert!(b.me().await.is_some(), "failed attempts change nothing");

    let res = a
        .post(
            "/account/password",
            &change(PASSWORD, "new password 42", "new password 42"),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/profile"));
    let a_new = res
        .set_cookie_value(SESSION_COOKIE)
        .expect("a new token for this session");
    assert_ne!(a_new, a_old);
    assert!(a.get("/profile").await.body.contains("Password changed."));
    assert!(a.me().await.is_some(), "this session continues");
    assert!(b.me().await.is_none(), "the other session ended");
    let replay = get_with_cookie(&app.raw(), &app.url("/me"), &cookie_header(&a_old)).await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "the old token died at once"
    );

    let c = app.browser();
    assert_eq!(
        c.sign_in("alice@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        c.sign_in("alice@example.com", "new password 42")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    app.stop().await;
}

// ----- /me, sessions, pages -----

#[tokio::test]
async fn me_is_json_from_the_cached_user_or_a_401_json() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b.get("/me").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.json(), serde_json::json!({"error": "not signed in"}));
    b.registered("alice@example.com").await;
    let res = b.get("/me").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(res.headers["cache-control"], "no-store");
    assert_eq!(
        res.json(),
        serde_json::json!({"email": "alice@example.com", "plan": "free"})
    );
    app.stop().await;
}

/// The id of the session row that shows `user_agent`.
fn session_id_of(html: &str, user_agent: &str) -> String {
    html.split(r#"<tr id="session-"#)
        .skip(1)
        .find(|row| row[..row.find("</tr>").expect("row end")].contains(user_agent))
        .map(|row| row[..32].to_owned())
        .unwrap_or_else(|| panic!("no session row for {user_agent}"))
}

#[tokio::test]
async fn sessions_can_be_listed_and_ended() {
    let app = TestApp::start().await;
    let a = app.browser_as("UA-one");
    let b = app.browser_as("UA-two");
    let c = app.browser_as("UA-three");
    a.registered("alice@example.com").await;
    b.signed_in("alice@example.com").await;
    c.signed_in("alice@example.com").await;
    let mallory = app.browser_as("UA-mallory");
    mallory.registered("mallory@example.com").await;

    let list = a.get("/sessions").await;
    assert_eq!(list.status, StatusCode::OK);
    for ua in ["UA-one", "UA-two", "UA-three"] {
        assert!(list.body.contains(ua), "{ua} listed");
    }
    assert!(!list.body.contains("UA-mallory"));
    assert_eq!(list.body.matches("This session").count(), 1);
    assert!(list.body.contains("127.0.0.1"));
    assert!(list.body.contains(" UTC"));
    assert_eq!(list.body.matches(r#"<tr id="session-"#).count(), 3);
    let ids = ["UA-one", "UA-two", "UA-three"].map(|ua| session_id_of(&list.body, ua));
    assert!(list
        .body
        .contains(&format!(r#"<tr id="session-{}" class="current">"#, ids[0])));

    // Nobody can end somebody else's session.
    let res = mallory
        .post(&format!("/sessions/{}/delete", ids[2]), &[])
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(c.me().await.is_some());
    let res = a.post("/sessions/not-an-id/delete", &[]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    let res = a.post(&format!("/sessions/{}/delete", ids[1]), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/sessions"));
    assert!(b.me().await.is_none(), "b ended");
    assert!(c.me().await.is_some());

    let res = a.post("/sessions/delete-others", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(a
        .get("/sessions")
        .await
        .body
        .contains("Signed out 1 other session."));
    assert!(c.me().await.is_none(), "c ended");
    assert!(a.me().await.is_some(), "this one stays");
    assert!(mallory.me().await.is_some(), "other users are untouched");

    // Ending the current session signs out.
    let res = a.post(&format!("/sessions/{}/delete", ids[0]), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/"));
    assert!(a.me().await.is_none());
    app.stop().await;
}

#[tokio::test]
async fn pages_for_anonymous_visitors_and_health() {
    let app = TestApp::start().await;
    let b = app.browser();
    let res = b.get("/healthz").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, "ok");
    assert!(res.set_cookies().is_empty(), "no cookie work on /healthz");

    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    for link in [
        "/registration/new",
        "/session/new",
        "/profile",
        "/me",
        "/plan/edit",
        "/pro",
        "/sessions",
        "/healthz",
    ] {
        assert!(home.body.contains(&format!(r#"href="{link}""#)), "{link}");
    }
    assert_eq!(home.headers["cache-control"], "no-store");
    for path in ["/profile", "/plan/edit", "/pro", "/sessions"] {
        let res = b.get(path).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.location(), Some("/session/new"), "{path}");
    }
    // Anonymous POSTs (with a valid token) are sent to sign in too.
    for path in ["/plan", "/account/password", "/sessions/delete-others"] {
        let res = b.post(path, &[]).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.location(), Some("/session/new"), "{path}");
    }
    let res = b.post("/session/delete", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/nowhere").await.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn a_forged_flash_is_ignored() {
    let app = TestApp::start().await;
    let b: Browser = app.browser();
    b.plant("keycard_flash", "SGFja2Vk.AAAA");
    let home = b.get("/").await;
    assert!(!home.body.contains("Hacked"));
    assert!(home
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("keycard_flash=") && c.contains("Max-Age=0")));
    app.stop().await;
}

#[tokio::test]
async fn cli_set_plan_updates_the_database_and_the_cache_it_can_reach() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let mut out = Vec::new();
    let user = keycard_demo::domain::plan_admin::set_plan(
        &app.config,
        " Alice@Example.com",
        Plan::Pro,
        &mut out,
    )
    .await
    .expect("set-plan");
    assert_eq!(user.plan, Plan::Pro);
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("Updated alice@example.com: plan is now pro."),
        "{out}"
    );
    assert_eq!(b.get("/pro").await.status, StatusCode::OK);
    if app.config.cache.is_shared() {
        // A shared cache (Redis): the CLI updated the one cached copy, so the cached pages see it at once.
        assert!(out.contains("the cached user was updated"), "{out}");
        assert_eq!(b.plan().await.as_deref(), Some("pro"));
    } else {
        // Exactly what it says: /pro sees it at once, the cached pages on the next sign-in or sync.
        assert!(out.contains("cannot reach it"), "{out}");
        assert_eq!(b.plan().await.as_deref(), Some("free"));
        b.sign_out().await;
        b.signed_in("alice@example.com").await;
        assert_eq!(b.plan().await.as_deref(), Some("pro"));
    }

    let err = keycard_demo::domain::plan_admin::set_plan(
        &app.config,
        "ghost@example.com",
        Plan::Pro,
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("no user with email"));
    app.stop().await;
}

// ----- pages that read like a product (issue 14) -----

/// Whether `html`'s navigation is the signed-in one for `email`.
fn has_signed_in_nav(html: &str, email: &str) -> bool {
    html.contains(&format!("Signed in as <strong>{email}</strong>"))
        && html.contains(r#"action="/session/delete""#)
        && html.contains(r#"href="/sessions""#)
}

#[tokio::test]
async fn a_welcome_flash_after_sign_up_and_sign_in() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let profile = b.get("/profile").await;
    assert!(
        profile
            .body
            .contains("Welcome to the keycard demo, alice@example.com!"),
        "{}",
        profile.body
    );
    b.sign_out().await;
    b.signed_in("alice@example.com").await;
    let profile = b.get("/profile").await;
    assert!(profile.body.contains("Welcome back, alice@example.com."));
    assert!(
        !b.get("/profile").await.body.contains("Welcome back"),
        "a flash shows once"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_sign_in_page_says_why_a_session_ended_once() {
    let app = TestApp::start().await;
    let phone = app.browser_as("phone");
    let laptop = app.browser_as("laptop");
    phone.registered("alice@example.com").await;
    laptop.signed_in("alice@example.com").await;

    // Revoked from the laptop: the phone's next page sends it to sign in, which says why.
    let list = laptop.get("/sessions").await;
    let phone_id = session_id_of(&list.body, "phone");
    laptop
        .post(&format!("/sessions/{phone_id}/delete"), &[])
        .await;
    let res = phone.get("/profile").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/session/new"));
    let sign_in = phone.get("/session/new").await;
    assert!(
        sign_in.body.contains("Your session has ended: you were signed out on another device, it expired, or your password was changed."),
        "{}",
        sign_in.body
    );
    assert!(
        sign_in
            .set_cookies()
            .iter()
            .any(|c| c.starts_with(&format!("{SESSION_COOKIE}=")) && c.contains("Max-Age=0")),
        "the dead cookie is cleared"
    );
    assert!(
        !phone
            .get("/session/new")
            .await
            .body
            .contains("Your session has ended"),
        "said once"
    );

    // A password change elsewhere ends it too; a plain sign-out is no surprise and says nothing.
    phone.signed_in("alice@example.com").await;
    let res = laptop
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", "new password 42"),
                ("password_confirmation", "new password 42"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/plan/edit").await.status, StatusCode::SEE_OTHER);
    assert!(phone
        .get("/session/new")
        .await
        .body
        .contains("Your session has ended"));
    laptop.sign_out().await;
    assert!(!laptop
        .get("/session/new")
        .await
        .body
        .contains("Your session has ended"));
    assert!(!app
        .browser()
        .get("/session/new")
        .await
        .body
        .contains("Your session has ended"));
    app.stop().await;
}

#[tokio::test]
async fn pro_explains_a_cache_that_disagrees_with_the_database_and_refresh_syncs_it() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let pro = b.get("/pro").await;
    assert!(
        !pro.body
            .contains("cached copy</strong> of your account, kept"),
        "nothing to explain while they agree"
    );

    // Changed behind the cache's back: the database says pro, the cached copy free.
    set_db_plan(&app, "alice@example.com", Plan::Pro).await;
    let pro = b.get("/pro").await;
    assert_eq!(pro.status, StatusCode::OK);
    assert!(
        pro.body.contains("Why your profile says free"),
        "{}",
        pro.body
    );
    assert!(pro.body.contains(r#"action="/account/refresh""#));
    assert_eq!(plan_in(&b.get("/profile").await.body), "free");

    let old = b.session_cookie().expect("signed in");
    let res = b.post("/account/refresh", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/profile"));
    let new = res
        .set_cookie_value(SESSION_COOKIE)
        .expect("a sync rotates the token");
    assert_ne!(new, old);
    let profile = b.get("/profile").await;
    assert_eq!(plan_in(&profile.body), "pro", "the cached copy caught up");
    assert!(profile
        .body
        .contains("Your account was refreshed from the database: your plan is pro."));
    assert!(!b.get("/pro").await.body.contains("Why your profile says"));

    // Anonymous: sent to sign in, like every signed-in form.
    let res = app.browser().post("/account/refresh", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/session/new"));
    app.stop().await;
}

#[tokio::test]
async fn error_pages_keep_a_signed_in_user_s_navigation() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;

    // The CSRF refusal (403): a form posted with a stale token.
    let res = b
        .post_raw("/plan", &[("_csrf_token", "stale"), ("plan", "pro")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("Request refused"));
    assert!(
        has_signed_in_nav(&res.body, "alice@example.com"),
        "{}",
        res.body
    );
    // Its sign-out form works.
    let token = res.csrf_token();
    let out = b
        .post_raw("/session/delete", &[("_csrf_token", token.as_str())])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(b.me().await.is_none());

    b.signed_in("alice@example.com").await;
    let res = b.get("/nowhere").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(has_signed_in_nav(&res.body, "alice@example.com"));
    let res = b
        .post("/sessions/00000000000000000000000000000000/delete", &[])
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(has_signed_in_nav(&res.body, "alice@example.com"));
    let res = b.get("/pro").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(has_signed_in_nav(&res.body, "alice@example.com"));

    // A visitor gets the visitor's navigation.
    let res = app.browser().get("/nowhere").await;
    assert!(res.body.contains(r#"href="/registration/new""#));
    assert!(!res.body.contains("Signed in as"));
    app.stop().await;
}

#[tokio::test]
async fn pages_link_one_stylesheet_and_an_icon_mark_the_current_page_and_inline_nothing() {
    let app = TestApp::start().await;
    let b = app.browser();
    let css = b.get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(css.body.contains(":focus-visible"), "visible focus");
    assert!(css.set_cookies().is_empty(), "no cookie work for assets");
    for icon in ["/static/favicon.svg", "/favicon.ico"] {
        let res = b.get(icon).await;
        assert_eq!(res.status, StatusCode::OK, "{icon}");
        assert_eq!(res.headers["content-type"], "image/svg+xml");
    }

    let anonymous = ["/", "/registration/new", "/session/new"];
    for path in anonymous {
        let page = b.get(path).await;
        assert_plain_page(path, &page.body);
    }
    b.registered("alice@example.com").await;
    for (path, link) in [
        ("/", None),
        ("/profile", Some("/profile")),
        ("/plan/edit", Some("/plan/edit")),
        ("/pro", Some("/pro")),
        ("/sessions", Some("/sessions")),
    ] {
        let page = b.get(path).await;
        assert_plain_page(path, &page.body);
        assert!(has_signed_in_nav(&page.body, "alice@example.com"), "{path}");
        assert_eq!(
            page.body.matches(r#"aria-current="page""#).count(),
            1,
            "{path}"
        );
        if let Some(link) = link {
            assert!(
                page.body
                    .contains(&format!(r#"<a href="{link}" aria-current="page">"#)),
                "{path} marks its link"
            );
        }
    }
    app.stop().await;
}

/// A `<script>` that is not a file of the app's own (`<script src="/static/…">`).
fn has_inline_script(html: &str) -> bool {
    html.split("<script")
        .skip(1)
        .any(|rest| !rest.starts_with(r#" src="/static/"#))
}

/// The page links the stylesheet and the icon, and has no inline script or style (a strict CSP allows
/// neither), and every form field has a label.
fn assert_plain_page(path: &str, html: &str) {
    assert!(
        html.contains(r#"<link rel="stylesheet" href="/static/app.css">"#),
        "{path}"
    );
    assert!(
        html.contains(r#"<link rel="icon" href="/static/favicon.svg""#),
        "{path}"
    );
    assert!(!has_inline_script(html), "{path} has an inline script");
    for inline in ["<style", " style=", "onclick=", "onsubmit="] {
        assert!(!html.contains(inline), "{path} has {inline}");
    }
    for input in html.split("<input").skip(1) {
        let tag = &input[..input.find('>').expect("tag end")];
        if tag.contains(r#"type="hidden""#)
            || tag.contains(" hidden")
            || tag.contains(r#"type="radio""#)
        {
            continue;
        }
        let id = tag
            .split(r#"id=""#)
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_else(|| panic!("{path}: an input without an id: {tag}"));
        assert!(
            html.contains(&format!(r#"<label for="{id}""#)),
            "{path}: no label for {id}"
        );
        assert!(
            tag.contains("autocomplete="),
            "{path}: {id} has no autocomplete"
        );
    }
}

#[tokio::test]
async fn sessions_show_device_names_and_relative_times_with_the_exact_time_on_hover() {
    let app = TestApp::start().await;
    let chrome = app.browser_as(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    );
    chrome.registered("alice@example.com").await;
    app.advance(150);
    let iphone = app.browser_as(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    );
    iphone.signed_in("alice@example.com").await;
    let list = iphone.get("/sessions").await;
    assert!(list.body.contains(">Chrome on Linux<"), "{}", list.body);
    assert!(list.body.contains(">Safari on iPhone<"));
    assert!(list.body.contains(">2 minutes ago</time>"), "{}", list.body);
    assert!(list.body.contains(">just now</time>"));
    assert!(list.body.contains(">in 30 minutes</time>"));
    // The exact time on hover, and machine-readable.
    assert!(list.body.contains(r#"<time datetime=""#));
    assert!(list.body.contains(r#" UTC">"#));
    assert!(list.body.contains("2 active sessions"));
    app.stop().await;
}
