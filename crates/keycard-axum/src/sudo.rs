//! Sudo mode: [`RecentlyAuthenticated<U, R>`], a signed-in user whose last proof of password is recent.
//!
//! A session records when its user last proved their password ([`SessionRecord::authenticated_at`]: the
//! sign-in, then every [`Auth::reauthenticate`]); renewals and `sync` keep that instant. Routes that
//! deserve a fresh proof (change the password or the email, end every other session, delete the
//! account) take `RecentlyAuthenticated` instead of `CurrentUser`: a session whose proof is older than the
//! layer's [`sudo_max_age`](crate::SessionLayer::sudo_max_age) (default [`DEFAULT_SUDO_MAX_AGE`], 10
//! minutes) is rejected with [`SudoRejection::NotRecent`], and the app sends the user to a page that
//! asks for the password again, checks it, calls [`Auth::reauthenticate`] and sends them back.
//! [`ReauthRedirect<P>`] does the sending: `303` to `P::PATH?return_to=<the refused path>`.
//!
//! This is Phoenix's `require_sudo_mode`, Laravel's `password.confirm`, better-auth's `freshAge`.
//!
//! [`SessionRecord::authenticated_at`]: keycard::SessionRecord::authenticated_at

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::header::LOCATION;
use http::request::Parts;
use http::{HeaderValue, StatusCode};
use keycard::{CachedUser, SessionRecord};

use crate::auth::Auth;
use crate::rejection::{AuthError, AuthRejection, RedirectPath};

/// How recent a proof of password sudo mode accepts by default: 10 minutes.
pub const DEFAULT_SUDO_MAX_AGE: Duration = Duration::from_secs(600);

/// Why [`RecentlyAuthenticated`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SudoRejection {
    /// Not signed in, store down, layer missing: as [`CurrentUser`](crate::CurrentUser) would reject.
    #[error(transparent)]
    Auth(#[from] AuthRejection),
    /// Signed in, but the last proof of password is older than the layer's `sudo_max_age` (or the session
    /// was not created by a password check). `return_to` is the refused request's path and query.
    #[error("this needs a recent sign-in: confirm the password")]
    NotRecent {
        /// Where to come back to after re-authenticating.
        return_to: String,
    },
}

impl IntoResponse for SudoRejection {
    /// `NotRecent`: `403 Forbidden`; the others as [`AuthRejection`] answers them.
    fn into_response(self) -> Response {
        match self {
            SudoRejection::Auth(r) => r.into_response(),
            SudoRejection::NotRecent { .. } => {
                (StatusCode::FORBIDDEN, "re-authentication required").into_response()
            }
        }
    }
}

/// A [`RecentlyAuthenticated`] rejection for pages: `NotRecent` becomes `303` to
/// `P::PATH?return_to=<path>` (the re-authentication page), "not signed in" `303` to `A::PATH` (the
/// sign-in page; by default `P` too); a store failure stays a 503, a missing layer a 500.
pub struct ReauthRedirect<P, A = P> {
    rejection: SudoRejection,
    _path: PhantomData<fn() -> (P, A)>,
}

impl<P, A> ReauthRedirect<P, A> {
    /// Why the request was refused.
    pub fn rejection(&self) -> &SudoRejection {
        &self.rejection
    }
}

impl<P, A> std::fmt::Debug for ReauthRedirect<P, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ReauthRedirect")
            .field(&self.rejection)
            .finish()
    }
}

impl<P, A> From<SudoRejection> for ReauthRedirect<P, A> {
    fn from(rejection: SudoRejection) -> Self {
        ReauthRedirect {
            rejection,
            _path: PhantomData,
        }
    }
}

impl<P: RedirectPath, A: RedirectPath> IntoResponse for ReauthRedirect<P, A> {
    fn into_response(self) -> Response {
        let location = match &self.rejection {
            SudoRejection::NotRecent { return_to } if return_to.is_empty() => P::PATH.to_owned(),
            SudoRejection::NotRecent { return_to } => {
                format!("{}?return_to={}", P::PATH, percent_encode(return_to))
            }
            SudoRejection::Auth(AuthRejection::Unauthenticated) => A::PATH.to_owned(),
            SudoRejection::Auth(other) => return other.into_response(),
        };
        match HeaderValue::from_str(&location) {
            Ok(v) => (StatusCode::SEE_OTHER, [(LOCATION, v)]).into_response(),
            Err(_) => {
                tracing::error!(
                    "ReauthRedirect: the re-authentication path is not a valid header value"
                );
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// Where to come back to: a GET's own path and query; for a form post, the page that carried the form
/// (the `Referer`'s path and query: the refused request cannot be replayed by a redirect). Always a local
/// path ([`is_local_path`]), or empty.
fn return_to(parts: &Parts) -> String {
    let candidate = if parts.method == http::Method::GET || parts.method == http::Method::HEAD {
        parts.uri.path_and_query().map(|pq| pq.as_str().to_owned())
    } else {
        parts
            .headers
            .get(http::header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| r.parse::<http::Uri>().ok())
            .and_then(|u| u.path_and_query().map(|pq| pq.as_str().to_owned()))
    };
    match candidate {
        Some(p) if is_local_path(&p) => p,
        _ => String::new(),
    }
}

// Whether a path is on this site: printable ASCII, no backslash, not `//`, and the same origin once
// resolved against one (the rule and why: `is_local_path`'s own docs, in local_path.rs).
pub use crate::local_path::is_local_path;

/// Percent-encodes everything but unreserved characters and `/` (a path and query as one parameter).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The signed-in user, required **with a recent proof of password** (sudo mode): otherwise rejects with
/// `R` (default [`SudoRejection`]: 403 when the proof is old, and [`AuthRejection`]'s answers).
///
/// ```
/// use keycard_axum::{RecentlyAuthenticated, ReauthRedirect, RedirectPath};
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: i64 }
/// # impl keycard::CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
///
/// struct Confirm;
/// impl RedirectPath for Confirm {
///     const PATH: &'static str = "/session/confirm";
/// }
///
/// async fn delete_account(user: RecentlyAuthenticated<User, ReauthRedirect<Confirm>>) -> String {
///     format!("deleting account {}", user.id) // derefs to the user
/// }
/// ```
pub struct RecentlyAuthenticated<U, R = SudoRejection> {
    /// The user.
    pub user: Arc<U>,
    _rejection: PhantomData<fn() -> R>,
}

impl<U, R> Deref for RecentlyAuthenticated<U, R> {
    type Target = U;

    fn deref(&self) -> &U {
        &self.user
    }
}

impl<U: std::fmt::Debug, R> std::fmt::Debug for RecentlyAuthenticated<U, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecentlyAuthenticated")
            .field("user", &self.user)
            .finish()
    }
}

impl<U, R, S> FromRequestParts<S> for RecentlyAuthenticated<U, R>
where
    U: CachedUser,
    R: From<SudoRejection> + IntoResponse,
    S: Send + Sync,
{
    type Rejection = R;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let auth = Auth::<U>::from_parts(parts).map_err(SudoRejection::from)?;
        let Some(user) = auth.current_user() else {
            return Err(SudoRejection::Auth(AuthRejection::Unauthenticated).into());
        };
        if !auth.is_recently_authenticated() {
            let return_to = return_to(parts);
            return Err(SudoRejection::NotRecent { return_to }.into());
        }
        Ok(RecentlyAuthenticated {
            user,
            _rejection: PhantomData,
        })
    }
}

impl<U: CachedUser> Auth<U> {
    /// Sudo mode: the user just proved their password again (check it first, e.g. with
    /// `PasswordHasher::verify`). Records the proof in the session and rotates the token at once (a
    /// privilege change: the old cookie dies; the session, its deadlines and its CSRF tokens stay). See
    /// [`RecentlyAuthenticated`](crate::RecentlyAuthenticated).
    ///
    /// Errors: [`AuthError::NotSignedIn`] (also when the session ended meanwhile: the cookie is cleared),
    /// [`AuthError::Store`].
    pub async fn reauthenticate(&self) -> Result<Arc<SessionRecord>, AuthError> {
        let _op = self.lock_ops().await;
        self.writable("reauthenticate")?;
        let (user, session) = self.signed_in()?;
        // A personal access token is never fresh for sudo mode, whatever it is shown.
        if keycard::is_personal_token(&session) {
            return Err(AuthError::PersonalToken);
        }
        let rotated = self.cache().reauthenticate(&session.session_id).await?;
        let session = self.take_rotation(user, rotated)?;
        self.cache()
            .audit()
            .reauthenticated(&session.user_key, &session.session_id);
        Ok(session)
    }

    /// Whether the signed-in session's last proof of password (sign-in or
    /// [`reauthenticate`](Self::reauthenticate)) is within the layer's
    /// [`sudo_max_age`](crate::SessionLayer::sudo_max_age). `false` when anonymous, or for a session
    /// that was not created by a password check.
    pub fn is_recently_authenticated(&self) -> bool {
        let Some(session) = self.session() else {
            return false;
        };
        let Some(at) = session.authenticated_at else {
            return false;
        };
        let now = self.cache().now();
        now.0.saturating_sub(at.0) < self.config().sudo_max_age.as_millis() as u64
    }
}
