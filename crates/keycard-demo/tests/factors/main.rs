//! Second factors (issue 21) over HTTP against the real demo router: the authenticator app's pages, the
//! second step of a sign-in, recovery codes, and what a pending login may not do. Codes are computed from
//! the secret the page shows, at the app's (manual) clock, as the user's phone would.
//!
//! `.ci/run` runs this binary on every store (`KEYCARD_TEST_CACHE`): the pending logins and the
//! enrolments live in the session store.

#[path = "../common/mod.rs"]
mod common;

mod pending;
mod recovery;
mod totp;

use reqwest::StatusCode;

use common::{Browser, Page, TestApp, PASSWORD};

/// The pending-login cookie's name (plain HTTP, so no `__Host-` prefix).
pub(crate) const PENDING_COOKIE: &str = "keycard_pending";

/// The text of the element with `id` (`<tag id="…">TEXT<`).
pub(crate) fn text_of<'a>(html: &'a str, id: &str) -> &'a str {
    let marker = format!(r#"id="{id}">"#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("#{id} in {html}"))
        + marker.len();
    let end = html[start..].find('<').expect("closing tag");
    &html[start..start + end]
}

/// The value of the hidden input `name`.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in {html}"))
        + marker.len();
    let end = html[start..].find('"').expect("closing quote");
    html[start..start + end].to_owned()
}

/// The recovery codes a page lists.
pub(crate) fn codes_in(html: &str) -> Vec<String> {
    let list = &html[html.find(r#"id="recovery-codes""#).expect("the codes")..];
    let list = &list[..list.find("</ul>").expect("end of list")];
    list.split("<code>")
        .skip(1)
        .map(|c| c[..c.find("</code>").expect("code end")].to_owned())
        .collect()
}

/// The user's authenticator: the secret the setup page showed.
pub(crate) struct Phone {
    pub(crate) secret: Vec<u8>,
}

impl Phone {
    /// The code it shows now (the app's clock), `offset_steps` steps away.
    pub(crate) fn code(&self, app: &TestApp, offset_steps: i64) -> String {
        let now = keycard::Clock::now(&app.clock);
        let shift = std::time::Duration::from_secs(30 * offset_steps.unsigned_abs());
        let at = if offset_steps < 0 {
            now.saturating_sub(shift)
        } else {
            now.saturating_add(shift)
        };
        app.app
            .state
            .second
            .totp
            .code_at(&self.secret, at)
            .expect("code")
    }
}

/// A registered, signed-in browser of `email` with the authenticator app turned on: the browser, its
/// phone, the recovery codes shown.
pub(crate) async fn with_totp(app: &TestApp, email: &str) -> (Browser, Phone, Vec<String>) {
    let b = app.browser();
    b.registered(email).await;
    let setup = b.get("/account/totp").await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let secret = text_of(&setup.body, "totp-secret").to_owned();
    let phone = Phone {
        secret: totp_rs::Secret::try_from_base32(&secret)
            .expect("base32")
            .as_bytes()
            .to_vec(),
    };
    let ticket = hidden(&setup.body, "ticket");
    let on = b
        .post(
            "/account/totp",
            &[("ticket", &ticket), ("code", &phone.code(app, 0))],
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let codes = codes_in(&on.body);
    assert_eq!(codes.len(), 10);
    // The enrolment used this step: later codes come from later steps.
    app.advance(30);
    (b, phone, codes)
}

/// Password sign-in of `email` in a new browser: it lands on the second step.
pub(crate) async fn password_step(app: &TestApp, email: &str) -> (Browser, Page) {
    let b = app.browser();
    let p = b.sign_in(email, PASSWORD).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location(), Some("/session/two-factor"));
    (b, p)
}
