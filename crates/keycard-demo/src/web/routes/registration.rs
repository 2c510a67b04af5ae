//! `GET /registration/new`, `POST /registration`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use crate::domain::users::{self, normalize_email, CreateUserError};
use crate::web::auth::{self, AuthUser};
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::state::AppState;
use crate::web::views::{render, Layout, RegistrationErrors, RegistrationPage};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (never truncated).
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Longest email accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// The registration form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegistrationForm {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// Password again.
    pub password_confirmation: String,
}

/// The form page.
pub async fn new(auth: AuthUser, csrf: CsrfToken, flash: IncomingFlash) -> Response {
    let user = auth.current_user();
    let page = RegistrationPage {
        layout: Layout::new(&csrf, user.as_deref(), &flash),
        email: String::new(),
        errors: RegistrationErrors::default(),
    };
    render(StatusCode::OK, &page, Some(&flash))
}

/// What is wrong with an email, if anything (expects it normalized).
pub fn email_error(email: &str) -> Option<&'static str> {
    if email.is_empty() {
        return Some("can't be blank");
    }
    if email.len() > MAX_EMAIL_LEN {
        return Some("is too long");
    }
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    (!valid).then_some("is not a valid email address")
}

/// What is wrong with a new password, if anything.
pub fn password_error(password: &str) -> Option<&'static str> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        Some("must be at least 8 characters")
    } else if n > MAX_PASSWORD_CHARS {
        Some("must be at most 128 characters")
    } else {
        None
    }
}

/// Register: 303 to `/profile` signed in on the `free` plan, or 422 with field messages.
pub async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    csrf: CsrfToken,
    Form(form): Form<RegistrationForm>,
) -> Result<Response, AppError> {
    let email = normalize_email(&form.email);
    let mut errors = RegistrationErrors {
        email: email_error(&email),
        password: password_error(&form.password),
        password_confirmation: (form.password != form.password_confirmation)
            .then_some("does not match the password"),
    };
    let invalid = |errors: RegistrationErrors, email: String| {
        let user = auth.current_user();
        let page = RegistrationPage {
            layout: Layout::new(&csrf, user.as_deref(), &IncomingFlash::default()),
            email,
            errors,
        };
        render(StatusCode::UNPROCESSABLE_ENTITY, &page, None)
    };
    if errors.any() {
        return Ok(invalid(errors, email));
    }
    let hash = state.hasher.hash(&form.password).await?;
    let user = match users::create(&state.db, &email, &hash, state.clock.now_secs()).await {
        Ok(u) => u,
        Err(CreateUserError::EmailTaken) => {
            errors.email = Some("has already been taken");
            return Ok(invalid(errors, email));
        }
        Err(CreateUserError::Db(e)) => return Err(e.into()),
    };
    tracing::info!(user_id = %user.id, "user registered");
    auth::sign_in(&auth, user).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_and_password_rules() {
        assert_eq!(email_error("a@b.example"), None);
        assert!(email_error("").is_some());
        assert!(email_error("nobody").is_some());
        assert!(email_error("@x").is_some());
        assert!(email_error("a@").is_some());
        assert!(email_error("a b@x").is_some());
        assert!(email_error(&format!("{}@x", "a".repeat(300))).is_some());
        assert!(password_error("1234567").is_some());
        assert_eq!(password_error("12345678"), None);
        assert_eq!(password_error(&"é".repeat(128)), None);
        assert!(password_error(&"a".repeat(129)).is_some());
    }
}
