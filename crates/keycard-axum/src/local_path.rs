//! [`is_local_path`]: whether a `return_to` (or any other "come back here" value) stays on this site.

use url::Url;

/// The origin a candidate path is resolved against. Any fixed origin does: only whether the result keeps
/// it matters, never which one it is (`.invalid` is reserved, RFC 2606).
const OWN_ORIGIN: &str = "https://keycard.invalid/";

/// Whether `p` is a path on this site, safe to send back verbatim as a `Location` (a `return_to` after a
/// sign-in or a password confirmation).
///
/// The rule, in order:
/// 1. it starts with `/` and not with `//` (a scheme-relative URL: another host);
/// 2. every character is printable ASCII (`!` to `~`): no control character, no space or other
///    whitespace, no DEL, nothing outside ASCII, **anywhere**. Browsers silently drop tabs, CR and LF
///    from a URL before they parse it, so `/\t/evil.example` (or `/%09/evil.example` in a query, which
///    the extractor decodes into a tab) reaches the browser as `//evil.example`;
/// 3. no backslash anywhere: browsers read `\` as `/` in http(s) URLs, so `/\evil.example` and
///    `/\/evil.example` are `//evil.example`;
/// 4. resolved against a fixed origin with the WHATWG URL parser (what browsers use), the result has
///    the same origin.
///
/// Percent-encoded bytes stay what they are (`/%2F%2Fevil` is a path on this site: the browser does not
/// decode it before resolving). The empty string, relative paths (`profile`), absolute URLs
/// (`https://evil.example`) and other schemes (`javascript:…`) are refused.
///
/// ```
/// use keycard_axum::is_local_path;
/// assert!(is_local_path("/profile?tab=sessions"));
/// assert!(!is_local_path("//evil.example"));
/// assert!(!is_local_path("/\t/evil.example"));
/// assert!(!is_local_path("/\\evil.example"));
/// ```
pub fn is_local_path(p: &str) -> bool {
    if !p.starts_with('/') || p.starts_with("//") {
        return false;
    }
    if !p.bytes().all(|b| b.is_ascii_graphic()) || p.contains('\\') {
        return false;
    }
    let Ok(own) = Url::parse(OWN_ORIGIN) else {
        return false;
    };
    match own.join(p) {
        Ok(resolved) => resolved.origin() == own.origin(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn paths_on_this_site_are_accepted() {
        for good in [
            "/",
            "/profile",
            "/a?b=c",
            "/sessions?return_to=%2Fprofile",
            "/%2F%2Fevil.example",
            "/%09/evil.example",
            "/a/../b",
            "/..//evil.example",
            "/@evil.example",
            "/#fragment",
        ] {
            assert!(is_local_path(good), "{good:?} is a path on this site");
        }
    }

    #[test]
    fn control_characters_and_whitespace_anywhere_are_refused() {
        for bad in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            "/profile\t",
            "/pro\u{0}file",
            "/pro\u{7f}file",
            "/\u{a0}/evil.example",
            "/\u{2028}/evil.example",
            "/caf\u{e9}",
        ] {
            assert!(!is_local_path(bad), "{bad:?} is refused");
        }
        // What the `Query` and `Form` extractors make of `%09`, `%0A` and `%0D`.
        for encoded in [
            "/%09/evil.example",
            "/%0A/evil.example",
            "/%0D/evil.example",
        ] {
            let decoded: String = form_urlencoded::parse(format!("r={encoded}").as_bytes())
                .map(|(_, v)| v.into_owned())
                .next()
                .expect("one field");
            assert!(!is_local_path(&decoded), "{encoded} decoded is refused");
        }
    }

    #[test]
    fn backslashes_anywhere_are_refused() {
        for bad in [
            "/\\evil.example",
            "/\\/evil.example",
            "/\\\\evil.example",
            "\\\\evil.example",
            "/profile\\x",
            "/profile?next=\\",
        ] {
            assert!(!is_local_path(bad), "{bad:?} is refused");
        }
    }

    #[test]
    fn other_hosts_schemes_and_non_paths_are_refused() {
        for bad in [
            "",
            "profile",
            "./profile",
            "?x=1",
            "#top",
            "//evil.example",
            "///evil.example",
            "https://evil.example",
            "https://evil.example/",
            "http:/evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
        ] {
            assert!(!is_local_path(bad), "{bad:?} is refused");
        }
    }
}
