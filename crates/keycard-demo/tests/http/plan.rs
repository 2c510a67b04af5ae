//! `GET /plan/edit`, `POST /plan` (`web/routes/plan.rs`): the guide's plan change (database update, then
//! a sync of the cached user), an unknown plan, the background plan job that ends trials, and the
//! command line's `set-plan`.

use std::time::Duration;

use keycard_demo::domain::users::{self, Plan};
use reqwest::StatusCode;

use crate::common::{get_with_cookie, TestApp, SESSION_COOKIE};
use crate::{cookie_header, db_plan, plan_in};

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
