//! CSRF protection for every state-changing request, sign-in and registration included: keycard-axum's
//! [`CsrfLayer`] with the demo's refusal page.
//!
//! The layer refuses a request whose method is not GET, HEAD, OPTIONS or TRACE unless its
//! `Sec-Fetch-Site` is `same-origin` (or absent), its `Origin` (or `Referer`) is the app's own
//! (`PUBLIC_ORIGIN`, or on a loopback address `http://ADDR` and `http://localhost:PORT`), and its
//! `_csrf_token` field (or `X-CSRF-Token` header) is the token of this session, or before sign-in of this
//! browser's anonymous CSRF cookie (`__Host-keycard_csrf`, `keycard_csrf` over plain http on loopback).
//! Every sign-in and sign-out replaces that cookie. Pages get the token from the [`CsrfToken`] extractor.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keycard_axum::{CsrfConfig, CsrfConfigError, CsrfLayer, CsrfRejection};

use crate::config::secret::Secret;
use crate::domain::users::User;
use crate::web::views;

pub use keycard_axum::CsrfToken;

/// The demo's CSRF layer: refusals render [`CsrfRefused`].
pub type DemoCsrfLayer = CsrfLayer<User, CsrfRefused>;

/// The layer for these origins, keyed by the app secret (keycard-axum derives its own key from it).
pub fn layer(
    secret: &Secret,
    origins: &[String],
    secure: bool,
) -> Result<DemoCsrfLayer, CsrfConfigError> {
    // No origin at all is an empty one, which the check refuses by name.
    let (first, rest) = match origins.split_first() {
        Some((first, rest)) => (first.as_str(), rest),
        None => ("", &[][..]),
    };
    let mut config = rest
        .iter()
        .fold(CsrfConfig::new(first), |c, o| c.with_allowed_origin(o));
    if !secure {
        config = config.insecure_for_localhost();
    }
    DemoCsrfLayer::try_new(secret.as_bytes(), config)
}

/// A CSRF refusal, as the demo's error page.
#[derive(Debug, Clone, Copy)]
pub struct CsrfRefused(pub CsrfRejection);

impl From<CsrfRejection> for CsrfRefused {
    fn from(r: CsrfRejection) -> Self {
        CsrfRefused(r)
    }
}

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        let message = match self.0 {
            CsrfRejection::CrossSite | CsrfRejection::ForeignOrigin | CsrfRejection::MissingOrigin => {
                "This request came from another site and was refused."
            }
            CsrfRejection::MissingToken | CsrfRejection::InvalidToken => {
                "The form's security token is missing or out of date. Go back, reload the page and try again."
            }
            CsrfRejection::FormTooLarge => "The form is too large.",
            CsrfRejection::SessionUnavailable | CsrfRejection::NoRandomness => {
                "The server could not check this form right now. Try again in a moment."
            }
            _ => "The request could not be checked.",
        };
        let mut res = views::error_page(self.0.status(), "Request refused", message);
        if self.0.status() == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(5u32));
        }
        res
    }
}
