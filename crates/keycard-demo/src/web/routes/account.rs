//! `POST /account/password`: change the password. Every other session of the user ends (the new
//! credential fingerprint ends them, and they are deleted too); this one stays signed in with a new token
//! (a privilege change: the old token dies at once).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use keycard::password::{PasswordError, Verified};
use keycard::throttle::whole_secs;
use keycard_axum::{AuthError, RedirectPath};
use serde::Deserialize;

use crate::domain::throttle::ThrottleError;
use crate::domain::users;
use crate::web::auth::{AuthUser, SudoUser};
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::respond::{retry_after as retry_after_header, to_sign_in, SignIn};
use crate::web::routes::registration::{password_error, policy_message, PASSWORD_POLICY};
use crate::web::state::AppState;
use crate::web::views::{render, Layout, PasswordErrors, ProfilePage, UserView};

/// The password-change form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    /// The password now.
    pub current_password: String,
    /// The new password.
    pub password: String,
    /// The new password again.
    pub password_confirmation: String,
}

/// Sudo mode: without a recent sign-in (or password confirmation), 303 to the confirmation page first.
/// 303 to `/profile` with a flash; 422 with field messages (wrong current password, a new password the
/// policy refuses or equal to the current one, mismatch); 429 when the login throttle refuses the attempt
/// (wrong current passwords count as failed sign-ins, reserved before the check:
/// [`crate::domain::throttle`]).
pub async fn change_password(
    State(state): State<AppState>,
    auth: AuthUser,
    SudoUser { user, .. }: SudoUser,
    ClientIp(ip): ClientIp,
    csrf: CsrfToken,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let page = |status: StatusCode, errors: PasswordErrors| {
        let page = ProfilePage {
            layout: Layout::new(&csrf, Some(&user), &IncomingFlash::default()).at("/profile"),
            user: UserView::from(&*user),
            password_errors: errors,
        };
        render(status, &page, None)
    };
    let address = Some(ip).filter(|ip| !ip.is_unspecified());
    let attempt = match state.throttle.begin(&user.email, address).await {
        Ok(attempt) => attempt,
        Err(ThrottleError::Limited { retry_after, .. }) => {
            let errors = PasswordErrors {
                current_password: Some("was wrong too many times; try again later"),
                ..PasswordErrors::default()
            };
            return Ok((
                [retry_after_header(whole_secs(retry_after))],
                page(StatusCode::TOO_MANY_REQUESTS, errors),
            )
                .into_response());
        }
        Err(ThrottleError::Store(e)) => return Err(AppError::Auth(AuthError::Store(e))),
        Err(e) => {
            // The email of a signed-in user is never too long (registration refuses it).
            tracing::error!(user_id = %user.id, error = %e, "login throttle refused a password change");
            return Err(AppError::Auth(AuthError::NotSignedIn));
        }
    };
    let Some(stored) = users::password_hash(&state.db, &user.id).await? else {
        auth.delete().await?;
        return Ok(state
            .flash
            .redirect(SignIn::PATH, "Your account no longer exists."));
    };
    let mut errors = PasswordErrors {
        current_password: None,
        password: password_error(&form.password, &user.email),
        password_confirmation: (form.password != form.password_confirmation)
            .then_some("does not match the password"),
    };
    match state
        .hasher
        .verify(&form.current_password, Some(&stored))
        .await
    {
        Ok(Verified::Valid { .. }) => {
            // The current password is right, so a new one equal to it is no change.
            if let Err(e) =
                PASSWORD_POLICY.check_change(&form.password, &form.current_password, &[&user.email])
            {
                errors.password = Some(policy_message(&e));
            }
        }
        Ok(Verified::Invalid) => {
            state
                .cache
                .audit()
                .sign_in_failed(&user.email, "wrong_current_password");
            errors.current_password = Some("is incorrect");
        }
        Err(e @ PasswordError::Busy { .. }) => {
            // Not checked: not a failure.
            if let Err(se) = state.throttle.succeeded(attempt).await {
                tracing::warn!(error = %se, "could not give back a login-throttle reservation");
            }
            return Err(e.into());
        }
        Err(e) => {
            tracing::error!(user_id = %user.id, error = %e, "stored password hash is unusable");
            errors.current_password = Some("could not be checked; contact support");
        }
    }
    if errors.any() {
        if errors.current_password.is_none() {
            // The current password was right: only the new one is refused.
            if let Err(e) = state.throttle.succeeded(attempt).await {
                tracing::warn!(error = %e, "could not give back a login-throttle reservation");
            }
        }
        return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, errors));
    }
    if let Err(e) = state.throttle.succeeded(attempt).await {
        tracing::warn!(error = %e, "could not give back a login-throttle reservation");
    }
    let hash = state.hasher.hash(&form.password).await?;
    let Some(changed) =
        users::change_password(&state.db, &user.id, &hash, state.clock.now_secs()).await?
    else {
        auth.delete().await?;
        return Ok(to_sign_in());
    };
    // Sync: the changed user (new credential fingerprint) is cached and this session's token rotates. From
    // here every other session of the user is dead at its next request, including one a sign-in with the
    // old password creates meanwhile; ending them now also frees them in the store.
    auth.create(changed).await?;
    let ended = auth.delete_other_sessions().await?;
    state.cache.audit().password_changed(&user.id, ended);
    Ok(state.flash.redirect(
        "/profile",
        "Password changed. Your other sessions have been signed out.",
    ))
}
