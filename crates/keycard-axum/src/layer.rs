//! [`SessionLayer`]: the request and response side of a session.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderValue, Request, Response};
use keycard::{Authenticated, CachedUser, CredentialsCache, Fetch};
use tower_layer::Layer;
use tower_service::Service;

use crate::auth::Auth;
use crate::config::{ClientIpSource, CookieConfig, CookieConfigError};
use crate::cookie::{lookup, CookieWriter, Lookup};
use crate::state::{CookieChange, LayerConfig, Phase};

/// The session layer (Pow's `Pow.Plug.Session`): cookie in, auth handle for the handler, cookie changes out.
///
/// For every request it:
///
/// 1. looks for the session cookie (the [crate docs](crate#the-session-cookie) list what makes a request
///    anonymous without any store access);
/// 2. if there is one, resolves it with [`CredentialsCache::fetch`] — the session and the one cached copy of
///    its user, renewing the token when due;
/// 3. puts an [`Auth<U>`] handle in the request's extensions, which the extractors read;
/// 4. runs the inner service;
/// 5. writes on the response the cookie change the request made (renewal, sign-in, sync, regenerate:
///    `Set-Cookie` with the new value; sign-out: a removal cookie) with `Cache-Control: no-store`, and adds
///    `Vary: Cookie` to every response that depends on the cookie (the request carried it, or a handler
///    read the session state).
///
/// **No cookie, no cost**: a request without the session cookie causes no store call, no boxed future and
/// no allocation beyond the handle itself. A live session that the store answers from process memory
/// ([`Store::fetch_ready`](keycard::Store::fetch_ready): the memory store, a near-cache hit) needs no boxed
/// future either.
///
/// **Fail closed**: when `fetch` fails, the request is neither signed in nor anonymous. The inner service
/// still runs (a health check or a public page does not need the session), but every extractor that needs
/// the session state answers `503 Service Unavailable` ([`AuthRejection::StoreUnavailable`]).
///
/// ```no_run
/// # use keycard::{CachedUser, CredentialsCache, MemoryStore};
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User { id: i64 }
/// # impl CachedUser for User { fn user_key(&self) -> String { self.id.to_string() } }
/// # fn f(cache: CredentialsCache<User>) {
/// use keycard_axum::{CookieConfig, SessionLayer};
/// let app: axum::Router = axum::Router::new()
///     // .route(...)
///     // Secure and `__Host-` by default; plain http on 127.0.0.1 only: `CookieConfig::insecure_for_localhost()`.
///     .layer(SessionLayer::new(cache).with_config(CookieConfig::default().with_name("myapp_session")));
/// # }
/// ```
///
/// [`AuthRejection::StoreUnavailable`]: crate::AuthRejection::StoreUnavailable
pub struct SessionLayer<U: CachedUser> {
    cache: CredentialsCache<U>,
    config: Arc<LayerConfig>,
}

impl<U: CachedUser> Clone for SessionLayer<U> {
    fn clone(&self) -> Self {
        SessionLayer {
            cache: self.cache.clone(),
            config: self.config.clone(),
        }
    }
}

impl<U: CachedUser> std::fmt::Debug for SessionLayer<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLayer")
            .field("cookie", &self.config.writer.name())
            .field("ip_source", &self.config.ip_source)
            .finish_non_exhaustive()
    }
}

impl<U: CachedUser> SessionLayer<U> {
    /// A layer over `cache` with the default [`CookieConfig`]: `Secure`, named `__Host-keycard_session`.
    /// For plain `http://` development on a loopback address call
    /// [`with_config`](Self::with_config)`(`[`CookieConfig::insecure_for_localhost()`]`)`.
    pub fn new(cache: CredentialsCache<U>) -> Self {
        let writer = match CookieWriter::new(&CookieConfig::default()) {
            Ok(w) => w,
            Err(e) => unreachable!("the default cookie configuration is valid: {e}"),
        };
        SessionLayer {
            cache,
            config: Arc::new(LayerConfig {
                writer,
                ip_source: ClientIpSource::default(),
                sudo_max_age: crate::sudo::DEFAULT_SUDO_MAX_AGE,
            }),
        }
    }

    /// Use `config` for the cookie.
    ///
    /// # Panics
    /// If `config` is invalid ([`CookieConfig::validate`]): a programming error found at start-up. Use
    /// [`try_with_config`](Self::try_with_config) to handle it instead.
    pub fn with_config(self, config: CookieConfig) -> Self {
        match self.try_with_config(config) {
            Ok(layer) => layer,
            Err(e) => panic!("{e}"),
        }
    }

    /// Use `config` for the cookie, or say why it cannot work.
    pub fn try_with_config(self, config: CookieConfig) -> Result<Self, CookieConfigError> {
        let writer = CookieWriter::new(&config)?;
        Ok(SessionLayer {
            cache: self.cache,
            config: Arc::new(LayerConfig {
                writer,
                ip_source: self.config.ip_source,
                sudo_max_age: self.config.sudo_max_age,
            }),
        })
    }

    /// Where the client address recorded with a new session comes from (default:
    /// [`ClientIpSource::ConnectInfo`]).
    pub fn client_ip(self, source: ClientIpSource) -> Self {
        SessionLayer {
            cache: self.cache,
            config: Arc::new(LayerConfig {
                writer: self.config.writer.clone(),
                ip_source: source,
                sudo_max_age: self.config.sudo_max_age,
            }),
        }
    }

    /// How recent the last proof of password must be for
    /// [`RecentlyAuthenticated`](crate::RecentlyAuthenticated) (sudo mode; default
    /// [`DEFAULT_SUDO_MAX_AGE`](crate::DEFAULT_SUDO_MAX_AGE), 10 minutes).
    pub fn sudo_max_age(self, max_age: std::time::Duration) -> Self {
        SessionLayer {
            cache: self.cache,
            config: Arc::new(LayerConfig {
                writer: self.config.writer.clone(),
                ip_source: self.config.ip_source,
                sudo_max_age: max_age,
            }),
        }
    }

    /// The cache this layer reads.
    pub fn cache(&self) -> &CredentialsCache<U> {
        &self.cache
    }
}

impl<S, U: CachedUser> Layer<S> for SessionLayer<U> {
    type Service = SessionService<S, U>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            cache: self.cache.clone(),
            config: self.config.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around the app.
pub struct SessionService<S, U: CachedUser> {
    inner: S,
    cache: CredentialsCache<U>,
    config: Arc<LayerConfig>,
}

impl<S: Clone, U: CachedUser> Clone for SessionService<S, U> {
    fn clone(&self) -> Self {
        SessionService {
            inner: self.inner.clone(),
            cache: self.cache.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S, U: CachedUser> std::fmt::Debug for SessionService<S, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService").finish_non_exhaustive()
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, U, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S, U>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    U: CachedUser,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = SessionFuture<S::Future, U>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let value = match lookup(req.headers(), self.config.writer.name()) {
            Lookup::Absent => None,
            Lookup::Refused(why) => {
                tracing::debug!(
                    reason = why.as_str(),
                    "session cookie refused; request is anonymous"
                );
                let auth = self.handle(Phase::Anonymous, None, None, true);
                req.extensions_mut().insert(auth.clone());
                return SessionFuture::direct(self.inner.call(req), auth);
            }
            Lookup::Found(v) => match self.cache.fetch_ready(v) {
                // A live session answered from memory (the memory store, a near-cache hit): no boxed
                // future, the inner service runs as it would without a cookie.
                Fetch::Ready(Ok(Some(found))) => {
                    let auth = self.signed_in(found);
                    req.extensions_mut().insert(auth.clone());
                    return SessionFuture::direct(self.inner.call(req), auth);
                }
                fetch => Some((fetch, v.to_owned())),
            },
        };
        let Some((fetch, value)) = value else {
            let auth = self.handle(Phase::Anonymous, None, None, false);
            req.extensions_mut().insert(auth.clone());
            return SessionFuture::direct(self.inner.call(req), auth);
        };

        // The cookie needs the store: resolve it first, then run the inner service that was made ready.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let this = SessionService {
            inner: (),
            cache: self.cache.clone(),
            config: self.config.clone(),
        };
        SessionFuture::boxed(Box::pin(async move {
            let fetched = match fetch {
                Fetch::Ready(answer) => answer,
                Fetch::Pending(pending) => pending.finish().await,
            };
            let auth = match fetched {
                Ok(Some(found)) => this.signed_in(found),
                Ok(None) => this.handle(Phase::Anonymous, None, None, true),
                Err(e) => {
                    tracing::warn!(error = %e, "session store failed; session state unknown for this request");
                    this.handle(
                        Phase::Unavailable { session: None },
                        Some(value),
                        None,
                        true,
                    )
                }
            };
            req.extensions_mut().insert(auth.clone());
            let res = inner.call(req).await?;
            Ok(finish(res, &auth))
        }))
    }
}

impl<S, U: CachedUser> SessionService<S, U> {
    fn signed_in(&self, found: Authenticated<U>) -> Auth<U> {
        let cookie = found.renewed.map(CookieChange::Set);
        let phase = Phase::SignedIn {
            user: found.user,
            session: found.session,
            token_use: found.token_use,
        };
        self.handle(phase, None, cookie, true)
    }

    fn handle(
        &self,
        phase: Phase<U>,
        presented: Option<String>,
        cookie: Option<CookieChange>,
        carried: bool,
    ) -> Auth<U> {
        Auth::new(
            self.cache.clone(),
            self.config.clone(),
            phase,
            presented,
            cookie,
            carried,
        )
    }
}

/// Write the request's cookie change and cache headers on `res`.
fn finish<U: CachedUser, B>(mut res: Response<B>, auth: &Auth<U>) -> Response<B> {
    let (change, depends) = auth.take_response_effects();
    let headers = res.headers_mut();
    if let Some(change) = change {
        let writer = &auth.config().writer;
        let value = match &change {
            CookieChange::Set(v) => writer.set(v.as_str()),
            CookieChange::Clear => Some(writer.clear()),
        };
        match value {
            Some(v) => {
                headers.append(SET_COOKIE, v);
            }
            None => tracing::error!("session cookie value is not a valid header value; not sent"),
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        add_vary_cookie(headers);
    } else if depends {
        add_vary_cookie(headers);
    }
    res
}

/// Add `Cookie` to `Vary` unless it (or `*`) is already there.
fn add_vary_cookie(headers: &mut HeaderMap) {
    let present = headers.get_all(VARY).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.eq_ignore_ascii_case("cookie"))
        })
    });
    if !present {
        headers.append(VARY, HeaderValue::from_static("Cookie"));
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`SessionService`].
    pub struct SessionFuture<F: Future, U: CachedUser> {
        #[pin]
        kind: Kind<F, U>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<F: Future, U: CachedUser> {
        // No store access: the inner future, then the response headers.
        Direct { #[pin] fut: F, auth: Auth<U> },
        // The store was consulted first.
        Boxed { fut: BoxFuture<F::Output> },
    }
}

impl<F: Future, U: CachedUser> std::fmt::Debug for SessionFuture<F, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionFuture").finish_non_exhaustive()
    }
}

impl<F: Future, U: CachedUser> SessionFuture<F, U> {
    fn direct(fut: F, auth: Auth<U>) -> Self {
        SessionFuture {
            kind: Kind::Direct { fut, auth },
        }
    }

    fn boxed(fut: BoxFuture<F::Output>) -> Self {
        SessionFuture {
            kind: Kind::Boxed { fut },
        }
    }
}

impl<F, U, B, E> Future for SessionFuture<F, U>
where
    F: Future<Output = Result<Response<B>, E>>,
    U: CachedUser,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Direct { fut, auth } => match fut.poll(cx) {
                Poll::Ready(Ok(res)) => Poll::Ready(Ok(finish(res, auth))),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
            KindProj::Boxed { fut } => fut.as_mut().poll(cx),
        }
    }
}
