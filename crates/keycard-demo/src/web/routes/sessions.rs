//! `GET /sessions`, `POST /sessions/{id}/delete`, `POST /sessions/delete-others`: a user's own sessions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use keycard::SessionId;

use crate::clock::format_utc;
use crate::web::auth::{AuthUser, PageUser};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::state::AppState;
use crate::web::views::{error_page, render, Layout, SessionRow, SessionsPage};

fn secs(t: keycard::Timestamp) -> i64 {
    i64::try_from(t.as_unix_secs()).unwrap_or(i64::MAX)
}

/// The list: this session marked, sign-in time, last renewal, expiry, user agent and address.
pub async fn index(
    auth: AuthUser,
    PageUser { user, .. }: PageUser,
    csrf: CsrfToken,
    flash: IncomingFlash,
) -> Result<Response, AppError> {
    let current = auth.session().map(|s| s.session_id);
    let sessions = auth.sessions().await?;
    let rows = sessions
        .iter()
        .map(|s| SessionRow {
            id: s.session_id.to_hex(),
            current: Some(s.session_id) == current,
            created: format_utc(secs(s.created_at)),
            renewed: format_utc(secs(s.renewed_at)),
            expires: format_utc(secs(s.expires_at())),
            user_agent: s
                .metadata
                .user_agent
                .clone()
                .unwrap_or_else(|| "(unknown browser)".to_owned()),
            ip: s.metadata.ip.clone(),
        })
        .collect();
    let page = SessionsPage {
        layout: Layout::new(&csrf, Some(&user), &flash),
        sessions: rows,
    };
    Ok(render(StatusCode::OK, &page, Some(&flash)))
}

/// End one of this user's sessions (this one: sign out). 404 for an id that is not one of theirs.
pub async fn delete(
    State(state): State<AppState>,
    auth: AuthUser,
    _signed_in: PageUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let not_found = || {
        error_page(
            StatusCode::NOT_FOUND,
            "No such session",
            "That session does not exist or has already ended.",
        )
    };
    let Some(id) = SessionId::parse(&id) else {
        return Ok(not_found());
    };
    let is_current = auth.session().is_some_and(|s| s.session_id == id);
    // `delete_session` ends only this user's own sessions; ending the current one signs out.
    if !auth.delete_session(&id).await? {
        return Ok(not_found());
    }
    Ok(if is_current {
        state.flash.redirect("/", "You have been signed out.")
    } else {
        state.flash.redirect("/sessions", "Session ended.")
    })
}

/// End every session of this user except this one.
pub async fn delete_others(
    State(state): State<AppState>,
    auth: AuthUser,
    _signed_in: PageUser,
) -> Result<Response, AppError> {
    let n = auth.delete_other_sessions().await?;
    let message = match n {
        0 => "There were no other sessions.".to_owned(),
        1 => "Signed out 1 other session.".to_owned(),
        n => format!("Signed out {n} other sessions."),
    };
    Ok(state.flash.redirect("/sessions", &message))
}
