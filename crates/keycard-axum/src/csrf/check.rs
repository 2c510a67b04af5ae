//! The checks on a state-changing request, cheapest first: `Sec-Fetch-Site`, `Origin` / `Referer`, then
//! the token (header, or the form field of a bounded, buffered body that the handler still gets).

use axum::body::{to_bytes, Body};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN, REFERER};
use http::{HeaderMap, Method, Request};

use crate::csrf::config::{Checked, CSRF_FORM_FIELD, CSRF_HEADER};
use crate::csrf::origin::Origin;
use crate::csrf::rejection::CsrfRejection;

/// GET, HEAD, OPTIONS and TRACE change nothing (the app must keep it so); every other method is checked.
pub(crate) fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// `Sec-Fetch-Site`, then `Origin` (or, without it, `Referer`).
pub(crate) fn check_headers(
    config: &Checked,
    headers: &HeaderMap,
    authority: Option<&str>,
) -> Result<(), CsrfRejection> {
    let mut fetch_sites = headers.get_all("sec-fetch-site").iter();
    if let Some(site) = fetch_sites.next() {
        let site = site.as_bytes();
        let ok = site.eq_ignore_ascii_case(b"same-origin")
            || site.eq_ignore_ascii_case(b"none")
            || (config.same_site && site.eq_ignore_ascii_case(b"same-site"));
        if !ok || fetch_sites.next().is_some() {
            return Err(CsrfRejection::CrossSite);
        }
    }
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or(authority);
    let claimed = match single(headers, &ORIGIN)? {
        Some(origin) => Origin::parse(origin),
        None => match single(headers, &REFERER)? {
            Some(referer) => Origin::of_url(referer),
            None if config.origin_required => return Err(CsrfRejection::MissingOrigin),
            None => return Ok(()),
        },
    };
    match claimed {
        Some(origin) if config.allowed.allows(&origin, host) => Ok(()),
        // `Origin: null`, a malformed value, another site.
        _ => Err(CsrfRejection::ForeignOrigin),
    }
}

/// The one value of header `name`, if any; two values (or a non-ASCII one) are a foreign origin.
fn single<'a>(
    headers: &'a HeaderMap,
    name: &http::HeaderName,
) -> Result<Option<&'a str>, CsrfRejection> {
    let mut all = headers.get_all(name).iter();
    match (all.next(), all.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v
            .to_str()
            .map(Some)
            .map_err(|_| CsrfRejection::ForeignOrigin),
        (Some(_), Some(_)) => Err(CsrfRejection::ForeignOrigin),
    }
}

/// The token the request presents: the `X-CSRF-Token` header, else the `_csrf_token` field of an
/// `application/x-www-form-urlencoded` body, read up to `max` bytes and put back for the handler.
pub(crate) async fn presented_token(
    req: Request<Body>,
    max: usize,
) -> Result<(Request<Body>, Option<String>), CsrfRejection> {
    if let Some(v) = req.headers().get(CSRF_HEADER) {
        let token = v.to_str().map_err(|_| CsrfRejection::InvalidToken)?;
        let token = token.to_owned();
        return Ok((req, Some(token)));
    }
    if !is_form(req.headers()) {
        return Ok((req, None));
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(CsrfRejection::FormTooLarge);
    }
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, max).await {
        Ok(b) => b,
        Err(e) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            return Err(if too_large {
                CsrfRejection::FormTooLarge
            } else {
                CsrfRejection::UnreadableBody
            });
        }
    };
    let token = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FORM_FIELD)
        .map(|(_, v)| v.into_owned());
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}
