//! Instants: UTC, RFC 3339 on the wire, month arithmetic that clamps to the month's end.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, TimeZone, Utc};

/// A point in time, always UTC.
pub type Instant = DateTime<Utc>;

/// Parses an RFC 3339 time with any offset or fractional seconds, converted to UTC.
pub fn parse_instant(text: &str) -> Option<Instant> {
    DateTime::parse_from_rfc3339(text.trim_end_matches(char::is_whitespace))
        .ok()
        .filter(|_| !text.ends_with(char::is_whitespace))
        .map(|t| t.with_timezone(&Utc))
}

/// Formats as RFC 3339 in UTC with `Z`; fractional seconds only when they are not zero
/// (in groups of 3, 6 or 9 digits).
pub fn format_instant(t: &Instant) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `t` plus `months` calendar months, clamped to the last day of the target month and keeping
/// the time of day (Jan 31 + 1 month = Feb 28, or Feb 29 in a leap year). `None` when the
/// result is outside the representable range.
pub fn add_months(t: &Instant, months: i64) -> Option<Instant> {
    let month_index = i64::from(t.year())
        .checked_mul(12)?
        .checked_add(i64::from(t.month0()))?
        .checked_add(months)?;
    let year = i32::try_from(month_index.div_euclid(12)).ok()?;
    let month = u32::try_from(month_index.rem_euclid(12)).ok()? + 1;
    let day = t.day().min(days_in_month(year, month)?);
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    Some(Utc.from_utc_datetime(&date.and_time(t.time())))
}

fn days_in_month(year: i32, month: u32) -> Option<u32> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    u32::try_from(next.signed_duration_since(first).num_days()).ok()
}

/// Calendar months from `from`'s month to `to`'s month, ignoring days (a first guess for
/// cycle arithmetic, corrected by the caller).
pub(crate) fn month_distance(from: &Instant, to: &Instant) -> i64 {
    (i64::from(to.year()) - i64::from(from.year())) * 12 + i64::from(to.month0())
        - i64::from(from.month0())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Instant {
        parse_instant(s).expect("valid test instant")
    }

    #[test]
    fn month_end_clamps_and_keeps_time() {
        // Proves Jan 31 + 1 month clamps to Feb 28 (Feb 29 in a leap year) at the same time of day.
        assert_eq!(
            add_months(&t("2026-01-31T09:00:00Z"), 1),
            Some(t("2026-02-28T09:00:00Z"))
        );
        assert_eq!(
            add_months(&t("2028-01-31T09:00:00Z"), 1),
            Some(t("2028-02-29T09:00:00Z"))
        );
        assert_eq!(
            add_months(&t("2028-02-29T00:00:00Z"), 12),
            Some(t("2029-02-28T00:00:00Z"))
        );
        assert_eq!(
            add_months(&t("2026-01-31T09:00:00Z"), -2),
            Some(t("2025-11-30T09:00:00Z"))
        );
    }

    #[test]
    fn parses_offsets_and_formats_utc() {
        // Proves offsets convert to UTC and fractions print only when not zero.
        assert_eq!(
            format_instant(&t("2026-02-02T12:00:00+02:00")),
            "2026-02-02T10:00:00Z"
        );
        assert_eq!(
            format_instant(&t("2026-02-02T10:00:00.500Z")),
            "2026-02-02T10:00:00.500Z"
        );
        assert_eq!(
            format_instant(&t("2026-02-02T10:00:00.000Z")),
            "2026-02-02T10:00:00Z"
        );
        assert!(parse_instant("2026-02-30T10:00:00Z").is_none());
        assert!(parse_instant("yesterday").is_none());
        assert!(parse_instant("2026-02-02T10:00:00Z ").is_none());
    }
}
