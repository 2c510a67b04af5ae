//! Bearer sessions and personal access tokens (issue 22): the same session over
//! `Authorization: Bearer`, no cookie ever set, renewal through `Set-Auth-Token`, and personal tokens
//! that never rotate and are never fresh for sudo mode. Against a real router (memory store, manual
//! clock).

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use http::{header, Request, StatusCode};
use keycard::{
    CredentialsCache, ManualClock, MemoryStore, PersonalTokenRequest, Policy, SessionMetadata,
    Timestamp,
};
use keycard_axum::{
    Auth, AuthError, BearerRejection, CurrentUser, RecentlyAuthenticated, SessionLayer,
    SET_AUTH_TOKEN,
};
use tower::ServiceExt;

use common::{body, user, User, SECRET};

const RENEW: Duration = Duration::from_secs(15 * 60);

// ---- fixtures

struct Api {
    router: Router,
    cache: CredentialsCache<User>,
    clock: ManualClock,
}

type ApiUser = CurrentUser<User, BearerRejection>;

fn api(accept_bearer: bool) -> Api {
    let clock = ManualClock::new(Timestamp(1_800_000_000_000));
    let cache = CredentialsCache::builder(MemoryStore::<User>::new())
        .secret(SECRET)
        .policy(Policy::default())
        .clock(clock.clone())
        .build()
        .unwrap();
    let layer = SessionLayer::new(cache.clone())
        .with_config(keycard_axum::CookieConfig::insecure_for_localhost());
    let layer = if accept_bearer {
        layer.accept_bearer()
    } else {
        layer
    };
    let router = Router::new()
        .route(
            "/api/session",
            post(|auth: Auth<User>| async move {
                match auth.create_bearer(user(7, "free")).await {
                    Ok(t) => t.token.into_response(),
                    Err(e) => e.into_response(),
                }
            })
            .delete(|auth: Auth<User>| async move {
                match auth.delete().await {
                    Ok(()) => StatusCode::NO_CONTENT.into_response(),
                    Err(e) => e.into_response(),
                }
            }),
        )
        .route(
            "/me",
            get(|u: ApiUser| async move { format!("{}:{}", u.id, u.plan) }),
        )
        .route(
            "/upgrade",
            post(|auth: Auth<User>| async move {
                auth.create(user(7, "pro"))
                    .await
                    .map(|_| "upgraded")
                    .map_err(|e: AuthError| e)
            }),
        )
        .route(
            "/reauth",
            post(|auth: Auth<User>| async move {
                auth.reauthenticate()
                    .await
                    .map(|_| "fresh")
                    .map_err(|e: AuthError| e)
            }),
        )
        .route(
            "/sudo",
            get(|_: RecentlyAuthenticated<User>| async { "sudo" }),
        )
        .layer(layer);
    Api {
        router,
        cache,
        clock,
    }
}

// ---- helpers

impl Api {
    async fn call(&self, method: &str, path: &str, bearer: Option<&str>) -> http::Response<Body> {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(v) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {v}"));
        }
        self.router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    async fn signed_in(&self) -> String {
        let res = self.call("POST", "/api/session", None).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(no_cookie(&res), "a bearer sign-in sets no cookie");
        body(res).await
    }
}

fn no_cookie(res: &http::Response<Body>) -> bool {
    res.headers().get(header::SET_COOKIE).is_none()
}

fn renewed(res: &http::Response<Body>) -> Option<String> {
    res.headers()
        .get(SET_AUTH_TOKEN)
        .map(|v| v.to_str().unwrap().to_owned())
}

// ---- the tests

#[tokio::test]
async fn a_bearer_session_reads_the_cached_user_and_never_sets_a_cookie() {
    let a = api(true);
    let token = a.signed_in().await;
    let res = a.call("GET", "/me", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(no_cookie(&res));
    assert!(res.headers()[header::VARY]
        .to_str()
        .unwrap()
        .contains("Authorization"));
    assert_eq!(body(res).await, "7:free");
    // put_user reaches it like any session.
    a.cache.put_user(user(7, "pro")).await.unwrap();
    assert_eq!(
        body(a.call("GET", "/me", Some(&token)).await).await,
        "7:pro"
    );
    let out = a.call("DELETE", "/api/session", Some(&token)).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(no_cookie(&out), "signing out clears no cookie either");
    let res = a.call("GET", "/me", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn renewal_rotates_a_bearer_value_through_set_auth_token_with_grace() {
    let a = api(true);
    let old = a.signed_in().await;
    a.clock.advance(RENEW + Duration::from_secs(1));
    let res = a.call("GET", "/me", Some(&old)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(no_cookie(&res));
    let new = renewed(&res).expect("the new value in Set-Auth-Token");
    assert_ne!(new, old);
    assert_eq!(
        a.call("GET", "/me", Some(&old)).await.status(),
        StatusCode::OK,
        "the replaced value reads during the grace window"
    );
    assert_eq!(
        a.call("POST", "/upgrade", Some(&old)).await.status(),
        StatusCode::CONFLICT,
        "and changes nothing"
    );
    assert_eq!(
        a.call("GET", "/me", Some(&new)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_accept_bearer_the_header_is_ignored_and_401s_say_bearer() {
    let a = api(false);
    let token = {
        let b = api(true);
        b.signed_in().await
    };
    let res = a.call("GET", "/me", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let bearer = api(true);
    let res = bearer.call("GET", "/me", Some("not-a-token")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"api\""
    );
    assert!(body(res).await.contains("\"error\""));
}

#[tokio::test]
async fn a_personal_token_never_rotates_syncs_without_rotating_and_is_never_sudo() {
    let a = api(true);
    let pat = a
        .cache
        .create_personal_token(
            user(7, "free"),
            PersonalTokenRequest {
                name: "ci",
                scopes: &["read"],
                ttl: Duration::from_secs(30 * 24 * 3600),
            },
            SessionMetadata::default(),
        )
        .await
        .unwrap();
    for _ in 0..5 {
        a.clock.advance(RENEW * 2);
        let res = a.call("GET", "/me", Some(&pat.value)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(renewed(&res).is_none(), "never rotated");
    }
    let res = a.call("POST", "/upgrade", Some(&pat.value)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        renewed(&res).is_none(),
        "a sync through it does not rotate it"
    );
    assert_eq!(
        body(a.call("GET", "/me", Some(&pat.value)).await).await,
        "7:pro"
    );
    assert_ne!(
        a.call("GET", "/sudo", Some(&pat.value)).await.status(),
        StatusCode::OK,
        "never fresh for sudo"
    );
    assert_eq!(
        a.call("POST", "/reauth", Some(&pat.value)).await.status(),
        StatusCode::FORBIDDEN,
        "and cannot be made fresh"
    );
    let bare = keycard::personal_token_value(&pat.value).unwrap();
    assert_eq!(
        a.call("GET", "/me", Some(bare)).await.status(),
        StatusCode::UNAUTHORIZED,
        "only with its prefix"
    );
}
