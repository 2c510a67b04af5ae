//! What a request gets when it cannot have what it asked for: not signed in, store down, layer missing.
//!
//! Three situations, three different answers. They are never mixed up, because mixing them up is how
//! session systems fail open or sign everybody out during an outage (DESIGN.md invariant 6):
//!
//! | situation | [`AuthRejection`] | default response |
//! |---|---|---|
//! | nobody is signed in (no cookie, bad cookie, expired session) | `Unauthenticated` | `401 Unauthorized` (only from extractors that *require* a user) |
//! | the credentials store failed, or a [`UserLoader`](crate::UserLoader) failed | `StoreUnavailable` | `503 Service Unavailable` + `Retry-After` |
//! | the handler asks for the session but no [`SessionLayer`](crate::SessionLayer) runs in front of it | `MissingLayer` | `500 Internal Server Error` |
//!
//! A required-user extractor lets the app choose its response for these:
//! [`CurrentUser<U, R>`](crate::CurrentUser) rejects with `R`, any type that is `From<AuthRejection>` and
//! `IntoResponse` (the idiom of axum-extra's `WithRejection`). The default `R` is [`AuthRejection`] itself;
//! [`RedirectTo<P>`] sends HTML visitors to a sign-in page (`303 See Other`) and keeps the 503 and 500:
//!
//! ```
//! use keycard_axum::{CurrentUser, RedirectPath, RedirectTo};
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: i64 }
//! # impl keycard::CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
//!
//! struct SignInPage;
//! impl RedirectPath for SignInPage {
//!     const PATH: &'static str = "/session/new";
//! }
//!
//! /// Pages: anonymous visitors go to the sign-in form.
//! type PageUser = CurrentUser<User, RedirectTo<SignInPage>>;
//! /// APIs: anonymous callers get a 401.
//! type ApiUser = CurrentUser<User>;
//! ```
//!
//! [`AuthError`] is the error of the [`Auth`](crate::Auth) handle's methods that reach the store; as a
//! response it is a 503 for a store failure and a 401 when the session is gone.

use std::marker::PhantomData;

use axum::response::{IntoResponse, Response};
use http::header::{LOCATION, RETRY_AFTER};
use http::{HeaderValue, StatusCode};
use keycard::StoreError;

/// The `Retry-After` (seconds) sent with a 503 caused by a store or loader failure.
pub const RETRY_AFTER_SECS: u32 = 5;

/// Why an extractor could not give the handler the session state it asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
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
}

impl AuthRejection {
    /// The status this rejection answers with by default.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthRejection::Unauthenticated => StatusCode::UNAUTHORIZED,
            AuthRejection::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            AuthRejection::MissingLayer => StatusCode::INTERNAL_SERVER_ERROR,
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

/// The error of an [`Auth`](crate::Auth) method that reaches the store.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The credentials store failed; nothing changed. Responds 503 with `Retry-After`.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The operation needs a signed-in session and there is none (or it ended meanwhile). Responds 401.
    #[error("not signed in")]
    NotSignedIn,
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        match self {
            AuthError::Store(e) => {
                tracing::warn!(error = %e, "session operation failed: store unavailable");
                unavailable_response()
            }
            AuthError::NotSignedIn => AuthRejection::Unauthenticated.into_response(),
        }
    }
}
