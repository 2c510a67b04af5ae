//! The extractors: [`Auth<U>`], [`MaybeUser<U>`], [`CurrentUser<U, R>`] (the table is in the crate docs).

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::IntoResponse;
use http::request::Parts;
use keycard::CachedUser;

use crate::auth::Auth;
use crate::rejection::AuthRejection;

impl<U: CachedUser, S: Send + Sync> FromRequestParts<S> for Auth<U> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_parts(parts)?;
        auth.capture_request_info(parts);
        Ok(auth)
    }
}

/// The signed-in user, or `None`. Rejects only when the session state is unknown (503) or the layer is
/// missing (500).
pub struct MaybeUser<U>(pub Option<Arc<U>>);

impl<U> Clone for MaybeUser<U> {
    fn clone(&self) -> Self {
        MaybeUser(self.0.clone())
    }
}

impl<U: std::fmt::Debug> std::fmt::Debug for MaybeUser<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MaybeUser").field(&self.0).finish()
    }
}

impl<U: CachedUser, S: Send + Sync> FromRequestParts<S> for MaybeUser<U> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(Auth::<U>::from_parts(parts)?.current_user()))
    }
}

/// The signed-in user, required: anything else rejects with `R`.
///
/// ```
/// use keycard_axum::{CurrentUser, MaybeUser};
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: i64, email: String }
/// # impl keycard::CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
///
/// async fn me(user: CurrentUser<User>) -> String {
///     user.email.clone() // CurrentUser derefs to the user
/// }
///
/// async fn home(MaybeUser(user): MaybeUser<User>) -> String {
///     match user {
///         Some(user) => format!("hello {}", user.email),
///         None => "hello stranger".into(),
///     }
/// }
/// ```
///
/// `R` is any `From<AuthRejection> + IntoResponse` (default: [`AuthRejection`]: 401 / 503 / 500). Use
/// [`RedirectTo<P>`](crate::RedirectTo) for pages, or your own type for a JSON API. Derefs to `U`.
pub struct CurrentUser<U, R = AuthRejection> {
    /// The user.
    pub user: Arc<U>,
    _rejection: PhantomData<fn() -> R>,
}

impl<U, R> CurrentUser<U, R> {
    /// The user.
    pub fn into_inner(self) -> Arc<U> {
        self.user
    }
}

impl<U, R> Deref for CurrentUser<U, R> {
    type Target = U;

    fn deref(&self) -> &U {
        &self.user
    }
}

impl<U, R> Clone for CurrentUser<U, R> {
    fn clone(&self) -> Self {
        CurrentUser {
            user: self.user.clone(),
            _rejection: PhantomData,
        }
    }
}

impl<U: std::fmt::Debug, R> std::fmt::Debug for CurrentUser<U, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentUser")
            .field("user", &self.user)
            .finish()
    }
}

impl<U, R, S> FromRequestParts<S> for CurrentUser<U, R>
where
    U: CachedUser,
    R: From<AuthRejection> + IntoResponse,
    S: Send + Sync,
{
    type Rejection = R;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let auth = Auth::<U>::from_parts(parts)?;
        match auth.current_user() {
            Some(user) => Ok(CurrentUser {
                user,
                _rejection: PhantomData,
            }),
            None => Err(AuthRejection::Unauthenticated.into()),
        }
    }
}

/// `Option<CurrentUser<U, R>>`: `None` when anonymous; still rejects (with `R`) when the session state is
/// unknown or the layer is missing.
impl<U, R, S> OptionalFromRequestParts<S> for CurrentUser<U, R>
where
    U: CachedUser,
    R: From<AuthRejection> + IntoResponse,
    S: Send + Sync,
{
    type Rejection = R;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let auth = Auth::<U>::from_parts(parts)?;
        Ok(auth.current_user().map(|user| CurrentUser {
            user,
            _rejection: PhantomData,
        }))
    }
}
