//! What every accounts-by-email page shares: counting a request for mail, and sending a flow's message
//! from a background task.
//!
//! **Enumeration-safe by construction.** A request for mail (a reset link, a sign-in link) is counted per
//! client address and per typed address, and then the account is looked up, its token issued and its
//! message queued in a spawned task ([`send_if_account`]): the handler does exactly the same work and
//! answers the same redirect whether or not the address has an account, and never waits for the
//! database, the store write, the mail server or a retry.

use std::net::IpAddr;
use std::time::Duration;

use keycard::inbox::Flow;
use keycard::throttle::RateLimitError;
use keycard_axum::AuthError;

use crate::domain::users::User;
use crate::web::error::AppError;
use crate::web::state::AppState;

/// Count one request for mail from `ip` for `email`: `Ok(None)` to go on, `Ok(Some(wait))` when a limit
/// is full (answer 429 with `Retry-After`, the same page whatever the address), `Err` when the counters'
/// store failed. Both counters are counted whatever comes next.
pub async fn count_request(
    state: &AppState,
    ip: IpAddr,
    email: &str,
) -> Result<Option<Duration>, AppError> {
    let client = match ip.is_unspecified() {
        true => Ok(None),
        false => state.mail_per_client.hit_address(ip).await.map(Some),
    };
    let refused = |e: RateLimitError| match e {
        RateLimitError::Limited { retry_after } => Ok(Some(retry_after)),
        RateLimitError::Store(e) => Err(AppError::Auth(AuthError::Store(e))),
        other => Err(AppError::Auth(AuthError::Store(keycard::StoreError::new(
            "throttle",
            "reserve",
            other.to_string(),
        )))),
    };
    if let Err(e) = client {
        return refused(e);
    }
    match state.mail_per_address.hit(email).await {
        Ok(_) => Ok(None),
        Err(e) => refused(e),
    }
}

/// If `email` is an account's, issue `flow`'s token for it and queue its message: all of it, the lookup
/// included, in a background task, so the handler does exactly the same work for an address with an
/// account and one without (its answer and its time say nothing about the address).
pub fn send_if_account(state: &AppState, flow: Flow, email: String) {
    let (db, inbox, mail, clock) = (
        state.db.clone(),
        state.inbox.clone(),
        state.mail.clone(),
        state.clock.clone(),
    );
    tokio::spawn(async move {
        let user = match crate::domain::email::find_by_email(&db, &email).await {
            Ok(Some(user)) => user,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(flow = flow.as_str(), error = %e, "could not look the address up; no mail sent");
                return;
            }
        };
        match inbox.issue(flow, &user).await {
            Ok(m) => mail.send(mail.compose(&m, keycard::Clock::now(&clock))),
            Err(e) => {
                tracing::warn!(flow = flow.as_str(), error = %e, "could not issue a token; no mail sent")
            }
        }
    });
}

/// Issue `flow`'s token for `user` and queue its message, in a background task.
pub fn send(state: &AppState, flow: Flow, user: User) {
    let (inbox, mail, clock) = (state.inbox.clone(), state.mail.clone(), state.clock.clone());
    tokio::spawn(async move {
        match inbox.issue(flow, &user).await {
            Ok(m) => mail.send(mail.compose(&m, keycard::Clock::now(&clock))),
            Err(e) => {
                tracing::warn!(flow = flow.as_str(), error = %e, "could not issue a token; no mail sent")
            }
        }
    });
}

/// Issue an email-change token for `user` and queue its message to `new_email`, in a background task.
pub fn send_email_change(state: &AppState, user: User, new_email: String) {
    let (inbox, mail, clock) = (state.inbox.clone(), state.mail.clone(), state.clock.clone());
    tokio::spawn(async move {
        match inbox.issue_email_change(&user, &new_email).await {
            Ok(m) => mail.send(mail.compose(&m, keycard::Clock::now(&clock))),
            Err(e) => {
                tracing::warn!(error = %e, "could not issue an email-change token; no mail sent")
            }
        }
    });
}

/// What [`loader`] gives back: the user by key, read from the database.
type Loaded =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<User>, sqlx::Error>> + Send>>;

/// The app's user loader for a redemption: the user as the database has them now.
pub fn loader(state: &AppState) -> impl FnOnce(String) -> Loaded {
    let db = state.db.clone();
    move |key| Box::pin(async move { crate::domain::users::find(&db, &key).await })
}

/// The message of a refused request for mail.
pub fn too_many_message(retry_after: Duration) -> String {
    let minutes = keycard::throttle::whole_secs(retry_after).div_ceil(60);
    format!(
        "Too many emails were asked for. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    )
}
