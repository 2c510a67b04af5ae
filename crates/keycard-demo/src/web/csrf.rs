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
use keycard_axum::{Auth, CsrfConfig, CsrfConfigError, CsrfLayer, CsrfRefusal, CsrfRejection};

use crate::config::secret::Secret;
use crate::domain::users::User;
use crate::web::layout::{Layout, Viewer};
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
    Ok(DemoCsrfLayer::try_new(secret.as_bytes(), config)?.with_refusal_page(refusal_page))
}

/// The refusal page in the viewer's frame: a signed-in user keeps the signed-in navigation, and its
/// sign-out form gets a token that works (this session's, or a fresh anonymous cookie's).
fn refusal_page(refused: CsrfRefusal) -> Response {
    let user = refused
        .extensions()
        .get::<Auth<User>>()
        .and_then(|auth| auth.current_user());
    let viewer = match (user, refused.rejection()) {
        (Some(user), _) => Viewer::SignedIn(user.email.clone()),
        // The session store did not answer: neither signed in nor out.
        (None, CsrfRejection::SessionUnavailable) => Viewer::Unknown,
        (None, _) => Viewer::SignedOut,
    };
    let layout = Layout {
        csrf: refused.token().map(|t| t.to_string()).unwrap_or_default(),
        viewer,
        ..Layout::default()
    };
    let rejection = refused.rejection();
    let mut res = views::framed_error_page(
        layout,
        rejection.status(),
        "Request refused",
        message(rejection),
    );
    add_retry_after(rejection, &mut res);
    res
}

/// What the refusal page says.
fn message(rejection: CsrfRejection) -> &'static str {
    match rejection {
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
    }
}

fn add_retry_after(rejection: CsrfRejection, res: &mut Response) {
    if rejection.status() == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(5u32));
    }
}

/// A CSRF refusal, as the demo's error page.
#[derive(Debug, Clone, Copy)]
pub struct CsrfRefused(pub CsrfRejection);

impl From<CsrfRejection> for CsrfRefused {
    fn from(r: CsrfRejection) -> Self {
        CsrfRefused(r)
    }
}

/// Without a request to frame it in (only a missing session layer gets here): the bare error page.
impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        let mut res = views::error_page(self.0.status(), "Request refused", message(self.0));
        add_retry_after(self.0, &mut res);
        res
    }
}
