//! The whole app's router: every route of [`crate::web::routes`] and the layers around them.
//!
//! Layers, outermost first: the security headers wrap everything (CSP, `X-Frame-Options`, `nosniff`,
//! `Referrer-Policy`, HSTS when cookies are secure); `/healthz` and the static assets sit outside the rest
//! (no cookie work at all); the session layer wraps every other route; the CSRF layer wraps every page
//! and form route (not `/me`, a JSON GET), and the "not found" page, so a signed-in user keeps the
//! signed-in navigation there.

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use keycard_axum::{AuthRejection, MaybeUser, RedirectPath, SecurityHeaders};

use crate::domain::users::User;
use crate::web::auth::{self, Confirm};
use crate::web::csrf::{CsrfToken, DemoCsrfLayer};
use crate::web::flash::IncomingFlash;
use crate::web::respond::SignIn;
use crate::web::routes::{
    account, api, assets, confirm, email_change, email_confirm, events, health, home, identities,
    magic, mailbox, oidc, passkey_sign_in, passkey_step, passkeys, password_reset, plan, pro,
    profile, refresh, registration, session, sessions, tokens, totp, two_factor,
};
use crate::web::state::AppState;
use crate::web::views::{self, Layout, Viewer};

/// The whole app.
pub fn router(
    state: AppState,
    session_layer: keycard_axum::SessionLayer<User>,
    csrf_layer: DemoCsrfLayer,
    headers: SecurityHeaders,
) -> Router {
    // The database's copy of the user decides here (the guide's `reload_user`).
    let reloaded = Router::new()
        .route("/pro", get(pro::show))
        .route("/account/refresh", post(refresh::refresh))
        .route_layer(auth::reload_user_layer(state.db.clone()));

    let dev_mailbox = state.dev_mailbox.is_some();
    let pages = Router::new()
        .route("/", get(home::show))
        .route("/registration/new", get(registration::new))
        .route("/registration", post(registration::create))
        .route(SignIn::PATH, get(session::new))
        .route("/session", post(session::create))
        .route("/session/delete", post(session::delete))
        .route(
            <Confirm as RedirectPath>::PATH,
            get(confirm::new).post(confirm::create),
        )
        .route("/profile", get(profile::show))
        .route("/plan/edit", get(plan::edit))
        .route("/plan", post(plan::update))
        .route("/sessions", get(sessions::index))
        .route("/sessions/{id}/delete", post(sessions::delete))
        .route("/sessions/delete-others", post(sessions::delete_others))
        .route(
            "/sessions/remembered/{id}/delete",
            post(sessions::forget_series),
        )
        .route("/account/password", post(account::change_password))
        .route(
            "/password/reset",
            get(password_reset::new).post(password_reset::create),
        )
        .route(
            "/password/reset/{token}",
            get(password_reset::edit).post(password_reset::update),
        )
        .route(
            "/confirm/{token}",
            get(email_confirm::show).post(email_confirm::confirm),
        )
        .route("/confirm/resend", post(email_confirm::resend))
        .route("/session/link", post(magic::create))
        .route("/session/link/sent", get(magic::sent))
        .route(
            "/session/link/{token}",
            get(magic::show).post(magic::redeem),
        )
        .route("/session/code", post(magic::code))
        .route(
            crate::web::second_factor::TWO_FACTOR_PATH,
            get(two_factor::show).post(two_factor::create),
        )
        .route("/session/passkey/options", post(passkey_sign_in::options))
        .route("/session/passkey", post(passkey_sign_in::create))
        .route(
            "/session/two-factor/passkey/options",
            post(passkey_step::options),
        )
        .route("/session/two-factor/passkey", post(passkey_step::create))
        .route(
            "/account/passkeys",
            get(passkeys::index).post(passkeys::create),
        )
        .route("/account/passkeys/options", post(passkeys::options))
        .route("/account/passkeys/{id}/rename", post(passkeys::rename))
        .route("/account/passkeys/{id}/delete", post(passkeys::delete))
        .route("/auth/oidc/{key}", get(oidc::start))
        .route("/auth/oidc/{key}/callback", get(oidc::callback))
        .route("/account/identities", get(identities::index))
        .route("/account/identities/{key}/link", post(identities::link))
        .route("/account/identities/unlink", post(identities::unlink))
        .route("/account/tokens", get(tokens::index).post(tokens::create))
        .route("/account/tokens/{id}/delete", post(tokens::delete))
        .route("/account/totp", get(totp::show).post(totp::enable))
        .route("/account/totp/delete", post(totp::disable))
        .route("/account/recovery-codes", post(totp::regenerate))
        .route("/account/email", post(email_change::create))
        .route(
            "/account/email/{token}",
            get(email_change::show).post(email_change::update),
        )
        .merge(reloaded);
    // Only without SMTP_URL and on a loopback address: the page holds live links.
    let pages = if dev_mailbox {
        pages.route("/dev/mailbox", get(mailbox::show))
    } else {
        pages
    };
    let pages = pages.fallback(not_found).layer(csrf_layer);

    pages
        .route("/me", get(profile::me))
        // API clients: a bearer token, no cookie, so no CSRF layer.
        .route("/api/session", post(api::create).delete(api::delete))
        .route("/events", get(events::stream))
        .layer(session_layer)
        .route("/healthz", get(health::show))
        .route("/healthz/near", get(health::near))
        .route("/static/app.css", get(assets::stylesheet))
        .route("/static/favicon.svg", get(assets::favicon))
        .route("/static/session-events.js", get(assets::session_events_js))
        .route(
            crate::web::passkey_reply::SCRIPT_PATH,
            get(assets::passkeys_js),
        )
        .route("/favicon.ico", get(assets::favicon))
        .layer(headers)
        .with_state(state)
}

/// 404, in the viewer's frame (neither signed in nor out when the session store could not answer).
async fn not_found(who: Result<MaybeUser<User>, AuthRejection>, csrf: CsrfToken) -> Response {
    let layout = match who {
        Ok(MaybeUser(user)) => Layout::new(&csrf, user.as_deref(), &IncomingFlash::default()),
        Err(_) => Layout {
            viewer: Viewer::Unknown,
            ..Layout::default()
        },
    };
    views::framed_error_page(
        layout,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no page at this address.",
    )
}
