//! The second step of a sign-in, where the sign-in paths meet it, and the factor summary sync.
//!
//! Every first factor (the password form, an emailed link or code) ends in [`sign_in_or_continue`]: a
//! user without a second factor is signed in; a user with one is **not**: a pending login begins (a
//! 5-minute single-use challenge in the session store, in a short `SameSite=Strict` cookie) and the
//! browser goes to `/session/two-factor`. No session exists meanwhile, so `GET /me` is 401 and every
//! signed-in page sends the visitor to sign in.

use axum::response::Response;

use crate::domain::users::User;
use crate::web::auth::{self, AuthUser};
use crate::web::error::AppError;
use crate::web::respond::redirect_setting;
use crate::web::state::AppState;

/// The second step's page.
pub const TWO_FACTOR_PATH: &str = "/session/two-factor";

/// A right first factor for `user`: sign in ([`auth::sign_in`]), or, when the factor store says the user
/// has a second factor, end any session the request had (fixation), begin a pending login and answer
/// `303` to [`TWO_FACTOR_PATH`] with its cookie. `remember` rides along to the second step.
///
/// The factor store decides, not the cached summary: a summary left stale by a crash must never let a
/// sign-in skip the second step.
pub async fn sign_in_or_continue(
    state: &AppState,
    auth: &AuthUser,
    user: User,
    welcome: &str,
    remember: bool,
) -> Result<Response, AppError> {
    let required = state
        .second
        .factors
        .factors(&user.id)
        .await?
        .second_step_required();
    if !required {
        return auth::sign_in(state, auth, user, welcome, remember).await;
    }
    if auth.is_signed_in() {
        auth.delete().await?;
    }
    let challenge = state.second.pending.begin(&user, remember).await?;
    state.cache.audit().second_factor_required(&user.id);
    let cookie = state.second.cookie.set(&challenge).ok_or_else(|| {
        keycard::StoreError::new(
            "keycard-demo",
            "pending_cookie",
            "a pending-login challenge is not a valid cookie value",
        )
    })?;
    Ok(redirect_setting(TWO_FACTOR_PATH, cookie))
}

/// After a change to `user`'s factors: rewrite the `users.factors` summary (bumping the row version) and
/// sync it into every session of the user through this request's session. `None`: the account is gone
/// (this session was signed out).
pub async fn refresh_summary(
    state: &AppState,
    auth: &AuthUser,
    user: &User,
) -> Result<Option<User>, AppError> {
    let names = state.second.factors.factors(&user.id).await?.names();
    let updated =
        crate::domain::users::set_factors(&state.db, &user.id, &names, state.clock.now_secs())
            .await?;
    match updated {
        Some(updated) => {
            auth.create(updated.clone()).await?;
            Ok(Some(updated))
        }
        None => {
            auth.delete().await?;
            Ok(None)
        }
    }
}
