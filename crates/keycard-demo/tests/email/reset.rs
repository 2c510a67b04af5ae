//! `/password/reset`: a link by email, single use, one hour; the new password ends every session.

use reqwest::StatusCode;

use crate::common::PASSWORD;
use crate::Mailed;

const SUBJECT: &str = "Reset your password";
const NEW: &str = "an entirely new passphrase";

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_ends_every_session() {
    let Some(m) = Mailed::start("email::reset").await else {
        return;
    };
    let signed_in = m.registered("reset@example.com").await;
    let anon = m.app.browser();
    let p = anon
        .post("/password/reset", &[("email", "Reset@Example.com ")])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let mail = m.mail("reset@example.com", SUBJECT).await;
    let link = m.link(&mail, "/password/reset/");
    assert!(
        mail.html.as_deref().unwrap_or("").contains(&link),
        "the HTML part has it too"
    );
    // Mail scanners open links: a GET never consumes one.
    for _ in 0..2 {
        let page = anon.get(&link).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Choose a new password"), "{}", page.body);
    }
    let p = anon
        .post(&link, &[("password", NEW), ("password_confirmation", NEW)])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location(), Some("/session/new"));
    assert!(signed_in.me().await.is_none(), "every session ended");
    assert_eq!(
        m.app
            .browser()
            .sign_in("reset@example.com", PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "the old password is gone"
    );
    assert_eq!(
        m.app
            .browser()
            .sign_in("reset@example.com", NEW)
            .await
            .status,
        StatusCode::SEE_OTHER,
        "the new one signs in"
    );
    let again = anon
        .post(
            &link,
            &[("password", PASSWORD), ("password_confirmation", PASSWORD)],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.body.contains("no longer valid"));
}

#[tokio::test]
async fn a_refused_password_keeps_the_link_and_a_password_change_kills_it() {
    let Some(m) = Mailed::start("email::reset").await else {
        return;
    };
    let owner = m.registered("weak@example.com").await;
    m.app
        .browser()
        .post("/password/reset", &[("email", "weak@example.com")])
        .await;
    let link = m.link(
        &m.mail("weak@example.com", SUBJECT).await,
        "/password/reset/",
    );
    let anon = m.app.browser();
    let p = anon
        .post(
            &link,
            &[
                ("password", "password"),
                ("password_confirmation", "password"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(anon.get(&link).await.status, StatusCode::OK, "still usable");
    // The owner changes the password another way: the link dies with the old credentials.
    let token = owner.csrf().await;
    let p = owner
        .post_with_headers(
            "/account/password",
            &[
                ("_csrf_token", token.as_str()),
                ("current_password", PASSWORD),
                ("password", NEW),
                ("password_confirmation", NEW),
            ],
            &[("Referer", &m.app.url("/profile"))],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = anon
        .post(
            &link,
            &[
                ("password", "yet another passphrase"),
                ("password_confirmation", "yet another passphrase"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "{}", p.body);
}
