//! `GET /`.

use axum::http::StatusCode;
use axum::response::Response;

use crate::web::auth::AuthUser;
use crate::web::csrf::CsrfToken;
use crate::web::flash::IncomingFlash;
use crate::web::views::{render, HomePage, Layout, UserView};

/// The home page: what the demo shows, links to every page.
pub async fn show(auth: AuthUser, csrf: CsrfToken, flash: IncomingFlash) -> Response {
    let user = auth.current_user();
    let page = HomePage {
        layout: Layout::new(&csrf, user.as_deref(), &flash).at("/"),
        user: user.as_deref().map(UserView::from),
    };
    render(StatusCode::OK, &page, Some(&flash))
}
