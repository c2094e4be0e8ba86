//! Chain time as text: milliseconds since the Unix epoch rendered as UTC ISO-8601.
//!
//! Integer arithmetic only (the proleptic Gregorian calendar), so no date crate is needed and the
//! output is the same on every machine.

use std::time::{SystemTime, UNIX_EPOCH};

/// Renders `ms` (milliseconds since 1970-01-01T00:00:00Z) as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
///
/// ```
/// assert_eq!(vchain_wallet::time::format_utc_ms(0), "1970-01-01T00:00:00.000Z");
/// assert_eq!(vchain_wallet::time::format_utc_ms(1_704_067_200_123), "2024-01-01T00:00:00.123Z");
/// ```
pub fn format_utc_ms(ms: u64) -> String {
    let millis = ms % 1000;
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The current wall-clock time as milliseconds since the Unix epoch (0 if the clock is before
/// 1970, which only a broken machine reports).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Year, month (1-12) and day (1-31) of the day `days` after 1970-01-01.
/// Howard Hinnant's `civil_from_days`, restricted to dates on or after the epoch.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(format_utc_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_utc_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_utc_ms(951_868_799_999), "2000-02-29T23:59:59.999Z");
        assert_eq!(format_utc_ms(1_709_164_800_000), "2024-02-29T00:00:00.000Z");
        assert_eq!(format_utc_ms(1_735_689_599_000), "2024-12-31T23:59:59.000Z");
        assert_eq!(format_utc_ms(4_102_444_800_000), "2100-01-01T00:00:00.000Z");
    }

    #[test]
    fn every_day_increments_by_one() {
        // Walk 500 years day by day and check the calendar never skips or repeats a day.
        let (mut py, mut pm, mut pd) = civil_from_days(0);
        for days in 1..(500 * 366) {
            let (y, m, d) = civil_from_days(days);
            let next_ok = (y == py && m == pm && d == pd + 1)
                || (y == py && m == pm + 1 && d == 1)
                || (y == py + 1 && m == 1 && d == 1 && pm == 12);
            assert!(next_ok, "{py}-{pm}-{pd} -> {y}-{m}-{d}");
            (py, pm, pd) = (y, m, d);
        }
    }
}
