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
use crate::remember::Loader;
use crate::state::{CookieChange, LayerConfig, Phase, RequestInfo, Transport};

/// The session layer (Pow's `Pow.Plug.Session`): cookie in, auth handle for the handler, cookie changes out.
///
/// For every request it:
///
/// 1. looks for the session cookie (the [crate docs](crate#the-session-cookie) list what makes a request
///    anonymous without any store access);
/// 2. if there is one, resolves it with [`CredentialsCache::fetch`] — the session and the one cached copy of
///    its user, renewing the token when due; with [`remember_me`](SessionLayer::remember_me), a request
///    with no live session and a remember-me cookie is signed back in (see the
///    [crate docs](crate#remember-me));
/// 3. puts an [`Auth<U>`] handle in the request's extensions, which the extractors read;
/// 4. runs the inner service;
/// 5. writes on the response the cookie change the request made (renewal, sign-in, sync, regenerate:
///    `Set-Cookie` with the new value; sign-out: a removal cookie) with `Cache-Control: no-store`, and adds
///    `Vary: Cookie` to every response that depends on the cookie (the request carried it, or a handler
///    read the session state).
///
/// **No cookie, no cost**: a request without the session cookie causes no store call, no boxed future and
/// no allocation beyond the handle itself.
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
    loader: Option<Arc<Loader<U>>>,
}

impl<U: CachedUser> Clone for SessionLayer<U> {
    fn clone(&self) -> Self {
        SessionLayer {
            cache: self.cache.clone(),
            config: self.config.clone(),
            loader: self.loader.clone(),
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
                remember: None,
                watches: crate::watch_slots::WatchSlots::new(
                    crate::watch_slots::DEFAULT_MAX_WATCHES_PER_SESSION,
                ),
                bearer: false,
            }),
            loader: None,
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
    ///
    /// Errors: [`CookieConfigError`] when `config` is invalid ([`CookieConfig::validate`]).
    pub fn try_with_config(self, config: CookieConfig) -> Result<Self, CookieConfigError> {
        let writer = CookieWriter::new(&config)?;
        let remember = match &self.config.remember {
            Some(_) => Some(crate::remember::cookie_writer(
                config.secure,
                self.remember_ttl(),
            )?),
            None => None,
        };
        Ok(self.reconfigure(|c| {
            c.writer = writer;
            c.remember = remember;
        }))
    }

    /// Where the client address recorded with a new session comes from (default:
    /// [`ClientIpSource::ConnectInfo`]).
    pub fn client_ip(self, source: ClientIpSource) -> Self {
        self.reconfigure(|c| c.ip_source = source)
    }

    /// How recent the last proof of password must be for
    /// [`RecentlyAuthenticated`](crate::RecentlyAuthenticated) (sudo mode; default
    /// [`DEFAULT_SUDO_MAX_AGE`](crate::DEFAULT_SUDO_MAX_AGE), 10 minutes).
    pub fn sudo_max_age(self, max_age: std::time::Duration) -> Self {
        self.reconfigure(|c| c.sudo_max_age = max_age)
    }

    /// How many [`SessionWatch`](crate::SessionWatch)es ([`Auth::watch`]: a server-sent-events stream, a
    /// WebSocket) one session may hold open on this node (default
    /// [`DEFAULT_MAX_WATCHES_PER_SESSION`](crate::DEFAULT_MAX_WATCHES_PER_SESSION), at least 1); one more
    /// is refused with [`WatchError::TooMany`](crate::WatchError::TooMany).
    pub fn max_watches_per_session(self, max: usize) -> Self {
        self.reconfigure(|c| c.watches = crate::watch_slots::WatchSlots::new(max))
    }

    /// Sign browsers back in with their remember-me cookie ([`keycard::remember`]): a request with no
    /// live session and a valid remember-me cookie gets a new session (not fresh for sudo mode), the
    /// cookie rotates, and `loader` reads the user from the app's database by user key (see the
    /// [crate docs](crate#remember-me)). The cache must be built with remember-me
    /// (`CredentialsCache::builder(store).remember(store)`); the cookie is `__Host-keycard_remember`
    /// (`keycard_remember` when the session cookie is not `Secure`), persistent for the series' lifetime.
    ///
    /// # Panics
    /// If the cache has no remember-me: a programming error found at start-up.
    pub fn remember_me(mut self, loader: impl crate::UserByKey<U>) -> Self {
        let Some(remember) = self.cache.remember() else {
            panic!("SessionLayer::remember_me needs a cache built with remember-me: CredentialsCache::builder(store).remember(remember_store)");
        };
        let ttl = remember.policy().ttl;
        let writer = match crate::remember::cookie_writer(self.config.writer.secure(), ttl) {
            Ok(w) => w,
            Err(e) => unreachable!("the remember-me cookie configuration is valid: {e}"),
        };
        self.loader = Some(Arc::new(crate::remember::Loader::new(loader)));
        self.reconfigure(|c| c.remember = Some(writer))
    }

    /// Also accept the session as `Authorization: Bearer <value>` (API clients: a CLI, a mobile app;
    /// personal access tokens): see the [crate docs](crate#bearer-sessions). Off by default; turn it on for the routers that
    /// serve API clients. A bearer request's cookies are ignored, no cookie is ever set on it, and a
    /// renewed value goes out in [`SET_AUTH_TOKEN`](crate::SET_AUTH_TOKEN).
    pub fn accept_bearer(self) -> Self {
        self.reconfigure(|c| c.bearer = true)
    }

    fn remember_ttl(&self) -> std::time::Duration {
        self.cache
            .remember()
            .map(|r| r.policy().ttl)
            .unwrap_or_default()
    }

    fn reconfigure(self, change: impl FnOnce(&mut LayerConfig)) -> Self {
        let mut config = (*self.config).clone();
        change(&mut config);
        SessionLayer {
            cache: self.cache,
            config: Arc::new(config),
            loader: self.loader,
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
            loader: self.loader.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around the app.
pub struct SessionService<S, U: CachedUser> {
    inner: S,
    cache: CredentialsCache<U>,
    config: Arc<LayerConfig>,
    loader: Option<Arc<Loader<U>>>,
}

impl<S: Clone, U: CachedUser> Clone for SessionService<S, U> {
    fn clone(&self) -> Self {
        SessionService {
            inner: self.inner.clone(),
            cache: self.cache.clone(),
            config: self.config.clone(),
            loader: self.loader.clone(),
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
        // A bearer request (when accepted) presents its session in `Authorization`, never a cookie.
        let bearer = if self.config.bearer {
            crate::bearer::lookup(req.headers())
        } else {
            None
        };
        let transport = match bearer {
            Some(_) => Transport::Bearer,
            None => Transport::Cookie,
        };
        let presented = match bearer {
            Some(l) => l,
            None => lookup(req.headers(), self.config.writer.name()),
        };
        let (value, carried) = match presented {
            Lookup::Absent => (None, false),
            Lookup::Refused(why) => {
                tracing::debug!(
                    reason = why.as_str(),
                    "session cookie refused; request is anonymous"
                );
                (None, true)
            }
            Lookup::Found(v) => match self.cache.fetch_ready(v) {
                // A live session answered from memory (the memory store, a near-cache hit): no boxed
                // future, the inner service runs as it would without a cookie.
                Fetch::Ready(Ok(Some(found))) => {
                    let auth = self.signed_in(found, transport);
                    if transport == Transport::Cookie {
                        auth.remember_presented(self.remember_cookie(req.headers()));
                    }
                    req.extensions_mut().insert(auth.clone());
                    return SessionFuture::direct(self.inner.call(req), auth);
                }
                fetch => (Some((fetch, v.to_owned())), true),
            },
        };
        let remember = match transport {
            Transport::Cookie => self.remember_cookie(req.headers()),
            Transport::Bearer => None,
        };
        if value.is_none() && remember.is_none() {
            let auth = self.handle(Phase::Anonymous, None, None, carried, transport);
            req.extensions_mut().insert(auth.clone());
            return SessionFuture::direct(self.inner.call(req), auth);
        }
        let info = remember
            .as_ref()
            .map(|_| RequestInfo::capture(req.headers(), req.extensions(), self.config.ip_source));

        // The cookie needs the store: resolve it first, then run the inner service that was made ready.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let this = SessionService {
            inner: (),
            cache: self.cache.clone(),
            config: self.config.clone(),
            loader: self.loader.clone(),
        };
        SessionFuture::boxed(Box::pin(async move {
            let resolved = match value {
                Some((fetch, value)) => this.resolve(fetch, value, transport).await,
                None => None,
            };
            let auth = match (resolved, remember, &this.loader) {
                (Some(auth), remember, _) => {
                    auth.remember_presented(remember);
                    auth
                }
                (None, Some(remember), Some(loader)) => {
                    let info = info.unwrap_or_else(RequestInfo::empty);
                    crate::remember::redeem(
                        &this.cache,
                        &this.config,
                        loader,
                        remember,
                        info,
                        carried,
                    )
                    .await
                }
                (None, _, _) => this.handle(Phase::Anonymous, None, None, carried, transport),
            };
            req.extensions_mut().insert(auth.clone());
            let res = inner.call(req).await?;
            Ok(finish(res, &auth))
        }))
    }
}

impl<U: CachedUser> SessionService<(), U> {
    /// The handle for a session cookie: signed in, or unavailable (the store failed); `None` when it
    /// names no live session.
    async fn resolve(
        &self,
        fetch: Fetch<U>,
        value: String,
        transport: Transport,
    ) -> Option<Auth<U>> {
        let fetched = match fetch {
            Fetch::Ready(answer) => answer,
            Fetch::Pending(pending) => pending.finish().await,
        };
        match fetched {
            Ok(Some(found)) => Some(self.signed_in(found, transport)),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "session store failed; session state unknown for this request");
                Some(self.handle(
                    Phase::Unavailable { session: None },
                    Some(value),
                    None,
                    true,
                    transport,
                ))
            }
        }
    }
}

impl<S, U: CachedUser> SessionService<S, U> {
    fn signed_in(&self, found: Authenticated<U>, transport: Transport) -> Auth<U> {
        let cookie = found.renewed.map(CookieChange::Set);
        let phase = Phase::SignedIn {
            user: found.user,
            session: found.session,
            token_use: found.token_use,
        };
        self.handle(phase, None, cookie, true, transport)
    }

    /// The request's well-shaped remember-me cookie, when the layer redeems them (no header scan
    /// otherwise).
    fn remember_cookie(&self, headers: &HeaderMap) -> Option<String> {
        match (&self.config.remember, &self.loader) {
            (Some(writer), Some(_)) => crate::remember::presented(headers, writer),
            _ => None,
        }
    }

    fn handle(
        &self,
        phase: Phase<U>,
        presented: Option<String>,
        cookie: Option<CookieChange>,
        carried: bool,
        transport: Transport,
    ) -> Auth<U> {
        let auth = Auth::new(
            self.cache.clone(),
            self.config.clone(),
            phase,
            presented,
            cookie,
            carried,
        );
        if transport == Transport::Bearer {
            auth.state_mut(|s| s.transport = Transport::Bearer);
        }
        auth
    }
}

/// Write the request's cookie change and cache headers on `res`.
fn finish<U: CachedUser, B>(mut res: Response<B>, auth: &Auth<U>) -> Response<B> {
    let effects = auth.take_response_effects();
    let headers = res.headers_mut();
    if effects.transport == Transport::Bearer {
        // Never a cookie on a bearer request: a renewed value goes out in `Set-Auth-Token`.
        if let Some(CookieChange::Set(v)) = &effects.session {
            match HeaderValue::from_str(v.as_str()) {
                Ok(v) => {
                    headers.insert(crate::bearer::SET_AUTH_TOKEN, v);
                }
                Err(_) => {
                    tracing::error!("a renewed bearer value is not a valid header value; not sent")
                }
            }
        }
        if effects.session.is_some() {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        add_vary(headers, "Authorization");
        return res;
    }
    if let Some((writer, remember)) = auth.config().remember.as_ref().zip(effects.remember) {
        if let Some(v) = cookie_header(writer, &remember) {
            headers.append(SET_COOKIE, v);
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        add_vary_cookie(headers);
    }
    if let Some(change) = effects.session {
        if let Some(v) = cookie_header(&auth.config().writer, &change) {
            headers.append(SET_COOKIE, v);
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        add_vary_cookie(headers);
    } else if effects.depends_on_cookie {
        add_vary_cookie(headers);
    }
    res
}

/// The `Set-Cookie` value of one cookie change.
fn cookie_header(writer: &CookieWriter, change: &CookieChange) -> Option<HeaderValue> {
    let value = match change {
        CookieChange::Set(v) => writer.set(v.as_str()),
        CookieChange::Clear => Some(writer.clear()),
    };
    if value.is_none() {
        tracing::error!(
            cookie = writer.name(),
            "cookie value is not a valid header value; not sent"
        );
    }
    value
}

/// Add `Cookie` to `Vary` unless it (or `*`) is already there.
fn add_vary_cookie(headers: &mut HeaderMap) {
    add_vary(headers, "Cookie");
}

/// Add `name` to `Vary` unless it (or `*`) is already there.
fn add_vary(headers: &mut HeaderMap, name: &'static str) {
    let present = headers.get_all(VARY).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.eq_ignore_ascii_case(name))
        })
    });
    if !present {
        headers.append(VARY, HeaderValue::from_static(name));
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
