//! Sign in with an OpenID Connect provider (issue 22) over HTTP, against the real demo router and a real
//! OpenID provider on loopback (panva's oidc-provider, OpenID Certified: [`provider`]): the whole code
//! flow (sign up by provider, sign in again, the linking rules, linking and unlinking from settings in
//! sudo mode) and the attacks (a replayed `state`, a swapped nonce, an ID token for another client, a
//! token signed by an unknown key, an issuer mismatch, an expired token, a denied consent, a provider
//! error, a callback in another browser), each refused with nothing created.
//!
//! The suite skips (the kit's `SKIPPED` line) when node or the installed provider is missing;
//! `.ci/run` installs it (`scripts/oidc-provider.sh --install`) and runs this binary on SQLite and
//! PostgreSQL with `KEYCARD_REQUIRE_SERVICES=1`.

#[path = "../common/mod.rs"]
mod common;

mod account;
mod attacks;
mod audit;
mod provider;
mod sign_in;

use keycard_demo::config::oidc::OidcProvider;
use reqwest::StatusCode;

use common::{random_hex, read, Browser, Page, TestApp};
use provider::TestProvider;

/// The demo's client at the test provider (provider.mjs registers it).
const CLIENT_ID: &str = "keycard-demo";
const CLIENT_SECRET: &str = "keycard-demo-secret";

/// The demo with three providers at the test provider: `Test` (trusted for email), `Other` (the same
/// provider, not trusted for email) and `Third` (configured with an issuer URL the provider does not
/// call itself: `localhost` for `127.0.0.1`).
pub(crate) async fn app(p: &TestProvider) -> TestApp {
    let issuer = p.issuer.clone();
    TestApp::start_with(move |c| {
        let provider = |name: &str, issuer: &str, trust_email: bool| OidcProvider {
            name: name.to_owned(),
            issuer: issuer.to_owned(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: Some(CLIENT_SECRET.to_owned()),
            trust_email,
        };
        c.oidc = vec![
            provider("Test", &issuer, true),
            provider("Other", &issuer, false),
            provider("Third", &issuer.replace("127.0.0.1", "localhost"), true),
        ];
    })
    .await
}

/// An account at the provider: what its sign-in form is filled with.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub sub: String,
    pub email: Option<String>,
    pub verified: bool,
}

impl Account {
    /// A new account (a subject no other test uses) with `email`, verified.
    pub fn new(email: &str) -> Account {
        Account {
            sub: format!("sub-{}", random_hex(8)),
            email: Some(email.to_owned()),
            verified: true,
        }
    }

    /// The same, with the email not verified.
    pub fn unverified(mut self) -> Account {
        self.verified = false;
        self
    }

    /// The same, with no email.
    pub fn without_email(mut self) -> Account {
        self.email = None;
        self
    }
}

/// From a demo response that sends the browser to the provider (`start`), through the provider (its
/// sign-in form answered for `account` with `decision`: `allow`, `deny`, `error`) to the redirect back
/// to the demo: that URL's path and query, not followed.
pub(crate) async fn through_provider(
    b: &Browser,
    app: &TestApp,
    p: &TestProvider,
    start: Page,
    account: &Account,
    decision: &str,
) -> String {
    forget_provider_session(b, p);
    let mut page = start;
    for _ in 0..10 {
        let location = match continue_link(&page) {
            Some(link) => link,
            None => {
                assert_eq!(
                    page.status,
                    StatusCode::SEE_OTHER,
                    "a redirect: {}",
                    page.body
                );
                page.location().expect("a Location").to_owned()
            }
        };
        if let Some(path) = location.strip_prefix(&app.url("")) {
            return path.to_owned();
        }
        let url = if location.starts_with('/') {
            format!("{}{location}", p.issuer)
        } else {
            location
        };
        assert!(
            url.starts_with(&p.issuer),
            "only the provider or the demo: {url}"
        );
        page = if url.contains("/interaction/") {
            let mut form: Vec<(&str, &str)> = vec![("sub", &account.sub), ("decision", decision)];
            if let Some(email) = &account.email {
                form.push(("email", email));
            }
            if account.verified {
                form.push(("email_verified", "true"));
            }
            read(
                b.client
                    .post(&url)
                    .form(&form)
                    .send()
                    .await
                    .expect("POST interaction"),
            )
            .await
        } else {
            read(b.client.get(&url).send().await.expect("GET provider")).await
        };
    }
    panic!("the provider never sent the browser back")
}

/// The demo's "Continue to {name}" page (a form started the flow): where its link goes.
fn continue_link(page: &Page) -> Option<String> {
    if page.status != StatusCode::OK {
        return None;
    }
    let marker = r#"id="continue" href=""#;
    let start = page.body.find(marker)? + marker.len();
    let end = page.body[start..].find('"')?;
    Some(
        page.body[start..start + end]
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

/// Sign the browser out at the provider (its session cookies expire), so that its sign-in form is
/// shown whatever account signed in there before: each test says which account it is.
fn forget_provider_session(b: &Browser, p: &TestProvider) {
    let url: reqwest::Url = p.issuer.parse().expect("the issuer URL");
    for name in [
        "_session",
        "_session.sig",
        "_session.legacy",
        "_session.legacy.sig",
    ] {
        b.jar
            .add_cookie_str(&format!("{name}=; Max-Age=0; Path=/"), &url);
    }
}

/// Sign in with the provider `key` as `account` (consent given): the demo's answer to the callback.
pub(crate) async fn sign_in_with(
    b: &Browser,
    app: &TestApp,
    p: &TestProvider,
    key: &str,
    account: &Account,
) -> Page {
    let start = b.get(&format!("/auth/oidc/{key}")).await;
    let back = through_provider(b, app, p, start, account, "allow").await;
    b.get(&back).await
}

/// The email `/me` shows, if signed in.
pub(crate) async fn signed_in_as(b: &Browser) -> Option<String> {
    b.me()
        .await
        .map(|v| v["email"].as_str().expect("email").to_owned())
}

/// How many users the database holds.
pub(crate) async fn user_count(app: &TestApp) -> i64 {
    use sqlx::Row as _;
    sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(app.db())
        .await
        .expect("count")
        .try_get::<i64, _>("n")
        .expect("a count")
}
