//! Small response helpers the handlers share, and the sign-in path, named once. A leaf: it uses nothing
//! else in the crate, so every other web module may use it.

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use keycard_axum::RedirectPath;

/// The sign-in page: where anonymous visitors of a signed-in page go ([`keycard_axum::RedirectTo`]), and
/// where a request whose session ended meanwhile is sent.
#[derive(Debug, Clone, Copy)]
pub struct SignIn;

impl RedirectPath for SignIn {
    const PATH: &'static str = "/session/new";
}

/// 303 to the sign-in page.
pub fn to_sign_in() -> Response {
    Redirect::to(SignIn::PATH).into_response()
}

/// 303 to `to`, with a `Set-Cookie`.
pub fn redirect_setting(to: &str, cookie: HeaderValue) -> Response {
    with_cookie(Redirect::to(to).into_response(), cookie)
}

/// `res` with one more `Set-Cookie`.
pub fn with_cookie(mut res: Response, cookie: HeaderValue) -> Response {
    res.headers_mut().append(header::SET_COOKIE, cookie);
    res
}

/// `Retry-After` for a throttled response.
pub fn retry_after(secs: u64) -> (HeaderName, HeaderValue) {
    (header::RETRY_AFTER, HeaderValue::from(secs))
}
