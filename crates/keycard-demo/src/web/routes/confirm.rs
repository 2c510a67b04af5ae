//! `GET /session/confirm`, `POST /session/confirm`: sudo mode's password confirmation. Pages that need a
//! recent sign-in ([`crate::web::auth::SudoUser`]: the password change, "sign out all other sessions")
//! send the user here with `return_to`; a right password records a fresh proof in this session
//! (`Auth::reauthenticate`: the token rotates, the session stays) and sends them back. Each attempt
//! goes through the login throttle, counted for this session (and its address), not for the account:
//! wrong sign-ins from elsewhere do not lock the owner out of confirming (issue 18, W12).
//!
//! `return_to` (query and form alike) is kept only when [`is_local_path`] accepts it: printable ASCII,
//! no backslash, not `//`, and on this origin once resolved (issue 18, V4: `/\t/evil.example`, which
//! browsers read as `//evil.example`, had been accepted). Anything else goes back to `/profile`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use keycard::password::{PasswordError, Verified};
use keycard_axum::is_local_path;
use serde::Deserialize;

use crate::domain::users;
use crate::web::attempts::{self, Begun};
use crate::web::auth::{AuthUser, PageUser};
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::respond::to_sign_in;
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

/// What an account with no password (made by an identity provider) is told.
pub const NO_PASSWORD: &str = "Your account has no password. Sign out and sign in again with your \
    identity provider (a new sign-in counts as a confirmation), or set a password with \
    \"Forgot your password?\".";

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
    let Some(session) = auth.session() else {
        return Ok(to_sign_in());
    };
    let attempt =
        match attempts::begin_in_session(&state, &session.session_id, &user.email, ip, page).await?
        {
            Begun::Go(attempt) => attempt,
            Begun::Refused(res) => return Ok(res),
        };
    let stored = match users::password_hash(&state.db, &user.id).await {
        Ok(stored) => stored,
        Err(e) => {
            attempts::give_back(&state, attempt).await; // nothing was checked
            return Err(e.into());
        }
    };
    let Some(stored) = stored else {
        auth.delete().await?;
        return Ok(to_sign_in());
    };
    if stored == users::NO_PASSWORD {
        // Made by an identity provider: there is no password to confirm (not an attempt).
        attempts::give_back(&state, attempt).await;
        return Ok(page(StatusCode::CONFLICT, NO_PASSWORD.to_owned()));
    }
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
            attempts::give_back(&state, attempt).await; // not checked: not a failure
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
    attempts::give_back(&state, attempt).await;
    auth.reauthenticate().await?;
    let to = if return_to.is_empty() {
        DEFAULT_RETURN
    } else {
        return_to.as_str()
    };
    Ok(state.flash.redirect(to, "Password confirmed."))
}
