//! The whole app's router: every route of [`crate::web::routes`] and the layers around them.
//!
//! Layers, outermost first: the security headers wrap everything (CSP, `X-Frame-Options`, `nosniff`,
//! `Referrer-Policy`, HSTS when cookies are secure); `/healthz` and the stylesheet sit outside the rest (no
//! cookie work at all); the session layer wraps every other route; the CSRF layer wraps every page and
//! form route (not `/me`, a JSON GET).

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use keycard_axum::{RedirectPath, SecurityHeaders};

use crate::domain::users::User;
use crate::web::auth;
use crate::web::csrf::DemoCsrfLayer;
use crate::web::respond::SignIn;
use crate::web::routes::{
    account, assets, health, home, plan, pro, profile, registration, session, sessions,
};
use crate::web::state::AppState;
use crate::web::views;

/// The whole app.
pub fn router(
    state: AppState,
    session_layer: keycard_axum::SessionLayer<User>,
    csrf_layer: DemoCsrfLayer,
    headers: SecurityHeaders,
) -> Router {
    let pro = Router::new()
        .route("/pro", get(pro::show))
        .route_layer(auth::reload_user_layer(state.db.clone()));

    let pages = Router::new()
        .route("/", get(home::show))
        .route("/registration/new", get(registration::new))
        .route("/registration", post(registration::create))
        .route(SignIn::PATH, get(session::new))
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
        .layer(csrf_layer);

    pages
        .route("/me", get(profile::me))
        .layer(session_layer)
        .route("/healthz", get(health::show))
        .route("/static/app.css", get(assets::stylesheet))
        .fallback(not_found)
        .layer(headers)
        .with_state(state)
}

async fn not_found() -> Response {
    views::error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no page at this address.",
    )
}
