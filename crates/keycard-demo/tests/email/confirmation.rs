//! Registration sends `/confirm/{token}`; confirming shows in `/me`; `POST /confirm/resend` supersedes.

use reqwest::StatusCode;

use crate::Mailed;

const SUBJECT: &str = "Confirm your email address";

#[tokio::test]
async fn registration_sends_a_link_that_confirms_the_address_once() {
    let Some(m) = Mailed::start("email::confirmation").await else {
        return;
    };
    let b = m.registered("confirm@example.com").await;
    assert_eq!(b.me().await.expect("signed in")["confirmed"], false);
    let page = b.get("/profile").await;
    assert!(page.body.contains("unconfirmed"), "the profile says so");
    let link = m.link(&m.mail("confirm@example.com", SUBJECT).await, "/confirm/");
    let page = b.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Confirm my email"));
    assert_eq!(
        b.me().await.expect("signed in")["confirmed"],
        false,
        "a GET confirms nothing"
    );
    let p = b.post(&link, &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(b.me().await.expect("signed in")["confirmed"], true);
    assert_eq!(
        b.post(&link, &[]).await.status,
        StatusCode::NOT_FOUND,
        "single use"
    );
}

#[tokio::test]
async fn a_new_confirmation_link_supersedes_the_first() {
    let Some(m) = Mailed::start("email::confirmation").await else {
        return;
    };
    let b = m.registered("again@example.com").await;
    let first = m.link(&m.mail("again@example.com", SUBJECT).await, "/confirm/");
    let p = b.post("/confirm/resend", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let second = m.link(
        &m.nth_mail("again@example.com", SUBJECT, 2).await,
        "/confirm/",
    );
    assert_ne!(first, second);
    assert_eq!(
        b.get(&first).await.status,
        StatusCode::NOT_FOUND,
        "superseded"
    );
    assert_eq!(b.post(&second, &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(b.me().await.expect("signed in")["confirmed"], true);
}
