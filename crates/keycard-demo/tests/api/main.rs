//! Bearer tokens and personal access tokens (issue 22) over HTTP against the real demo router: the JSON
//! sign-in and sign-out an API client uses, `GET /me` with `Authorization: Bearer`, renewal through
//! `Set-Auth-Token`, second factors over the API, and the personal-token pages. `.ci/run` runs this
//! binary on every store (`KEYCARD_TEST_CACHE`).

#[path = "../common/mod.rs"]
mod common;

mod bearer;
mod tokens;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;

use common::TestApp;

/// What an API client sees of a response.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) json: serde_json::Value,
}

/// A client with no cookie jar and no `Origin`, as a CLI or a mobile app.
pub(crate) struct Client<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
}

impl<'a> Client<'a> {
    pub(crate) fn new(app: &'a TestApp) -> Self {
        Client {
            app,
            http: app.raw(),
        }
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Answer {
        let mut req = self.http.request(method, self.app.url(path));
        if let Some(t) = token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(b.to_string());
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Answer {
            status,
            headers,
            json,
        }
    }

    /// `POST /api/session` with these fields.
    pub(crate) async fn sign_in(&self, body: serde_json::Value) -> Answer {
        self.send(reqwest::Method::POST, "/api/session", None, Some(body))
            .await
    }

    /// A token for `email` with the test password.
    pub(crate) async fn token(&self, email: &str) -> String {
        let a = self
            .sign_in(serde_json::json!({"email": email, "password": common::PASSWORD}))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.json);
        a.json["token"].as_str().expect("a token").to_owned()
    }

    pub(crate) async fn me(&self, token: &str) -> Answer {
        self.send(reqwest::Method::GET, "/me", Some(token), None)
            .await
    }
}
