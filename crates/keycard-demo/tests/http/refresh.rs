//! `POST /account/refresh` (`web/routes/refresh.rs`): the pro page explains a cached copy that disagrees
//! with the database, and the refresh syncs it.

use keycard_demo::domain::users::Plan;
use reqwest::StatusCode;

use crate::common::{TestApp, SESSION_COOKIE};
use crate::{plan_in, set_db_plan};

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
