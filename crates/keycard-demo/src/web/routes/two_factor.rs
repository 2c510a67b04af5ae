//! `GET /session/two-factor`, `POST /session/two-factor`: the second step of a sign-in.
//!
//! The request carries the pending-login cookie ([`crate::web::second_factor`]); the page asks for the
//! authenticator app's code (field `code`), which also takes a recovery code. Each try goes through the
//! login throttle under the account's second-factor name and the client address: wrong codes are
//! counted per account and per client, a right one is given back. A right code completes the pending
//! login (one winner), loads the user again and checks the password did not change meanwhile, then signs
//! in: a new session, fresh for sudo mode, "Remember me" as ticked with the password.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use keycard::factor::Pending;
use serde::Deserialize;

use crate::domain::users;
use crate::web::attempts::{self, Begun};
use crate::web::auth::{self, AuthUser};
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::factor_views::TwoFactorPage;
use crate::web::flash::IncomingFlash;
use crate::web::respond::{with_cookie, SignIn};
use crate::web::second_factor::{check_code, CodeCheck};
use crate::web::state::AppState;
use crate::web::views::{render, Layout};
use keycard_axum::RedirectPath as _;

/// The one message for a refused code.
pub const WRONG_CODE: &str =
    "That code is not right. Type the code your app shows now, or one of your recovery codes.";
/// The one message for a pending login that is gone (timed out, finished, or never begun).
pub const EXPIRED: &str = "Your sign-in timed out or was already finished. Please sign in again.";

/// The second-step form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    /// An authenticator code or a recovery code.
    pub code: String,
}

/// The pending login the request carries, with its challenge, if it is still pending.
pub(crate) async fn pending(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, Pending)>, AppError> {
    let Some(challenge) = state.second.cookie.read(headers) else {
        return Ok(None);
    };
    Ok(state
        .second
        .pending
        .peek(&challenge)
        .await?
        .map(|p| (challenge, p)))
}

/// Back to the sign-in page, the pending cookie cleared.
pub(crate) fn start_over(state: &AppState) -> Response {
    with_cookie(
        state.flash.redirect(SignIn::PATH, EXPIRED),
        state.second.cookie.clear(),
    )
}

/// The second step's form (what `user_key` has: a code field, a passkey button), with `error`.
pub(crate) async fn page(
    state: &AppState,
    csrf: &CsrfToken,
    user_key: &str,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, AppError> {
    let factors = state.second.factors.factors(user_key).await?;
    let page = TwoFactorPage {
        layout: Layout::new(csrf, None, &IncomingFlash::default()).at("/session/two-factor"),
        totp: factors.totp,
        passkey: factors.passkeys > 0,
        error,
    };
    Ok(render(status, &page, None))
}

/// The form, for a pending login; otherwise back to sign in.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    csrf: CsrfToken,
) -> Result<Response, AppError> {
    match pending(&state, &headers).await? {
        Some((_, p)) => page(&state, &csrf, &p.user_key, StatusCode::OK, None).await,
        None => Ok(start_over(&state)),
    }
}

/// Check a code: 303 to `/profile`, signed in; 401 with [`WRONG_CODE`] (the login stays pending); 429
/// when the throttle refuses; back to sign in when the login is no longer pending.
pub async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    csrf: CsrfToken,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let Some((challenge, pending)) = pending(&state, &headers).await? else {
        return Ok(start_over(&state));
    };
    let user_key = pending.user_key.clone();
    let login = format!("second-factor:{user_key}");
    let factors = state.second.factors.factors(&user_key).await?;
    let refused_page = TwoFactorPage {
        layout: Layout::new(&csrf, None, &IncomingFlash::default()).at("/session/two-factor"),
        totp: factors.totp,
        passkey: factors.passkeys > 0,
        error: None,
    };
    let refused = |status: StatusCode, message: String| {
        let page = TwoFactorPage {
            error: Some(message),
            ..refused_page
        };
        render(status, &page, None)
    };
    let attempt = match attempts::begin(&state, &login, ip, refused).await? {
        Begun::Go(attempt) => attempt,
        Begun::Refused(res) => return Ok(res),
    };
    let audit = state.cache.audit();
    let proof = match check_code(&state, &user_key, &form.code).await {
        Ok(CodeCheck::Wrong(reason)) => {
            drop(attempt); // stays counted: a failure
            audit.second_factor_failed(&user_key, reason);
            return page(
                &state,
                &csrf,
                &user_key,
                StatusCode::UNAUTHORIZED,
                Some(WRONG_CODE.to_owned()),
            )
            .await;
        }
        Ok(proof) => proof,
        Err(e) => {
            attempts::give_back(&state, attempt).await;
            return Err(e);
        }
    };
    attempts::give_back(&state, attempt).await;
    // One winner: of two tabs finishing at once, one signs in.
    let Some(pending) = state.second.pending.complete(&challenge).await? else {
        return Ok(start_over(&state));
    };
    let user = users::find(&state.db, &pending.user_key).await?;
    // The password changed (or the account went) while the code was typed: start again.
    let Some(user) = user.filter(|u| pending.still_valid(u)) else {
        return Ok(start_over(&state));
    };
    let welcome = match proof {
        CodeCheck::Totp | CodeCheck::Wrong(_) => format!("Welcome back, {}.", user.email),
        CodeCheck::RecoveryCode => {
            let left = state.second.factors.recovery_codes_left(&user.id).await?;
            audit.recovery_code_used(&user.id, left);
            format!(
                "Signed in with a recovery code; {left} left. Make new ones from your authenticator page if you are running low."
            )
        }
    };
    let res = auth::sign_in(&state, &auth, user, &welcome, pending.remember).await?;
    Ok(with_cookie(res, state.second.cookie.clear()))
}
