//! Handler errors and the responses they become. The log gets the detail; the page says what failed and
//! what to do, and never treats a failure as "signed in" or "signed out".

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keycard_axum::AuthError;

use crate::web::respond;
use crate::web::views;

/// Something a handler could not do.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The users database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Hashing a password failed.
    #[error("password hashing error: {0}")]
    Password(#[from] keycard::password::PasswordError),
    /// A session operation failed (store outage, or the session ended meanwhile).
    #[error("session operation failed: {0}")]
    Auth(#[from] AuthError),
    /// Redeeming an emailed link failed (its store or the users database).
    #[error("link redemption failed: {0}")]
    Inbox(#[from] keycard::inbox::InboxError),
}

impl From<keycard::StoreError> for AppError {
    fn from(e: keycard::StoreError) -> Self {
        AppError::Auth(AuthError::Store(e))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let message = match &self {
            // The session ended under this request (revoked elsewhere, expired): sign in again.
            AppError::Auth(AuthError::NotSignedIn) => {
                tracing::info!("session ended during the request; sending the visitor to sign in");
                return respond::to_sign_in();
            }
            // Served from a token another request just replaced: read-only (the library refused and
            // wrote an audit event). The browser holds the new cookie: a reload goes through.
            AppError::Auth(AuthError::StaleToken) => {
                return views::error_page(
                    StatusCode::CONFLICT,
                    "Please try again",
                    "This page used a session that was renewed a moment ago. Nothing was changed: \
                     go back, reload the page and try again.",
                );
            }
            // Ending another session without a recent password proof: confirm the password first.
            AppError::Auth(AuthError::SudoRequired) => {
                return axum::response::Redirect::to("/session/confirm?return_to=/sessions")
                    .into_response();
            }
            AppError::Db(_) => {
                "The users database is unavailable. Nothing was changed; try again in a moment."
            }
            AppError::Auth(_) => "The session store is unavailable. Try again in a moment.",
            AppError::Inbox(_) => {
                "The link could not be checked right now. Try again in a moment (ask for a new link if it \
                 says it is no longer valid)."
            }
            AppError::Password(_) => "Password checking is unavailable. Try again in a moment.",
        };
        tracing::error!(error = %self, "request failed");
        let retry_after = match &self {
            AppError::Password(keycard::password::PasswordError::Busy { retry_after }) => {
                retry_after.as_secs()
            }
            _ => 5,
        };
        let mut res = views::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable",
            message,
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        res
    }
}
