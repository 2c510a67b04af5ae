//! `POST /account/email` (sudo): the link goes to the new address, nothing changes until it is used,
//! then the old address is told.

use reqwest::StatusCode;

use crate::Mailed;

#[tokio::test]
async fn an_email_change_happens_only_through_the_link_sent_to_the_new_address() {
    let Some(m) = Mailed::start("email::change").await else {
        return;
    };
    let b = m.registered("old@example.com").await;
    let token = b.csrf().await;
    let p = b
        .post_with_headers(
            "/account/email",
            &[
                ("_csrf_token", token.as_str()),
                ("email", "New@Example.com"),
            ],
            &[("Referer", &m.app.url("/profile"))],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(
        p.location(),
        Some("/profile"),
        "fresh from registration: no confirmation asked"
    );
    let mail = m
        .mail("new@example.com", "Confirm your new email address")
        .await;
    let link = m.link(&mail, "/account/email/");
    assert_eq!(
        b.me().await.expect("signed in")["email"],
        "old@example.com",
        "not yet"
    );
    assert_eq!(b.get(&link).await.status, StatusCode::OK);
    assert_eq!(
        b.me().await.expect("signed in")["email"],
        "old@example.com",
        "a GET changes nothing"
    );
    let p = b.post(&link, &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let me = b.me().await.expect("signed in");
    assert_eq!(
        (me["email"].as_str(), me["confirmed"].as_bool()),
        (Some("new@example.com"), Some(true))
    );
    let notice = m
        .mail("old@example.com", "Your email address was changed")
        .await;
    assert!(notice
        .text
        .as_deref()
        .unwrap_or("")
        .contains("new@example.com"));
    assert_eq!(
        b.post(&link, &[]).await.status,
        StatusCode::NOT_FOUND,
        "single use"
    );
}

#[tokio::test]
async fn an_email_change_needs_a_recent_password_proof() {
    let Some(m) = Mailed::start("email::change").await else {
        return;
    };
    let b = m.registered("stale@example.com").await;
    m.app.advance(m.app.config.sudo.as_secs() + 1);
    let token = b.csrf().await;
    let p = b
        .post_with_headers(
            "/account/email",
            &[
                ("_csrf_token", token.as_str()),
                ("email", "elsewhere@example.com"),
            ],
            &[("Referer", &m.app.url("/profile"))],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(
        p.location().unwrap_or("").starts_with("/session/confirm"),
        "{:?}",
        p.location()
    );
}
