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

/// `{"email": …, "plan": …, "confirmed": …, "factors": ["totp", …]}` from the cached user; anonymous: 401 `{"error": "not signed in"}`. Never
/// cached by the browser or a proxy.
pub async fn me(auth: AuthUser) -> Response {
    let no_store = [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    match auth.current_user() {
        Some(user) => (
            no_store,
            Json(serde_json::json!({
                "email": user.email,
                "plan": user.plan.as_str(),
                "confirmed": user.is_confirmed(),
                "factors": user.factors,
            })),
        )
            .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            no_store,
            Json(serde_json::json!({ "error": "not signed in" })),
        )
            .into_response(),
    }
}
