//! `GET /account/passkeys` and its forms: add (sudo), list, rename, remove (sudo), and what the
//! profile and `GET /me` say.

use reqwest::StatusCode;

use crate::common::{TestApp, PASSWORD};
use crate::{add_passkey, authenticator, factors, passkey_id, with_passkey, SUDO_SECS};

#[tokio::test]
async fn a_first_passkey_shows_recovery_codes_is_listed_and_turns_the_factor_on() {
    let app = TestApp::start().await;
    let (b, key, codes) = with_passkey(&app, "ada@example.com").await;
    assert_eq!(
        codes.len(),
        10,
        "the first second factor makes recovery codes"
    );
    let list = b.get("/account/passkeys").await;
    assert_eq!(list.status, StatusCode::OK);
    let id = passkey_id(&key, 0);
    let row = &list.body[list
        .body
        .find(&format!(r#"id="passkey-{id}""#))
        .expect("its row")..];
    let row = &row[..row.find("</tr>").expect("row end")];
    assert!(
        row.contains(r#"<td class="passkey-name">Laptop</td>"#),
        "{row}"
    );
    assert!(row.contains("just now"), "added just now: {row}");
    assert!(row.contains(">never<"), "not used yet: {row}");
    assert!(list.body.contains("Add a passkey"));
    assert!(list
        .body
        .contains(r#"<script src="/static/passkeys.js" defer></script>"#));
    assert_eq!(factors(&b).await, ["passkey"]);
    let profile = b.get("/profile").await;
    let shown = &profile.body[profile
        .body
        .find(r#"id="factor-passkey""#)
        .expect("the row")..];
    assert!(
        shown[..80].contains(r#"<span class="tag">on</span>"#),
        "{shown}"
    );
}

#[tokio::test]
async fn a_second_passkey_goes_back_to_the_list_and_makes_no_new_codes() {
    let app = TestApp::start().await;
    let (b, _, _) = with_passkey(&app, "ada@example.com").await;
    let mut phone = authenticator(&app);
    let added = add_passkey(&b, &mut phone, "Phone").await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), Some("/account/passkeys"));
    let list = b.get("/account/passkeys").await;
    assert!(list.body.contains("2 passkeys"), "{}", list.body);
    assert!(list
        .body
        .contains(&format!("passkey-{}", passkey_id(&phone, 0))));
}

#[tokio::test]
async fn adding_a_passkey_needs_sudo_mode() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("ada@example.com").await;
    app.advance(SUDO_SECS + 1);
    let list = b.get("/account/passkeys").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        !list.body.contains("data-passkey=\"register\""),
        "{}",
        list.body
    );
    assert!(list
        .body
        .contains(r#"href="/session/confirm?return_to=/account/passkeys">Add a passkey"#));
    let options = b.post("/account/passkeys/options", &[]).await;
    assert_eq!(options.status, StatusCode::SEE_OTHER);
    assert!(options
        .location()
        .is_some_and(|l| l.starts_with("/session/confirm")));
    let finish = b
        .post("/account/passkeys", &[("token", "x"), ("credential", "{}")])
        .await;
    assert_eq!(finish.status, StatusCode::SEE_OTHER);
    assert!(finish
        .location()
        .is_some_and(|l| l.starts_with("/session/confirm")));
    assert_eq!(factors(&b).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_registration_answer_is_single_use() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("ada@example.com").await;
    let mut key = authenticator(&app);
    let c = crate::ceremony(&b, "/account/passkeys/options").await;
    let credential = key.register(&c["options"]).expect("a credential");
    let first = crate::answer(&b, "/account/passkeys", &c, &credential, &[]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let again = crate::answer(&b, "/account/passkeys", &c, &credential, &[]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(
        again.body.contains("timed out or was already used"),
        "{}",
        again.body
    );
    assert!(again.body.contains("1 passkey<"), "{}", again.body);
}

#[tokio::test]
async fn renaming_a_passkey_changes_its_listed_name() {
    let app = TestApp::start().await;
    let (b, key, _) = with_passkey(&app, "ada@example.com").await;
    let id = passkey_id(&key, 0);
    let renamed = b
        .post(
            &format!("/account/passkeys/{id}/rename"),
            &[("name", "  Work laptop  ")],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    let list = b.get("/account/passkeys").await;
    assert!(
        list.body
            .contains(r#"<td class="passkey-name">Work laptop</td>"#),
        "{}",
        list.body
    );
    assert!(list.body.contains("Passkey renamed."));
    // Another account's passkey is no passkey of this one.
    let (mallory, _, _) = with_passkey(&app, "mallory@example.com").await;
    let theirs = mallory
        .post(
            &format!("/account/passkeys/{id}/rename"),
            &[("name", "Mine")],
        )
        .await;
    assert_eq!(theirs.status, StatusCode::SEE_OTHER);
    assert!(b
        .get("/account/passkeys")
        .await
        .body
        .contains("Work laptop"));
}

#[tokio::test]
async fn removing_the_last_passkey_turns_the_second_step_off_and_ends_other_sessions() {
    let app = TestApp::start().await;
    let (b, mut key, _) = with_passkey(&app, "ada@example.com").await;
    let other = app.browser();
    let signed = crate::sign_in_with(&other, &mut key).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert!(other.me().await.is_some());
    let id = passkey_id(&key, 0);
    // A password account may remove its last passkey (keycard-passkey's can_remove).
    let removed = b.post(&format!("/account/passkeys/{id}/delete"), &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert_eq!(removed.location(), Some("/account/passkeys"));
    assert!(other.me().await.is_none(), "the other session ended");
    assert_eq!(factors(&b).await, Vec::<String>::new());
    let list = b.get("/account/passkeys").await;
    assert!(list.body.contains(r#"id="no-passkeys""#), "{}", list.body);
    // The password alone signs in again: no second step.
    let fresh = app.browser();
    let p = fresh.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(p.location(), Some("/profile"));
    // And the passkey signs in no more.
    let gone = crate::sign_in_with(&app.browser(), &mut key).await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn removing_a_passkey_needs_sudo_mode() {
    let app = TestApp::start().await;
    let (b, key, _) = with_passkey(&app, "ada@example.com").await;
    app.advance(SUDO_SECS + 1);
    let id = passkey_id(&key, 0);
    let removed = b.post(&format!("/account/passkeys/{id}/delete"), &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(removed
        .location()
        .is_some_and(|l| l.starts_with("/session/confirm")));
    assert_eq!(factors(&b).await, ["passkey"]);
}

#[tokio::test]
async fn the_passkeys_page_needs_a_signed_in_user() {
    let app = TestApp::start().await;
    let anonymous = app.browser();
    let p = anonymous.get("/account/passkeys").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(p.location().is_some_and(|l| l.starts_with("/session/new")));
    let options = anonymous.post("/account/passkeys/options", &[]).await;
    assert_eq!(options.status, StatusCode::SEE_OTHER);
}
