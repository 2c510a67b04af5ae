//! `GET /pro` (`web/routes/pro.rs`): the page behind `ReloadUser`, where the database decides, beside the
//! cached profile; a deleted user is signed out there.

use keycard_demo::domain::users::{self, Plan};
use reqwest::StatusCode;

use crate::common::{get_with_cookie, TestApp, SESSION_COOKIE};
use crate::{cookie_header, plan_in, set_db_plan};

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
