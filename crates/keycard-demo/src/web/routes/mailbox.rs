//! `GET /dev/mailbox`: the development mailbox, when the demo has no `SMTP_URL` and is bound to a
//! loopback address (the router adds the route only then).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::web::auth::AuthUser;
use crate::web::csrf::CsrfToken;
use crate::web::email_views::{DevMailboxPage, MailView};
use crate::web::flash::IncomingFlash;
use crate::web::state::AppState;
use crate::web::views::{error_page, render, Layout};

/// The kept messages, newest first.
pub async fn show(State(state): State<AppState>, auth: AuthUser, csrf: CsrfToken) -> Response {
    let Some(dev) = &state.dev_mailbox else {
        return error_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no page at this address.",
        );
    };
    let user = auth.current_user();
    let messages = dev
        .messages()
        .into_iter()
        .rev()
        .map(|r| MailView {
            to: r.message.to().email.to_string(),
            subject: r.message.subject().to_owned(),
            text: r.message.text().to_owned(),
        })
        .collect();
    let page = DevMailboxPage {
        layout: Layout::new(&csrf, user.as_deref(), &IncomingFlash::default()).at("/dev/mailbox"),
        capacity: 100,
        messages,
    };
    render(StatusCode::OK, &page, None)
}
