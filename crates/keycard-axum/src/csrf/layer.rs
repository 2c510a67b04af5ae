//! [`CsrfLayer`]: refuse state-changing requests that do not come from the app's own pages.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, SET_COOKIE};
use http::{HeaderValue, Request};
use keycard::CachedUser;
use tower_layer::Layer;
use tower_service::Service;

use crate::auth::Auth;
use crate::cookie::{lookup, CookieWriter, Lookup};
use crate::csrf::check::{check_headers, is_safe, presented_token};
use crate::csrf::config::{Checked, CsrfConfig, CsrfConfigError};
use crate::csrf::context::CsrfContext;
use crate::csrf::rejection::CsrfRejection;
use crate::csrf::token::{self, CsrfKey};

/// An app's refusal page ([`CsrfLayer::with_refusal_page`]).
type RefusalPage = Arc<dyn Fn(CsrfRefusal) -> Response + Send + Sync>;

/// What every request of one layer shares.
struct Settings {
    key: Arc<CsrfKey>,
    config: Checked,
    writer: CookieWriter,
    refusal_page: Option<RefusalPage>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("config", &self.config)
            .field("cookie", &self.writer.name())
            .field("refusal_page", &self.refusal_page.is_some())
            .finish_non_exhaustive()
    }
}

/// A refused request, for an app's [refusal page](CsrfLayer::with_refusal_page): why, the request's
/// headers and extensions (the [`Auth`] handle of the session layer among them, so the page can show who
/// is signed in), and a token for the forms the page itself carries (a sign-out button, say).
pub struct CsrfRefusal {
    rejection: CsrfRejection,
    headers: http::HeaderMap,
    extensions: http::Extensions,
    ctx: CsrfContext,
}

impl std::fmt::Debug for CsrfRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsrfRefusal")
            .field("rejection", &self.rejection)
            .finish_non_exhaustive()
    }
}

impl CsrfRefusal {
    /// Why the request was refused.
    pub fn rejection(&self) -> CsrfRejection {
        self.rejection
    }

    /// The refused request's headers.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.headers
    }

    /// The refused request's extensions (`Auth<U>` from the session layer, `ConnectInfo`, …).
    pub fn extensions(&self) -> &http::Extensions {
        &self.extensions
    }

    /// A token for the forms of the refusal page, bound like any page's (the session, or the anonymous
    /// CSRF cookie, which the response then sets). `None` when the session state is unknown.
    pub fn token(&self) -> Option<crate::CsrfToken> {
        self.ctx.token().ok().map(crate::CsrfToken::new)
    }
}

/// The CSRF layer for an app whose sessions are `U`'s: every request with a method other than GET, HEAD,
/// OPTIONS or TRACE must pass three checks before the handler runs, or gets `R` (default
/// [`CsrfRejection`], 403):
///
/// 1. `Sec-Fetch-Site`, when the browser sends it, is `same-origin` or `none` (`same-site` only if
///    [allowed](CsrfConfig::with_same_site_allowed));
/// 2. `Origin` (or, without it, `Referer`) is one of the app's own origins ([`CsrfConfig`]);
/// 3. the token (form field `_csrf_token` or header `X-CSRF-Token`) is the one of **this session**, or,
///    before sign-in, of this browser's anonymous CSRF cookie.
///
/// Handlers render the token with the [`CsrfToken`](crate::CsrfToken) extractor. It is derived from the
/// session (no store write, the same on every node), so it changes at every sign-in and dies with the
/// session; the anonymous CSRF cookie is replaced whenever a request signs in or out. A cookie/token pair
/// an attacker planted before sign-in is worthless after it, and a cross-site login form fails the
/// `Origin` check (login CSRF).
///
/// Goes **inside** the [`SessionLayer`](crate::SessionLayer) (added before it), which must run first;
/// without one every request gets `R` from [`CsrfRejection::MissingLayer`] (500).
///
/// ```
/// # use keycard::{CachedUser, CredentialsCache, MemoryStore};
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: i64 }
/// # impl CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
/// # fn f(cache: CredentialsCache<User>, secret: &[u8]) {
/// use keycard_axum::{CsrfConfig, CsrfLayer, SessionLayer};
/// let app: axum::Router = axum::Router::new()
///     // .route(...)
///     .layer(CsrfLayer::<User>::new(secret, CsrfConfig::new("https://app.example")))
///     .layer(SessionLayer::new(cache));
/// # }
/// ```
pub struct CsrfLayer<U, R = CsrfRejection> {
    settings: Arc<Settings>,
    _types: PhantomData<fn() -> (U, R)>,
}

impl<U, R> Clone for CsrfLayer<U, R> {
    fn clone(&self) -> Self {
        CsrfLayer {
            settings: self.settings.clone(),
            _types: PhantomData,
        }
    }
}

impl<U, R> std::fmt::Debug for CsrfLayer<U, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsrfLayer")
            .field("cookie", &self.settings.writer.name())
            .finish_non_exhaustive()
    }
}

impl<U: CachedUser, R> CsrfLayer<U, R> {
    /// A layer keyed by `secret` (at least 64 bytes: the app secret the credentials cache gets is fine,
    /// the CSRF key is derived from it under a label of its own) with `config`.
    ///
    /// # Panics
    /// If the secret is too short or `config` is invalid ([`CsrfConfig::validate`]): a programming error
    /// found at start-up. [`try_new`](Self::try_new) returns it instead.
    pub fn new(secret: impl AsRef<[u8]>, config: CsrfConfig) -> Self {
        match Self::try_new(secret, config) {
            Ok(layer) => layer,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`new`](Self::new), or why it cannot work.
    ///
    /// Errors: [`CsrfConfigError`] for a secret shorter than 64 bytes or an invalid `config`.
    pub fn try_new(secret: impl AsRef<[u8]>, config: CsrfConfig) -> Result<Self, CsrfConfigError> {
        let key = Arc::new(CsrfKey::new(secret.as_ref())?);
        let config = config.checked()?;
        let writer = CookieWriter::new(&config.cookie)?;
        Ok(CsrfLayer {
            settings: Arc::new(Settings {
                key,
                config,
                writer,
                refusal_page: None,
            }),
            _types: PhantomData,
        })
    }

    /// Answer refused requests with `page` instead of `R`: for a refusal page that needs the request (who
    /// is signed in, a token for its own sign-out form). `R` still answers a missing session layer.
    ///
    /// ```
    /// # use keycard::{CachedUser, CredentialsCache, MemoryStore};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: i64, email: String }
    /// # impl CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
    /// use axum::response::{Html, IntoResponse};
    /// use keycard_axum::{Auth, CsrfConfig, CsrfLayer};
    ///
    /// let layer = CsrfLayer::<User>::new([7u8; 64], CsrfConfig::new("https://app.example"))
    ///     .with_refusal_page(|refused| {
    ///         let who = refused
    ///             .extensions()
    ///             .get::<Auth<User>>()
    ///             .and_then(|auth| auth.current_user())
    ///             .map_or("a visitor".to_owned(), |u| u.email.clone());
    ///         let page = Html(format!("<p>Refused ({}) for {who}.</p>", refused.rejection()));
    ///         (refused.rejection().status(), page).into_response()
    ///     });
    /// # let _ = layer;
    /// ```
    pub fn with_refusal_page(
        self,
        page: impl Fn(CsrfRefusal) -> Response + Send + Sync + 'static,
    ) -> Self {
        let s = &self.settings;
        CsrfLayer {
            settings: Arc::new(Settings {
                key: s.key.clone(),
                config: s.config.clone(),
                writer: s.writer.clone(),
                refusal_page: Some(Arc::new(page)),
            }),
            _types: PhantomData,
        }
    }
}

impl<S, U, R> Layer<S> for CsrfLayer<U, R> {
    type Service = CsrfService<S, U, R>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfService {
            inner,
            settings: self.settings.clone(),
            _types: PhantomData,
        }
    }
}

/// The service [`CsrfLayer`] wraps around the app.
pub struct CsrfService<S, U, R = CsrfRejection> {
    inner: S,
    settings: Arc<Settings>,
    _types: PhantomData<fn() -> (U, R)>,
}

impl<S: Clone, U, R> Clone for CsrfService<S, U, R> {
    fn clone(&self) -> Self {
        CsrfService {
            inner: self.inner.clone(),
            settings: self.settings.clone(),
            _types: PhantomData,
        }
    }
}

impl<S, U, R> std::fmt::Debug for CsrfService<S, U, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsrfService").finish_non_exhaustive()
    }
}

/// The response future of [`CsrfService`].
pub struct CsrfFuture<E = Infallible>(Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>);

impl<E> std::fmt::Debug for CsrfFuture<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsrfFuture").finish_non_exhaustive()
    }
}

impl<E> Future for CsrfFuture<E> {
    type Output = Result<Response, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl<S, U, R> Service<Request<Body>> for CsrfService<S, U, R>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    U: CachedUser,
    R: From<CsrfRejection> + IntoResponse + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CsrfFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let settings = self.settings.clone();
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = Auth::<U>::from_extensions(req.extensions());
        CsrfFuture(Box::pin(async move {
            let auth = match auth {
                Ok(auth) => auth,
                Err(e) => {
                    tracing::error!(
                        problem = %e,
                        "CsrfLayer needs a SessionLayer for its user type in front of it (added after \
                         it) and ReloadUser inside it; refusing the request"
                    );
                    return Ok(R::from(CsrfRejection::MissingLayer).into_response());
                }
            };
            let presented = match lookup(req.headers(), settings.writer.name()) {
                Lookup::Found(v) => Some(v.to_owned()),
                Lookup::Absent | Lookup::Refused(_) => None,
            };
            let ctx = CsrfContext::new(settings.key.clone(), auth, presented);
            if !is_safe(req.method()) {
                // Kept for the app's refusal page only: the check consumes the request.
                let kept = settings
                    .refusal_page
                    .as_ref()
                    .map(|_| (req.headers().clone(), req.extensions().clone()));
                match verify(&settings, &ctx, req).await {
                    Ok(checked) => req = checked,
                    Err(rejection) => {
                        tracing::info!(
                            reason = rejection.reason(),
                            "state-changing request refused by the CSRF check"
                        );
                        let mut res = match (&settings.refusal_page, kept) {
                            (Some(page), Some((headers, extensions))) => page(CsrfRefusal {
                                rejection,
                                headers,
                                extensions,
                                ctx: ctx.clone(),
                            }),
                            _ => R::from(rejection).into_response(),
                        };
                        // The page's own forms may have been given a fresh anonymous token.
                        set_cookie(&settings, &ctx, &mut res);
                        return Ok(res);
                    }
                }
            }
            req.extensions_mut().insert(ctx.clone());
            let mut res = inner.call(req).await?;
            set_cookie(&settings, &ctx, &mut res);
            Ok(res)
        }))
    }
}

/// The three checks; the request back (its body re-assembled) when they pass.
async fn verify(
    settings: &Settings,
    ctx: &CsrfContext,
    req: Request<Body>,
) -> Result<Request<Body>, CsrfRejection> {
    let config = &settings.config;
    let authority = req.uri().authority().map(|a| a.as_str().to_owned());
    check_headers(config, req.headers(), authority.as_deref())?;
    let expected = ctx.expected()?;
    let (req, presented) = presented_token(req, config.max_form_bytes).await?;
    let presented = presented.ok_or(CsrfRejection::MissingToken)?;
    match expected {
        Some(raw) if token::verify(&raw, &presented) => Ok(req),
        _ => Err(CsrfRejection::InvalidToken),
    }
}

/// Give the browser the anonymous CSRF cookie the response needs: a fresh one after a sign-in or
/// sign-out, the one a page was rendered with, or, when no fresh one could be made, a removal.
fn set_cookie(settings: &Settings, ctx: &CsrfContext, res: &mut Response) {
    let value = match ctx.cookie_to_set() {
        Ok(None) => return,
        Ok(Some(v)) => settings.writer.set(&v),
        Err(e) => {
            tracing::error!(
                reason = e.reason(),
                "could not replace the CSRF cookie; clearing it"
            );
            Some(settings.writer.clear())
        }
    };
    match value {
        Some(v) => {
            let headers = res.headers_mut();
            headers.append(SET_COOKIE, v);
            // A response that hands out a cookie must not be replayed to somebody else by a cache.
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        None => tracing::error!("CSRF cookie value is not a valid header value; not sent"),
    }
}
