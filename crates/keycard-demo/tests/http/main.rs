//! HTTP tests: the real demo router on 127.0.0.1:<ephemeral port>, a temp SQLite file, the memory store and
//! a manual clock, driven by reqwest clients with cookie jars that do not follow redirects. One test per flow
//! of the Pow guide (and of issue 3).
//!
//! The same tests run on PostgreSQL and/or Redis with `KEYCARD_TEST_DATABASE=postgres` and
//! `KEYCARD_TEST_CACHE=redis` (see `common`); `.ci/run` runs them that way too.
//!
//! One test binary (linking the demo once), one module per page it drives, as in `src/web/routes/`:
//! `registration`, `session` (sign-in and sign-out), `profile` (`/profile`, `/me`, and the session's
//! lifetime as they see it), `plan`, `pro`, `refresh`, `sessions`, `account`, `home` (and `/healthz`);
//! and what spans the pages: `csrf`, `assets` (the stylesheet and icons, nothing inline), `every_page`
//! (security headers, secure cookies, error pages). The helpers several of them use are here.

#[path = "../common/mod.rs"]
mod common;

mod account;
mod assets;
mod csrf;
mod every_page;
mod home;
mod plan;
mod pro;
mod profile;
mod refresh;
mod registration;
mod session;
mod sessions;

use common::{TestApp, SESSION_COOKIE};
use keycard_demo::domain::users::{self, Key, Plan};

fn plan_in(html: &str) -> &str {
    let marker = r#"<dd id="plan">"#;
    let start = html.find(marker).expect("the page shows a plan") + marker.len();
    let end = html[start..].find('<').expect("closing tag");
    &html[start..start + end]
}

async fn db_plan(app: &TestApp, email: &str) -> Plan {
    users::find_with_password_by_email(app.db(), email)
        .await
        .expect("select")
        .expect("user exists")
        .0
        .plan
}

async fn set_db_plan(app: &TestApp, email: &str, plan: Plan) {
    users::update_plan(
        app.db(),
        Key::Email(email),
        plan,
        app.app.state.clock.now_secs(),
        3600,
    )
    .await
    .expect("update")
    .expect("user exists");
}

fn cookie_header(value: &str) -> String {
    format!("{SESSION_COOKIE}={value}")
}

/// The id of the session row that shows `user_agent`.
fn session_id_of(html: &str, user_agent: &str) -> String {
    html.split(r#"<tr id="session-"#)
        .skip(1)
        .find(|row| row[..row.find("</tr>").expect("row end")].contains(user_agent))
        .map(|row| row[..32].to_owned())
        .unwrap_or_else(|| panic!("no session row for {user_agent}"))
}

/// Whether `html`'s navigation is the signed-in one for `email`.
fn has_signed_in_nav(html: &str, email: &str) -> bool {
    html.contains(&format!("Signed in as <strong>{email}</strong>"))
        && html.contains(r#"action="/session/delete""#)
        && html.contains(r#"href="/sessions""#)
}
