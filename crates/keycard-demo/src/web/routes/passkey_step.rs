//! `POST /session/two-factor/passkey/options`, `POST /session/two-factor/passkey`: a passkey as the
//! second step of a password sign-in, beside the authenticator app's code on `/session/two-factor`.
//!
//! The request carries the pending-login cookie ([`crate::web::second_factor`]). The options list only
//! the pending account's passkeys; the answer must come from one of them. Each answer goes through the
//! login throttle as a typed code does (per account and per client: a refused passkey counts, a right one
//! is given back); a right one completes the pending login (one winner), loads the user again, checks the
//! password did not change meanwhile, and signs in: a new session, fresh for sudo mode, "Remember me" as
//! ticked with the password.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;

use crate::domain::users;
use crate::web::attempts::{self, Begun};
use crate::web::auth::{self, AuthUser};
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::factor_views::TwoFactorPage;
use crate::web::flash::IncomingFlash;
use crate::web::passkey_reply::{ceremony_json, failure, refusal_message, AnswerForm};
use crate::web::respond::with_cookie;
use crate::web::routes::api::json_error;
use crate::web::routes::two_factor::{page, pending, start_over, EXPIRED};
use crate::web::second_factor::TWO_FACTOR_PATH;
use crate::web::state::AppState;
use crate::web::views::{render, Layout};

/// Begin the second step: the options as JSON; 401 (JSON) when no login is pending.
pub async fn options(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let Some((_, pending)) = pending(&state, &headers).await? else {
        return Ok(json_error(
            StatusCode::UNAUTHORIZED,
            EXPIRED,
            serde_json::Value::Null,
        ));
    };
    match state
        .second
        .passkeys
        .start_second_step(&pending.user_key)
        .await
    {
        Ok(ceremony) => Ok(ceremony_json(ceremony)),
        Err(e) if e.is_client_error() => Ok(json_error(
            StatusCode::CONFLICT,
            refusal_message(&e),
            serde_json::Value::Null,
        )),
        Err(e) => Err(failure(e)),
    }
}

/// Finish the second step: 303 to `/profile`, signed in; a refused passkey: the form again (401; the
/// login stays pending); 429 when the throttle refuses; back to sign in when the login is no longer
/// pending.
pub async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    csrf: CsrfToken,
    Form(form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    let Some((challenge, pending)) = pending(&state, &headers).await? else {
        return Ok(start_over(&state));
    };
    let user_key = pending.user_key.clone();
    let login = format!("second-factor:{user_key}");
    let factors = state.second.factors.factors(&user_key).await?;
    let refused = |status: StatusCode, message: String| {
        let page = TwoFactorPage {
            layout: Layout::new(&csrf, None, &IncomingFlash::default()).at(TWO_FACTOR_PATH),
            totp: factors.totp,
            passkey: factors.passkeys > 0,
            error: Some(message),
        };
        render(status, &page, None)
    };
    let attempt = match attempts::begin(&state, &login, ip, refused).await? {
        Begun::Go(attempt) => attempt,
        Begun::Refused(res) => return Ok(res),
    };
    let checked = state
        .second
        .passkeys
        .finish_second_step(&user_key, form.reply())
        .await;
    match checked {
        Ok(_) => attempts::give_back(&state, attempt).await,
        Err(e) if e.is_client_error() => {
            drop(attempt); // stays counted: a failure
            state
                .cache
                .audit()
                .second_factor_failed(&user_key, "passkey_refused");
            let message = Some(refusal_message(&e).to_owned());
            let status = StatusCode::UNAUTHORIZED;
            return page(&state, &csrf, &user_key, status, message).await;
        }
        Err(e) => {
            attempts::give_back(&state, attempt).await;
            return Err(failure(e));
        }
    }
    // One winner: of two tabs finishing at once, one signs in.
    let Some(pending) = state.second.pending.complete(&challenge).await? else {
        return Ok(start_over(&state));
    };
    let user = users::find(&state.db, &pending.user_key).await?;
    // The password changed (or the account went) while the passkey was asked: start again.
    let Some(user) = user.filter(|u| pending.still_valid(u)) else {
        return Ok(start_over(&state));
    };
    let welcome = format!("Welcome back, {}.", user.email);
    let res = auth::sign_in(&state, &auth, user, &welcome, pending.remember).await?;
    Ok(with_cookie(res, state.second.cookie.clear()))
}
