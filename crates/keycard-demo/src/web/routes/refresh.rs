//! `POST /account/refresh`: replace the cached copy of the user with the database's (the guide's
//! `sync_user`, asked for by the user). Behind `ReloadUser`, so the current user here is the row just read
//! from the database; `Auth::create` on the signed-in session replaces the one cached copy (every session of
//! the user sees it) and rotates this session's token.

use axum::extract::State;
use axum::response::Response;

use crate::web::auth::{AuthUser, PageUser};
use crate::web::error::AppError;
use crate::web::state::AppState;

/// 303 to `/profile` with a flash naming the plan now cached. Anonymous (or a user deleted from the
/// database): 303 to the sign-in page.
pub async fn refresh(
    State(state): State<AppState>,
    auth: AuthUser,
    PageUser { user, .. }: PageUser,
) -> Result<Response, AppError> {
    let plan = user.plan;
    auth.create(user).await?;
    tracing::info!(plan = %plan, "cached user refreshed from the database");
    Ok(state.flash.redirect(
        "/profile",
        &format!("Your account was refreshed from the database: your plan is {plan}."),
    ))
}
