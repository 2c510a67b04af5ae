//! `GET /static/app.css`, `GET /static/session-events.js`, `GET /static/passkeys.js`,
//! `GET /static/favicon.svg` and `GET /favicon.ico`: the demo's one stylesheet, its two scripts and its
//! icon, embedded in the binary (no CDN, nothing read from disk at run time). Served outside the session
//! layer, like `/healthz`: no cookie work.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The stylesheet every page links to.
pub const STYLESHEET: &str = include_str!("../../../static/app.css");
/// The profile page's listener for `/events`.
pub const SESSION_EVENTS_JS: &str = include_str!("../../../static/session-events.js");
/// The passkey pages' ceremonies (`crate::web::passkey_reply::SCRIPT_PATH`).
pub const PASSKEYS_JS: &str = include_str!("../../../static/passkeys.js");
/// The icon.
pub const FAVICON: &str = include_str!("../../../static/favicon.svg");

/// Browsers may keep these an hour (they change only with a new build).
const CACHE: HeaderValue = HeaderValue::from_static("public, max-age=3600");

/// `text/css`.
pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

/// `text/javascript`.
pub async fn session_events_js() -> Response {
    asset("text/javascript; charset=utf-8", SESSION_EVENTS_JS)
}

/// `text/javascript`: the passkey ceremonies.
pub async fn passkeys_js() -> Response {
    asset("text/javascript; charset=utf-8", PASSKEYS_JS)
}

/// `image/svg+xml`, also at `/favicon.ico` (where browsers look when a page names no icon).
pub async fn favicon() -> Response {
    asset("image/svg+xml", FAVICON)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, CACHE),
        ],
        body,
    )
        .into_response()
}
