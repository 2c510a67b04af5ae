//! Recovery codes: each stands in for the second factor once; new ones void the old.

use reqwest::StatusCode;

use crate::common::TestApp;
use crate::{codes_in, password_step, with_totp};

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_the_count_goes_down() {
    let app = TestApp::start().await;
    let (_owner, _phone, codes) = with_totp(&app, "ada@example.com").await;
    let (b, _) = password_step(&app, "ada@example.com").await;
    let upper = codes[0].to_uppercase();
    let ok = b.post("/session/two-factor", &[("code", &upper)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "case does not count");
    let profile = b.get("/profile").await;
    assert!(profile.body.contains("9 left"), "{}", profile.body);
    let (again, _) = password_step(&app, "ada@example.com").await;
    let reused = again
        .post("/session/two-factor", &[("code", &codes[0])])
        .await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED, "single use");
    let other = again
        .post("/session/two-factor", &[("code", &codes[1])])
        .await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn new_recovery_codes_void_the_old_ones() {
    let app = TestApp::start().await;
    let (owner, _phone, old) = with_totp(&app, "ada@example.com").await;
    let fresh = owner.post("/account/recovery-codes", &[]).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    let new = codes_in(&fresh.body);
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)));
    let (b, _) = password_step(&app, "ada@example.com").await;
    let stale = b.post("/session/two-factor", &[("code", &old[0])]).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);
    let ok = b.post("/session/two-factor", &[("code", &new[0])]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn recovery_codes_need_a_second_factor_first() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("ada@example.com").await;
    let p = b.post("/account/recovery-codes", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), Some("/profile"));
}

#[tokio::test]
async fn sixteen_concurrent_uses_of_one_recovery_code_sign_in_once() {
    let app = TestApp::start().await;
    let (_owner, _phone, codes) = with_totp(&app, "ada@example.com").await;
    let mut browsers = Vec::new();
    for _ in 0..16 {
        browsers.push(password_step(&app, "ada@example.com").await.0);
    }
    let code = codes[3].clone();
    let mut tasks = Vec::new();
    for b in browsers {
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            b.post("/session/two-factor", &[("code", &code)])
                .await
                .status
        }));
    }
    let mut signed_in = 0;
    for t in tasks {
        let status = t.await.expect("task");
        match status {
            StatusCode::SEE_OTHER => signed_in += 1,
            StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(signed_in, 1);
}
