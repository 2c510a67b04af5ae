//! Reading and writing the demo's own small cookies (CSRF, flash). The session cookie is the session
//! layer's business, not this module's.

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};

/// Request cookies larger than this are ignored (a browser sends at most ~4 KiB per cookie).
const MAX_COOKIE_HEADER: usize = 16 * 1024;

/// The value of cookie `name`, if the request carries it exactly once. Two cookies of the same name
/// (a planted duplicate) or a malformed header mean "none": the caller starts afresh rather than guess.
pub fn single(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for value in headers.get_all(header::COOKIE) {
        if value.len() > MAX_COOKIE_HEADER {
            return None;
        }
        let Ok(text) = value.to_str() else { continue };
        for c in Cookie::split_parse(text).flatten() {
            if c.name() == name {
                if found.is_some() {
                    return None;
                }
                found = Some(c.value().to_owned());
            }
        }
    }
    found
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Lax; Path=/`, `Secure` when `secure`, `Max-Age` when given.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age_secs: Option<i64>) -> HeaderValue {
    let mut c = Cookie::build((name.to_owned(), value.to_owned()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure);
    if let Some(secs) = max_age_secs {
        c = c.max_age(cookie::time::Duration::seconds(secs));
    }
    // Names and values are ours (fixed names, base64url values): always a valid header value.
    HeaderValue::from_str(&c.build().to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that removes cookie `name`.
pub fn clear_cookie(name: &str, secure: bool) -> HeaderValue {
    set_cookie(name, "", secure, Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_missing_are_none() {
        let mut h = HeaderMap::new();
        assert_eq!(single(&h, "a"), None);
        h.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        assert_eq!(single(&h, "a").as_deref(), Some("1"));
        h.append(header::COOKIE, HeaderValue::from_static("a=3"));
        assert_eq!(single(&h, "a"), None);
        assert_eq!(single(&h, "b").as_deref(), Some("2"));
    }

    #[test]
    fn set_cookie_has_the_attributes() {
        let v = set_cookie("__Host-x", "v", true, None);
        let s = v.to_str().unwrap();
        assert!(s.contains("HttpOnly") && s.contains("SameSite=Lax") && s.contains("Path=/"));
        assert!(s.contains("Secure"));
        let v = clear_cookie("x", false);
        assert!(v.to_str().unwrap().contains("Max-Age=0"));
    }
}
