//! `POST /account/password`: change the password. Every other session of the user ends (the new
//! credential fingerprint ends them, and they are deleted too); this one stays signed in with a new token
//! (a privilege change: the old token dies at once).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use keycard::password::{PasswordError, Verified};
use keycard_axum::RedirectPath;
use serde::Deserialize;

use crate::domain::users;
use crate::web::attempts::{self, Begun};
use crate::web::auth::{AuthUser, SudoUser};
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::respond::{to_sign_in, SignIn};
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
/// (wrong current passwords count as failures of this session and its address, reserved before the
/// check, never on the account's sign-in counter: [`crate::domain::throttle`]).
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
    // Wrong current passwords count against this session; every 429 reads the same on this form.
    let too_many = |status: StatusCode, _message: String| {
        let errors = PasswordErrors {
            current_password: Some("was wrong too many times; try again later"),
            ..PasswordErrors::default()
        };
        page(status, errors)
    };
    let Some(session) = auth.session() else {
        return Ok(to_sign_in());
    };
    let attempt =
        match attempts::begin_in_session(&state, &session.session_id, &user.email, ip, too_many)
            .await?
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
        return Ok(state
            .flash
            .redirect(SignIn::PATH, "Your account no longer exists."));
    };
    if stored == users::NO_PASSWORD {
        // Made by an identity provider: no current password to check (not an attempt).
        attempts::give_back(&state, attempt).await;
        let errors = PasswordErrors {
            current_password: Some(
                "cannot be checked: your account has no password (set one with \"Forgot your password?\")",
            ),
            password: None,
            password_confirmation: None,
        };
        return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, errors));
    }
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
            attempts::give_back(&state, attempt).await; // not checked: not a failure
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
            attempts::give_back(&state, attempt).await;
        }
        return Ok(page(StatusCode::UNPROCESSABLE_ENTITY, errors));
    }
    attempts::give_back(&state, attempt).await;
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
