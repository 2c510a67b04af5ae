//! V4, open redirect through `return_to`: `/session/confirm?return_to=/%09/evil.example` (the `Query`
//! extractor decodes `%09` into a tab) and a confirmation posted with `return_to=/\t/evil.example` sent
//! `Location: /\t/evil.example`, which a browser reads as `//evil.example` (it drops tabs and newlines
//! before parsing). `keycard_axum::is_local_path` now accepts only printable ASCII, no backslash, and a
//! path that stays on the app's origin once resolved; anything else falls back to `/profile`.

use reqwest::{StatusCode, Url};

use crate::common::{Browser, Page, TestApp, PASSWORD};

/// Where a browser lands after following `location` from `base`: it drops ASCII tabs and newlines
/// first (WHATWG URL parsing), then resolves.
fn lands_on(base: &str, location: &str) -> Url {
    let stripped: String = location
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let base: Url = base.parse().expect("the app's base URL");
    base.join(&stripped)
        .expect("a Location a browser can follow")
}

/// Sign in, then open the confirmation page with `return_to` as given (raw query text) and post the
/// right password with `posted` as the form's `return_to`.
async fn confirm_with(b: &Browser, query: &str, posted: &str) -> (Page, Page) {
    let form = b.get(&format!("/session/confirm?return_to={query}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let token = form.csrf_token();
    let done = b
        .post_raw(
            "/session/confirm",
            &[
                ("_csrf_token", token.as_str()),
                ("password", PASSWORD),
                ("return_to", posted),
            ],
        )
        .await;
    (form, done)
}

#[tokio::test]
async fn a_return_to_with_a_tab_or_newline_cannot_send_the_confirmed_user_off_site() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("alice@example.com").await;
    let own = lands_on(&app.base, "/").origin();
    for (query, posted) in [
        ("/%09/evil.example", "/\t/evil.example"),
        ("/%0A/evil.example", "/\n/evil.example"),
        ("/%0D/evil.example", "/\r/evil.example"),
        ("/%5C/evil.example", "/\\/evil.example"),
        ("/%5Cevil.example", "/\\evil.example"),
        ("%2F%2Fevil.example", "//evil.example"),
        ("https://evil.example/", "https://evil.example/"),
    ] {
        let (form, done) = confirm_with(&b, query, posted).await;
        assert!(
            !form.body.contains("evil.example"),
            "the form carries no foreign return_to for {query}"
        );
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "{posted:?}: {}",
            done.body
        );
        let location = done.location().expect("a Location");
        let landed = lands_on(&app.base, location);
        assert_eq!(
            landed.origin(),
            own,
            "return_to {posted:?} sent the browser to {landed} (Location {location:?})"
        );
        assert_eq!(location, "/profile", "the default, for {posted:?}");
    }
    // A path on the site is still where the confirmation goes back to.
    let (_, done) = confirm_with(&b, "/sessions", "/sessions").await;
    assert_eq!(done.location(), Some("/sessions"));
    app.stop().await;
}
