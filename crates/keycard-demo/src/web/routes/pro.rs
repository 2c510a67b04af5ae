//! `GET /pro`, behind the `ReloadUser` route layer: the current user here is the row just read from the
//! database (the guide's `reload_user` plug), so the decision uses the real plan, not the cached one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::web::auth::{AuthUser, PageUser};
use crate::web::csrf::CsrfToken;
use crate::web::flash::IncomingFlash;
use crate::web::state::AppState;
use crate::web::views::{render, Layout, ProPage, UserView};

/// 200 when the database says `pro` or an unexpired `pro-trial`, else 403. Anonymous (or a user deleted
/// from the database, whom `ReloadUser` signed out): 303 to `/session/new`. When the cached copy's plan
/// differs from the database's, the page says why and offers to refresh the copy (`POST /account/refresh`).
pub async fn show(
    State(state): State<AppState>,
    auth: AuthUser,
    PageUser { user, .. }: PageUser,
    csrf: CsrfToken,
    flash: IncomingFlash,
) -> Response {
    let allowed = user.has_pro_access(state.clock.now_secs());
    let cached_plan = auth
        .cached_user()
        .map(|cached| cached.plan)
        .filter(|&plan| plan != user.plan)
        .map(|plan| plan.as_str());
    let page = ProPage {
        layout: Layout::new(&csrf, Some(&user), &flash).at("/pro"),
        user: UserView::from(&*user),
        allowed,
        cached_plan,
    };
    let status = if allowed {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    };
    render(status, &page, Some(&flash))
}
