//! `GET /session/new`, `POST /session` (sign in), `POST /session/delete` (sign out).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use keycard::password::{PasswordError, Verified};
use keycard_axum::AuthError;
use serde::Deserialize;

use crate::domain::users::{self, normalize_email};
use crate::web::attempts::{self, Begun};
use crate::web::auth::AuthUser;
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::ended_session::{EndedSession, SESSION_ENDED};
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::oidc_views::ProviderButton;
use crate::web::routes::registration::MAX_EMAIL_LEN as MAX_EMAIL_BYTES;
use crate::web::second_factor::sign_in_or_continue;
use crate::web::state::AppState;
use crate::web::views::{render, Layout, SignInPage};

pub use crate::web::attempts::GENERIC_FAILURE;

/// The sign-in form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInForm {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// The "Remember me" checkbox (`remember_me=on` when ticked; absent when not).
    pub remember_me: Option<String>,
}

impl SignInForm {
    /// Whether "Remember me" was ticked.
    pub fn remember(&self) -> bool {
        self.remember_me
            .as_deref()
            .is_some_and(|v| !v.is_empty() && v != "false" && v != "off")
    }
}

/// The form page. A visitor whose session ended (the request still carries its cookie) is told why, once:
/// the dead cookie is cleared.
pub async fn new(
    State(state): State<AppState>,
    auth: AuthUser,
    EndedSession(ended): EndedSession,
    csrf: CsrfToken,
    flash: IncomingFlash,
) -> Result<Response, AppError> {
    if ended && !auth.is_read_only() {
        // Anonymous with a dead cookie: this only clears the cookie (no store call).
        auth.delete().await?;
    }
    let user = auth.current_user();
    let page = SignInPage {
        layout: Layout::new(&csrf, user.as_deref(), &flash).at("/session/new"),
        email: String::new(),
        error: None,
        notice: ended.then_some(SESSION_ENDED),
        providers: ProviderButton::all(&state.oidc.oidc),
    };
    Ok(render(StatusCode::OK, &page, Some(&flash)))
}

/// Sign in: 303 to `/profile`; 401 with one generic message for an unknown email and a wrong password
/// alike (same body, same work: the password is checked against a dummy hash when there is no account);
/// 429 with `Retry-After` when the login throttle refuses the attempt, which it reserves *before* the
/// password is checked (see [`crate::domain::throttle`]).
pub async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    csrf: CsrfToken,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    let email = normalize_email(&form.email);
    let audit = state.cache.audit();
    let failed = |status: StatusCode, message: String| {
        let user = auth.current_user();
        let page = SignInPage {
            layout: Layout::new(&csrf, user.as_deref(), &IncomingFlash::default())
                .at("/session/new"),
            // Never echo an oversized email back into the page.
            email: if email.len() <= MAX_EMAIL_BYTES {
                email.clone()
            } else {
                String::new()
            },
            error: Some(message),
            notice: None,
            providers: ProviderButton::all(&state.oidc.oidc),
        };
        render(status, &page, None)
    };
    let attempt = match attempts::begin(&state, &email, ip, failed).await? {
        Begun::Go(attempt) => attempt,
        Begun::Refused(res) => return Ok(res),
    };

    let found = match users::find_with_password_by_email(&state.db, &email).await {
        Ok(found) => found,
        Err(e) => {
            // Nothing was checked: not a failure.
            attempts::give_back(&state, attempt).await;
            return Err(e.into());
        }
    };
    // An account with no password (made by an identity provider) is checked like an unknown email:
    // against the dummy hash, so it costs the same and fails the same.
    let stored = found
        .as_ref()
        .map(|(_, hash)| hash.as_str())
        .filter(|h| *h != users::NO_PASSWORD);
    let verified = match state.hasher.verify(&form.password, stored).await {
        Ok(v) => v,
        Err(e @ (PasswordError::MalformedHash(_) | PasswordError::UnsupportedParams(_))) => {
            let user_id = found.as_ref().map(|(u, _)| u.id.as_str()).unwrap_or("");
            tracing::error!(user_id, error = %e, "stored password hash is unusable; the user cannot sign in until it is reset");
            Verified::Invalid
        }
        Err(e) => {
            // Busy (no hashing permit in time) or a failed task: the password was not checked.
            attempts::give_back(&state, attempt).await;
            return Err(e.into());
        }
    };
    let (user, rehash) = match (found, verified) {
        (Some((user, _)), Verified::Valid { rehash }) => (user, rehash),
        (found, _) => {
            drop(attempt); // stays counted: a failure
            let reason = if found.is_some() {
                "wrong_password"
            } else {
                "unknown_account"
            };
            audit.sign_in_failed(&email, reason);
            return Ok(failed(StatusCode::UNAUTHORIZED, GENERIC_FAILURE.to_owned()));
        }
    };
    if let Some(new_hash) = rehash {
        // The plaintext is only here now: upgrade an old (Pow PBKDF2, weaker argon2) hash.
        match users::set_password_hash(&state.db, &user.id, &new_hash, state.clock.now_secs()).await
        {
            Ok(_) => {
                tracing::info!(user_id = %user.id, "password hash upgraded to the current argon2id parameters")
            }
            Err(e) => {
                tracing::warn!(user_id = %user.id, error = %e, "could not store the upgraded password hash; will try again at the next sign-in")
            }
        }
    }
    let welcome = format!("Welcome back, {}.", user.email);
    match sign_in_or_continue(&state, &auth, user, &welcome, form.remember()).await {
        // The password was changed while this one was checked: it is the old password now (counted).
        Err(AppError::Auth(AuthError::CredentialsChanged)) => {
            audit.sign_in_failed(&email, "credentials_changed");
            Ok(failed(StatusCode::UNAUTHORIZED, GENERIC_FAILURE.to_owned()))
        }
        // The right password: signed in, or a store outage (503): either way not a failure.
        other => {
            attempts::give_back(&state, attempt).await;
            other
        }
    }
}

/// Sign out: the session and its token die on the server, the cookie is cleared; 303 to `/`.
pub async fn delete(State(state): State<AppState>, auth: AuthUser) -> Result<Response, AppError> {
    let signed_in = auth.current_user().is_some();
    auth.delete().await?;
    Ok(if signed_in {
        state.flash.redirect("/", "You have been signed out.")
    } else {
        axum::response::Redirect::to("/").into_response()
    })
}
