//! The rejections and errors of the session extractors and the auth handle, and their responses.

use std::marker::PhantomData;

use axum::response::{IntoResponse, Response};
use http::header::{LOCATION, RETRY_AFTER};
use http::{HeaderValue, StatusCode};
#[cfg(feature = "password")]
use keycard::password::PasswordError;
use keycard::StoreError;

/// The `Retry-After` (seconds) sent with a 503 caused by a store or loader failure.
pub const RETRY_AFTER_SECS: u32 = 5;

/// Why an extractor could not give the handler the session state it asked for.
///
/// Three situations, three different answers. They are never mixed up, because mixing them up is how
/// session systems fail open or sign everybody out during an outage (DESIGN.md invariant 6):
///
/// | situation | [`AuthRejection`] | default response |
/// |---|---|---|
/// | nobody is signed in (no cookie, bad cookie, expired session) | `Unauthenticated` | `401 Unauthorized` (only from extractors that *require* a user) |
/// | the credentials store failed, or a [`UserLoader`](crate::UserLoader) failed | `StoreUnavailable` | `503 Service Unavailable` + `Retry-After` |
/// | the handler asks for the session but no [`SessionLayer`](crate::SessionLayer) runs in front of it | `MissingLayer` | `500 Internal Server Error` |
/// | a [`ReloadUser`](crate::ReloadUser) runs before the `SessionLayer` (wrong layer order) | `ReloadUserOutsideSession` | `500 Internal Server Error`, never the cached user |
///
/// A required-user extractor lets the app choose its response for these:
/// [`CurrentUser<U, R>`](crate::CurrentUser) rejects with `R`, any type that is `From<AuthRejection>` and
/// `IntoResponse` (the idiom of axum-extra's `WithRejection`). The default `R` is [`AuthRejection`] itself;
/// [`RedirectTo<P>`] sends HTML visitors to a sign-in page (`303 See Other`) and keeps the 503 and 500:
///
/// ```
/// use keycard_axum::{CurrentUser, RedirectPath, RedirectTo};
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: i64 }
/// # impl keycard::CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
///
/// struct SignInPage;
/// impl RedirectPath for SignInPage {
///     const PATH: &'static str = "/session/new";
/// }
///
/// /// Pages: anonymous visitors go to the sign-in form.
/// type PageUser = CurrentUser<User, RedirectTo<SignInPage>>;
/// /// APIs: anonymous callers get a 401.
/// type ApiUser = CurrentUser<User>;
/// ```
///
/// [`AuthError`] is the error of the [`Auth`](crate::Auth) handle's methods that reach the store (and of a
/// password check); as a response it is a 503 for a store failure and a 401 when the session is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthRejection {
    /// Nobody is signed in (only required-user extractors reject with this).
    #[error("not signed in")]
    Unauthenticated,
    /// The session state is unknown: the credentials store (or the user loader) failed. The request is
    /// neither signed in nor anonymous.
    #[error("session store unavailable")]
    StoreUnavailable,
    /// No [`SessionLayer`](crate::SessionLayer) for this user type runs in front of the handler.
    #[error("no keycard SessionLayer in front of this handler")]
    MissingLayer,
    /// A [`ReloadUser`](crate::ReloadUser) layer ran before the [`SessionLayer`](crate::SessionLayer) (it was
    /// added outside it), so the user was not reloaded: the handler gets a 500, never the cached user.
    #[error("ReloadUser runs outside the SessionLayer, so the user was not reloaded")]
    ReloadUserOutsideSession,
    /// A state-changing request (any method but `GET`, `HEAD`, `OPTIONS`, `TRACE`) served from a replaced
    /// token inside its grace window ([`Auth::is_read_only`](crate::Auth::is_read_only)): such a request
    /// may only read (issue 18, V3). Responds `409 Conflict`; the browser already holds the new cookie,
    /// so a retry goes through.
    #[error("a state-changing request used a session token that was just replaced")]
    StaleToken,
}

impl AuthRejection {
    /// The status this rejection answers with by default.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthRejection::Unauthenticated => StatusCode::UNAUTHORIZED,
            AuthRejection::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            AuthRejection::MissingLayer | AuthRejection::ReloadUserOutsideSession => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            AuthRejection::StaleToken => StatusCode::CONFLICT,
        }
    }
}

pub(crate) fn unavailable_response() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS))],
        "session store unavailable, try again shortly",
    )
        .into_response()
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Unauthenticated => {
                (StatusCode::UNAUTHORIZED, "not signed in").into_response()
            }
            AuthRejection::StoreUnavailable => unavailable_response(),
            AuthRejection::MissingLayer => {
                tracing::error!(
                    "a handler asked for the keycard session but no SessionLayer for its user type \
                     runs in front of it; add `.layer(SessionLayer::new(cache))` to the router"
                );
                (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
            }
            AuthRejection::ReloadUserOutsideSession => {
                tracing::error!(
                    "a handler asked for the keycard session behind a ReloadUser layer that runs before \
                     the SessionLayer, so the user was not reloaded; add ReloadUser with `.route_layer` or \
                     `.layer` *before* (inside) `.layer(SessionLayer::new(cache))`"
                );
                (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
            }
            AuthRejection::StaleToken => (
                StatusCode::CONFLICT,
                "this page used a session that was just renewed; reload it and try again",
            )
                .into_response(),
        }
    }
}

/// A path to send anonymous visitors to, for [`RedirectTo`].
pub trait RedirectPath: Send + Sync + 'static {
    /// The path (or URL), e.g. `"/session/new"`.
    const PATH: &'static str;
}

/// A required-user rejection for HTML pages: anonymous visitors get `303 See Other` to `P::PATH`; a store
/// failure is still a 503 and a missing layer a 500.
pub struct RedirectTo<P> {
    rejection: AuthRejection,
    _path: PhantomData<fn() -> P>,
}

impl<P> RedirectTo<P> {
    /// The underlying rejection.
    pub fn rejection(&self) -> AuthRejection {
        self.rejection
    }
}

impl<P> std::fmt::Debug for RedirectTo<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RedirectTo").field(&self.rejection).finish()
    }
}

impl<P> From<AuthRejection> for RedirectTo<P> {
    fn from(rejection: AuthRejection) -> Self {
        RedirectTo {
            rejection,
            _path: PhantomData,
        }
    }
}

impl<P: RedirectPath> IntoResponse for RedirectTo<P> {
    fn into_response(self) -> Response {
        match self.rejection {
            AuthRejection::Unauthenticated => match HeaderValue::from_str(P::PATH) {
                Ok(location) => (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response(),
                Err(_) => {
                    tracing::error!(
                        path = P::PATH,
                        "RedirectPath::PATH is not a valid header value"
                    );
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
            },
            other => other.into_response(),
        }
    }
}

/// The error of an [`Auth`](crate::Auth) method that reaches the store, and of a password check: return
/// it from a handler with `?` and it becomes the right response.
///
/// | variant | response |
/// |---|---|
/// | [`Store`](Self::Store) | `503 Service Unavailable` + `Retry-After` ([`RETRY_AFTER_SECS`]) |
/// | [`NotSignedIn`](Self::NotSignedIn) | `401 Unauthorized` |
/// | [`Password`](Self::Password) with [`PasswordError::Busy`] | `503 Service Unavailable` + `Retry-After` (the hasher's hint) |
/// | [`Password`](Self::Password) with [`PasswordError::TooLong`] (from `hash`) | `422 Unprocessable Entity` |
/// | [`Password`](Self::Password), anything else | `500 Internal Server Error` (logged; no password or hash is in the error) |
///
/// ```
/// use axum::{extract::State, Form};
/// use keycard::password::{PasswordHasher, Verified};
/// use keycard_axum::{Auth, AuthError};
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: i64 }
/// # impl keycard::CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
/// # #[derive(serde::Deserialize)] struct SignIn { password: String }
/// # fn stored_hash() -> Option<&'static str> { None }
///
/// async fn sign_in(
///     State(hasher): State<PasswordHasher>,
///     auth: Auth<User>,
///     Form(form): Form<SignIn>,
/// ) -> Result<&'static str, AuthError> {
///     match hasher.verify(&form.password, stored_hash()).await? {  // Busy: 503 + Retry-After
///         Verified::Valid { .. } => {
///             auth.create(User { id: 1 }).await?;                   // store down: 503
///             Ok("signed in")
///         }
///         Verified::Invalid => Ok("wrong email or password"),
///     }
/// }
/// ```
///
/// [`PasswordError::Busy`]: keycard::password::PasswordError::Busy
/// [`PasswordError::TooLong`]: keycard::password::PasswordError::TooLong
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The credentials store failed; nothing changed. Responds 503 with `Retry-After`.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The operation needs a signed-in session and there is none (or it ended meanwhile). Responds 401.
    #[error("not signed in")]
    NotSignedIn,
    /// A sign-in ([`Auth::create`](crate::Auth::create)) checked credentials that changed meanwhile (a
    /// password change committed while the old password was being verified): no session was created.
    /// Responds 401; answer it like a wrong password.
    #[error("the credentials changed while the sign-in was checked")]
    CredentialsChanged,
    /// [`Auth::create_and_remember`](crate::Auth::create_and_remember) on a layer without remember-me
    /// (a programming error): nothing changed. Responds 500; add
    /// [`SessionLayer::remember_me`](crate::SessionLayer::remember_me) over a cache built with
    /// `.remember(store)`.
    #[error("remember-me is not configured: add SessionLayer::remember_me over a cache built with .remember(store)")]
    RememberNotConfigured,
    /// The request was served from a replaced token inside its grace window (a session token another
    /// request just renewed, a remember-me cookie another request just redeemed): it may read as the
    /// user, never sign in, sync, rotate or sign out (issue 18, V3). Nothing changed. Responds
    /// `409 Conflict`: the browser already holds the new cookie, so a retry (reload) goes through.
    #[error(
        "this request used a session token that was just replaced; retry it with the new cookie"
    )]
    StaleToken,
    /// Ending another of the user's sessions, or forgetting another remembered browser, needs a recent
    /// proof of password (sudo mode, [`RecentlyAuthenticated`](crate::RecentlyAuthenticated)): nothing
    /// changed. Responds `403 Forbidden`; send the user to the re-authentication page first.
    #[error("this needs a recent sign-in: confirm the password first")]
    SudoRequired,
    /// The request is signed in with a personal access token, which never rotates and is never fresh
    /// for sudo mode: it cannot [`regenerate`](crate::Auth::regenerate) or
    /// [`reauthenticate`](crate::Auth::reauthenticate). Nothing changed. Responds `403 Forbidden`.
    #[error("a personal access token cannot rotate or re-authenticate; sign in with the password")]
    PersonalToken,
    /// Hashing or checking a password failed: 503 with `Retry-After` when the hasher is at capacity
    /// ([`PasswordError::Busy`](keycard::password::PasswordError::Busy)), 422 for a password too long to
    /// hash, 500 otherwise.
    #[cfg(feature = "password")]
    #[cfg_attr(docsrs, doc(cfg(feature = "password")))]
    #[error(transparent)]
    Password(#[from] PasswordError),
}

impl From<keycard::CreateError> for AuthError {
    fn from(e: keycard::CreateError) -> Self {
        match e {
            keycard::CreateError::Store(e) => AuthError::Store(e),
            keycard::CreateError::CredentialsChanged => AuthError::CredentialsChanged,
            keycard::CreateError::RememberNotConfigured => AuthError::RememberNotConfigured,
            // CreateError is non-exhaustive: a future refusal is a refusal, not a success.
            _ => AuthError::CredentialsChanged,
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        match self {
            AuthError::Store(e) => {
                tracing::warn!(error = %e, "session operation failed: store unavailable");
                unavailable_response()
            }
            AuthError::NotSignedIn => AuthRejection::Unauthenticated.into_response(),
            AuthError::CredentialsChanged => {
                (StatusCode::UNAUTHORIZED, "wrong email or password").into_response()
            }
            AuthError::RememberNotConfigured => {
                tracing::error!("{}", AuthError::RememberNotConfigured);
                (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
            }
            AuthError::StaleToken => (
                StatusCode::CONFLICT,
                "this page used a session that was just renewed; reload it and try again",
            )
                .into_response(),
            AuthError::SudoRequired => {
                (StatusCode::FORBIDDEN, "re-authentication required").into_response()
            }
            AuthError::PersonalToken => (
                StatusCode::FORBIDDEN,
                "not allowed with a personal access token",
            )
                .into_response(),
            #[cfg(feature = "password")]
            AuthError::Password(PasswordError::Busy { retry_after }) => {
                tracing::warn!(
                    retry_after_secs = retry_after.as_secs(),
                    "password hashing at capacity; answering 503"
                );
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(RETRY_AFTER, HeaderValue::from(retry_after.as_secs()))],
                    "too many sign-ins at once, try again shortly",
                )
                    .into_response()
            }
            #[cfg(feature = "password")]
            AuthError::Password(PasswordError::TooLong { max }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the password is longer than {max} bytes"),
            )
                .into_response(),
            #[cfg(feature = "password")]
            AuthError::Password(e) => {
                // PasswordError never carries a password or a hash: safe to log as it is.
                tracing::error!(error = %e, "password check failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal server error").into_response()
            }
        }
    }
}

#[cfg(all(test, feature = "password"))]
mod tests {
    use std::time::Duration;

    use super::*;

    /// What `?` on a password check makes of each error, in a handler returning `AuthError`.
    fn answer(e: PasswordError) -> Response {
        fn handler(r: Result<(), PasswordError>) -> Result<(), AuthError> {
            r?;
            Ok(())
        }
        match handler(Err(e)) {
            Err(e) => e.into_response(),
            Ok(()) => unreachable!("the check failed"),
        }
    }

    #[test]
    fn busy_hasher_is_a_503_with_its_retry_hint() {
        let res = answer(PasswordError::Busy {
            retry_after: Duration::from_secs(3),
        });
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[RETRY_AFTER], "3");
    }

    #[test]
    fn a_password_too_long_to_hash_is_the_clients_422() {
        let res = answer(PasswordError::TooLong { max: 16 });
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn other_password_errors_are_a_500_without_retry() {
        for e in [
            PasswordError::MalformedHash("unknown scheme"),
            PasswordError::Hashing("x".into()),
            PasswordError::Task("x".into()),
            PasswordError::UnsupportedParams("x".into()),
        ] {
            let res = answer(e);
            assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert!(res.headers().get(RETRY_AFTER).is_none());
        }
    }
}
