//! `GET /static/app.css`: the demo's stylesheet, compiled into the binary. A file rather than a `<style>`
//! block because the Content-Security-Policy (`default-src 'self'`, no `unsafe-inline`) allows no inline
//! style.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

const APP_CSS: &str = include_str!("../../../static/app.css");

/// The stylesheet, cacheable for an hour.
pub async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        APP_CSS,
    )
        .into_response()
}
