//! `GET /profile` and `GET /me`: the **cached** user, no database read.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::web::auth::{AuthUser, PageUser};
use crate::web::csrf::CsrfToken;
use crate::web::flash::IncomingFlash;
use crate::web::views::{render, Layout, PasswordErrors, ProfilePage, UserView};

/// Email and plan from the cached user (a plan changed behind the cache's back shows up after the next
/// sync or sign-in; a plan changed through `/plan` or the plan job shows up at once). Anonymous: 303 to
/// `/session/new`.
pub async fn show(user: PageUser, csrf: CsrfToken, flash: IncomingFlash) -> Response {
    let page = ProfilePage {
        layout: Layout::new(&csrf, Some(&user.user), &flash).at("/profile"),
        user: UserView::from(&*user.user),
        password_errors: PasswordErrors::default(),
    };
    render(StatusCode::OK, &page, Some(&flash))
}

/// The body of `GET /me`, serialized straight from the cached user (no intermediate `serde_json::Value`
/// map: that cost a dozen allocations a request). Fields in the order the body has always had.
#[derive(serde::Serialize)]
struct Me<'a> {
    confirmed: bool,
    email: &'a str,
    factors: &'a [String],
    plan: &'a str,
    version: i64,
}

/// `{"email": …, "plan": …, "version": …, "confirmed": …, "factors": ["totp", …]}` from the cached user
/// (`version`: the user row's, bumped by every change of it, so a client can tell an older copy), for a
/// cookie, a bearer token or a personal token (with the `read` scope: 403 without); anonymous: 401 `{"error": "not signed in"}`. Never
/// cached by the browser or a proxy.
pub async fn me(auth: AuthUser) -> Response {
    let no_store = [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    // A personal token reads `/me` only with the `read` scope (the one scope the demo defines).
    let scoped_out = auth
        .session()
        .and_then(|s| keycard::PersonalTokenInfo::of(&s))
        .is_some_and(|t| !t.has_scope("read"));
    if scoped_out {
        return crate::web::routes::api::json_error(
            StatusCode::FORBIDDEN,
            "this token has no \"read\" scope",
            serde_json::Value::Null,
        );
    }
    match auth.current_user() {
        Some(user) => (
            no_store,
            Json(Me {
                confirmed: user.is_confirmed(),
                email: &user.email,
                factors: &user.factors,
                plan: user.plan.as_str(),
                version: user.version,
            }),
        )
            .into_response(),
        None => crate::web::routes::api::json_error(
            StatusCode::UNAUTHORIZED,
            "not signed in",
            serde_json::Value::Null,
        ),
    }
}
