//! `GET /account/tokens`, `POST /account/tokens`, `POST /account/tokens/{id}/delete`: personal access
//! tokens for scripts (`keycard::PersonalToken`). Creating one needs sudo mode; the value (`kcpat_…`) is
//! shown once; a token lists on `/sessions` too and ends like a session (its revocation needs sudo mode,
//! as ending any other session does). The demo gives every token the one scope it defines, `read`
//! (`GET /me`).

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use keycard::{PersonalTokenError, PersonalTokenInfo, PersonalTokenRequest, SessionId};
use serde::Deserialize;

use crate::web::auth::{AuthUser, PageUser, SudoUser};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::factor_views::{TokenCreatedPage, TokenRow, TokensPage};
use crate::web::flash::IncomingFlash;
use crate::web::state::AppState;
use crate::web::time_view::TimeView;
use crate::web::views::{render, Layout};

const PATH: &str = "/account/tokens";
/// The scopes the demo defines: `read` lets a token read `GET /me`.
pub const SCOPES: &[&str] = &["read"];
/// The longest lifetime the form offers, in days.
const MAX_DAYS: u64 = 365;

/// The form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenForm {
    /// What the user calls it.
    pub name: String,
    /// How many days it works (1 to 365).
    pub days: String,
}

async fn page(
    state: &AppState,
    auth: &AuthUser,
    user: &crate::domain::users::User,
    csrf: &CsrfToken,
    flash: &IncomingFlash,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, AppError> {
    let now = state.clock.now_secs();
    let secs = |t: keycard::Timestamp| i64::try_from(t.as_unix_secs()).unwrap_or(i64::MAX);
    let tokens = auth
        .sessions()
        .await?
        .iter()
        .filter_map(|s| {
            PersonalTokenInfo::of(s).map(|t| TokenRow {
                id: s.session_id.to_hex(),
                name: t.name,
                scopes: t.scopes.join(" "),
                created: TimeView::new(secs(s.created_at), now),
                expires: TimeView::new(secs(t.expires_at), now),
            })
        })
        .collect();
    let page = TokensPage {
        layout: Layout::new(csrf, Some(user), flash).at(PATH),
        tokens,
        error,
    };
    Ok(render(status, &page, Some(flash)))
}

/// The user's tokens and the form.
pub async fn index(
    State(state): State<AppState>,
    auth: AuthUser,
    PageUser { user, .. }: PageUser,
    csrf: CsrfToken,
    flash: IncomingFlash,
) -> Result<Response, AppError> {
    page(&state, &auth, &user, &csrf, &flash, StatusCode::OK, None).await
}

/// Create one (sudo): the value, shown once (200); a bad name or lifetime: the form again (422).
pub async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    SudoUser { user, .. }: SudoUser,
    csrf: CsrfToken,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let days = form
        .days
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|d| (1..=MAX_DAYS).contains(d));
    let Some(days) = days else {
        let error = Some(format!("Days must be a whole number from 1 to {MAX_DAYS}."));
        return page(
            &state,
            &auth,
            &user,
            &csrf,
            &IncomingFlash::default(),
            StatusCode::UNPROCESSABLE_ENTITY,
            error,
        )
        .await;
    };
    let request = PersonalTokenRequest {
        name: &form.name,
        scopes: SCOPES,
        ttl: Duration::from_secs(days * 24 * 3600),
    };
    let metadata = keycard::SessionMetadata::default();
    match state
        .cache
        .create_personal_token((*user).clone(), request, metadata)
        .await
    {
        Ok(token) => {
            tracing::info!(user_id = %user.id, session_id = %token.session.session_id, "personal token created");
            let page = TokenCreatedPage {
                layout: Layout::new(&csrf, Some(&user), &IncomingFlash::default()).at(PATH),
                name: form.name.trim().to_owned(),
                token: token.value,
                days,
            };
            Ok(render(StatusCode::OK, &page, None))
        }
        Err(PersonalTokenError::Invalid(why)) => {
            page(
                &state,
                &auth,
                &user,
                &csrf,
                &IncomingFlash::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("{}.", capitalize(why))),
            )
            .await
        }
        Err(PersonalTokenError::TooMany { max }) => {
            page(
                &state,
                &auth,
                &user,
                &csrf,
                &IncomingFlash::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("You have {max} tokens already; revoke one first.")),
            )
            .await
        }
        Err(PersonalTokenError::Create(e)) => Err(keycard_axum::AuthError::from(e).into()),
        Err(e) => Err(keycard::StoreError::new("keycard", "personal_token", e.to_string()).into()),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Revoke one (sudo, as ending any other session): 303 back to the list.
pub async fn delete(
    State(state): State<AppState>,
    auth: AuthUser,
    _recent: SudoUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let Some(id) = SessionId::parse(&id) else {
        return Ok(Redirect::to(PATH).into_response());
    };
    let tokens: Vec<_> = auth
        .sessions()
        .await?
        .into_iter()
        .filter(keycard::is_personal_token)
        .collect();
    if !tokens.iter().any(|s| s.session_id == id) {
        return Ok(state.flash.redirect(PATH, "No such token."));
    }
    auth.delete_session(&id).await?;
    Ok(state.flash.redirect(PATH, "Token revoked."))
}
