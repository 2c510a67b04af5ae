//! Passkeys (issue 21) over HTTP against the real demo router: the account's passkeys page, "Sign in
//! with a passkey" with no email typed, and a passkey as the second step of a password sign-in. The
//! ceremonies are answered by keycard-passkey's software authenticator (feature `testing`), as a
//! browser at `http://localhost:PORT` (the demo's relying party on a loopback address) would.
//!
//! `.ci/run` runs this binary on every store (`KEYCARD_TEST_CACHE`): the ceremonies and the pending
//! logins live in the session store, the passkeys with the users (`KEYCARD_TEST_DATABASE`).

#[path = "../common/mod.rs"]
mod common;

mod account;
mod audit;
mod second_step;
mod sign_in;

use keycard_passkey::testing::{b64, SoftAuthenticator};
use reqwest::StatusCode;

use common::{Browser, Page, TestApp};

/// How long sudo mode lasts in the tests' configuration (`SUDO_SECS`).
pub(crate) const SUDO_SECS: u64 = 600;

/// An authenticator behind a browser at the demo's passkey origin.
pub(crate) fn authenticator(app: &TestApp) -> SoftAuthenticator {
    SoftAuthenticator::new(&format!("http://localhost:{}", app.addr.port()))
}

/// The credential id (base64url) of `key`'s credential `i`, as the page lists it.
pub(crate) fn passkey_id(key: &SoftAuthenticator, i: usize) -> String {
    b64(&key.credentials[i].id)
}

/// POST `path` as the page's script does (no body but the CSRF token): a ceremony's JSON.
pub(crate) async fn ceremony(b: &Browser, path: &str) -> serde_json::Value {
    let p = b.post(path, &[]).await;
    assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
    assert!(
        p.headers["content-type"]
            .to_str()
            .expect("content type")
            .starts_with("application/json"),
        "{path} answers JSON"
    );
    assert_eq!(p.headers["cache-control"], "no-store");
    p.json()
}

/// Post the answer `credential` to ceremony `c` at `path`, with more fields.
pub(crate) async fn answer(
    b: &Browser,
    path: &str,
    c: &serde_json::Value,
    credential: &str,
    more: &[(&str, &str)],
) -> Page {
    let token = c["token"].as_str().expect("a ceremony token");
    let mut form = vec![("token", token), ("credential", credential)];
    form.extend_from_slice(more);
    b.post(path, &form).await
}

/// Add a passkey named `name` on `key` for the signed-in browser `b` (in sudo mode): the page after.
pub(crate) async fn add_passkey(b: &Browser, key: &mut SoftAuthenticator, name: &str) -> Page {
    let c = ceremony(b, "/account/passkeys/options").await;
    let credential = key.register(&c["options"]).expect("a new credential");
    answer(b, "/account/passkeys", &c, &credential, &[("name", name)]).await
}

/// A registered, signed-in browser of `email` with one passkey ("Laptop") on a new authenticator: the
/// browser, the authenticator, the recovery codes shown.
pub(crate) async fn with_passkey(
    app: &TestApp,
    email: &str,
) -> (Browser, SoftAuthenticator, Vec<String>) {
    let b = app.browser();
    b.registered(email).await;
    let mut key = authenticator(app);
    let added = add_passkey(&b, &mut key, "Laptop").await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let codes = codes_in(&added.body);
    (b, key, codes)
}

/// "Sign in with a passkey" in browser `b` with `key`'s first credential that answers.
pub(crate) async fn sign_in_with(b: &Browser, key: &mut SoftAuthenticator) -> Page {
    let c = ceremony(b, "/session/passkey/options").await;
    let credential = key.assert(&c["options"]).expect("an assertion");
    answer(b, "/session/passkey", &c, &credential, &[]).await
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

/// The user's factors as `GET /me` lists them.
pub(crate) async fn factors(b: &Browser) -> Vec<String> {
    let me = b.me().await.expect("signed in");
    me["factors"]
        .as_array()
        .expect("factors")
        .iter()
        .map(|f| f.as_str().expect("a name").to_owned())
        .collect()
}
