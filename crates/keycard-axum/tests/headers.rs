//! `SecurityHeaders` (issue 9, W3): every response gets them, a header the handler set is kept.

use axum::body::Body;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderValue, Request, StatusCode};
use keycard_axum::{SecurityHeaders, DEFAULT_CONTENT_SECURITY_POLICY};
use tower::ServiceExt;

fn app(layer: SecurityHeaders) -> Router {
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/away", get(|| async { Redirect::to("/") }))
        .route(
            "/error",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route(
            "/own-csp",
            get(|| async {
                (
                    [(header::CONTENT_SECURITY_POLICY, "default-src 'none'")],
                    "own",
                )
                    .into_response()
            }),
        )
        .layer(layer)
}

async fn get_path(app: &Router, path: &str) -> http::Response<Body> {
    app.clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn every_response_gets_the_headers_even_errors_redirects_and_fallbacks() {
    let app = app(SecurityHeaders::new());
    for (path, status) in [
        ("/", StatusCode::OK),
        ("/away", StatusCode::SEE_OTHER),
        ("/error", StatusCode::SERVICE_UNAVAILABLE),
        ("/nowhere", StatusCode::NOT_FOUND),
    ] {
        let res = get_path(&app, path).await;
        assert_eq!(res.status(), status, "{path}");
        let h = res.headers();
        assert_eq!(
            h[header::CONTENT_SECURITY_POLICY],
            DEFAULT_CONTENT_SECURITY_POLICY
        );
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        for directive in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(h[header::REFERRER_POLICY], "same-origin", "{path}");
        assert_eq!(
            h[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_header_the_handler_set_is_not_overwritten() {
    let app = app(SecurityHeaders::new());
    let res = get_path(&app, "/own-csp").await;
    let csps: Vec<_> = res
        .headers()
        .get_all(header::CONTENT_SECURITY_POLICY)
        .iter()
        .collect();
    assert_eq!(csps, vec!["default-src 'none'"]);
    assert_eq!(res.headers()[header::X_FRAME_OPTIONS], "DENY");
}

#[tokio::test]
async fn headers_can_be_changed_or_dropped() {
    let layer = SecurityHeaders::new()
        .hsts(None)
        .content_security_policy(HeaderValue::from_static("default-src 'self'"))
        .referrer_policy(HeaderValue::from_static("no-referrer"))
        .header(header::X_FRAME_OPTIONS, None);
    let res = get_path(&app(layer), "/").await;
    let h = res.headers();
    assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none());
    assert!(h.get(header::X_FRAME_OPTIONS).is_none());
    assert_eq!(h[header::CONTENT_SECURITY_POLICY], "default-src 'self'");
    assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}
