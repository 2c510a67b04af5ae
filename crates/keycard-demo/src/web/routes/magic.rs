//! `POST /session/link`, `GET /session/link/sent`, `GET/POST /session/link/{token}`, `POST /session/code`:
//! signing in without a password ([`keycard::inbox::Flow::SignIn`]: a link for 15 minutes, or the
//! six-digit code of the same message for 10 minutes and 5 guesses). A sign-in this way is a fresh
//! authentication (sudo mode) and confirms the address.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use keycard::inbox::{Flow, Redeemed};
use serde::Deserialize;

use crate::domain::users::User;
use crate::domain::{email, users};
use crate::web::attempts::{self, Begun};
use crate::web::auth::AuthUser;
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::email_views::{LinkConfirmPage, LinkInvalidPage, SessionCodePage};
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::inbox;
use crate::web::respond::retry_after;
use crate::web::routes::password_reset::EmailForm;
use crate::web::second_factor::sign_in_or_continue;
use crate::web::state::AppState;
use crate::web::views::{render, Layout};

/// What a wrong, expired or unknown code answers: one message for all of them.
pub const BAD_CODE: &str = "That code is not right, or it expired. Ask for a new one.";

/// `email`, `code`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    /// The address typed.
    pub email: String,
    /// The code typed.
    pub code: String,
}

fn code_page(
    csrf: &CsrfToken,
    auth: &AuthUser,
    flash: &IncomingFlash,
    status: StatusCode,
    email: String,
    error: Option<String>,
) -> Response {
    let user = auth.current_user();
    let page = SessionCodePage {
        layout: Layout::new(csrf, user.as_deref(), flash),
        notice: None,
        error,
        email,
    };
    render(status, &page, Some(flash))
}

/// Ask for a link and a code: `303` to the code page, whatever the address.
pub async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    csrf: CsrfToken,
    Form(form): Form<EmailForm>,
) -> Result<Response, AppError> {
    let address = users::normalize_email(&form.email);
    if let Some(wait) = inbox::count_request(&state, ip, &address).await? {
        let secs = keycard::throttle::whole_secs(wait);
        let page = code_page(
            &csrf,
            &auth,
            &IncomingFlash::default(),
            StatusCode::TOO_MANY_REQUESTS,
            String::new(),
            Some(inbox::too_many_message(wait)),
        );
        return Ok(([retry_after(secs)], page).into_response());
    }
    inbox::send_if_account(&state, Flow::SignIn, address);
    Ok(axum::response::Redirect::to("/session/link/sent").into_response())
}

/// The code form ("check your inbox").
pub async fn sent(auth: AuthUser, csrf: CsrfToken, flash: IncomingFlash) -> Response {
    code_page(&csrf, &auth, &flash, StatusCode::OK, String::new(), None)
}

fn invalid(csrf: &CsrfToken, auth: &AuthUser) -> Response {
    let user = auth.current_user();
    let page = LinkInvalidPage {
        layout: Layout::new(csrf, user.as_deref(), &IncomingFlash::default()),
        again_href: "/session/new",
        again_label: "Ask for a new sign-in link",
    };
    render(StatusCode::NOT_FOUND, &page, None)
}

/// The link's page: one button that signs in.
pub async fn show(
    State(state): State<AppState>,
    auth: AuthUser,
    csrf: CsrfToken,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some(key) = state.inbox.check(Flow::SignIn, &token).await? else {
        return Ok(invalid(&csrf, &auth));
    };
    let Some(user) = users::find(&state.db, &key).await? else {
        return Ok(invalid(&csrf, &auth));
    };
    let viewer = auth.current_user();
    let page = LinkConfirmPage {
        layout: Layout::new(&csrf, viewer.as_deref(), &IncomingFlash::default()),
        title: "Sign in",
        text: format!("Sign in as {}.", user.email),
        action: format!("/session/link/{token}"),
        button: "Sign in",
    };
    Ok(render(StatusCode::OK, &page, None))
}

/// Sign `user` in (a fresh authentication) after a link or a code, confirming their address; a user
/// with a second factor goes on to `/session/two-factor` (an inbox is one factor, not two).
async fn signed_in(state: &AppState, auth: &AuthUser, user: User) -> Result<Response, AppError> {
    let now = state.clock.now_secs();
    let user = match user.is_confirmed() {
        true => user,
        false => email::confirm(&state.db, &user.id, &user.email, now)
            .await?
            .unwrap_or(user),
    };
    let welcome = format!("Welcome back, {}.", user.email);
    sign_in_or_continue(state, auth, user, &welcome, false).await
}

/// Use the link: signed in, `303` to the profile.
pub async fn redeem(
    State(state): State<AppState>,
    auth: AuthUser,
    csrf: CsrfToken,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    match state
        .inbox
        .redeem(Flow::SignIn, &token, inbox::loader(&state))
        .await?
    {
        Redeemed::Valid { user, .. } => signed_in(&state, &auth, user).await,
        _ => Ok(invalid(&csrf, &auth)),
    }
}

/// Sign in with the code: counted like a password sign-in (the login throttle), and each code allows 5
/// guesses; every failure is one answer, [`BAD_CODE`] with 401.
pub async fn code(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    csrf: CsrfToken,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let address = users::normalize_email(&form.email);
    let failed = |status: StatusCode, message: String| {
        code_page(
            &csrf,
            &auth,
            &IncomingFlash::default(),
            status,
            address.clone(),
            Some(message),
        )
    };
    let attempt = match attempts::begin(&state, &address, ip, failed).await? {
        Begun::Go(attempt) => attempt,
        Begun::Refused(res) => return Ok(res),
    };
    let bad = || {
        code_page(
            &csrf,
            &auth,
            &IncomingFlash::default(),
            StatusCode::UNAUTHORIZED,
            address.clone(),
            Some(BAD_CODE.to_owned()),
        )
    };
    let Some(user) = email::find_by_email(&state.db, &address).await? else {
        drop(attempt); // counted: a failure
        return Ok(bad());
    };
    match state
        .inbox
        .redeem_code(&user, &form.code, inbox::loader(&state))
        .await?
    {
        Redeemed::Valid { user, .. } => {
            attempts::give_back(&state, attempt).await;
            signed_in(&state, &auth, user).await
        }
        _ => {
            state.cache.audit().sign_in_failed(&address, "wrong_code");
            Ok(bad())
        }
    }
}
