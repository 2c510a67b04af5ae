//! The middleware: check unsafe requests, hand every request its token, set the cookie when missing.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::web::csrf::token::{Csrf, CsrfToken, HEADER};
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
                None => return refuse(CsrfFailure::Random),
            },
        }
    } else {
        match check(&csrf, cookie, req).await {
            Ok((req, token)) => (req, token, None),
            Err(f) => return refuse(f),
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

fn refuse(f: CsrfFailure) -> Response {
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
    views::error_page(status, "Request refused", message).into_response()
}
