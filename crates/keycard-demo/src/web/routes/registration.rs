//! `GET /registration/new`, `POST /registration`.
//!
//! A registration that passes the form's checks is counted per client address before its password is
//! hashed ([`crate::domain::throttle::registration_limit`]: 10 per hour per address); past the limit it
//! answers 429 with `Retry-After`, the same page whatever was typed. New hashes run on the hasher's own
//! lane, so even a flood of registrations from many addresses never takes a sign-in's permit.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use keycard::password::{PasswordError, PasswordPolicy, PasswordRejected};
use keycard::throttle::{whole_secs, Counted};
use keycard_axum::AuthError;
use serde::Deserialize;

use crate::domain::throttle::{too_many_registrations_message, RateLimitError};
use crate::domain::users::{self, normalize_email, CreateUserError};
use crate::web::auth::{self, AuthUser};
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::respond::retry_after;
use crate::web::state::AppState;
use crate::web::views::{render, Layout, RegistrationErrors, RegistrationPage};

/// The rules for new passwords, at registration and at a password change: the library's defaults (at
/// least 8 characters, at most 1024 bytes, not whitespace only nor one character repeated, not on the
/// bundled list of common and breached passwords, not the email).
pub const PASSWORD_POLICY: PasswordPolicy = PasswordPolicy::new();
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
        layout: Layout::new(&csrf, user.as_deref(), &flash).at("/registration/new"),
        email: String::new(),
        errors: RegistrationErrors::default(),
        error: None,
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

/// What is wrong with a new password for the account `email`, if anything.
pub fn password_error(password: &str, email: &str) -> Option<&'static str> {
    PASSWORD_POLICY
        .check_for_user(password, &[email])
        .err()
        .map(|e| policy_message(&e))
}

/// A refusal of the policy in the forms' style ("Password …").
pub fn policy_message(rejected: &PasswordRejected) -> &'static str {
    match rejected {
        PasswordRejected::TooShort { .. } => "must be at least 8 characters",
        PasswordRejected::TooLong { .. } => "must be at most 1024 bytes",
        PasswordRejected::OnlyWhitespace => "must be more than spaces",
        PasswordRejected::OneRepeatedCharacter => "must be more than one character repeated",
        PasswordRejected::Common => "is on a list of common or breached passwords; choose another",
        PasswordRejected::MatchesAccount => "must not be your email address; choose another",
        PasswordRejected::SameAsCurrent => "must be different from your current one",
        _ => "is not accepted; choose another",
    }
}

/// Count this registration against `ip`'s limit: `Ok(Some(_))` go on, `Ok(None)` the address is unknown
/// (`CLIENT_IP_SOURCE=none`: not counted, the hasher's own lane still bounds the work), `Err` refused.
async fn count(state: &AppState, ip: IpAddr) -> Result<Option<Counted>, RateLimitError> {
    if ip.is_unspecified() {
        return Ok(None);
    }
    state.registration_limit.hit_address(ip).await.map(Some)
}

/// Give a counted registration back: its password was not hashed after all.
async fn give_back(state: &AppState, counted: Option<Counted>) {
    if let Some(counted) = counted {
        if let Err(e) = state.registration_limit.give_back(counted).await {
            tracing::warn!(error = %e, "could not give back a registration-limit reservation");
        }
    }
}

/// Register: 303 to `/profile` signed in on the `free` plan, 422 with field messages, or 429 with
/// `Retry-After` past the address's limit.
pub async fn create(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    csrf: CsrfToken,
    Form(form): Form<RegistrationForm>,
) -> Result<Response, AppError> {
    let email = normalize_email(&form.email);
    let mut errors = RegistrationErrors {
        email: email_error(&email),
        password: password_error(&form.password, &email),
        password_confirmation: (form.password != form.password_confirmation)
            .then_some("does not match the password"),
    };
    let page = |status: StatusCode, errors: RegistrationErrors, email: String, error| {
        let user = auth.current_user();
        let page = RegistrationPage {
            layout: Layout::new(&csrf, user.as_deref(), &IncomingFlash::default())
                .at("/registration/new"),
            email,
            errors,
            error,
        };
        render(status, &page, None)
    };
    let invalid = |errors: RegistrationErrors, email: String| {
        page(StatusCode::UNPROCESSABLE_ENTITY, errors, email, None)
    };
    if errors.any() {
        return Ok(invalid(errors, email));
    }
    // Counted before the hash, whatever comes of it; refused the same way whatever was typed (not even
    // the email is echoed).
    let counted = match count(&state, ip).await {
        Ok(counted) => counted,
        Err(RateLimitError::Limited { retry_after: wait }) => {
            let secs = whole_secs(wait);
            let refused = page(
                StatusCode::TOO_MANY_REQUESTS,
                RegistrationErrors::default(),
                String::new(),
                Some(too_many_registrations_message(secs)),
            );
            return Ok(([retry_after(secs)], refused).into_response());
        }
        Err(RateLimitError::Store(e)) => return Err(AppError::Auth(AuthError::Store(e))),
        Err(e) => {
            // A refusal of a kind this version does not know: refuse, as a store failure would.
            let e = keycard::StoreError::new("throttle", "reserve", e.to_string());
            return Err(AppError::Auth(AuthError::Store(e)));
        }
    };
    // Whether the email is taken is only looked at from here on, after every field passed and the password
    // was hashed: a probe costs a policy-passing password and one hash, and both answers cost the same hash.
    // The answer itself still differs (the guide's "Passwords and registration": the demo has no email to send instead).
    let hash = match state.hasher.hash(&form.password).await {
        Ok(hash) => hash,
        Err(e @ PasswordError::Busy { .. }) => {
            give_back(&state, counted).await; // nothing was hashed
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    let user = match users::create(&state.db, &email, &hash, state.clock.now_secs()).await {
        Ok(u) => u,
        Err(CreateUserError::EmailTaken) => {
            errors.email = Some("has already been taken");
            return Ok(invalid(errors, email));
        }
        Err(CreateUserError::Db(e)) => return Err(e.into()),
    };
    tracing::info!(user_id = %user.id, "user registered");
    let welcome = format!(
        "Welcome to the keycard demo, {}! Your account is ready, on the free plan. We sent a link to \
         confirm your email address.",
        user.email
    );
    // The confirmation link goes out in the background: the response never waits for the mail.
    crate::web::inbox::send(&state, keycard::inbox::Flow::ConfirmEmail, user.clone());
    auth::sign_in(&state, &auth, user, &welcome, false).await
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
        let email = "alice@example.com";
        assert_eq!(
            password_error("plum7#x", email),
            Some("must be at least 8 characters")
        );
        assert_eq!(password_error("plum7#xq", email), None);
        assert_eq!(password_error(&"é1".repeat(300), email), None);
        assert_eq!(
            password_error(&"é1".repeat(400), email),
            Some("must be at most 1024 bytes")
        );
        assert_eq!(
            password_error("12345678", email),
            Some("is on a list of common or breached passwords; choose another")
        );
        assert_eq!(
            password_error("        ", email),
            Some("must be more than spaces")
        );
        assert_eq!(
            password_error("Alice@Example.com", email),
            Some("must not be your email address; choose another")
        );
        assert_eq!(
            PASSWORD_POLICY.min_chars(),
            8,
            "the messages and the form hints say 8"
        );
        assert_eq!(
            PASSWORD_POLICY.max_bytes(),
            1024,
            "the messages say 1024 bytes"
        );
    }
}
