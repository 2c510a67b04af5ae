//! `GET /account/passkeys`, `POST /account/passkeys/options`, `POST /account/passkeys`,
//! `POST /account/passkeys/{id}/rename`, `POST /account/passkeys/{id}/delete`: the account's passkeys
//! (keycard-passkey).
//!
//! The list shows each passkey's name, when it was added and last used, a rename form and a remove
//! button. Adding one needs sudo mode, as setting up the authenticator app does: the page's script
//! (`static/passkeys.js`) asks `POST /account/passkeys/options` for the registration options (JSON),
//! hands them to `navigator.credentials.create`, and posts the answer to `POST /account/passkeys` (a
//! form: `name`, `token`, `credential`). The first second factor of an account also makes its recovery
//! codes (shown once), as TOTP does. Removing one needs sudo mode too, follows keycard-passkey's
//! `can_remove` (never the account's last way to sign in: a password or a linked identity must remain), ends the
//! user's other sessions, and drops the recovery codes when no second factor is left. Every change
//! rewrites the cached user's factor summary ([`crate::web::second_factor::refresh_summary`]); the
//! audit log gets keycard-passkey's `passkey.*` events and the demo's `factor.added` / `factor.removed`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use keycard_passkey::{can_remove, PasskeyError, PasskeyUser};
use serde::Deserialize;

use crate::domain::users::{self, User};
use crate::web::auth::{AuthUser, PageUser, SudoUser};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::passkey_reply::{ceremony_json, failure, refusal_message, AnswerForm};
use crate::web::passkey_views::{PasskeyRow, PasskeysPage};
use crate::web::routes::totp::{codes_page, new_recovery_codes};
use crate::web::second_factor::refresh_summary;
use crate::web::state::AppState;
use crate::web::time_view::TimeView;
use crate::web::views::{render, Layout};

const PATH: &str = "/account/passkeys";

/// The registration answer: the name to give the passkey, and the ceremony's answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddForm {
    /// The passkey's name ("Laptop"); keycard-passkey's default when empty.
    pub name: String,
    /// The ceremony token.
    pub token: String,
    /// The credential's JSON.
    pub credential: String,
}

/// The rename form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RenameForm {
    /// The new name.
    pub name: String,
}

/// Whether `user` can sign in without a passkey: a password, or a linked identity (an account made by
/// an identity provider has no password).
async fn has_password(state: &AppState, user: &User) -> Result<bool, AppError> {
    let password = users::password_hash(&state.db, &user.id)
        .await?
        .is_some_and(|h| !h.is_empty());
    Ok(password || !state.oidc.identities.identities(&user.id).await?.is_empty())
}

async fn page(
    state: &AppState,
    auth: &AuthUser,
    user: &User,
    csrf: &CsrfToken,
    flash: &IncomingFlash,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, AppError> {
    let now = state.clock.now_secs();
    let secs = |t: keycard::Timestamp| i64::try_from(t.as_unix_secs()).unwrap_or(i64::MAX);
    let list = state
        .second
        .passkeys
        .list(&user.id)
        .await
        .map_err(failure)?;
    let can_remove = can_remove(list.len(), has_password(state, user).await?);
    let passkeys = list
        .into_iter()
        .map(|p| PasskeyRow {
            id: p.id,
            name: p.name,
            created: TimeView::new(secs(p.created_at), now),
            last_used: p.last_used_at.map(|t| TimeView::new(secs(t), now)),
        })
        .collect();
    let page = PasskeysPage {
        layout: Layout::new(csrf, Some(user), flash).at(PATH),
        passkeys,
        sudo: auth.is_recently_authenticated(),
        can_remove,
        error,
    };
    Ok(render(status, &page, Some(flash)))
}

/// The list and the "Add a passkey" form (signed in; the form asks for sudo mode when the session is
/// not in it).
pub async fn index(
    State(state): State<AppState>,
    auth: AuthUser,
    PageUser { user, .. }: PageUser,
    csrf: CsrfToken,
    flash: IncomingFlash,
) -> Result<Response, AppError> {
    page(&state, &auth, &user, &csrf, &flash, StatusCode::OK, None).await
}

/// Begin adding a passkey (sudo): the registration options as JSON (`{"options", "token",
/// "expires_at"}`); out of sudo mode, 303 to the password confirmation.
pub async fn options(
    State(state): State<AppState>,
    SudoUser { user, .. }: SudoUser,
) -> Result<Response, AppError> {
    let ceremony = state
        .second
        .passkeys
        .start_registration(PasskeyUser {
            key: &user.id,
            name: &user.email,
            display_name: &user.email,
        })
        .await
        .map_err(failure)?;
    Ok(ceremony_json(ceremony))
}

/// Finish adding a passkey (sudo): 303 to the list; for the account's first second factor, its new
/// recovery codes (200, shown once); a refused answer: the list with why (400, or 409 for a passkey
/// registered already).
pub async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    SudoUser { user, .. }: SudoUser,
    csrf: CsrfToken,
    Form(form): Form<AddForm>,
) -> Result<Response, AppError> {
    let before = state.second.factors.factors(&user.id).await?;
    let answer = AnswerForm {
        token: form.token,
        credential: form.credential,
    };
    let added = state
        .second
        .passkeys
        .finish_registration(&user.id, &form.name, answer.reply())
        .await;
    match added {
        Ok(_) => {}
        Err(e) if e.is_client_error() => {
            let status = if matches!(e, PasskeyError::AlreadyRegistered) {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            let message = Some(refusal_message(&e).to_owned());
            let flash = IncomingFlash::default();
            return page(&state, &auth, &user, &csrf, &flash, status, message).await;
        }
        Err(e) => return Err(failure(e)),
    }
    state.cache.audit().factor_added(&user.id, "passkey");
    // The account's first second factor: recovery codes stand in for it when the device is lost.
    let codes = if !before.second_step_required() && before.recovery_codes_left == 0 {
        Some(new_recovery_codes(&state, &user).await?)
    } else {
        None
    };
    let Some(updated) = refresh_summary(&state, &auth, &user).await? else {
        return Ok(crate::web::respond::to_sign_in());
    };
    Ok(match codes {
        Some(codes) => codes_page(
            &csrf,
            &updated,
            "Passkey added. It is now your second step after your password.",
            codes,
        ),
        None => state.flash.redirect(PATH, "Passkey added."),
    })
}

/// Rename one: 303 to the list.
pub async fn rename(
    State(state): State<AppState>,
    PageUser { user, .. }: PageUser,
    Path(id): Path<String>,
    Form(form): Form<RenameForm>,
) -> Result<Response, AppError> {
    match state
        .second
        .passkeys
        .rename(&user.id, &id, &form.name)
        .await
    {
        Ok(()) => Ok(state.flash.redirect(PATH, "Passkey renamed.")),
        Err(PasskeyError::UnknownCredential) => Ok(state
            .flash
            .redirect(PATH, "That passkey is not one of yours.")),
        Err(e) => Err(failure(e)),
    }
}

/// Remove one (sudo): the other sessions end; 303 to the list. The last way to sign in: the list with
/// why (409).
pub async fn delete(
    State(state): State<AppState>,
    auth: AuthUser,
    SudoUser { user, .. }: SudoUser,
    csrf: CsrfToken,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let otherwise = has_password(&state, &user).await?;
    match state.second.passkeys.remove(&user.id, &id, otherwise).await {
        Ok(()) => {}
        Err(PasskeyError::UnknownCredential) => {
            return Ok(state
                .flash
                .redirect(PATH, "That passkey is not one of yours."));
        }
        Err(e @ PasskeyError::LastSignInMethod) => {
            let message = Some(refusal_message(&e).to_owned());
            let flash = IncomingFlash::default();
            let status = StatusCode::CONFLICT;
            return page(&state, &auth, &user, &csrf, &flash, status, message).await;
        }
        Err(e) => return Err(failure(e)),
    }
    let factors = &state.second.factors;
    if !factors.factors(&user.id).await?.second_step_required() {
        factors.set_recovery_codes(&user.id, Vec::new()).await?;
    }
    let ended = auth.delete_other_sessions().await?;
    state
        .cache
        .audit()
        .factor_removed(&user.id, "passkey", ended);
    if refresh_summary(&state, &auth, &user).await?.is_none() {
        return Ok(crate::web::respond::to_sign_in());
    }
    Ok(state.flash.redirect(
        PATH,
        "Passkey removed. Your other sessions were signed out.",
    ))
}
