//! Friendly device names for the sessions page: "Chrome on Linux", "Safari on iPhone", from the
//! `User-Agent` a session was created with. A string it does not recognise is shown as it is (shortened).

/// Longest raw user agent shown when it is not recognised.
const MAX_RAW_CHARS: usize = 60;

/// "Chrome on Linux", "Firefox on Windows", "curl"; the raw string (shortened) when unrecognised;
/// "Unknown device" when there was none.
pub fn device_name(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else {
        return "Unknown device".to_owned();
    };
    match (browser(ua), os(ua)) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, _) => shorten(ua),
    }
}

fn browser(ua: &str) -> Option<&'static str> {
    // Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
    const BROWSERS: [(&str, &str); 12] = [
        ("Edg/", "Edge"),
        ("EdgiOS/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("FxiOS/", "Firefox"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("CriOS/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("curl/", "curl"),
        ("Wget/", "Wget"),
    ];
    if let Some((_, name)) = BROWSERS.iter().find(|(token, _)| ua.contains(token)) {
        return Some(name);
    }
    (ua.contains("Safari/") && ua.contains("Version/")).then_some("Safari")
}

fn os(ua: &str) -> Option<&'static str> {
    // Order matters: iOS says "like Mac OS X", Android says "Linux".
    const SYSTEMS: [(&str, &str); 8] = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Macintosh", "macOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    SYSTEMS
        .iter()
        .find(|(token, _)| ua.contains(token))
        .map(|(_, name)| *name)
}

fn shorten(ua: &str) -> String {
    if ua.chars().count() <= MAX_RAW_CHARS {
        return ua.to_owned();
    }
    let mut s: String = ua.chars().take(MAX_RAW_CHARS - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_have_names() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome on Linux"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "Headless Chrome on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge on Windows"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari on macOS"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iPhone"),
            ("Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0", "Firefox on Android"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0", "Firefox on Windows"),
            ("curl/8.5.0", "curl"),
        ];
        for (ua, name) in cases {
            assert_eq!(device_name(Some(ua)), name, "{ua}");
        }
    }

    #[test]
    fn unknown_agents_are_shown_as_they_are_shortened() {
        assert_eq!(device_name(Some("UA-one")), "UA-one");
        assert_eq!(device_name(None), "Unknown device");
        assert_eq!(device_name(Some("  ")), "Unknown device");
        let long = "x".repeat(200);
        let shown = device_name(Some(&long));
        assert_eq!(shown.chars().count(), MAX_RAW_CHARS);
        assert!(shown.ends_with('…'));
    }
}
