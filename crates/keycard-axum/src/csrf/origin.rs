//! Origins: `scheme://host[:port]`, parsed strictly and compared normalized (lower case, default port
//! made explicit), from the configuration, an `Origin` header, a `Referer` or a `Host` header.

/// A web origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: Scheme,
    host: String,
    port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl Origin {
    /// An origin exactly: `scheme://host[:port]`, nothing after it (the form of the `Origin` header and of
    /// the configuration). `null` and anything else is `None`.
    pub(crate) fn parse(s: &str) -> Option<Origin> {
        let (scheme, rest) = split_scheme(s)?;
        let (host, port) = authority(rest, scheme)?;
        Some(Origin { scheme, host, port })
    }

    /// The origin of a URL (a `Referer`): what comes before its path, query or fragment.
    pub(crate) fn of_url(url: &str) -> Option<Origin> {
        let (scheme, rest) = split_scheme(url)?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (host, port) = authority(&rest[..end], scheme)?;
        Some(Origin { scheme, host, port })
    }

    pub(crate) fn is_https(&self) -> bool {
        self.scheme == Scheme::Https
    }

    /// Whether this origin's host and port are the ones a `Host` header (or request authority) names: a
    /// `Host` without a port means this origin's default port.
    pub(crate) fn matches_host(&self, host_header: &str) -> bool {
        authority(host_header, self.scheme)
            .is_some_and(|(host, port)| host == self.host && port == self.port)
    }
}

fn split_scheme(s: &str) -> Option<(Scheme, &str)> {
    let (scheme, rest) = s.split_once("://")?;
    let scheme = if scheme.eq_ignore_ascii_case("https") {
        Scheme::Https
    } else if scheme.eq_ignore_ascii_case("http") {
        Scheme::Http
    } else {
        return None;
    };
    Some((scheme, rest))
}

/// `host[:port]` (a `[v6]` host included), lower-cased, with the port made explicit. No user info, no
/// empty host, nothing but host characters.
fn authority(s: &str, scheme: Scheme) -> Option<(String, u16)> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (inside, after) = v6.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        if inside.is_empty() || !inside.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return None;
        }
        (&s[..inside.len() + 2], port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let host_ok = !host.is_empty()
        && (host.starts_with('[')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_'));
    if !host_ok {
        return None;
    }
    let port = match port {
        None => scheme.default_port(),
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse().ok()?
        }
        Some(_) => return None,
    };
    Some((host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_strictly_and_compare_normalized() {
        let a = Origin::parse("https://App.Example").unwrap();
        assert_eq!(a, Origin::parse("https://app.example:443").unwrap());
        assert_ne!(a, Origin::parse("http://app.example").unwrap());
        assert_ne!(a, Origin::parse("https://app.example:8443").unwrap());
        assert_ne!(a, Origin::parse("https://evil.app.example").unwrap());
        assert_eq!(
            Origin::parse("http://[::1]:4000").unwrap(),
            Origin::parse("http://[::1]:4000").unwrap()
        );
        for bad in [
            "null",
            "",
            "app.example",
            "https://",
            "https://app.example/",
            "https://app.example/path",
            "https://user@app.example",
            "https://app.example:",
            "https://app.example:99999",
            "https://app.example:80a",
            "ftp://app.example",
            "https://app example",
            "https://[zz]:1",
            "https://[::1",
        ] {
            assert_eq!(Origin::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_origin_of_a_referer_is_what_precedes_its_path() {
        let a = Origin::parse("https://app.example").unwrap();
        for url in [
            "https://app.example/plan/edit?x=1",
            "https://app.example",
            "https://APP.example:443/#top",
            "https://app.example?q",
        ] {
            assert_eq!(Origin::of_url(url).as_ref(), Some(&a), "{url}");
        }
        assert_ne!(
            Origin::of_url("https://app.example.evil.example/").as_ref(),
            Some(&a)
        );
        assert_eq!(Origin::of_url("https://user:pw@app.example/"), None);
        assert_eq!(Origin::of_url("/relative"), None);
    }

    #[test]
    fn host_headers_match_with_the_default_port() {
        let a = Origin::parse("https://app.example").unwrap();
        assert!(a.matches_host("app.example"));
        assert!(a.matches_host("APP.example:443"));
        assert!(!a.matches_host("app.example:8443"));
        assert!(!a.matches_host("evil.example"));
        let local = Origin::parse("http://127.0.0.1:4000").unwrap();
        assert!(local.matches_host("127.0.0.1:4000"));
        assert!(!local.matches_host("127.0.0.1"));
    }
}
