//! `GET/POST /password/reset`, `GET/POST /password/reset/{token}`: a password reset by email
//! ([`keycard::inbox::Flow::ResetPassword`], 1 hour, single use).
//!
//! The request answers one redirect whatever the address (see [`crate::web::inbox`]); the link opens a
//! form (a GET never consumes it), whose POST checks the new password against the policy **before** the
//! link is used up, then sets it: the new credential fingerprint and "sign out everywhere" end every
//! session and remember-me series of the account, and its other reset and sign-in links.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use keycard::inbox::{Flow, Redeemed};
use serde::Deserialize;

use crate::domain::{email, users};
use crate::web::auth::AuthUser;
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::email_views::{LinkInvalidPage, PasswordResetEditPage, PasswordResetNewPage};
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::inbox;
use crate::web::respond::retry_after;
use crate::web::routes::registration::password_error;
use crate::web::state::AppState;
use crate::web::views::{render, Layout};

/// What `POST /password/reset` answers, whatever the address: the same words for everybody.
pub const SENT: &str =
    "If an account exists for that address, we sent it a link to choose a new password.";

/// `email`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EmailForm {
    /// The address typed.
    pub email: String,
}

/// `password`, `password_confirmation`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewPasswordForm {
    /// The new password.
    pub password: String,
    /// Again.
    pub password_confirmation: String,
}

/// The request form.
pub async fn new(auth: AuthUser, csrf: CsrfToken, flash: IncomingFlash) -> Response {
    let user = auth.current_user();
    let page = PasswordResetNewPage {
        layout: Layout::new(&csrf, user.as_deref(), &flash).at("/password/reset"),
        notice: None,
        error: None,
    };
    render(StatusCode::OK, &page, Some(&flash))
}

/// Ask for a link: `303` back to the form with [`SENT`], whatever the address; `429` with `Retry-After`
/// when this client or this address asked too often.
pub async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    csrf: CsrfToken,
    Form(form): Form<EmailForm>,
) -> Result<Response, AppError> {
    let address = users::normalize_email(&form.email);
    if let Some(wait) = inbox::count_request(&state, ip, &address).await? {
        let user = auth.current_user();
        let page = PasswordResetNewPage {
            layout: Layout::new(&csrf, user.as_deref(), &IncomingFlash::default())
                .at("/password/reset"),
            notice: None,
            error: Some(inbox::too_many_message(wait)),
        };
        let secs = keycard::throttle::whole_secs(wait);
        return Ok((
            [retry_after(secs)],
            render(StatusCode::TOO_MANY_REQUESTS, &page, None),
        )
            .into_response());
    }
    inbox::send_if_account(&state, Flow::ResetPassword, address);
    Ok(state.flash.redirect("/password/reset", SENT))
}

fn invalid(csrf: &CsrfToken, auth: &AuthUser) -> Response {
    let user = auth.current_user();
    let page = LinkInvalidPage {
        layout: Layout::new(csrf, user.as_deref(), &IncomingFlash::default()),
        again_href: "/password/reset",
        again_label: "Send me a new link",
    };
    render(StatusCode::NOT_FOUND, &page, None)
}

fn form(
    csrf: &CsrfToken,
    auth: &AuthUser,
    status: StatusCode,
    email: &str,
    token: &str,
    error: Option<String>,
) -> Response {
    let user = auth.current_user();
    let page = PasswordResetEditPage {
        layout: Layout::new(csrf, user.as_deref(), &IncomingFlash::default()),
        email: email.to_owned(),
        action: format!("/password/reset/{token}"),
        error,
    };
    render(status, &page, None)
}

/// The link's page: the new-password form, or "no longer valid".
pub async fn edit(
    State(state): State<AppState>,
    auth: AuthUser,
    csrf: CsrfToken,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some(key) = state.inbox.check(Flow::ResetPassword, &token).await? else {
        return Ok(invalid(&csrf, &auth));
    };
    match users::find(&state.db, &key).await? {
        Some(user) => Ok(form(
            &csrf,
            &auth,
            StatusCode::OK,
            &user.email,
            &token,
            None,
        )),
        None => Ok(invalid(&csrf, &auth)),
    }
}

/// Set the new password: checked first (a refused one leaves the link usable), then the link is used up,
/// the password stored, every session and series of the account ended; `303` to sign in.
pub async fn update(
    State(state): State<AppState>,
    auth: AuthUser,
    csrf: CsrfToken,
    Path(token): Path<String>,
    Form(f): Form<NewPasswordForm>,
) -> Result<Response, AppError> {
    let Some(key) = state.inbox.check(Flow::ResetPassword, &token).await? else {
        return Ok(invalid(&csrf, &auth));
    };
    let Some(user) = users::find(&state.db, &key).await? else {
        return Ok(invalid(&csrf, &auth));
    };
    let refused = |message: String| {
        form(
            &csrf,
            &auth,
            StatusCode::UNPROCESSABLE_ENTITY,
            &user.email,
            &token,
            Some(message),
        )
    };
    if f.password != f.password_confirmation {
        return Ok(refused("The two passwords do not match.".to_owned()));
    }
    if let Some(why) = password_error(&f.password, &user.email) {
        return Ok(refused(format!("The password {why}.")));
    }
    let hash = state.hasher.hash(&f.password).await?;
    let user = match state
        .inbox
        .redeem(Flow::ResetPassword, &token, inbox::loader(&state))
        .await?
    {
        Redeemed::Valid { user, .. } => user,
        _ => return Ok(invalid(&csrf, &auth)),
    };
    let now = state.clock.now_secs();
    let Some(changed) = users::change_password(&state.db, &user.id, &hash, now).await? else {
        return Ok(invalid(&csrf, &auth));
    };
    // The link reached the inbox: the address is proven too.
    email::confirm(&state.db, &changed.id, &changed.email, now).await?;
    // Every session and remember-me series of the account ends (the new credential fingerprint would
    // end the sessions at their next request; this ends them now, series included).
    let ended = state.cache.delete_user_sessions(&changed.id, None).await?;
    state.cache.audit().password_changed(&changed.id, ended);
    for flow in [Flow::ResetPassword, Flow::SignIn] {
        if let Err(e) = state.inbox.revoke(flow, &changed.id).await {
            tracing::warn!(error = %e, "could not end the account's other links; they die with the old password anyway");
        }
    }
    if auth.is_signed_in() && !auth.is_read_only() {
        // This browser's session ended with the others: clear its cookie.
        auth.delete().await?;
    }
    Ok(state.flash.redirect(
        "/session/new",
        "Your password is changed and every session of your account has ended. Sign in with the new password.",
    ))
}
