//! `GET/POST /confirm/{token}`, `POST /confirm/resend`: confirming the address an account registered
//! with ([`keycard::inbox::Flow::ConfirmEmail`], 7 days). Registration sends the link; an unconfirmed
//! user may sign in (the profile says "unconfirmed" and offers to send it again).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use keycard::inbox::{Flow, Redeemed};

use crate::domain::email;
use crate::web::auth::{AuthUser, PageUser};
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::email_views::{LinkConfirmPage, LinkInvalidPage};
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::inbox;
use crate::web::state::AppState;
use crate::web::views::{render, Layout};

fn invalid(csrf: &CsrfToken, auth: &AuthUser) -> Response {
    let user = auth.current_user();
    let page = LinkInvalidPage {
        layout: Layout::new(csrf, user.as_deref(), &IncomingFlash::default()),
        again_href: "/profile",
        again_label: "Send a new link from your profile",
    };
    render(StatusCode::NOT_FOUND, &page, None)
}

/// The link's page: one button (a GET confirms nothing: mail scanners open links).
pub async fn show(
    State(state): State<AppState>,
    auth: AuthUser,
    csrf: CsrfToken,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    if state
        .inbox
        .check(Flow::ConfirmEmail, &token)
        .await?
        .is_none()
    {
        return Ok(invalid(&csrf, &auth));
    }
    let user = auth.current_user();
    let page = LinkConfirmPage {
        layout: Layout::new(&csrf, user.as_deref(), &IncomingFlash::default()),
        title: "Confirm your email address",
        text: "Press the button to confirm the email address of your account.".to_owned(),
        action: format!("/confirm/{token}"),
        button: "Confirm my email",
    };
    Ok(render(StatusCode::OK, &page, None))
}

/// Use the link: the address is confirmed (the cached user too), `303` to the profile.
pub async fn confirm(
    State(state): State<AppState>,
    auth: AuthUser,
    csrf: CsrfToken,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let (user, sent_to) = match state
        .inbox
        .redeem(Flow::ConfirmEmail, &token, inbox::loader(&state))
        .await?
    {
        Redeemed::Valid { user, sent_to } => (user, sent_to),
        _ => return Ok(invalid(&csrf, &auth)),
    };
    let now = state.clock.now_secs();
    match email::confirm(&state.db, &user.id, &sent_to, now).await? {
        Some(updated) => {
            if let Err(e) = state.cache.put_user(updated).await {
                tracing::warn!(error = %e, "confirmed, but the cached user was not replaced; it shows at the next sign-in");
            }
        }
        None => return Ok(invalid(&csrf, &auth)),
    }
    let to = if auth.is_signed_in() { "/profile" } else { "/" };
    Ok(state
        .flash
        .redirect(to, "Your email address is confirmed. Thank you."))
}

/// Send the link again to the signed-in user (when unconfirmed); counted like every request for mail.
pub async fn resend(
    State(state): State<AppState>,
    PageUser { user, .. }: PageUser,
    ClientIp(ip): ClientIp,
) -> Result<Response, AppError> {
    if user.is_confirmed() {
        return Ok(state
            .flash
            .redirect("/profile", "Your email address is already confirmed."));
    }
    if let Some(wait) = inbox::count_request(&state, ip, &user.email).await? {
        return Ok(state
            .flash
            .redirect("/profile", &inbox::too_many_message(wait)));
    }
    inbox::send(&state, Flow::ConfirmEmail, (*user).clone());
    Ok(state.flash.redirect(
        "/profile",
        &format!("We sent a new confirmation link to {}.", user.email),
    ))
}
