//! [`SecurityHeaders`]: the response headers that keep pages from being framed, sniffed or made to leak.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use http::{HeaderName, HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

/// The default `Content-Security-Policy`: everything from the app's own origin only, no inline script or
/// style, no plugins, no `<base>`, forms post only to the app, and no page may frame it.
pub const DEFAULT_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'; object-src 'none'";

/// The default `Strict-Transport-Security`: HTTPS only for a year (no `includeSubDomains`, which commits
/// every sibling host; add it with [`SecurityHeaders::hsts`] when that is what you want).
pub const DEFAULT_HSTS: &str = "max-age=31536000";

/// The default `Referrer-Policy`: the full URL to the app itself (so its `Referer` check has something to
/// compare), nothing to other sites.
pub const DEFAULT_REFERRER_POLICY: &str = "same-origin";

/// A layer that adds security headers to every response, **unless the handler set that header itself**.
///
/// | header | default | against |
/// |---|---|---|
/// | `Content-Security-Policy` | [`DEFAULT_CONTENT_SECURITY_POLICY`] | injected script and style (no `unsafe-inline`: pages must load their CSS and JS from files), framing (`frame-ancestors 'none'`), forms posting elsewhere |
/// | `X-Frame-Options` | `DENY` | framing, for browsers without `frame-ancestors` (clickjacking of one-click buttons such as "sign out all other sessions") |
/// | `X-Content-Type-Options` | `nosniff` | a response read as a script or style it is not |
/// | `Referrer-Policy` | [`DEFAULT_REFERRER_POLICY`] | URLs of the app leaking to other sites |
/// | `Strict-Transport-Security` | [`DEFAULT_HSTS`] | a first request over plain `http://` being intercepted; browsers ignore it over plain `http://` |
///
/// Put it outermost, so error pages, redirects and fallbacks get the headers too:
///
/// ```
/// use keycard_axum::SecurityHeaders;
/// let app: axum::Router = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "hello" }))
///     .layer(SecurityHeaders::new());
/// ```
///
/// A page that needs more (an image CDN, say) sets its own `Content-Security-Policy`, which this layer
/// leaves alone; or change the default for every page:
///
/// ```
/// use http::HeaderValue;
/// use keycard_axum::SecurityHeaders;
/// let headers = SecurityHeaders::new()
///     .content_security_policy(HeaderValue::from_static(
///         "default-src 'self'; img-src 'self' https://img.example; frame-ancestors 'none'; \
///          base-uri 'none'; form-action 'self'; object-src 'none'",
///     ))
///     // plain http on 127.0.0.1 during development: no HSTS
///     .hsts(None);
/// ```
#[derive(Clone)]
pub struct SecurityHeaders {
    headers: Arc<Vec<(HeaderName, HeaderValue)>>,
}

impl std::fmt::Debug for SecurityHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.headers.iter().map(|(n, v)| (n.as_str(), v)))
            .finish()
    }
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        let defaults = [
            (CONTENT_SECURITY_POLICY, DEFAULT_CONTENT_SECURITY_POLICY),
            (X_FRAME_OPTIONS, "DENY"),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (REFERRER_POLICY, DEFAULT_REFERRER_POLICY),
            (STRICT_TRANSPORT_SECURITY, DEFAULT_HSTS),
        ];
        SecurityHeaders {
            headers: Arc::new(
                defaults
                    .into_iter()
                    .map(|(n, v)| (n, HeaderValue::from_static(v)))
                    .collect(),
            ),
        }
    }
}

impl SecurityHeaders {
    /// The defaults in the table above.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set header `name` to `value` on every response that lacks it; `None` stops sending it.
    pub fn header(mut self, name: HeaderName, value: Option<HeaderValue>) -> Self {
        let headers = Arc::make_mut(&mut self.headers);
        headers.retain(|(n, _)| *n != name);
        if let Some(value) = value {
            headers.push((name, value));
        }
        self
    }

    /// The `Content-Security-Policy` (default [`DEFAULT_CONTENT_SECURITY_POLICY`]).
    pub fn content_security_policy(self, policy: HeaderValue) -> Self {
        self.header(CONTENT_SECURITY_POLICY, Some(policy))
    }

    /// The `Strict-Transport-Security` value (default [`DEFAULT_HSTS`]); `None` for an app served over
    /// plain `http://` (development on a loopback address).
    pub fn hsts(self, value: Option<HeaderValue>) -> Self {
        self.header(STRICT_TRANSPORT_SECURITY, value)
    }

    /// The `Referrer-Policy` (default [`DEFAULT_REFERRER_POLICY`]).
    pub fn referrer_policy(self, policy: HeaderValue) -> Self {
        self.header(REFERRER_POLICY, Some(policy))
    }

    /// The headers this layer adds, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.headers.iter().map(|(n, v)| (n, v))
    }
}

impl<S> Layer<S> for SecurityHeaders {
    type Service = SecurityHeadersService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecurityHeadersService {
            inner,
            headers: self.headers.clone(),
        }
    }
}

/// The service [`SecurityHeaders`] wraps around the app.
#[derive(Clone)]
pub struct SecurityHeadersService<S> {
    inner: S,
    headers: Arc<Vec<(HeaderName, HeaderValue)>>,
}

impl<S> std::fmt::Debug for SecurityHeadersService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityHeadersService")
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SecurityHeadersService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = SecurityHeadersFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        SecurityHeadersFuture {
            fut: self.inner.call(req),
            headers: self.headers.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`SecurityHeadersService`].
    pub struct SecurityHeadersFuture<F> {
        #[pin]
        fut: F,
        headers: Arc<Vec<(HeaderName, HeaderValue)>>,
    }
}

impl<F> std::fmt::Debug for SecurityHeadersFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityHeadersFuture")
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for SecurityHeadersFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.fut.poll(cx) {
            Poll::Ready(Ok(mut res)) => {
                let out = res.headers_mut();
                for (name, value) in this.headers.iter() {
                    if !out.contains_key(name) {
                        out.insert(name.clone(), value.clone());
                    }
                }
                Poll::Ready(Ok(res))
            }
            other => other,
        }
    }
}
