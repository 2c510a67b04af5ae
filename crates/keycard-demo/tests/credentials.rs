//! Credential-bound sessions against the real demo router (issue 9, V1): a session signed in with the old
//! password never outlives a password change, whatever the order in which the requests finish.
//!
//! Runs on every store `.ci/run` gives the HTTP suite (`KEYCARD_TEST_DATABASE`, `KEYCARD_TEST_CACHE`).

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::{Browser, Page, TestApp, PASSWORD};
use reqwest::StatusCode;
use tokio::sync::mpsc;

/// How many sign-ins with the old password are in flight during each change (the attack's figure).
const ATTACKERS: usize = 6;
/// How many rounds of the race.
const ROUNDS: usize = 8;
const NEW_PASSWORD: &str = "a brand new passphrase";

async fn change_password(browser: &Browser, current: &str, new: &str) -> Page {
    browser
        .post(
            "/account/password",
            &[
                ("current_password", current),
                ("password", new),
                ("password_confirmation", new),
            ],
        )
        .await
}

/// What one round saw: sign-ins answered after the change was (they raced it), and how many of those were
/// `303` (a session was created, to be ended by the fingerprint).
#[derive(Debug, Default)]
struct Round {
    after_change: usize,
    created_after_change: usize,
}

/// One round: the victim changes the password while [`ATTACKERS`] sign-ins with the old one run, sent one
/// `step` apart from the start of the change so that some read the old hash before the change stores the
/// new one and finish after it (the attack's window).
async fn race(app: &TestApp, round: usize, step: Duration) -> Round {
    let email = format!("victim{round}@example.com");
    let victim = app.browser();
    victim.registered(&email).await;

    // Every attacker has fetched its sign-in form (and CSRF pair) before the race starts.
    let mut attackers = Vec::new();
    for i in 0..ATTACKERS {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 9, round as u8, i as u8 + 1));
        let b = app.browser_from(ip);
        let token = b.csrf().await;
        attackers.push((b, token));
    }
    // Who answered, in the order the answers came (`None` is the change).
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(Option<usize>, StatusCode)>();
    let change = {
        let done = done_tx.clone();
        tokio::spawn(async move {
            let page = change_password(&victim, PASSWORD, NEW_PASSWORD).await;
            let _ = done.send((None, page.status));
            (victim, page)
        })
    };
    let mut tasks = Vec::new();
    for (i, (b, token)) in attackers.into_iter().enumerate() {
        let email = email.clone();
        let done = done_tx.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(step * i as u32).await;
            let form = [
                ("_csrf_token", token.as_str()),
                ("email", email.as_str()),
                ("password", PASSWORD),
            ];
            let page = b.post_raw("/session", &form).await;
            let _ = done.send((Some(i), page.status));
            (b, page)
        }));
    }
    drop(done_tx);
    let (victim, change) = change.await.expect("the change task");
    assert_eq!(change.status, StatusCode::SEE_OTHER, "{}", change.body);
    let mut browsers = Vec::new();
    for t in tasks {
        browsers.push(t.await.expect("the sign-in task"));
    }
    let mut seen = Round::default();
    let mut change_seen = false;
    while let Some((who, status)) = done_rx.recv().await {
        match who {
            None => change_seen = true,
            Some(_) if change_seen => {
                seen.after_change += 1;
                seen.created_after_change += usize::from(status == StatusCode::SEE_OTHER);
            }
            Some(_) => {}
        }
    }

    for (i, (b, page)) in browsers.iter().enumerate() {
        assert!(
            matches!(
                page.status,
                StatusCode::SEE_OTHER | StatusCode::UNAUTHORIZED
            ),
            "round {round}, sign-in {i}: {} {}",
            page.status,
            page.body
        );
        assert!(
            b.me().await.is_none(),
            "round {round}: sign-in {i} with the old password ({}) survived the password change",
            page.status
        );
    }
    assert!(
        victim.me().await.is_some(),
        "round {round}: the session that changed the password stays signed in"
    );
    let fresh = app.browser_from(IpAddr::V4(Ipv4Addr::new(127, 8, round as u8, 1)));
    assert_eq!(
        fresh.sign_in(&email, NEW_PASSWORD).await.status,
        StatusCode::SEE_OTHER,
        "round {round}: the new password signs in"
    );
    assert!(fresh.me().await.is_some());
    seen
}

#[tokio::test]
async fn v1_sign_ins_with_the_old_password_never_outlive_a_password_change() {
    let app = TestApp::start().await;
    // A change costs two password hashes (check the current one, hash the new one): spread the sign-ins
    // over that time.
    let started = Instant::now();
    app.app
        .state
        .hasher
        .hash(PASSWORD)
        .await
        .expect("the hasher works");
    let step = started.elapsed() * 2 / ATTACKERS as u32;
    let (mut after, mut created) = (0, 0);
    for round in 0..ROUNDS {
        let seen = race(&app, round, step).await;
        after += seen.after_change;
        created += seen.created_after_change;
    }
    // Not asserted (it depends on scheduling): how many sign-ins actually raced the change.
    eprintln!(
        "v1: of {} sign-ins with the old password, {after} were answered after the change \
         ({created} of them with a session, which did not survive); none kept a session",
        ROUNDS * ATTACKERS
    );
    app.stop().await;
}

#[tokio::test]
async fn a_session_from_before_the_change_ends_at_its_next_request_even_if_not_deleted() {
    // The fingerprint alone ends it: sign in twice, change the password through the library only (the
    // database row and a sync, no delete of other sessions), and the other session is gone.
    let app = TestApp::start().await;
    let a = app.browser();
    let b = app.browser();
    a.registered("carol@example.com").await;
    b.signed_in("carol@example.com").await;
    let user =
        keycard_demo::domain::users::find_with_password_by_email(app.db(), "carol@example.com")
            .await
            .expect("the users database")
            .expect("carol exists")
            .0;
    let changed = keycard_demo::domain::users::change_password(app.db(), &user.id, "x", 0)
        .await
        .expect("the users database")
        .expect("carol exists");
    assert_eq!(changed.credentials_version, user.credentials_version + 1);
    app.app
        .state
        .cache
        .put_user(std::sync::Arc::new(changed))
        .await
        .expect("the cache takes the changed user");
    assert!(
        a.me().await.is_none(),
        "a's session had the old fingerprint"
    );
    assert!(
        b.me().await.is_none(),
        "b's session had the old fingerprint"
    );
    app.stop().await;
}
