//! [`CsrfRejection`]: why a request was refused, and its default response.

use axum::response::{IntoResponse, Response};
use http::header::RETRY_AFTER;
use http::{HeaderValue, StatusCode};

/// Why [`CsrfLayer`](crate::CsrfLayer) refused a request (or [`CsrfToken`](crate::CsrfToken) could not be
/// extracted). The layer answers with your `R: From<CsrfRejection> + IntoResponse` (default: this type),
/// so an app renders its own page:
///
/// ```
/// use axum::response::{Html, IntoResponse, Response};
/// use keycard_axum::CsrfRejection;
///
/// struct CsrfPage(CsrfRejection);
/// impl From<CsrfRejection> for CsrfPage {
///     fn from(r: CsrfRejection) -> Self { CsrfPage(r) }
/// }
/// impl IntoResponse for CsrfPage {
///     fn into_response(self) -> Response {
///         let page = Html(format!("<h1>Request refused</h1><p>{}</p>", self.0));
///         (self.0.status(), page).into_response()
///     }
/// }
/// // CsrfLayer::<User, CsrfPage>::new(secret, config)
/// ```
///
/// | variant | status | |
/// |---|---|---|
/// | `CrossSite` | 403 | `Sec-Fetch-Site` says `cross-site` (or `same-site`, unless allowed) |
/// | `ForeignOrigin` | 403 | `Origin` (or, without it, `Referer`) is not the app's own; `Origin: null` included |
/// | `MissingOrigin` | 403 | neither header, with [`with_origin_required`](crate::CsrfConfig::with_origin_required) |
/// | `MissingToken` | 403 | no `_csrf_token` field and no `X-CSRF-Token` header |
/// | `InvalidToken` | 403 | a token that is not this session's (or this anonymous cookie's), or not a token |
/// | `FormTooLarge` | 413 | the form body exceeds the configured limit |
/// | `UnreadableBody` | 400 | the body could not be read |
/// | `SessionUnavailable` | 503 + `Retry-After` | the session store failed: the token cannot be checked |
/// | `NoRandomness` | 503 + `Retry-After` | the OS random generator failed |
/// | `MissingLayer` | 500 | no `CsrfLayer` in front of a `CsrfToken` extractor, or no `SessionLayer` in front of the `CsrfLayer` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrfRejection {
    /// The browser marked the request as coming from another site (`Sec-Fetch-Site`).
    #[error("this request came from another site and was refused")]
    CrossSite,
    /// `Origin` (or `Referer`) names another origin.
    #[error("this request came from another site and was refused")]
    ForeignOrigin,
    /// Neither `Origin` nor `Referer`, and the configuration requires one.
    #[error("this request does not say where it came from and was refused")]
    MissingOrigin,
    /// No token in the form or header.
    #[error("the form's security token is missing; reload the page and try again")]
    MissingToken,
    /// A token, but not this session's.
    #[error("the form's security token is out of date; reload the page and try again")]
    InvalidToken,
    /// The form body is larger than the layer reads.
    #[error("the form is too large")]
    FormTooLarge,
    /// The request body could not be read.
    #[error("the request body could not be read")]
    UnreadableBody,
    /// The session store failed, so the session the token must match is unknown.
    #[error("the session store is unavailable; try again shortly")]
    SessionUnavailable,
    /// No random bytes for a token or cookie.
    #[error("no security token could be made; try again shortly")]
    NoRandomness,
    /// The layers are missing or in the wrong order.
    #[error("internal server error")]
    MissingLayer,
}

impl CsrfRejection {
    /// The status this rejection answers with by default.
    pub fn status(&self) -> StatusCode {
        match self {
            CsrfRejection::CrossSite
            | CsrfRejection::ForeignOrigin
            | CsrfRejection::MissingOrigin
            | CsrfRejection::MissingToken
            | CsrfRejection::InvalidToken => StatusCode::FORBIDDEN,
            CsrfRejection::FormTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            CsrfRejection::UnreadableBody => StatusCode::BAD_REQUEST,
            CsrfRejection::SessionUnavailable | CsrfRejection::NoRandomness => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            CsrfRejection::MissingLayer => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short name for logs (`"foreign origin"`, …); never includes a token or header value.
    pub fn reason(&self) -> &'static str {
        match self {
            CsrfRejection::CrossSite => "cross-site Sec-Fetch-Site",
            CsrfRejection::ForeignOrigin => "foreign origin",
            CsrfRejection::MissingOrigin => "no Origin or Referer",
            CsrfRejection::MissingToken => "no token",
            CsrfRejection::InvalidToken => "token does not match",
            CsrfRejection::FormTooLarge => "form too large",
            CsrfRejection::UnreadableBody => "unreadable body",
            CsrfRejection::SessionUnavailable => "session store unavailable",
            CsrfRejection::NoRandomness => "no randomness",
            CsrfRejection::MissingLayer => "missing or misordered layer",
        }
    }
}

impl IntoResponse for CsrfRejection {
    fn into_response(self) -> Response {
        let body = format!("{self}\n");
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            let retry = HeaderValue::from(crate::rejection::RETRY_AFTER_SECS);
            return (self.status(), [(RETRY_AFTER, retry)], body).into_response();
        }
        (self.status(), body).into_response()
    }
}
