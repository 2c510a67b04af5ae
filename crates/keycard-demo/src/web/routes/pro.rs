//! `GET /pro`, behind the `ReloadUser` route layer: the current user here is the row just read from the
//! database (the guide's `reload_user` plug), so the decision uses the real plan, not the cached one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::web::auth::PageUser;
use crate::web::csrf::CsrfToken;
use crate::web::flash::IncomingFlash;
use crate::web::state::AppState;
use crate::web::views::{render, Layout, ProPage, UserView};

/// 200 when the database says `pro` or an unexpired `pro-trial`, else 403. Anonymous (or a user deleted
/// from the database, whom `ReloadUser` signed out): 303 to `/session/new`.
pub async fn show(
    State(state): State<AppState>,
    PageUser { user, .. }: PageUser,
    csrf: CsrfToken,
    flash: IncomingFlash,
) -> Response {
    let allowed = user.has_pro_access(state.clock.now_secs());
    let page = ProPage {
        layout: Layout::new(&csrf, Some(&user), &flash),
        user: UserView::from(&*user),
        allowed,
    };
    let status = if allowed {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    };
    render(status, &page, Some(&flash))
}
