//! The demo's routes, exactly as issue 3's table lists them.
//!
//! | route | handler |
//! |---|---|
//! | `GET /` | [`home::show`] |
//! | `GET /registration/new`, `POST /registration` | [`registration`] |
//! | `GET /session/new`, `POST /session`, `POST /session/delete` | [`session`] |
//! | `GET /profile`, `GET /me` | [`profile`] (cached user, no database read) |
//! | `GET /plan/edit`, `POST /plan` | [`plan`] (database update, then sync) |
//! | `GET /pro` | [`pro`] (behind `ReloadUser`: the database decides) |
//! | `GET /sessions`, `POST /sessions/{id}/delete`, `POST /sessions/delete-others` | [`sessions`] |
//! | `POST /account/password` | [`account`] |
//! | `GET /healthz` | [`health`] |
//!
//! Layers, outermost first: `/healthz` sits outside everything (no cookie work at all); the session layer
//! wraps every other route; the CSRF guard wraps every page and form route (not `/me`, a JSON GET).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::auth;
use crate::domain::users::User;
use crate::state::AppState;

pub mod account;
pub mod home;
pub mod plan;
pub mod pro;
pub mod profile;
pub mod registration;
pub mod session;
pub mod sessions;

/// The whole app.
pub fn router(state: AppState, session_layer: keycard_axum::SessionLayer<User>) -> Router {
    let pro = Router::new()
        .route("/pro", get(pro::show))
        .route_layer(auth::reload_user_layer(state.db.clone()));

    let pages = Router::new()
        .route("/", get(home::show))
        .route("/registration/new", get(registration::new))
        .route("/registration", post(registration::create))
        .route("/session/new", get(session::new))
        .route("/session", post(session::create))
        .route("/session/delete", post(session::delete))
        .route("/profile", get(profile::show))
        .route("/plan/edit", get(plan::edit))
        .route("/plan", post(plan::update))
        .route("/sessions", get(sessions::index))
        .route("/sessions/{id}/delete", post(sessions::delete))
        .route("/sessions/delete-others", post(sessions::delete_others))
        .route("/account/password", post(account::change_password))
        .merge(pro)
        .layer(axum::middleware::from_fn_with_state(
            state.csrf.clone(),
            crate::csrf::guard,
        ));

    pages
        .route("/me", get(profile::me))
        .layer(session_layer)
        .route("/healthz", get(health))
        .fallback(not_found)
        .with_state(state)
}

/// `GET /healthz`: the process is up.
pub async fn health() -> &'static str {
    "ok"
}

async fn not_found() -> Response {
    crate::views::error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no page at this address.",
    )
}

/// 303 to the sign-in page (what an anonymous visitor of a signed-in page gets).
pub fn to_sign_in() -> Response {
    Redirect::to("/session/new").into_response()
}

/// 303 to `to`, carrying `flash` to the next page.
pub fn redirect_with_flash(state: &AppState, to: &str, flash: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, state.flash.set(flash));
    res
}

/// Add `Set-Cookie` for a new CSRF cookie (after a sign-in).
pub fn with_rotated_csrf(state: &AppState, mut res: Response) -> Response {
    if let Some((cookie, _)) = state.csrf.rotate() {
        res.headers_mut().append(header::SET_COOKIE, cookie);
    }
    res
}

/// `Retry-After` for a throttled response.
pub fn retry_after(secs: u64) -> (header::HeaderName, HeaderValue) {
    (header::RETRY_AFTER, HeaderValue::from(secs))
}
