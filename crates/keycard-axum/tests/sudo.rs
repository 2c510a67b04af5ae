//! Sudo mode: `RecentlyAuthenticated` accepts a session whose last proof of password is recent, and
//! `Auth::reauthenticate` records a fresh one and rotates the token.

mod common;

use std::time::Duration;

use axum::extract::Path;
use axum::routing::{get, post};
use axum::Router;
use http::{header, Request, StatusCode};
use keycard::ManualClock;
use keycard_axum::{
    Auth, CookieConfig, ReauthRedirect, RecentlyAuthenticated, RedirectPath, SessionLayer,
};
use tower::ServiceExt;

use common::*;

struct Confirm;
struct SignIn;
impl RedirectPath for SignIn {
    const PATH: &'static str = "/sign-in";
}
impl RedirectPath for Confirm {
    const PATH: &'static str = "/confirm";
}

async fn login(
    auth: Auth<User>,
    Path(id): Path<i64>,
) -> Result<&'static str, keycard_axum::AuthError> {
    auth.create(user(id, "free")).await?;
    Ok("ok")
}

async fn confirm(auth: Auth<User>) -> Result<&'static str, keycard_axum::AuthError> {
    // (The password was checked here.)
    auth.reauthenticate().await?;
    Ok("confirmed")
}

async fn danger(u: RecentlyAuthenticated<User>) -> String {
    format!("danger for {}", u.id)
}

async fn danger_page(u: RecentlyAuthenticated<User, ReauthRedirect<Confirm, SignIn>>) -> String {
    format!("page for {}", u.id)
}

struct App {
    app: Router,
    clock: ManualClock,
}

fn app(max_age: Duration) -> App {
    let clock = ManualClock::new(keycard::Timestamp(1_700_000_000_000));
    let cache = cache_over(test_store(), clock.clone());
    let app = Router::new()
        .route("/login/{id}", post(login))
        .route("/confirm", post(confirm))
        .route("/danger", get(danger).post(danger))
        .route("/danger-page", get(danger_page).post(danger_page))
        .layer(
            SessionLayer::new(cache)
                .with_config(CookieConfig::insecure_for_localhost())
                .sudo_max_age(max_age),
        );
    App { app, clock }
}

impl App {
    async fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        referer: Option<&str>,
    ) -> http::Response<axum::body::Body> {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, format!("{COOKIE}={c}"));
        }
        if let Some(r) = referer {
            b = b.header(header::REFERER, r);
        }
        self.app
            .clone()
            .oneshot(b.body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_fresh_sign_in_passes_and_an_old_one_is_refused_until_reauthenticated() {
    let a = app(Duration::from_secs(600));
    let res = a.send("POST", "/login/7", None, None).await;
    let cookie = set_cookie(&res).expect("signed in").value().to_owned();
    let res = a.send("GET", "/danger", Some(&cookie), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, "danger for 7");

    a.clock.advance(Duration::from_secs(601));
    let res = a.send("GET", "/danger", Some(&cookie), None).await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "the proof is 601 s old"
    );
    // The session itself is fine (renewed on this read: take the new cookie if there is one).
    let cookie = set_cookie(&res)
        .map(|c| c.value().to_owned())
        .unwrap_or(cookie);

    let res = a.send("POST", "/confirm", Some(&cookie), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let fresh = set_cookie(&res)
        .expect("a privilege change rotates the token")
        .value()
        .to_owned();
    assert_ne!(fresh, cookie);
    assert_eq!(
        a.send("GET", "/danger", Some(&cookie), None).await.status(),
        StatusCode::UNAUTHORIZED,
        "the old cookie died with the re-authentication"
    );
    let res = a.send("GET", "/danger", Some(&fresh), None).await;
    assert_eq!(res.status(), StatusCode::OK, "a fresh proof");
}

#[tokio::test]
async fn the_page_rejection_redirects_to_reauthenticate_and_back() {
    let a = app(Duration::from_secs(60));
    let res = a.send("POST", "/login/7", None, None).await;
    let cookie = set_cookie(&res).expect("signed in").value().to_owned();
    a.clock.advance(Duration::from_secs(61));
    let res = a
        .send("GET", "/danger-page?x=1&y=2", Some(&cookie), None)
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[header::LOCATION],
        "/confirm?return_to=/danger-page%3Fx%3D1%26y%3D2"
    );
    // A form post comes back to the page that carried the form, never to a foreign host.
    let res = a
        .send(
            "POST",
            "/danger-page",
            Some(&cookie),
            Some("http://localhost/account?tab=security"),
        )
        .await;
    assert_eq!(
        res.headers()[header::LOCATION],
        "/confirm?return_to=/account%3Ftab%3Dsecurity"
    );
    let res = a
        .send(
            "POST",
            "/danger-page",
            Some(&cookie),
            Some("//evil.example/x"),
        )
        .await;
    assert_eq!(res.headers()[header::LOCATION], "/confirm");
    // Anonymous visitors go to sign in.
    let res = a.send("GET", "/danger-page", None, None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/sign-in");
    // The API default: 401 when anonymous.
    assert_eq!(
        a.send("GET", "/danger", None, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn local_paths_only() {
    use keycard_axum::is_local_path;
    assert!(is_local_path("/profile"));
    assert!(is_local_path("/a?b=c"));
    for bad in [
        "",
        "profile",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
    ] {
        assert!(!is_local_path(bad), "{bad}");
    }
}
