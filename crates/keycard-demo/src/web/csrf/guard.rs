//! The middleware: check unsafe requests, hand every request its token, set the cookie when missing.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use keycard_axum::MaybeUser;

use crate::domain::users::User;
use crate::web::csrf::token::{Csrf, CsrfToken, HEADER};
use crate::web::layout::{Layout, Viewer};
use crate::web::views;

/// Largest form body the guard buffers to find the token.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfFailure {
    /// `Sec-Fetch-Site: cross-site`.
    CrossSite,
    /// No token, or one that does not match the cookie.
    BadToken,
    /// The form body is larger than the guard reads.
    TooLarge,
    /// The random generator failed.
    Random,
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

#[derive(serde::Deserialize)]
struct TokenField {
    #[serde(rename = "_csrf_token")]
    token: Option<String>,
}

/// The middleware: check unsafe requests, hand every request its token, set the cookie when missing.
pub async fn guard(State(csrf): State<Arc<Csrf>>, req: Request, next: Next) -> Response {
    let cookie = csrf.cookie_value(req.headers());
    let (req, token, new_cookie) = if is_safe(req.method()) {
        match cookie {
            Some(v) => {
                let token = csrf.token_for(&v);
                (req, token, None)
            }
            None => match csrf.fresh() {
                Some((value, token)) => (req, token, Some(value)),
                None => return refuse(&csrf, None, viewer_of(req).await.1, CsrfFailure::Random),
            },
        }
    } else {
        let (req, viewer) = viewer_of(req).await;
        match check(&csrf, cookie.clone(), req).await {
            Ok((req, token)) => (req, token, None),
            Err(f) => return refuse(&csrf, cookie, viewer, f),
        }
    };
    let mut req = req;
    req.extensions_mut().insert(CsrfToken(token));
    let mut res = next.run(req).await;
    if let Some(value) = new_cookie {
        res.headers_mut()
            .append(header::SET_COOKIE, csrf.set_cookie(&value));
    }
    res
}

async fn check(
    csrf: &Csrf,
    cookie: Option<String>,
    req: Request,
) -> Result<(Request, String), CsrfFailure> {
    let cross_site = req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site {
        return Err(CsrfFailure::CrossSite);
    }
    let cookie = cookie.ok_or(CsrfFailure::BadToken)?;
    if let Some(t) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if csrf.verify(&cookie, t) {
            Ok((req, csrf.token_for(&cookie)))
        } else {
            Err(CsrfFailure::BadToken)
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(CsrfFailure::BadToken);
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| CsrfFailure::TooLarge)?;
    let field: TokenField =
        serde_urlencoded::from_bytes(&bytes).map_err(|_| CsrfFailure::BadToken)?;
    match field.token {
        Some(t) if csrf.verify(&cookie, &t) => Ok((
            Request::from_parts(parts, Body::from(bytes)),
            csrf.token_for(&cookie),
        )),
        _ => Err(CsrfFailure::BadToken),
    }
}

/// Who sent the request, for the refusal page's frame (a signed-in user keeps the signed-in navigation).
async fn viewer_of(req: Request) -> (Request, Viewer) {
    let (mut parts, body) = req.into_parts();
    let viewer = match MaybeUser::<User>::from_request_parts(&mut parts, &()).await {
        Ok(MaybeUser(Some(user))) => Viewer::SignedIn(user.email.clone()),
        Ok(MaybeUser(None)) => Viewer::SignedOut,
        Err(_) => Viewer::Unknown,
    };
    (Request::from_parts(parts, body), viewer)
}

/// The refusal page, in the viewer's frame. Its sign-out form gets a token that works: the request's CSRF
/// cookie's, or a fresh cookie's (set on the response) when the request had none.
fn refuse(csrf: &Csrf, cookie: Option<String>, viewer: Viewer, f: CsrfFailure) -> Response {
    let (status, message) = match f {
        CsrfFailure::CrossSite => (
            StatusCode::FORBIDDEN,
            "This request came from another site and was refused.",
        ),
        CsrfFailure::BadToken => (
            StatusCode::FORBIDDEN,
            "The form's security token is missing or out of date. Go back, reload the page and try again.",
        ),
        CsrfFailure::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form is too large.",
        ),
        CsrfFailure::Random => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server could not generate a security token. Try again.",
        ),
    };
    tracing::info!(reason = ?f, "state-changing request refused by the CSRF guard");
    let (token, new_cookie) = match cookie {
        Some(value) => (csrf.token_for(&value), None),
        None => match csrf.fresh() {
            Some((value, token)) => (token, Some(value)),
            None => (String::new(), None),
        },
    };
    let layout = Layout {
        csrf: token,
        viewer,
        ..Layout::default()
    };
    let mut res = views::framed_error_page(layout, status, "Request refused", message);
    if let Some(value) = new_cookie {
        res.headers_mut()
            .append(header::SET_COOKIE, csrf.set_cookie(&value));
    }
    res
}
