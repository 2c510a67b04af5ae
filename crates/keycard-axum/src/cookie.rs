//! Reading the session cookie from a request and writing it on a response (the rules are in the crate
//! docs, "The session cookie").

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use keycard::token::{COOKIE_VALUE_LEN, TAGGED_COOKIE_VALUE_LEN};

use crate::config::CookieConfig;

/// The most bytes of `Cookie` headers the layer reads. A request whose `Cookie` headers are longer in total
/// is treated as anonymous.
pub const MAX_COOKIE_HEADER_BYTES: usize = 16 * 1024;

/// What the request's `Cookie` headers say about the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup<'a> {
    /// No `Cookie` header holds the session cookie.
    Absent,
    /// Exactly one well-shaped session cookie value.
    Found(&'a str),
    /// Something is off: the request is anonymous. It may have carried the session cookie.
    Refused(Refusal),
}

/// Why a request's cookies were refused (for debug logs; never includes a value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Oversized,
    NotUtf8,
    Duplicate,
    Malformed,
}

impl Refusal {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Refusal::Oversized => "cookie headers too large",
            Refusal::NotUtf8 => "cookie header is not UTF-8",
            Refusal::Duplicate => "session cookie sent twice",
            Refusal::Malformed => "session cookie value has the wrong shape",
        }
    }
}

const WS: [char; 2] = [' ', '\t'];

/// Find the session cookie `name` in `headers`. Allocates nothing.
pub(crate) fn lookup<'a>(headers: &'a HeaderMap, name: &str) -> Lookup<'a> {
    lookup_shaped(headers, name, well_shaped)
}

/// [`lookup`] for a cookie of another shape (the remember-me cookie).
pub(crate) fn lookup_shaped<'a>(
    headers: &'a HeaderMap,
    name: &str,
    shaped: fn(&str) -> bool,
) -> Lookup<'a> {
    let mut total = 0usize;
    let mut found: Option<&'a str> = None;
    for header in headers.get_all(COOKIE) {
        total = total.saturating_add(header.len());
        if total > MAX_COOKIE_HEADER_BYTES {
            return Lookup::Refused(Refusal::Oversized);
        }
        let Ok(text) = std::str::from_utf8(header.as_bytes()) else {
            return Lookup::Refused(Refusal::NotUtf8);
        };
        for pair in text.split(';') {
            let Some((n, v)) = pair.split_once('=') else {
                continue;
            };
            if n.trim_matches(WS) != name {
                continue;
            }
            if found.is_some() {
                return Lookup::Refused(Refusal::Duplicate);
            }
            found = Some(v.trim_matches(WS));
        }
    }
    match found {
        None => Lookup::Absent,
        Some(v) if shaped(v) => Lookup::Found(v),
        Some(_) => Lookup::Refused(Refusal::Malformed),
    }
}

/// The shape keycard issues: [`COOKIE_VALUE_LEN`] base64url characters, or [`TAGGED_COOKIE_VALUE_LEN`]
/// for a store that routes by user (see `keycard::token`).
/// A remember-me cookie value: [`keycard::remember::REMEMBER_COOKIE_LEN`] base64url characters.
pub(crate) fn remember_shaped(v: &str) -> bool {
    v.len() == keycard::remember::REMEMBER_COOKIE_LEN
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(crate) fn well_shaped(v: &str) -> bool {
    (v.len() == COOKIE_VALUE_LEN || v.len() == TAGGED_COOKIE_VALUE_LEN)
        // Every byte is looked at (no early exit), so the compiler checks 16 bytes at a time: a fraction of
        // the byte-by-byte `all` on every signed-in request.
        && v.bytes().fold(true, |ok, b| {
            ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_'))
        })
}

/// Builds `Set-Cookie` values for one configuration.
#[derive(Debug, Clone)]
pub(crate) struct CookieWriter {
    /// `"<name>="`.
    prefix: String,
    /// `"; HttpOnly; SameSite=Lax; Path=/[; Secure][; Max-Age=n]"`.
    suffix: String,
    /// The whole removal cookie.
    clear: HeaderValue,
    /// The name the cookie is sent under.
    name: String,
    /// Whether it is `Secure` (and `__Host-`).
    secure: bool,
}

impl CookieWriter {
    /// A writer for a [validated](CookieConfig::validate) configuration.
    pub(crate) fn new(config: &CookieConfig) -> Result<Self, crate::config::CookieConfigError> {
        config.validate()?;
        let name = config.cookie_name();
        let mut base = String::from("; HttpOnly; SameSite=Lax; Path=/");
        if config.secure {
            base.push_str("; Secure");
        }
        let mut suffix = base.clone();
        if let Some(age) = config.max_age {
            suffix.push_str(&format!("; Max-Age={}", age.as_secs()));
        }
        let clear = HeaderValue::try_from(format!("{name}={base}; Max-Age=0")).map_err(|_| {
            crate::config::CookieConfigError("the cookie name is not a valid header value".into())
        })?;
        Ok(CookieWriter {
            prefix: format!("{name}="),
            suffix,
            clear,
            name,
            secure: config.secure,
        })
    }

    /// The same cookie with `SameSite=Strict` (the pending-login cookie: only ever needed on the site's
    /// own navigations).
    pub(crate) fn strict(mut self) -> Self {
        self.suffix = self.suffix.replace("SameSite=Lax", "SameSite=Strict");
        if let Ok(v) = HeaderValue::try_from(
            self.clear
                .to_str()
                .unwrap_or_default()
                .replace("SameSite=Lax", "SameSite=Strict"),
        ) {
            self.clear = v;
        }
        self
    }

    /// The cookie name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Whether the cookie is `Secure` (and `__Host-`).
    pub(crate) fn secure(&self) -> bool {
        self.secure
    }

    /// `Set-Cookie` for a session cookie value. `None` only if `value` is not a valid header value, which a
    /// value from `CookieSigner::encode` always is.
    pub(crate) fn set(&self, value: &str) -> Option<HeaderValue> {
        let mut s = String::with_capacity(self.prefix.len() + value.len() + self.suffix.len());
        s.push_str(&self.prefix);
        s.push_str(value);
        s.push_str(&self.suffix);
        HeaderValue::try_from(s).ok()
    }

    /// `Set-Cookie` that removes the session cookie.
    pub(crate) fn clear(&self) -> HeaderValue {
        self.clear.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(COOKIE, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    fn good() -> String {
        "A".repeat(COOKIE_VALUE_LEN)
    }

    #[test]
    fn finds_one_cookie_among_others_and_across_headers() {
        let v = good();
        let h = headers(&[b"a=1; b=2", format!("theme=dark;  s = {v} ;x=y").as_bytes()]);
        assert_eq!(lookup(&h, "s"), Lookup::Found(v.as_str()));
        assert_eq!(lookup(&h, "t"), Lookup::Absent);
        assert_eq!(lookup(&HeaderMap::new(), "s"), Lookup::Absent);
        // A cookie whose name merely ends with ours is another cookie.
        let h = headers(&[format!("xs={v}").as_bytes()]);
        assert_eq!(lookup(&h, "s"), Lookup::Absent);
        // Nameless and valueless pairs are skipped.
        let h = headers(&[format!("junk; ;=; s={v}").as_bytes()]);
        assert_eq!(lookup(&h, "s"), Lookup::Found(v.as_str()));
    }

    #[test]
    fn refuses_duplicates_malformed_oversized_and_non_utf8() {
        let v = good();
        let dup = headers(&[format!("s={v}").as_bytes(), format!("s={v}").as_bytes()]);
        assert_eq!(lookup(&dup, "s"), Lookup::Refused(Refusal::Duplicate));
        let dup_one = headers(&[format!("s={v}; s=x").as_bytes()]);
        assert_eq!(lookup(&dup_one, "s"), Lookup::Refused(Refusal::Duplicate));
        for bad in [
            "s=".to_string(),
            format!("s={}", &v[1..]),
            format!("s=\"{}\"", &v[2..]),
            format!("s={}*", &v[1..]),
            format!("s={}", "A".repeat(4096)),
        ] {
            let h = headers(&[bad.as_bytes()]);
            assert_eq!(
                lookup(&h, "s"),
                Lookup::Refused(Refusal::Malformed),
                "{bad}"
            );
        }
        let big = format!("s={v}; pad={}", "x".repeat(MAX_COOKIE_HEADER_BYTES));
        assert_eq!(
            lookup(&headers(&[big.as_bytes()]), "s"),
            Lookup::Refused(Refusal::Oversized)
        );
        let mut raw = format!("s={v}; other=").into_bytes();
        raw.extend_from_slice(&[0xff, 0xfe]);
        assert_eq!(
            lookup(&headers(&[&raw]), "s"),
            Lookup::Refused(Refusal::NotUtf8)
        );
    }

    #[test]
    fn writes_attributes() {
        let w = CookieWriter::new(&CookieConfig::insecure_for_localhost()).unwrap();
        assert_eq!(
            w.set("abc").unwrap(),
            "keycard_session=abc; HttpOnly; SameSite=Lax; Path=/"
        );
        assert_eq!(
            w.clear(),
            "keycard_session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
        let w = CookieWriter::new(&CookieConfig {
            secure: true,
            max_age: Some(std::time::Duration::from_secs(3600)),
            ..CookieConfig::default()
        })
        .unwrap();
        assert_eq!(
            w.set("abc").unwrap(),
            "__Host-keycard_session=abc; HttpOnly; SameSite=Lax; Path=/; Secure; Max-Age=3600"
        );
        assert_eq!(
            w.clear(),
            "__Host-keycard_session=; HttpOnly; SameSite=Lax; Path=/; Secure; Max-Age=0"
        );
        assert!(w.set("bad\nvalue").is_none());
    }
}
