//! `GET /auth/oidc/{key}`, `GET /auth/oidc/{key}/callback`: "Sign in with {name}" (keycard-oidc).
//!
//! The start writes a flow record (at most
//! [`OIDC_STARTS_PER_CLIENT`](crate::domain::throttle::OIDC_STARTS_PER_CLIENT) per client address),
//! sets the flow cookie (the browser binding) and sends the browser to the provider. The callback
//! consumes the flow whatever happens, then:
//! - a refusal (the provider's error, a denied consent, a replayed `state`, an ID token that fails a
//!   check): [`OidcRejection`], nothing created;
//! - a sign-in: keycard-oidc's linking policy decides ([`keycard_oidc::SignIn`]): the linked user, the
//!   account with the provider's email (linked only when the provider is trusted for email, the token
//!   says it is verified and the account's email is confirmed), a new account, or a page asking to sign
//!   in with a password and link from the account's settings (the same page whether or not an account
//!   has that email: it tells nobody which addresses have accounts). Signing in is `Auth::create`, as
//!   for a password (with the second step when the user has a second factor);
//! - a link begun on `/account/identities` ([`crate::web::routes::identities`]): linked to the signed-in
//!   user who began it.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use keycard::throttle::whole_secs;
use keycard_oidc::{Callback, ExistingAccount, Intent, OidcError, SignIn, Verified};
use serde::Deserialize;

use crate::domain::oidc::create_account;
use crate::domain::throttle::RateLimitError;
use crate::domain::users::{self, CreateUserError};
use crate::web::auth::AuthUser;
use crate::web::client_ip::ClientIp;
use crate::web::csrf::CsrfToken;
use crate::web::error::AppError;
use crate::web::flash::IncomingFlash;
use crate::web::oidc_flow::{clear_cookie, read_cookie, set_cookie, OidcRejection};
use crate::web::oidc_views::{ContinuePage, IDENTITIES_PATH};
use crate::web::respond::{retry_after, with_cookie};
use crate::web::second_factor::sign_in_or_continue;
use crate::web::state::AppState;
use crate::web::views::{framed_error_page, render, Layout};

/// The provider's redirect back.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CallbackQuery {
    /// `state`.
    pub state: Option<String>,
    /// `code`.
    pub code: Option<String>,
    /// `error`.
    pub error: Option<String>,
}

/// What the page says when nothing could be linked or created (the same whether or not an account has
/// the provider's email).
pub const PASSWORD_FIRST: &str =
    "We could not sign you in with this provider. If you already have \
    an account, sign in with your password, then link the provider from your account's \"Linked \
    accounts\" page. Otherwise, register first and link it from there.";

/// Begin a flow for `intent` with the provider `key`: the flow cookie and 303 to the provider (a link
/// started it), or a page that goes on there (a form started it: see [`ContinuePage`]).
pub(crate) async fn begin(
    state: &AppState,
    ip: std::net::IpAddr,
    key: &str,
    intent: Intent,
    intent_kind: Started,
    layout: Layout,
) -> Result<Response, AppError> {
    let secure = state.oidc.cookie_secure;
    if !ip.is_unspecified() {
        match state.oidc.starts.hit_address(ip).await {
            Ok(_) => {}
            Err(RateLimitError::Limited { retry_after: wait }) => {
                let res = framed_error_page(
                    layout,
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many sign-ins",
                    "Too many sign-ins with an identity provider from your network. Try again later.",
                );
                return Ok(([retry_after(whole_secs(wait))], res).into_response());
            }
            Err(RateLimitError::Store(e)) => return Err(e.into()),
            Err(e) => {
                return Err(
                    keycard::StoreError::new("keycard-demo", "oidc_start", e.to_string()).into(),
                )
            }
        }
    }
    let started = match state.oidc.oidc.start(key, intent).await {
        Ok(s) => s,
        Err(error) => {
            return Ok(OidcRejection {
                error,
                layout,
                secure,
            }
            .into_response())
        }
    };
    let Some(cookie) = set_cookie(&started.browser_binding, secure) else {
        return Err(keycard::StoreError::new(
            "keycard-demo",
            "oidc_cookie",
            "a browser binding is not a valid cookie value",
        )
        .into());
    };
    let res = match intent_kind {
        Started::ByLink => Redirect::to(&started.authorize_url).into_response(),
        Started::ByForm => render(
            StatusCode::OK,
            &ContinuePage {
                layout,
                name: provider_name(state, key),
                url: started.authorize_url,
            },
            None,
        ),
    };
    Ok(with_cookie(res, cookie))
}

/// What started a flow: a link (a GET: a redirect may go to the provider) or a form (a POST: the
/// pages' CSP lets a form's navigation end on this origin only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Started {
    /// `GET /auth/oidc/{key}`.
    ByLink,
    /// `POST /account/identities/{key}/link`.
    ByForm,
}

/// "Sign in with {name}": 303 to the provider (404 page for an unknown provider).
pub async fn start(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    csrf: CsrfToken,
    Path(key): Path<String>,
) -> Result<Response, AppError> {
    let user = auth.current_user();
    let layout = Layout::new(&csrf, user.as_deref(), &IncomingFlash::default());
    begin(&state, ip, &key, Intent::SignIn, Started::ByLink, layout).await
}

/// The provider's redirect back: signed in (303 to `/profile`, or to the second step), linked (303 to
/// the identities page), or a page that says why not.
pub async fn callback(
    State(state): State<AppState>,
    auth: AuthUser,
    csrf: CsrfToken,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let secure = state.oidc.cookie_secure;
    let user = auth.current_user();
    let layout = Layout::new(&csrf, user.as_deref(), &IncomingFlash::default());
    let binding = read_cookie(&headers);
    let finished = state
        .oidc
        .oidc
        .finish(
            &key,
            Callback {
                state: q.state.as_deref(),
                code: q.code.as_deref(),
                error: q.error.as_deref(),
                browser_binding: binding.as_deref(),
            },
        )
        .await;
    let refuse = |error: OidcError, layout: Layout| {
        Ok(OidcRejection {
            error,
            layout,
            secure,
        }
        .into_response())
    };
    let verified = match finished {
        Ok(v) => v,
        Err(e) => return refuse(e, layout),
    };
    let res = match &verified.intent {
        Intent::Link { .. } => {
            let Some(me) = user else {
                return refuse(OidcError::BrowserMismatch, layout);
            };
            match state.oidc.oidc.link(&verified, &me.id).await {
                Ok(()) => state.flash.redirect(
                    IDENTITIES_PATH,
                    &format!("Linked your {} account.", provider_name(&state, &key)),
                ),
                Err(e) => return refuse(e, layout),
            }
        }
        _ => match sign_in(&state, &auth, &verified, &key, layout.clone()).await? {
            Ok(res) => res,
            Err(e) => return refuse(e, layout),
        },
    };
    Ok(with_cookie(res, clear_cookie(secure)))
}

fn provider_name(state: &AppState, key: &str) -> String {
    state
        .oidc
        .oidc
        .provider(key)
        .map(|p| p.name)
        .unwrap_or_else(|| key.to_owned())
}

/// The linking policy, then `Auth::create`.
async fn sign_in(
    state: &AppState,
    auth: &AuthUser,
    verified: &Verified,
    key: &str,
    layout: Layout,
) -> Result<Result<Response, OidcError>, AppError> {
    let name = provider_name(state, key);
    let mut user = who_signs_in(state, verified).await?;
    if let Ok(Chosen::EmailTakenMeanwhile) = user {
        // Another sign-in made the account with this address between our look and our insert: most
        // often a first sign-in of the same identity in another tab. Decide again, on the account as
        // it is now (the policy links it when the provider vouches for the email), once.
        user = who_signs_in(state, verified).await?;
    }
    let user = match user {
        Ok(Chosen::User(user)) => Some(user),
        Ok(Chosen::PasswordFirst | Chosen::EmailTakenMeanwhile) => None,
        Err(e) => return Ok(Err(e)),
    };
    let Some(user) = user else {
        return Ok(Ok(framed_error_page(
            layout,
            StatusCode::CONFLICT,
            "Sign in with your password first",
            PASSWORD_FIRST,
        )));
    };
    let welcome = format!("Welcome, {}. Signed in with {name}.", user.email);
    Ok(Ok(
        sign_in_or_continue(state, auth, user, &welcome, false).await?
    ))
}

/// What [`sign_in`] decided, before `Auth::create`.
enum Chosen {
    /// Sign in as this user (linked before, linked now, or just created and linked).
    User(crate::domain::users::User),
    /// An account has the email but may not be linked automatically.
    PasswordFirst,
    /// The account this sign-in was creating was made by another request first.
    EmailTakenMeanwhile,
}

/// The linking policy on the account with the provider's email as the database has it now; a new
/// account made and linked when the policy says so.
async fn who_signs_in(
    state: &AppState,
    verified: &Verified,
) -> Result<Result<Chosen, OidcError>, AppError> {
    let oidc = &state.oidc.oidc;
    let account = match &verified.email {
        Some(email) => users::find_with_password_by_email(&state.db, email)
            .await?
            .map(|(u, _)| ExistingAccount {
                email_confirmed: u.is_confirmed(),
                user_key: u.id,
            }),
        None => None,
    };
    let chosen = match oidc.sign_in(verified, account).await {
        Ok(SignIn::User { user_key, .. }) => match users::find(&state.db, &user_key).await? {
            Some(user) => Chosen::User(user),
            None => Chosen::PasswordFirst,
        },
        Ok(SignIn::CreateAccount { email }) => {
            match create_account(&state.db, &email, state.clock.now_secs()).await {
                Ok(user) => match oidc.link_new_account(verified, &user.id).await {
                    Ok(()) => Chosen::User(user),
                    Err(e) => {
                        // A concurrent first sign-in of the same identity linked it first.
                        users::delete(&state.db, &user.id).await?;
                        return Ok(Err(e));
                    }
                },
                Err(CreateUserError::EmailTaken) => Chosen::EmailTakenMeanwhile,
                Err(CreateUserError::Db(e)) => return Err(e.into()),
            }
        }
        Ok(_) => Chosen::PasswordFirst,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(chosen))
}
