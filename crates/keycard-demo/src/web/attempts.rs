//! The login throttle around a password check, the one way every form that checks a password uses it:
//! [`begin`] before a sign-in's check, [`begin_in_session`] before a check made by a signed-in session
//! (the sudo confirmation, the current password of a password change), [`give_back`] when the password
//! was right (or could not be checked), nothing when it was wrong. The rule and the limits:
//! [`crate::domain::throttle`].

use std::net::IpAddr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keycard::throttle::{whole_secs, Attempt};
use keycard::SessionId;
use keycard_axum::AuthError;

use crate::domain::throttle::{try_again_message, ThrottleError};
use crate::web::error::AppError;
use crate::web::respond::retry_after;
use crate::web::state::AppState;

/// The one message for a failed sign-in, whatever failed.
pub const GENERIC_FAILURE: &str = "Invalid email or password.";

/// What [`begin`] decided.
#[derive(Debug)]
pub enum Begun {
    /// Counted: check the password.
    Go(Attempt),
    /// Refused before any check: send this.
    Refused(Response),
}

/// Reserve an attempt for `login` from `ip` (`0.0.0.0`: unknown, then only the account counters count).
/// A full counter answers `refused(429, "Too many failed sign-in attempts. Try again in …")` with
/// `Retry-After`; a login too long to be anybody's, `refused(401, GENERIC_FAILURE)`; a store failure is a
/// 503 ([`AppError`]).
pub async fn begin(
    state: &AppState,
    login: &str,
    ip: IpAddr,
    refused: impl FnOnce(StatusCode, String) -> Response,
) -> Result<Begun, AppError> {
    let address = Some(ip).filter(|ip| !ip.is_unspecified());
    let reserved = state.throttle.begin(login, address).await;
    answer(state, login, reserved, refused)
}

/// Reserve a password check made by the signed-in `session` of the account `login` from `ip`: on the
/// session's own counter and the address's, never on the account's, so failed sign-ins from elsewhere
/// cannot lock the owner out (issue 18, W12). Answers as [`begin`] does.
pub async fn begin_in_session(
    state: &AppState,
    session: &SessionId,
    login: &str,
    ip: IpAddr,
    refused: impl FnOnce(StatusCode, String) -> Response,
) -> Result<Begun, AppError> {
    let address = Some(ip).filter(|ip| !ip.is_unspecified());
    let reserved = state
        .throttle
        .begin_in_session(login, session, address)
        .await;
    answer(state, login, reserved, refused)
}

fn answer(
    state: &AppState,
    login: &str,
    reserved: Result<Attempt, ThrottleError>,
    refused: impl FnOnce(StatusCode, String) -> Response,
) -> Result<Begun, AppError> {
    match reserved {
        Ok(attempt) => Ok(Begun::Go(attempt)),
        Err(ThrottleError::Limited {
            retry_after: wait, ..
        }) => {
            let secs = whole_secs(wait);
            let page = refused(StatusCode::TOO_MANY_REQUESTS, try_again_message(secs));
            Ok(Begun::Refused(([retry_after(secs)], page).into_response()))
        }
        Err(ThrottleError::LoginTooLong { .. }) => {
            // No account has such a login (registration refuses it): a wrong login, nothing stored.
            state.cache.audit().sign_in_failed(login, "login_too_long"); // hashed: any length
            Ok(Begun::Refused(refused(
                StatusCode::UNAUTHORIZED,
                GENERIC_FAILURE.to_owned(),
            )))
        }
        Err(ThrottleError::Store(e)) => Err(AppError::Auth(AuthError::Store(e))),
        Err(e) => {
            tracing::error!(error = %e, "the login throttle refused an attempt");
            Ok(Begun::Refused(refused(
                StatusCode::UNAUTHORIZED,
                GENERIC_FAILURE.to_owned(),
            )))
        }
    }
}

/// The password was right, or was not checked (the hasher was busy): the attempt is no failure.
pub async fn give_back(state: &AppState, attempt: Attempt) {
    if let Err(e) = state.throttle.succeeded(attempt).await {
        tracing::warn!(error = %e, "could not give back a login-throttle reservation; it counts as a failure until its window ends");
    }
}
