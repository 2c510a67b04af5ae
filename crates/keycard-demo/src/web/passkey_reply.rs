//! What the passkey pages share: a begun ceremony as the JSON the page's script reads, the form the
//! script posts back, what a refused passkey tells the user, and a server-side failure as an
//! [`AppError`] (503: nobody is signed in).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keycard_passkey::{BrowserReply, Ceremony, PasskeyError};
use serde::Deserialize;

use crate::web::error::AppError;

/// The script that runs every passkey ceremony of the demo's pages (`static/passkeys.js`).
pub const SCRIPT_PATH: &str = "/static/passkeys.js";

/// What the page's script posts back (a form, so the CSRF field rides along as on every form): the
/// ceremony token it was given and the credential's JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AnswerForm {
    /// The ceremony token ([`Ceremony::token`]).
    pub token: String,
    /// `JSON.stringify(credential)` of what the browser's WebAuthn call returned.
    pub credential: String,
}

impl AnswerForm {
    /// As keycard-passkey takes it.
    pub fn reply(&self) -> BrowserReply<'_> {
        BrowserReply {
            token: &self.token,
            credential: &self.credential,
        }
    }
}

/// `{"options": …, "token": …, "expires_at": …}`, never cached.
pub fn ceremony_json(ceremony: Ceremony) -> Response {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(ceremony),
    )
        .into_response()
}

/// What the user reads when a passkey was refused (a client error: [`PasskeyError::is_client_error`]).
pub fn refusal_message(e: &PasskeyError) -> &'static str {
    match e {
        PasskeyError::CeremonyExpired | PasskeyError::CeremonyMismatch => {
            "That passkey request timed out or was already used. Please try again."
        }
        PasskeyError::UnknownCredential | PasskeyError::NoPasskeys => {
            "That passkey is not registered here (it may have been removed). Sign in another way."
        }
        PasskeyError::CounterRegressed => {
            "That passkey was refused: it may have been copied. Sign in another way, and consider removing it."
        }
        PasskeyError::AlreadyRegistered => "This passkey is registered already.",
        PasskeyError::LastSignInMethod => {
            "This is your last way to sign in: add another passkey or a password first."
        }
        _ => "That passkey was not accepted. Please try again.",
    }
}

/// A passkey failure on the server's side (the session store, the factor store, a record that does not
/// decode): a 503, logged without any token or credential.
pub fn failure(e: PasskeyError) -> AppError {
    match e {
        PasskeyError::Store(e) => e.into(),
        e => {
            tracing::error!(error = %e, "a passkey operation failed");
            keycard::StoreError::new("keycard-passkey", "passkeys", e.to_string()).into()
        }
    }
}
