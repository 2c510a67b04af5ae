//! `GET /plan/edit`, `POST /plan`: the guide's `PlanController.update`: update the database, then
//! `sync_user` (`Auth::create` on the signed-in session: the cached user is replaced and the session token
//! rotates, as befits an authorization change), flash, redirect.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use keycard_axum::RedirectPath;
use serde::Deserialize;

use crate::domain::users::{self, Key, Plan};
use crate::web::auth::{AuthUser, PageUser};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::respond::SignIn;
use crate::web::state::AppState;
use crate::web::views::{render, Layout, PlanPage};

/// The plan form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PlanForm {
    /// `free`, `pro` or `pro-trial`.
    pub plan: String,
}

/// The plan page (current plan from the cached user).
pub async fn edit(
    State(state): State<AppState>,
    PageUser { user, .. }: PageUser,
    csrf: CsrfToken,
    flash: IncomingFlash,
) -> Response {
    let page = PlanPage::new(
        Layout::new(&csrf, Some(&user), &flash).at("/plan/edit"),
        &user,
        None,
        state.trial.as_secs(),
    );
    render(StatusCode::OK, &page, Some(&flash))
}

/// Change the plan: 303 to `/profile` with "Plan updated successfully." and a new session cookie; an
/// unknown plan: 422. `pro-trial` ends `TRIAL_SECS` from now.
pub async fn update(
    State(state): State<AppState>,
    auth: AuthUser,
    PageUser { user, .. }: PageUser,
    csrf: CsrfToken,
    Form(form): Form<PlanForm>,
) -> Result<Response, AppError> {
    let Some(plan) = Plan::parse(form.plan.trim()) else {
        let mut page = PlanPage::new(
            Layout::new(&csrf, Some(&user), &IncomingFlash::default()).at("/plan/edit"),
            &user,
            None,
            state.trial.as_secs(),
        );
        page.error = Some("must be one of free, pro, pro-trial");
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page, None));
    };
    let updated = users::update_plan(
        &state.db,
        Key::Id(&user.id),
        plan,
        state.clock.now_secs(),
        state.trial.as_secs(),
    )
    .await?;
    let Some(updated) = updated else {
        // The account was deleted under us: nothing to sync.
        auth.delete().await?;
        return Ok(state
            .flash
            .redirect(SignIn::PATH, "Your account no longer exists."));
    };
    tracing::info!(user_id = %updated.id, plan = %updated.plan, "plan updated");
    auth.create(updated).await?;
    Ok(state
        .flash
        .redirect("/profile", "Plan updated successfully."))
}
