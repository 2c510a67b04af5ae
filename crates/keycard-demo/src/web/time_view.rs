//! Times as pages show them: "2 minutes ago", "in 25 minutes", with the exact time for `title` and
//! `datetime` (`<time datetime="2026-01-02T15:04:05Z" title="2026-01-02 15:04:05 UTC">2 minutes ago</time>`).

use crate::clock::{format_rfc3339, format_utc};

/// One instant, ready for a `<time>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeView {
    /// RFC 3339, for the `datetime` attribute.
    pub datetime: String,
    /// `2026-01-02 15:04:05 UTC`, for the `title` (shown on hover).
    pub exact: String,
    /// Relative to now: "just now", "3 minutes ago", "in 2 hours".
    pub relative: String,
}

impl TimeView {
    /// `at` (unix seconds) seen from `now`.
    pub fn new(at: i64, now: i64) -> Self {
        TimeView {
            datetime: format_rfc3339(at),
            exact: format_utc(at),
            relative: relative(at, now),
        }
    }
}

/// "just now", "1 minute ago", "5 hours ago", "in 29 minutes", "in 3 days".
pub fn relative(at: i64, now: i64) -> String {
    let delta = at.saturating_sub(now);
    let secs = delta.unsigned_abs();
    if secs < 60 {
        return if delta <= 0 {
            "just now".to_owned()
        } else {
            "in less than a minute".to_owned()
        };
    }
    let (n, unit) = if secs < 3600 {
        (secs / 60, "minute")
    } else if secs < 86_400 {
        (secs / 3600, "hour")
    } else {
        (secs / 86_400, "day")
    };
    let amount = format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if delta < 0 {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_a_person_would_say_it() {
        let now = 1_767_225_600;
        assert_eq!(relative(now, now), "just now");
        assert_eq!(relative(now - 59, now), "just now");
        assert_eq!(relative(now + 30, now), "in less than a minute");
        assert_eq!(relative(now - 60, now), "1 minute ago");
        assert_eq!(relative(now - 150, now), "2 minutes ago");
        assert_eq!(relative(now + 29 * 60 + 59, now), "in 29 minutes");
        assert_eq!(relative(now - 3600, now), "1 hour ago");
        assert_eq!(relative(now + 8 * 3600, now), "in 8 hours");
        assert_eq!(relative(now - 3 * 86_400, now), "3 days ago");
        let t = TimeView::new(now - 120, now);
        assert_eq!(t.datetime, "2025-12-31T23:58:00Z");
        assert_eq!(t.exact, "2025-12-31 23:58:00 UTC");
        assert_eq!(t.relative, "2 minutes ago");
    }
}
