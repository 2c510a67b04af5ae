//! `POST /api/session`, `DELETE /api/session`: sign in and out from an API client (a CLI, a mobile app)
//! with a bearer token instead of a cookie. Outside the CSRF layer: these requests carry no cookie (a
//! browser never attaches an `Authorization` header by itself), and nothing here sets one.
//!
//! `POST /api/session` takes JSON `{"email", "password"}` (and `"code"` for an account with a second
//! factor: the authenticator's code or a recovery code) and answers `{"token", "expires_at"}`; the token
//! goes in `Authorization: Bearer` from then on (`GET /me` accepts it), and a renewed one comes back in
//! `Set-Auth-Token`. Every refusal is JSON with `WWW-Authenticate: Bearer`; the login throttle counts
//! every try as the sign-in form does.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use keycard::password::{PasswordError, Verified};
use keycard_axum::AuthError;
use serde::Deserialize;

use crate::domain::users::{self, normalize_email};
use crate::web::attempts::{self, Begun, GENERIC_FAILURE};
use crate::web::auth::AuthUser;
use crate::web::client_ip::ClientIp;
use crate::web::error::AppError;
use crate::web::second_factor::{check_code, CodeCheck};
use crate::web::state::AppState;

/// The JSON sign-in.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApiSignIn {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// The second factor's code, for an account that has one.
    pub code: Option<String>,
}

/// A JSON refusal: `{"error": message}` (plus `extra` fields), `WWW-Authenticate: Bearer` on a 401.
pub fn json_error(status: StatusCode, message: &str, extra: serde_json::Value) -> Response {
    let mut body = serde_json::json!({ "error": message });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let mut res = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"keycard-demo\""),
        );
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn refused(status: StatusCode, message: String) -> Response {
    json_error(status, &message, serde_json::Value::Null)
}

/// Sign in: `200 {"token", "expires_at"}` (unix seconds; renewal moves it); 401 JSON for a wrong email,
/// password or code, or a missing code (`"second_factor_required": true`); 429 JSON when throttled.
pub async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    Json(form): Json<ApiSignIn>,
) -> Result<Response, AppError> {
    let email = normalize_email(&form.email);
    let audit = state.cache.audit();
    let attempt = match attempts::begin(&state, &email, ip, refused).await? {
        Begun::Go(attempt) => attempt,
        Begun::Refused(res) => return Ok(res),
    };
    let found = match users::find_with_password_by_email(&state.db, &email).await {
        Ok(found) => found,
        Err(e) => {
            attempts::give_back(&state, attempt).await;
            return Err(e.into());
        }
    };
    let stored = found
        .as_ref()
        .map(|(_, hash)| hash.as_str())
        .filter(|h| *h != users::NO_PASSWORD);
    let verified = match state.hasher.verify(&form.password, stored).await {
        Ok(v) => v,
        Err(PasswordError::MalformedHash(_) | PasswordError::UnsupportedParams(_)) => {
            Verified::Invalid
        }
        Err(e) => {
            attempts::give_back(&state, attempt).await;
            return Err(e.into());
        }
    };
    let user = match (found, verified) {
        (Some((user, _)), Verified::Valid { .. }) => user,
        (found, _) => {
            drop(attempt); // a failure
            let reason = if found.is_some() {
                "wrong_password"
            } else {
                "unknown_account"
            };
            audit.sign_in_failed(&email, reason);
            return Ok(refused(
                StatusCode::UNAUTHORIZED,
                GENERIC_FAILURE.to_owned(),
            ));
        }
    };
    attempts::give_back(&state, attempt).await;
    let factors = state.second.factors.factors(&user.id).await?;
    if factors.second_step_required() {
        let Some(code) = form.code.as_deref().filter(|c| !c.trim().is_empty()) else {
            audit.second_factor_required(&user.id);
            return Ok(json_error(
                StatusCode::UNAUTHORIZED,
                "this account has a second factor: send its code as \"code\"",
                serde_json::json!({ "second_factor_required": true, "factors": factors.names() }),
            ));
        };
        let login = format!("second-factor:{}", user.id);
        let attempt = match attempts::begin(&state, &login, ip, refused).await? {
            Begun::Go(attempt) => attempt,
            Begun::Refused(res) => return Ok(res),
        };
        match check_code(&state, &user.id, code).await {
            Ok(CodeCheck::Wrong(reason)) => {
                drop(attempt);
                audit.second_factor_failed(&user.id, reason);
                return Ok(refused(
                    StatusCode::UNAUTHORIZED,
                    "that code is not right".to_owned(),
                ));
            }
            Ok(CodeCheck::RecoveryCode) => {
                attempts::give_back(&state, attempt).await;
                let left = state.second.factors.recovery_codes_left(&user.id).await?;
                audit.recovery_code_used(&user.id, left);
            }
            Ok(CodeCheck::Totp) => attempts::give_back(&state, attempt).await,
            Err(e) => {
                attempts::give_back(&state, attempt).await;
                return Err(e);
            }
        }
    }
    let user_id = user.id.clone();
    let issued = match auth.create_bearer(user).await {
        Ok(issued) => issued,
        Err(AuthError::CredentialsChanged) => {
            audit.sign_in_failed(&email, "credentials_changed");
            return Ok(refused(
                StatusCode::UNAUTHORIZED,
                GENERIC_FAILURE.to_owned(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    audit.sign_in_succeeded(&user_id, &issued.session.session_id);
    let mut res = Json(serde_json::json!({
        "token": issued.token,
        "expires_at": issued.session.expires_at().as_unix_secs(),
    }))
    .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Sign the presented token out: `204`; `401` JSON when it names no session.
pub async fn delete(auth: AuthUser) -> Result<Response, AppError> {
    if !auth.is_signed_in() {
        return Ok(refused(
            StatusCode::UNAUTHORIZED,
            "not signed in".to_owned(),
        ));
    }
    auth.delete().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
