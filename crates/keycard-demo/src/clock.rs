//! The one clock the whole app reads: the credentials cache, the database timestamps, the login throttle
//! and the plan job. Tests inject a [`keycard::ManualClock`] so a trial can end without waiting.

use std::sync::Arc;

use keycard::{Clock, SystemClock, Timestamp};

/// A shareable [`Clock`].
#[derive(Clone)]
pub struct AppClock(Arc<dyn Clock>);

impl AppClock {
    /// Wrap a clock.
    pub fn new(clock: impl Clock) -> Self {
        AppClock(Arc::new(clock))
    }

    /// The wall clock.
    pub fn system() -> Self {
        AppClock::new(SystemClock)
    }

    /// Now, in unix seconds (the database's unit).
    pub fn now_secs(&self) -> i64 {
        i64::try_from(self.0.now().as_unix_secs()).unwrap_or(i64::MAX)
    }
}

impl Clock for AppClock {
    fn now(&self) -> Timestamp {
        self.0.now()
    }
}

impl std::fmt::Debug for AppClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppClock")
    }
}

/// `2026-01-02 15:04:05 UTC` for unix seconds (proleptic Gregorian, no time-zone database needed).
pub fn format_utc(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let rem = unix_secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// `2026-01-02T15:04:05Z` (RFC 3339, for `<time datetime=…>`) for unix seconds.
pub fn format_rfc3339(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let rem = unix_secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 -> (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_767_225_599), "2025-12-31 23:59:59 UTC");
        assert_eq!(format_utc(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
    }
}
