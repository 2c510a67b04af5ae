//! `POST /session/passkey/options`, `POST /session/passkey`: "Sign in with a passkey" on the sign-in
//! page, with no email typed (a discoverable credential: the browser offers the passkeys it holds for
//! this site).
//!
//! The page's script (`static/passkeys.js`) asks for the options (JSON; at most
//! [`PASSKEY_STARTS_PER_CLIENT`](crate::domain::throttle::PASSKEY_STARTS_PER_CLIENT) per client
//! address, since each writes a ceremony record), hands them to `navigator.credentials.get`, and posts
//! the answer (a form: `token`, `credential`). The passkey names the account; a passkey verifies the
//! user (PIN, biometric), so no second step follows: the answer signs in at once (a new session, fresh
//! for sudo mode). A refused answer: the sign-in page again, 401, with why.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use keycard::throttle::whole_secs;

use crate::domain::throttle::RateLimitError;
use crate::domain::users;
use crate::web::auth::{self, AuthUser};
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::oidc_views::ProviderButton;
use crate::web::passkey_reply::{ceremony_json, failure, refusal_message, AnswerForm};
use crate::web::respond::retry_after;
use crate::web::routes::api::json_error;
use crate::web::state::AppState;
use crate::web::views::{render, Layout, SignInPage};

/// Begin a sign-in: the options as JSON; 429 (JSON, `Retry-After`) past the client's limit.
pub async fn options(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
) -> Result<Response, AppError> {
    // An unknown address (`CLIENT_IP_SOURCE=none`) is not counted.
    if !ip.is_unspecified() {
        match state.second.passkey_starts.hit_address(ip).await {
            Ok(_) => {}
            Err(RateLimitError::Limited { retry_after: wait }) => {
                let secs = whole_secs(wait);
                let res = json_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many passkey sign-ins from your network. Try again later.",
                    serde_json::Value::Null,
                );
                return Ok(([retry_after(secs)], res).into_response());
            }
            Err(RateLimitError::Store(e)) => return Err(e.into()),
            Err(e) => {
                tracing::error!(error = %e, "the passkey sign-in limit refused a request");
                return Err(keycard::StoreError::new(
                    "keycard-demo",
                    "passkey_start",
                    e.to_string(),
                )
                .into());
            }
        }
    }
    let ceremony = state
        .second
        .passkeys
        .start_sign_in()
        .await
        .map_err(failure)?;
    Ok(ceremony_json(ceremony))
}

/// Finish a sign-in: 303 to `/profile`, signed in; a refused answer: the sign-in page, 401.
pub async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    csrf: CsrfToken,
    Form(form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    let refused = |message: &str| {
        let page = SignInPage {
            layout: Layout::new(&csrf, None, &IncomingFlash::default()).at("/session/new"),
            email: String::new(),
            error: Some(message.to_owned()),
            notice: None,
            providers: ProviderButton::all(&state.oidc.oidc),
        };
        render(StatusCode::UNAUTHORIZED, &page, None)
    };
    let verified = match state.second.passkeys.finish_sign_in(form.reply()).await {
        Ok(verified) => verified,
        Err(e) if e.is_client_error() => return Ok(refused(refusal_message(&e))),
        Err(e) => return Err(failure(e)),
    };
    // The passkey outlived its account (removed between the check and here): nobody to sign in.
    let Some(user) = users::find(&state.db, &verified.user_key).await? else {
        return Ok(refused(refusal_message(
            &keycard_passkey::PasskeyError::UnknownCredential,
        )));
    };
    let welcome = format!("Welcome back, {}. Signed in with a passkey.", user.email);
    auth::sign_in(&state, &auth, user, &welcome, false).await
}
