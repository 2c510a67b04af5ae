//! The pages: askama templates (in `templates/`, checked at compile time) and the data they show.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::clock::format_utc;
use crate::domain::users::{Plan, User};
use crate::web::flash::IncomingFlash;
pub use crate::web::layout::{Layout, Viewer};
use crate::web::time_view::TimeView;

/// A user as pages show them.
#[derive(Debug, Clone)]
pub struct UserView {
    /// Email.
    pub email: String,
    /// Plan name.
    pub plan: &'static str,
    /// When the trial ends, formatted.
    pub trial_ends: Option<String>,
    /// Whether the address is confirmed.
    pub confirmed: bool,
    /// An authenticator app is on.
    pub totp: bool,
    /// The account has passkeys.
    pub passkey: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            email: u.email.clone(),
            plan: u.plan.as_str(),
            trial_ends: match u.plan {
                Plan::ProTrial => u.plan_expires_at.map(format_utc),
                _ => None,
            },
            confirmed: u.is_confirmed(),
            totp: u.factors.iter().any(|f| f == "totp"),
            passkey: u.factors.iter().any(|f| f == "passkey"),
        }
    }
}

/// `GET /`.
#[derive(Debug, Template)]
#[template(path = "home.html")]
pub struct HomePage {
    /// Frame.
    pub layout: Layout,
    /// The cached user, if signed in.
    pub user: Option<UserView>,
}

/// Field messages of the registration form.
#[derive(Debug, Clone, Default)]
pub struct RegistrationErrors {
    /// About the email.
    pub email: Option<&'static str>,
    /// About the password.
    pub password: Option<&'static str>,
    /// About the confirmation.
    pub password_confirmation: Option<&'static str>,
}

impl RegistrationErrors {
    /// Whether any field has a message.
    pub fn any(&self) -> bool {
        self.email.is_some() || self.password.is_some() || self.password_confirmation.is_some()
    }
}

/// `GET /registration/new`, and `POST /registration` with errors.
#[derive(Debug, Template)]
#[template(path = "registration_new.html")]
pub struct RegistrationPage {
    /// Frame.
    pub layout: Layout,
    /// The email as typed.
    pub email: String,
    /// Field messages.
    pub errors: RegistrationErrors,
    /// A message about the whole form (too many registrations from this network).
    pub error: Option<String>,
}

/// `GET /session/confirm` (sudo mode), and `POST /session/confirm` failures.
#[derive(Debug, Template)]
#[template(path = "session_confirm.html")]
pub struct ConfirmPage {
    /// Frame.
    pub layout: Layout,
    /// The signed-in user's email (the hidden username field password managers read).
    pub email: String,
    /// Where to go back to (a local path, or empty).
    pub return_to: String,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

/// `GET /session/new`, and `POST /session` failures.
#[derive(Debug, Template)]
#[template(path = "session_new.html")]
pub struct SignInPage {
    /// Frame.
    pub layout: Layout,
    /// The email as typed.
    pub email: String,
    /// The one generic message.
    pub error: Option<String>,
    /// Why the visitor is signed out, when the app can tell ([`crate::web::ended_session`]).
    pub notice: Option<&'static str>,
    /// "Sign in with {name}": the configured identity providers.
    pub providers: Vec<crate::web::oidc_views::ProviderButton>,
}

/// Field messages of the password-change form.
#[derive(Debug, Clone, Default)]
pub struct PasswordErrors {
    /// About the current password.
    pub current_password: Option<&'static str>,
    /// About the new password.
    pub password: Option<&'static str>,
    /// About the confirmation.
    pub password_confirmation: Option<&'static str>,
}

impl PasswordErrors {
    /// Whether any field has a message.
    pub fn any(&self) -> bool {
        self.current_password.is_some()
            || self.password.is_some()
            || self.password_confirmation.is_some()
    }
}

/// `GET /profile`, and `POST /account/password` with errors.
#[derive(Debug, Template)]
#[template(path = "profile.html")]
pub struct ProfilePage {
    /// Frame.
    pub layout: Layout,
    /// The cached user.
    pub user: UserView,
    /// Password form messages.
    pub password_errors: PasswordErrors,
}

/// One choice on the plan page.
#[derive(Debug, Clone)]
pub struct PlanOption {
    /// Stored name.
    pub value: &'static str,
    /// Label.
    pub label: &'static str,
    /// Pre-selected.
    pub checked: bool,
}

/// `GET /plan/edit`, and `POST /plan` with an invalid plan.
#[derive(Debug, Template)]
#[template(path = "plan_edit.html")]
pub struct PlanPage {
    /// Frame.
    pub layout: Layout,
    /// The cached plan.
    pub current: &'static str,
    /// The choices.
    pub options: Vec<PlanOption>,
    /// What was wrong with the submitted plan.
    pub error: Option<&'static str>,
    /// The trial length, for the label.
    pub trial_length: String,
}

impl PlanPage {
    /// The plan page for `user`, `selected` pre-checked.
    pub fn new(layout: Layout, user: &User, selected: Option<Plan>, trial_secs: u64) -> Self {
        let selected = selected.unwrap_or(user.plan);
        PlanPage {
            layout,
            current: user.plan.as_str(),
            options: Plan::ALL
                .into_iter()
                .map(|p| PlanOption {
                    value: p.as_str(),
                    label: p.label(),
                    checked: p == selected,
                })
                .collect(),
            error: None,
            trial_length: human_duration(trial_secs),
        }
    }
}

/// `GET /pro`.
#[derive(Debug, Template)]
#[template(path = "pro.html")]
pub struct ProPage {
    /// Frame.
    pub layout: Layout,
    /// The user as the database has it.
    pub user: UserView,
    /// Whether the plan opens the pro area.
    pub allowed: bool,
    /// The cached copy's plan, when it differs from the database's.
    pub cached_plan: Option<&'static str>,
}

/// One row of the sessions page.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// Session id (hex).
    pub id: String,
    /// Whether this request's session.
    pub current: bool,
    /// Sign-in time.
    pub created: TimeView,
    /// Last token rotation.
    pub renewed: TimeView,
    /// When it dies if unused.
    pub expires: TimeView,
    /// "Chrome on Linux" ([`crate::web::device`]).
    pub device: String,
    /// Whether it belongs to a remember-me series (signed in with "Remember me", or signed back in by it).
    pub remembered: bool,
    /// The raw `User-Agent`, shown on hover.
    pub user_agent: String,
    /// Address.
    pub ip: Option<String>,
}

/// `GET /sessions`.
#[derive(Debug, Template)]
#[template(path = "sessions.html")]
pub struct SessionsPage {
    /// Frame.
    pub layout: Layout,
    /// The user's live sessions, oldest first.
    pub sessions: Vec<SessionRow>,
    /// The user's remembered browsers ("Remember me" series), oldest first.
    pub series: Vec<SeriesRow>,
}

/// One row of the remembered-browsers table.
#[derive(Debug)]
pub struct SeriesRow {
    /// Series id (hex).
    pub id: String,
    /// Whether this request's session belongs to it.
    pub current: bool,
    /// When "Remember me" was ticked.
    pub created: TimeView,
    /// Last use (sign-in or the last time it signed the browser back in).
    pub used: TimeView,
    /// When it dies if unused.
    pub expires: TimeView,
    /// The device of its newest live session, if it has one.
    pub device: Option<String>,
}

/// Errors: 403, 404, 503, ….
#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Frame.
    pub layout: Layout,
    /// Heading.
    pub title: String,
    /// Explanation.
    pub message: String,
}

/// Render `page` with `status`. Pages carry CSRF tokens and user data: never cached. A flash the request
/// carried is cleared.
pub fn render(status: StatusCode, page: &impl Template, flash: Option<&IncomingFlash>) -> Response {
    match page.render() {
        Ok(html) => {
            let mut res = (status, Html(html)).into_response();
            let h = res.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Some(clear) = flash.and_then(IncomingFlash::clear_header) {
                h.append(header::SET_COOKIE, clear);
            }
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "a page template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error: a page failed to render. The error is in the server log.",
            )
                .into_response()
        }
    }
}

/// An error page for a viewer the handler does not know (a store outage): the navigation shows neither
/// the signed-in nor the signed-out links, and there is no form.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    framed_error_page(Layout::default(), status, title, message)
}

/// An error page in the viewer's frame: a signed-in user keeps the signed-in navigation.
pub fn framed_error_page(
    layout: Layout,
    status: StatusCode,
    title: &str,
    message: &str,
) -> Response {
    render(
        status,
        &ErrorPage {
            layout,
            title: title.to_owned(),
            message: message.to_owned(),
        },
        None,
    )
}

/// `1209600` -> `14 days`.
pub fn human_duration(secs: u64) -> String {
    let (n, unit) = if secs.is_multiple_of(86_400) {
        (secs / 86_400, "day")
    } else if secs.is_multiple_of(3600) {
        (secs / 3600, "hour")
    } else if secs.is_multiple_of(60) {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_escape_user_input() {
        let page = SignInPage {
            layout: Layout::default(),
            email: "<script>alert(1)</script>".into(),
            error: None,
            notice: None,
            providers: Vec::new(),
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(1_209_600), "14 days");
        assert_eq!(human_duration(3600), "1 hour");
        assert_eq!(human_duration(90), "90 seconds");
    }
}
