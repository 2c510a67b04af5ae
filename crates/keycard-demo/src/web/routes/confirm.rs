//! `GET /session/confirm`, `POST /session/confirm`: sudo mode's password confirmation. Pages that need a
//! recent sign-in ([`crate::web::auth::SudoUser`]: the password change, "sign out all other sessions")
//! send the user here with `return_to`; a right password records a fresh proof in this session
//! (`Auth::reauthenticate`: the token rotates, the session stays) and sends them back. Each attempt
//! goes through the login throttle like a sign-in.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use keycard::password::{PasswordError, Verified};
use keycard::throttle::whole_secs;
use keycard_axum::{is_local_path, AuthError};
use serde::Deserialize;

use crate::domain::throttle::{try_again_message, ThrottleError};
use crate::domain::users;
use crate::web::auth::{AuthUser, PageUser};
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::respond::{retry_after as retry_after_header, to_sign_in};
use crate::web::state::AppState;
use crate::web::views::{render, ConfirmPage, Layout};

/// Where to go after the confirmation when `return_to` is missing or not a local path.
const DEFAULT_RETURN: &str = "/profile";

/// `?return_to=` of the form page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReturnTo {
    /// A local path.
    pub return_to: String,
}

/// The confirmation form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConfirmForm {
    /// The password.
    pub password: String,
    /// Where to go back to.
    pub return_to: String,
}

fn local_or_default(p: &str) -> String {
    if is_local_path(p) {
        p.to_owned()
    } else {
        String::new()
    }
}

/// The form.
pub async fn new(
    PageUser { user, .. }: PageUser,
    csrf: CsrfToken,
    flash: IncomingFlash,
    Query(q): Query<ReturnTo>,
) -> Result<Response, AppError> {
    let page = ConfirmPage {
        layout: Layout::new(&csrf, Some(&user), &flash),
        email: user.email.clone(),
        return_to: local_or_default(&q.return_to),
        error: None,
    };
    Ok(render(StatusCode::OK, &page, Some(&flash)))
}

/// Check the password: 303 back to `return_to` (or `/profile`) with a fresh proof; 401 with a message
/// for a wrong one; 429 with `Retry-After` when the login throttle refuses.
pub async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    PageUser { user, .. }: PageUser,
    ClientIp(ip): ClientIp,
    csrf: CsrfToken,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, AppError> {
    let return_to = local_or_default(&form.return_to);
    let page = |status: StatusCode, error: String| {
        let page = ConfirmPage {
            layout: Layout::new(&csrf, Some(&user), &IncomingFlash::default()),
            email: user.email.clone(),
            return_to: return_to.clone(),
            error: Some(error),
        };
        render(status, &page, None)
    };
    let address = Some(ip).filter(|ip| !ip.is_unspecified());
    let attempt = match state.throttle.begin(&user.email, address).await {
        Ok(a) => a,
        Err(ThrottleError::Limited { retry_after, .. }) => {
            let secs = whole_secs(retry_after);
            let res = page(StatusCode::TOO_MANY_REQUESTS, try_again_message(secs));
            return Ok(([retry_after_header(secs)], res).into_response());
        }
        Err(ThrottleError::Store(e)) => return Err(AppError::Auth(AuthError::Store(e))),
        Err(e) => {
            tracing::error!(user_id = %user.id, error = %e, "login throttle refused a password confirmation");
            return Err(AppError::Auth(AuthError::NotSignedIn));
        }
    };
    let Some(stored) = users::password_hash(&state.db, &user.id).await? else {
        auth.delete().await?;
        return Ok(to_sign_in());
    };
    match state.hasher.verify(&form.password, Some(&stored)).await {
        Ok(Verified::Valid { .. }) => {}
        Ok(Verified::Invalid) => {
            state
                .cache
                .audit()
                .sign_in_failed(&user.email, "wrong_confirm_password");
            return Ok(page(
                StatusCode::UNAUTHORIZED,
                "That password is not right. Try again.".to_owned(),
            ));
        }
        Err(e @ PasswordError::Busy { .. }) => {
            if let Err(se) = state.throttle.succeeded(attempt).await {
                tracing::warn!(error = %se, "could not give back a login-throttle reservation");
            }
            return Err(e.into());
        }
        Err(e) => {
            tracing::error!(user_id = %user.id, error = %e, "stored password hash is unusable");
            return Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Your password could not be checked; contact support.".to_owned(),
            ));
        }
    }
    if let Err(e) = state.throttle.succeeded(attempt).await {
        tracing::warn!(error = %e, "could not give back a login-throttle reservation");
    }
    auth.reauthenticate().await?;
    let to = if return_to.is_empty() {
        DEFAULT_RETURN
    } else {
        return_to.as_str()
    };
    Ok(state.flash.redirect(to, "Password confirmed."))
}
