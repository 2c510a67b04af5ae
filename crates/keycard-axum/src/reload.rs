//! [`ReloadUser`]: the database's copy of the user for one request, through a [`UserLoader`].

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use keycard::CachedUser;
use tower_layer::Layer;
use tower_service::Service;

use crate::auth::Auth;
use crate::state::ReloadSkipped;

/// A boxed error from a [`UserLoader`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Loads the current version of a user from the app's database (the guide's `Repo.get!`).
///
/// Implement it with a plain `async fn`:
/// `async fn load(&self, cached: &User) -> Result<Option<User>, BoxError>`.
pub trait UserLoader<U>: Send + Sync + 'static {
    /// The user `cached` stands for, as the database has it now; `Ok(None)` if it no longer exists; `Err`
    /// if the database could not answer (the request then gets 503 from any extractor, never the stale
    /// cached copy).
    fn load(&self, cached: &U) -> impl Future<Output = Result<Option<U>, BoxError>> + Send;
}

impl<U, L: UserLoader<U>> UserLoader<U> for Arc<L> {
    fn load(&self, cached: &U) -> impl Future<Output = Result<Option<U>, BoxError>> + Send {
        (**self).load(cached)
    }
}

/// The layer that reloads the signed-in user through a [`UserLoader`]: the database's copy of the user, for
/// the routes where the true value matters.
///
/// The cached user is always possibly out of date: it is a cache. For authorization (the guide's pro-plan
/// page) the app must read the user from its database. [`ReloadUser`] is the guide's `reload_user` plug:
/// when the request is signed in it asks the app's [`UserLoader`] (the guide's `Repo.get!`) for the current
/// row and [assigns](crate::Auth::assign_current_user) it **for this request only**; the cache is not
/// changed (use [`Auth::create`](crate::Auth::create) or
/// [`CredentialsCache::put_user`](keycard::CredentialsCache::put_user) for that).
///
/// | loader answers | what happens |
/// |---|---|
/// | `Ok(Some(user))` | `user` is the current user for the rest of the request |
/// | `Ok(None)` (the user no longer exists) | the session ends: deleted on the server, cookie cleared; the request continues anonymous |
/// | `Err(_)` | the session state is unknown: extractors answer **503**, never the stale cached user |
///
/// Anonymous requests pass straight through (no loader call, no allocation).
///
/// Per router, like the guide's `plug :reload_user` in one controller:
/// ```
/// # use std::sync::Arc;
/// # use axum::{routing::get, Router};
/// # use keycard_axum::{BoxError, CurrentUser, ReloadUser, UserLoader};
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: i64, plan: String }
/// # impl keycard::CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
/// #[derive(Clone)]
/// struct Db; // your pool
///
/// impl UserLoader<User> for Db {
///     async fn load(&self, cached: &User) -> Result<Option<User>, BoxError> {
///         // SELECT * FROM users WHERE id = $1
///         Ok(Some(User { id: cached.id, plan: "pro".into() }))
///     }
/// }
///
/// async fn pro(user: CurrentUser<User>) -> &'static str {
///     if user.plan == "pro" { "welcome" } else { "upgrade first" }
/// }
///
/// let pro_routes: Router = Router::new()
///     .route("/pro", get(pro))
///     .route_layer(ReloadUser::new(Db));
/// ```
/// or for the whole app (the guide's endpoint plug): `.layer(ReloadUser::new(db))` **inside** (listed
/// before) the `SessionLayer`, which must run first:
///
/// ```text
/// Router::new()
///     .route("/pro", get(pro))
///     .layer(ReloadUser::new(db))          // inner: runs second, replaces the cached user
///     .layer(SessionLayer::new(cache))     // outer: runs first, resolves the cookie
/// ```
///
/// **Wrong order fails closed.** A `ReloadUser` that finds no session in the request (it was added
/// after, that is outside, the `SessionLayer`, or there is none) marks the request, and every extractor
/// ([`Auth`], [`CurrentUser`](crate::CurrentUser), [`MaybeUser`](crate::MaybeUser)) then answers `500`
/// ([`AuthRejection::ReloadUserOutsideSession`](crate::AuthRejection::ReloadUserOutsideSession)) with an
/// error in the log: a handler never decides on the cached user it believes was reloaded. Routes that
/// read no session still work.
pub struct ReloadUser<U, L> {
    loader: Arc<L>,
    _user: PhantomData<fn() -> U>,
}

impl<U, L> Clone for ReloadUser<U, L> {
    fn clone(&self) -> Self {
        ReloadUser {
            loader: self.loader.clone(),
            _user: PhantomData,
        }
    }
}

impl<U, L> std::fmt::Debug for ReloadUser<U, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadUser").finish_non_exhaustive()
    }
}

impl<U: CachedUser, L: UserLoader<U>> ReloadUser<U, L> {
    /// A layer that reloads the user through `loader`.
    pub fn new(loader: L) -> Self {
        ReloadUser {
            loader: Arc::new(loader),
            _user: PhantomData,
        }
    }
}

impl<S, U: CachedUser, L: UserLoader<U>> Layer<S> for ReloadUser<U, L> {
    type Service = ReloadUserService<S, U, L>;

    fn layer(&self, inner: S) -> Self::Service {
        ReloadUserService {
            inner,
            loader: self.loader.clone(),
            _user: PhantomData,
        }
    }
}

/// The service [`ReloadUser`] wraps around a router or route.
pub struct ReloadUserService<S, U, L> {
    inner: S,
    loader: Arc<L>,
    _user: PhantomData<fn() -> U>,
}

impl<S: Clone, U, L> Clone for ReloadUserService<S, U, L> {
    fn clone(&self) -> Self {
        ReloadUserService {
            inner: self.inner.clone(),
            loader: self.loader.clone(),
            _user: PhantomData,
        }
    }
}

impl<S, U, L> std::fmt::Debug for ReloadUserService<S, U, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadUserService").finish_non_exhaustive()
    }
}

impl<S, U, L, B> Service<Request<B>> for ReloadUserService<S, U, L>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    U: CachedUser,
    L: UserLoader<U>,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ReloadUserFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let Some(auth) = req.extensions().get::<Auth<U>>().cloned() else {
            // Fail closed: a SessionLayer further in would resolve the cached user, which this layer was
            // meant to replace. The mark makes every extractor answer 500 instead.
            tracing::error!(
                "ReloadUser runs without a SessionLayer in front of it (it was added outside the \
                 SessionLayer, or there is none); every session extractor of this request answers 500"
            );
            req.extensions_mut().insert(ReloadSkipped::<U>::new());
            return ReloadUserFuture::direct(self.inner.call(req));
        };
        let Some(cached) = auth.current_user() else {
            return ReloadUserFuture::direct(self.inner.call(req));
        };
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let loader = self.loader.clone();
        ReloadUserFuture::boxed(Box::pin(async move {
            match loader.load(&cached).await {
                Ok(Some(user)) => auth.assign_current_user(user),
                Ok(None) => {
                    tracing::debug!("signed-in user no longer exists; ending the session");
                    match auth.delete().await {
                        Ok(()) => {}
                        // Served from a replaced token: it may not end anything; it reads as nobody.
                        Err(crate::AuthError::StaleToken) => auth.anonymous_for_request(),
                        Err(e) => {
                            tracing::warn!(error = %e, "could not end the session of a deleted user");
                            auth.mark_unavailable();
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "user loader failed; session state unknown for this request");
                    auth.mark_unavailable();
                }
            }
            inner.call(req).await
        }))
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

pin_project_lite::pin_project! {
    /// The response future of [`ReloadUserService`].
    pub struct ReloadUserFuture<F: Future> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<F: Future> {
        Direct { #[pin] fut: F },
        Boxed { fut: BoxFuture<F::Output> },
    }
}

impl<F: Future> std::fmt::Debug for ReloadUserFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadUserFuture").finish_non_exhaustive()
    }
}

impl<F: Future> ReloadUserFuture<F> {
    fn direct(fut: F) -> Self {
        ReloadUserFuture {
            kind: Kind::Direct { fut },
        }
    }

    fn boxed(fut: BoxFuture<F::Output>) -> Self {
        ReloadUserFuture {
            kind: Kind::Boxed { fut },
        }
    }
}

impl<F: Future> Future for ReloadUserFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Direct { fut } => fut.poll(cx),
            KindProj::Boxed { fut } => fut.as_mut().poll(cx),
        }
    }
}
