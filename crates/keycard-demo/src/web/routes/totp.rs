//! `GET /account/totp`, `POST /account/totp`, `POST /account/totp/delete`, `POST /account/recovery-codes`:
//! the authenticator app and recovery codes, all behind sudo mode.
//!
//! Turning TOTP on shows ten new recovery codes (once) and writes `factor.added`; turning it off ends the
//! user's other sessions, drops the recovery codes when no second factor is left, and writes
//! `factor.removed`. Every change rewrites the cached user's factor summary
//! ([`crate::web::second_factor::refresh_summary`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use keycard_totp::{Enrolment, TotpError};
use serde::Deserialize;

use crate::domain::users::User;
use crate::web::auth::{AuthUser, SudoUser};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::factor_views::{RecoveryCodesPage, TotpPage};
use crate::web::flash::IncomingFlash;
use crate::web::second_factor::refresh_summary;
use crate::web::state::AppState;
use crate::web::views::{render, Layout};

const PATH: &str = "/account/totp";

/// The confirmation form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EnableForm {
    /// The enrolment ticket.
    pub ticket: String,
    /// The first code.
    pub code: String,
}

fn totp_failure(e: TotpError) -> AppError {
    tracing::error!(error = %e, "authenticator-app setup failed");
    keycard::StoreError::new("keycard-totp", "enrolment", e.to_string()).into()
}

async fn enrolment_page(
    state: &AppState,
    csrf: &CsrfToken,
    user: &User,
    enrolment: Enrolment,
    status: StatusCode,
    error: Option<String>,
    flash: &IncomingFlash,
) -> Result<Response, AppError> {
    let factors = state.second.factors.factors(&user.id).await?;
    let page = TotpPage {
        layout: Layout::new(csrf, Some(user), flash).at(PATH),
        enabled: factors.totp,
        recovery_codes_left: factors.recovery_codes_left,
        qr_svg: enrolment.qr_svg,
        uri: enrolment.uri,
        secret: enrolment.secret,
        ticket: enrolment.ticket,
        error,
    };
    Ok(render(status, &page, Some(flash)))
}

/// A new setup key, its QR code and `otpauth://` URI (sudo).
pub async fn show(
    State(state): State<AppState>,
    SudoUser { user, .. }: SudoUser,
    csrf: CsrfToken,
    flash: IncomingFlash,
) -> Result<Response, AppError> {
    let enrolment = state
        .second
        .totp
        .begin_enrolment(&user.id, &user.email)
        .await
        .map_err(totp_failure)?;
    enrolment_page(
        &state,
        &csrf,
        &user,
        enrolment,
        StatusCode::OK,
        None,
        &flash,
    )
    .await
}

/// The first code: TOTP on, new recovery codes shown (200); a wrong code: the same QR code again (422);
/// a setup that timed out: 303 to a new one.
pub async fn enable(
    State(state): State<AppState>,
    auth: AuthUser,
    SudoUser { user, .. }: SudoUser,
    csrf: CsrfToken,
    Form(form): Form<EnableForm>,
) -> Result<Response, AppError> {
    let totp = &state.second.totp;
    match totp
        .confirm_enrolment(&user.id, &form.ticket, &form.code)
        .await
    {
        Ok(()) => {}
        Err(TotpError::WrongCode) => {
            return match totp
                .resume_enrolment(&user.id, &form.ticket, &user.email)
                .await
            {
                Ok(enrolment) => {
                    enrolment_page(
                        &state,
                        &csrf,
                        &user,
                        enrolment,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Some("That code is not right. Type the code the app shows now.".into()),
                        &IncomingFlash::default(),
                    )
                    .await
                }
                Err(_) => Ok(timed_out(&state)),
            };
        }
        Err(TotpError::EnrolmentExpired) => return Ok(timed_out(&state)),
        Err(e) => return Err(totp_failure(e)),
    }
    state.cache.audit().factor_added(&user.id, "totp");
    let codes = new_recovery_codes(&state, &user).await?;
    let Some(updated) = refresh_summary(&state, &auth, &user).await? else {
        return Ok(crate::web::respond::to_sign_in());
    };
    Ok(codes_page(
        &csrf,
        &updated,
        "Authenticator app turned on.",
        codes,
    ))
}

fn timed_out(state: &AppState) -> Response {
    state.flash.redirect(
        PATH,
        "The setup timed out or was already finished. Scan this new code.",
    )
}

/// Ten new recovery codes for `user`, voiding the old ones: the codes, to show once.
pub(crate) async fn new_recovery_codes(
    state: &AppState,
    user: &User,
) -> Result<Vec<String>, AppError> {
    let (codes, hashes) = state.second.recovery.generate(&user.id);
    state
        .second
        .factors
        .set_recovery_codes(&user.id, hashes)
        .await?;
    Ok(codes)
}

/// The page that shows new recovery codes once, `notice` above them.
pub(crate) fn codes_page(
    csrf: &CsrfToken,
    user: &User,
    notice: &'static str,
    codes: Vec<String>,
) -> Response {
    let page = RecoveryCodesPage {
        layout: Layout::new(csrf, Some(user), &IncomingFlash::default()).at(PATH),
        notice,
        codes,
    };
    render(StatusCode::OK, &page, None)
}

/// Turn TOTP off (sudo): the other sessions end; 303 to `/profile`.
pub async fn disable(
    State(state): State<AppState>,
    auth: AuthUser,
    SudoUser { user, .. }: SudoUser,
) -> Result<Response, AppError> {
    let factors = &state.second.factors;
    if factors.totp(&user.id).await?.is_none() {
        return Ok(state
            .flash
            .redirect("/profile", "No authenticator app was on."));
    }
    state
        .second
        .totp
        .turn_off(&user.id)
        .await
        .map_err(totp_failure)?;
    if !factors.factors(&user.id).await?.second_step_required() {
        factors.set_recovery_codes(&user.id, Vec::new()).await?;
    }
    let ended = auth.delete_other_sessions().await?;
    state.cache.audit().factor_removed(&user.id, "totp", ended);
    if refresh_summary(&state, &auth, &user).await?.is_none() {
        return Ok(crate::web::respond::to_sign_in());
    }
    Ok(state.flash.redirect(
        "/profile",
        "Authenticator app turned off. Your other sessions were signed out.",
    ))
}

/// New recovery codes (sudo), voiding the old ones: shown once (200). Without a second factor: 303 to
/// `/profile`.
pub async fn regenerate(
    State(state): State<AppState>,
    SudoUser { user, .. }: SudoUser,
    csrf: CsrfToken,
) -> Result<Response, AppError> {
    if !state
        .second
        .factors
        .factors(&user.id)
        .await?
        .second_step_required()
    {
        return Ok(state.flash.redirect(
            "/profile",
            "Recovery codes stand in for a second factor: turn one on first.",
        ));
    }
    let codes = new_recovery_codes(&state, &user).await?;
    state.cache.audit().factor_added(&user.id, "recovery_codes");
    Ok(codes_page(
        &csrf,
        &user,
        "New recovery codes made; the old ones no longer work.",
        codes,
    ))
}
