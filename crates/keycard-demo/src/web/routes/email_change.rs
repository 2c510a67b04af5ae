//! `POST /account/email`, `GET/POST /account/email/{token}`: moving an account to a new address
//! ([`keycard::inbox::Flow::ChangeEmail`], 7 days). Asking needs sudo mode; the link goes to the new
//! address; nothing changes until it is used; then the old address is told.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use keycard::inbox::{Flow, Redeemed};

use crate::domain::email::{self, ChangeEmailError};
use crate::domain::users::normalize_email;
use crate::web::auth::{AuthUser, SudoUser};
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::email_views::{LinkConfirmPage, LinkInvalidPage};
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::inbox;
use crate::web::routes::password_reset::EmailForm;
use crate::web::routes::registration::email_error;
use crate::web::state::AppState;
use crate::web::views::{framed_error_page, render, Layout};

/// Ask to move the account to `email`: the link goes there (unless another account has the address:
/// then nothing is sent, and the answer is the same).
pub async fn create(
    State(state): State<AppState>,
    recent: SudoUser,
    ClientIp(ip): ClientIp,
    Form(form): Form<EmailForm>,
) -> Result<Response, AppError> {
    let user = recent.user;
    let new = normalize_email(&form.email);
    if let Some(why) = email_error(&new) {
        return Ok(state
            .flash
            .redirect("/profile", &format!("The new email address {why}.")));
    }
    if new == user.email {
        return Ok(state
            .flash
            .redirect("/profile", "That is already your email address."));
    }
    if let Some(wait) = inbox::count_request(&state, ip, &new).await? {
        return Ok(state
            .flash
            .redirect("/profile", &inbox::too_many_message(wait)));
    }
    if !email::is_taken(&state.db, &new).await? {
        inbox::send_email_change(&state, (*user).clone(), new.clone());
    }
    Ok(state.flash.redirect(
        "/profile",
        &format!(
            "We sent a link to {new}. Your address changes when you open it there (within 7 days)."
        ),
    ))
}

fn invalid(csrf: &CsrfToken, auth: &AuthUser) -> Response {
    let user = auth.current_user();
    let page = LinkInvalidPage {
        layout: Layout::new(csrf, user.as_deref(), &IncomingFlash::default()),
        again_href: "/profile",
        again_label: "Ask again from your profile",
    };
    render(StatusCode::NOT_FOUND, &page, None)
}

/// The link's page: one button.
pub async fn show(
    State(state): State<AppState>,
    auth: AuthUser,
    csrf: CsrfToken,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    if state
        .inbox
        .check(Flow::ChangeEmail, &token)
        .await?
        .is_none()
    {
        return Ok(invalid(&csrf, &auth));
    }
    let user = auth.current_user();
    let page = LinkConfirmPage {
        layout: Layout::new(&csrf, user.as_deref(), &IncomingFlash::default()),
        title: "Use this email address",
        text: "Press the button to move your account to the address this link was sent to."
            .to_owned(),
        action: format!("/account/email/{token}"),
        button: "Use this address",
    };
    Ok(render(StatusCode::OK, &page, None))
}

/// Use the link: the account moves to the new address (confirmed), the cached user follows, the old
/// address is told; `303` to the profile (or home).
pub async fn update(
    State(state): State<AppState>,
    auth: AuthUser,
    csrf: CsrfToken,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let (user, new) = match state
        .inbox
        .redeem(Flow::ChangeEmail, &token, inbox::loader(&state))
        .await?
    {
        Redeemed::Valid { user, sent_to } => (user, sent_to),
        _ => return Ok(invalid(&csrf, &auth)),
    };
    let now = state.clock.now_secs();
    let updated = match email::change_email(&state.db, &user.id, &user.email, &new, now).await {
        Ok(u) => u,
        Err(ChangeEmailError::Taken) => {
            let viewer = auth.current_user();
            return Ok(framed_error_page(
                Layout::new(&csrf, viewer.as_deref(), &IncomingFlash::default()),
                StatusCode::CONFLICT,
                "Address in use",
                "Another account uses that address now. Your address did not change.",
            ));
        }
        Err(ChangeEmailError::Stale) => return Ok(invalid(&csrf, &auth)),
        Err(ChangeEmailError::Db(e)) => return Err(e.into()),
    };
    if let Err(e) = state.cache.put_user(updated.clone()).await {
        tracing::warn!(error = %e, "the address changed, but the cached user was not replaced; it shows at the next sign-in");
    }
    state
        .mail
        .send(state.mail.email_changed(&user.email, &updated.email));
    let to = if auth.is_signed_in() { "/profile" } else { "/" };
    Ok(state
        .flash
        .redirect(to, &format!("Your email address is now {}.", updated.email)))
}
