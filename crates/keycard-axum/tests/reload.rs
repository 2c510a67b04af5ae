//! `ReloadUser`: the database's copy of the user on the routes that need it.

mod common;

use std::sync::atomic::Ordering;

use axum::routing::get;
use axum::Router;
use http::StatusCode;
use keycard_axum::{
    Auth, CookieConfig, CurrentUser, MaybeUser, RedirectTo, ReloadUser, SessionLayer,
};
use tower::ServiceExt;

use common::*;

#[tokio::test]
async fn handler_sees_the_reloaded_user_while_the_cache_is_unchanged() {
    let h = harness();
    let a = h.login(1).await;
    // The database changed behind the cache's back (the guide's plan column).
    h.loader.set(1, Row::Is(user(1, "pro")));

    let res = h.get("/pro", Some(&a)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(set_cookie(&res).is_none(), "reloading changes no cookie");
    assert_eq!(body(res).await, "1:pro");
    // Routes without the layer still see the cached copy; the cache itself is untouched.
    assert_eq!(body(h.get("/me", Some(&a)).await).await, "1:free");
    let cached = h.cache.fetch(&a).await.unwrap().unwrap();
    assert_eq!(cached.user.plan, "free");
}

#[tokio::test]
async fn a_user_deleted_from_the_database_is_signed_out() {
    let h = harness();
    let a = h.login(1).await;
    let b = h.login(1).await;
    h.loader.set(1, Row::Gone);

    let res = h.get("/pro", Some(&a)).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the request continues anonymous"
    );
    let c = set_cookie(&res).expect("the cookie is cleared");
    assert_eq!(c.value(), "");
    assert_eq!(c.max_age(), Some(cookie::time::Duration::ZERO));
    assert!(no_store(&res));
    // That session is over on the server too.
    assert_eq!(
        h.get("/me", Some(&a)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(h.cache.fetch(&a).await.unwrap().is_none());
    // The user's other session ends the next time it meets ReloadUser.
    assert_eq!(
        h.get("/pro", Some(&b)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(h.cache.sessions("1").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_loader_error_is_a_503_never_the_stale_user() {
    let h = harness();
    let a = h.login(1).await;
    h.loader.set(1, Row::Fail);

    let res = h.get("/pro", Some(&a)).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookie(&res).is_none(), "the session is kept");
    assert_eq!(
        header_str(res.headers(), http::header::RETRY_AFTER),
        vec!["5"]
    );

    // The database comes back: same session, fresh row.
    h.loader.set(1, Row::Is(user(1, "pro-trial")));
    assert_eq!(body(h.get("/pro", Some(&a)).await).await, "1:pro-trial");
}

#[tokio::test]
async fn anonymous_requests_skip_the_loader() {
    let h = harness();
    let res = h.get("/pro", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h.loader.calls.load(Ordering::SeqCst), 0);
    assert_eq!(h.store_calls(), 0);
}

#[tokio::test]
async fn app_wide_reload_applies_to_every_route() {
    let h = harness();
    let a = h.login(7).await;
    h.loader.set(7, Row::Is(user(7, "pro")));
    let app = Router::new()
        .route(
            "/me",
            get(|u: CurrentUser<User>| async move { u.plan.clone() }),
        )
        .route(
            "/maybe",
            get(|MaybeUser(u): MaybeUser<User>| async move {
                u.map_or("anon".to_string(), |u| u.plan.clone())
            }),
        )
        .route("/health", get(|| async { "ok" }))
        // Listed first = runs inside the session layer.
        .layer(ReloadUser::new(h.loader.clone()))
        .layer(
            SessionLayer::new(h.cache.clone()).with_config(CookieConfig::insecure_for_localhost()),
        );
    let send = |path: &'static str| {
        let app = app.clone();
        let req = h.req("GET", path, Some(&a));
        async move { app.oneshot(req).await.unwrap() }
    };
    assert_eq!(body(send("/me").await).await, "pro");
    assert_eq!(body(send("/maybe").await).await, "pro");

    // Loader down: routes that read the user answer 503; a route that does not still runs.
    h.loader.set(7, Row::Fail);
    assert_eq!(send("/me").await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        send("/maybe").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(send("/health").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn reload_user_without_a_session_layer_fails_closed() {
    let loader = TestLoader::default();
    let app = Router::new()
        .route(
            "/pro",
            get(|u: CurrentUser<User>| async move { u.plan.clone() }),
        )
        .route_layer(ReloadUser::new(loader));
    let res = app
        .oneshot(
            http::Request::get("/pro")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

/// W8 (issue 9): `ReloadUser` added outside the `SessionLayer` (the wrong order) used to log and pass
/// through, so `CurrentUser` was the *cached* user on a route that meant to decide on the database's.
/// Now every extractor answers 500 for a signed-in request, the loader is never asked, and a route that
/// reads no session still works.
#[tokio::test]
async fn reload_user_outside_the_session_layer_is_a_500_from_every_extractor() {
    let h = harness();
    let a = h.login(1).await;
    // The database says pro, the cache says free: the stale copy must never reach a handler here.
    h.loader.set(1, Row::Is(user(1, "pro")));
    let app = Router::new()
        .route(
            "/current",
            get(|u: CurrentUser<User>| async move { u.plan.clone() }),
        )
        .route(
            "/optional",
            get(|u: Option<CurrentUser<User>>| async move {
                u.map_or("anon".to_string(), |u| u.plan.clone())
            }),
        )
        .route(
            "/maybe",
            get(|MaybeUser(u): MaybeUser<User>| async move {
                u.map_or("anon".to_string(), |u| u.plan.clone())
            }),
        )
        .route(
            "/auth",
            get(|auth: Auth<User>| async move {
                auth.current_user()
                    .map_or("anon".to_string(), |u| u.plan.clone())
            }),
        )
        .route("/health", get(|| async { "ok" }))
        // The wrong order: the session layer is added first, so ReloadUser wraps it and runs first.
        .layer(
            SessionLayer::new(h.cache.clone()).with_config(CookieConfig::insecure_for_localhost()),
        )
        .layer(ReloadUser::new(h.loader.clone()));
    for path in ["/current", "/optional", "/maybe", "/auth"] {
        let res = app
            .clone()
            .oneshot(h.req("GET", path, Some(&a)))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        let text = body(res).await;
        assert!(
            !text.contains("free") && !text.contains("pro"),
            "{path}: {text}"
        );
        // Anonymous requests get the 500 too: the order is wrong whoever asks.
        let res = app.clone().oneshot(h.req("GET", path, None)).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
    }
    assert_eq!(h.loader.calls.load(Ordering::SeqCst), 0);
    let res = app
        .clone()
        .oneshot(h.req("GET", "/health", Some(&a)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // A page-style rejection keeps the 500 (no redirect to sign in, as if nobody were signed in).
    let pages = Router::new()
        .route(
            "/page",
            get(|u: CurrentUser<User, RedirectTo<SignIn>>| async move { u.plan.clone() }),
        )
        .layer(
            SessionLayer::new(h.cache.clone()).with_config(CookieConfig::insecure_for_localhost()),
        )
        .layer(ReloadUser::new(h.loader.clone()));
    let res = pages
        .oneshot(h.req("GET", "/page", Some(&a)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
