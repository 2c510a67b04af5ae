//! `GET /sessions`, `POST /sessions/{id}/delete`, `POST /sessions/delete-others`,
//! `POST /sessions/remembered/{id}/delete`: a user's own sessions and remembered browsers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use keycard::{SeriesId, SessionId};

use crate::web::auth::{AuthUser, PageUser, SudoUser};
use crate::web::csrf::CsrfToken;
use crate::web::device::device_name;
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::state::AppState;
use crate::web::time_view::TimeView;
use crate::web::views::{framed_error_page, render, Layout, SeriesRow, SessionRow, SessionsPage};

fn secs(t: keycard::Timestamp) -> i64 {
    i64::try_from(t.as_unix_secs()).unwrap_or(i64::MAX)
}

/// The list: this session marked, the device ("Chrome on Linux") and address, sign-in time, last renewal
/// and expiry (relative, the exact time on hover).
pub async fn index(
    State(state): State<AppState>,
    auth: AuthUser,
    PageUser { user, .. }: PageUser,
    csrf: CsrfToken,
    flash: IncomingFlash,
) -> Result<Response, AppError> {
    let current = auth.session();
    let current_series = current.as_ref().and_then(|s| s.remember_series);
    let current = current.map(|s| s.session_id);
    let sessions = auth.sessions().await?;
    let remembered = auth.remembered().await?;
    let now = state.clock.now_secs();
    let series = remembered
        .iter()
        .map(|r| SeriesRow {
            id: r.series_id.to_hex(),
            current: Some(r.series_id) == current_series,
            created: TimeView::new(secs(r.created_at), now),
            used: TimeView::new(secs(r.used_at), now),
            expires: TimeView::new(secs(r.expires_at), now),
            device: sessions
                .iter()
                .rev()
                .find(|s| s.remember_series == Some(r.series_id))
                .map(|s| device_name(s.metadata.user_agent.as_deref())),
        })
        .collect();
    let rows = sessions
        .iter()
        .map(|s| SessionRow {
            id: s.session_id.to_hex(),
            current: Some(s.session_id) == current,
            created: TimeView::new(secs(s.created_at), now),
            renewed: TimeView::new(secs(s.renewed_at), now),
            expires: TimeView::new(secs(s.expires_at()), now),
            device: match keycard::PersonalTokenInfo::of(s) {
                Some(t) => format!("Personal token \u{201c}{}\u{201d}", t.name),
                None => device_name(s.metadata.user_agent.as_deref()),
            },
            remembered: s
                .remember_series
                .is_some_and(|id| remembered.iter().any(|r| r.series_id == id)),
            user_agent: s
                .metadata
                .user_agent
                .clone()
                .unwrap_or_else(|| "(no User-Agent)".to_owned()),
            ip: s.metadata.ip.clone(),
        })
        .collect();
    let page = SessionsPage {
        layout: Layout::new(&csrf, Some(&user), &flash).at("/sessions"),
        sessions: rows,
        series,
    };
    Ok(render(StatusCode::OK, &page, Some(&flash)))
}

/// Where ending another session, or forgetting another browser, goes without a recent password proof
/// (sudo mode, as for "sign out all other sessions"): the confirmation page, back to the list.
const CONFIRM_FIRST: &str = "/session/confirm?return_to=/sessions";

/// End one of this user's sessions (this one: sign out). 404 for an id that is not one of theirs.
/// Another session needs sudo mode: without a recent sign-in (or password confirmation), 303 to the
/// confirmation page first (the library refuses it anyway: `AuthError::SudoRequired`).
pub async fn delete(
    State(state): State<AppState>,
    auth: AuthUser,
    PageUser { user, .. }: PageUser,
    csrf: CsrfToken,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let not_found = || {
        framed_error_page(
            Layout::new(&csrf, Some(&user), &IncomingFlash::default()),
            StatusCode::NOT_FOUND,
            "No such session",
            "That session does not exist or has already ended.",
        )
    };
    let Some(id) = SessionId::parse(&id) else {
        return Ok(not_found());
    };
    let is_current = auth.session().is_some_and(|s| s.session_id == id);
    if !is_current && !auth.is_recently_authenticated() {
        return Ok(Redirect::to(CONFIRM_FIRST).into_response());
    }
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

/// End every session of this user except this one. Sudo mode: without a recent sign-in (or password
/// confirmation), 303 to the confirmation page first.
pub async fn delete_others(
    State(state): State<AppState>,
    auth: AuthUser,
    _recent: SudoUser,
) -> Result<Response, AppError> {
    let n = auth.delete_other_sessions().await?;
    let message = match n {
        0 => "There were no other sessions.".to_owned(),
        1 => "Signed out 1 other session.".to_owned(),
        n => format!("Signed out {n} other sessions."),
    };
    Ok(state.flash.redirect("/sessions", &message))
}

/// Forget one of this user's remembered browsers: the series ends with every session it signed in (this
/// browser's own: signed out). 404 for an id that is not one of theirs. Another browser needs sudo mode,
/// as ending another session does.
pub async fn forget_series(
    State(state): State<AppState>,
    auth: AuthUser,
    PageUser { user, .. }: PageUser,
    csrf: CsrfToken,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let not_found = || {
        framed_error_page(
            Layout::new(&csrf, Some(&user), &IncomingFlash::default()),
            StatusCode::NOT_FOUND,
            "No such remembered browser",
            "That browser is not remembered (any more).",
        )
    };
    let Some(id) = SeriesId::parse(&id) else {
        return Ok(not_found());
    };
    let is_current = auth
        .session()
        .is_some_and(|s| s.remember_series == Some(id));
    if !is_current && !auth.is_recently_authenticated() {
        return Ok(Redirect::to(CONFIRM_FIRST).into_response());
    }
    if !auth.end_series(&id).await? {
        return Ok(not_found());
    }
    Ok(if is_current {
        state
            .flash
            .redirect("/", "This browser is forgotten and signed out.")
    } else {
        state
            .flash
            .redirect("/sessions", "That browser is forgotten and signed out.")
    })
}
