//! Instants: UTC, RFC 3339 on the wire, month arithmetic that clamps to the month's end.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};

/// A point in time, always UTC.
pub type Instant = DateTime<Utc>;

/// Parses an RFC 3339 time with any offset or fractional seconds, converted to UTC: exactly
/// what chrono's `DateTime::parse_from_rfc3339` accepts (the tests check both against each
/// other), read here because chrono's parser and its offset scanner were 0.8 KB of the gzipped
/// WebAssembly module with its formatter (issue 13). That is `YYYY-MM-DD`, `T`, `t` or a space,
/// `hh:mm:ss` (a second of 60 is a leap second), an optional `.` and one or more digits (the
/// first nine count), then `Z`, `z` or a sign (`+`, `-` or U+2212) and `hh:mm` below 24 hours;
/// nothing after it.
pub fn parse_instant(text: &str) -> Option<Instant> {
    let b = text.as_bytes();
    let digit = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u32::from(c - b'0'))
    };
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    let year = two(0)? * 100 + two(2)?;
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| b.get(i) != Some(&c))
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, two(5)?, two(8)?)?;
    let (second, leap) = match two(17)? {
        60 => (59, 1_000_000_000),
        s => (s, 0),
    };
    let mut at = 19;
    let mut nano = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let digits = b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for i in 0..9 {
            nano = nano * 10 + if i < digits { digit(at + i)? } else { 0 };
        }
        at += digits;
    }
    let time = NaiveTime::from_hms_nano_opt(two(11)?, two(14)?, second, nano + leap)?;
    let rest = &b[at..];
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        _ => {
            let (negative, hhmm) = match rest {
                [b'+', hhmm @ ..] => (false, hhmm),
                [b'-', hhmm @ ..] => (true, hhmm),
                // U+2212 MINUS SIGN
                [0xE2, 0x88, 0x92, hhmm @ ..] => (true, hhmm),
                _ => return None,
            };
            let [h1, h2, b':', m1 @ b'0'..=b'5', m2] = *hhmm else {
                return None;
            };
            let value = |c: u8| c.is_ascii_digit().then(|| i32::from(c - b'0'));
            let seconds =
                (value(h1)? * 10 + value(h2)?) * 3600 + (value(m1)? * 10 + value(m2)?) * 60;
            if negative { -seconds } else { seconds }
        }
    };
    let local = date.and_time(time);
    let zone = FixedOffset::east_opt(offset)?;
    Some(
        zone.from_local_datetime(&local)
            .single()?
            .with_timezone(&Utc),
    )
}

/// Formats as RFC 3339 in UTC with `Z`; fractional seconds only when they are not zero
/// (in groups of 3, 6 or 9 digits): what chrono's `to_rfc3339_opts(SecondsFormat::AutoSi,
/// true)` writes (the tests check both against each other).
pub fn format_instant(t: &Instant) -> String {
    fn two(out: &mut String, n: u32) {
        out.push(char::from(b'0' + (n / 10 % 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    }
    let mut out = String::with_capacity(30);
    let year = t.year();
    match u32::try_from(year) {
        Ok(y) if y <= 9999 => {
            two(&mut out, y / 100);
            two(&mut out, y % 100);
        }
        // ISO 8601's sign for years outside 0000 – 9999, as chrono writes them.
        _ => out.push_str(&format!("{year:+05}")),
    }
    let (mut second, mut nano) = (t.second(), t.nanosecond());
    if nano >= 1_000_000_000 {
        // A leap second.
        second += 1;
        nano -= 1_000_000_000;
    }
    for (separator, n) in [
        ('-', t.month()),
        ('-', t.day()),
        ('T', t.hour()),
        (':', t.minute()),
        (':', second),
    ] {
        out.push(separator);
        two(&mut out, n);
    }
    let digits = match nano {
        0 => 0,
        n if n % 1_000_000 == 0 => 3,
        n if n % 1_000 == 0 => 6,
        _ => 9,
    };
    if digits > 0 {
        out.push('.');
        let mut scale = 100_000_000;
        for _ in 0..digits {
            out.push(char::from(b'0' + (nano / scale % 10) as u8));
            scale /= 10;
        }
    }
    out.push('Z');
    out
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

    /// chrono's reading, the reference `parse_instant` must agree with.
    fn chrono_parse(text: &str) -> Option<Instant> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    #[test]
    fn reads_the_edges_as_chrono_does() {
        // Proves leap seconds, lower-case and space separators, U+2212 offsets, long fractions and each kind of malformed text read as chrono reads them.
        for text in [
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5+01:00",
            "2026-02-02t10:00:00z",
            "2026-02-02 10:00:00Z",
            "2026-02-02T10:00:00\u{2212}05:30",
            "2026-02-02T10:00:00.1234567891234Z",
            "0000-01-01T00:00:00+23:59",
            "9999-12-31T23:59:59.999999999-23:59",
            "2026-02-02T10:00:00+24:00",
            "2026-02-02T10:00:00+05:60",
            "2026-02-02T10:00:00+0530",
            "2026-02-02T10:00:00+05",
            "2026-02-02T10:00:00.Z",
            "2026-02-02T10:00:00",
            "2026-02-02T10:00:61Z",
            "2026-02-02T24:00:00Z",
            "2026-13-02T10:00:00Z",
            "+2026-02-02T10:00:00Z",
            "2026-02-02T10:00:00ZZ",
            "2026-02-02T10:00:00\u{e9}",
            "",
        ] {
            assert_eq!(parse_instant(text), chrono_parse(text), "{text:?}");
        }
    }

    // proptest is a native dev-dependency only; the WebAssembly tests run the cases above.
    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use proptest::strategy::Strategy;

        use super::*;

        proptest::proptest! {
            #[test]
            fn reads_what_chrono_reads(
                year in 0u32..10_000, month in 0u32..14, day in 0u32..33, hour in 0u32..25,
                minute in 0u32..61, second in 0u32..62, fraction in "(\\.[0-9]{0,12})?",
                offset in "[Zz]|[-+\u{2212}][0-9]{2}:[0-9]{2}|[-+][0-9]{1,4}",
                edits in proptest::collection::vec((0usize..40, 0u8..4, "[0-9TtZz:.+ -]"), 0..3),
            ) {
                // Proves that near-valid times, and the same times with a few characters replaced, inserted or removed, read exactly as chrono's RFC 3339 parser reads them.
                let mut text = format!(
                    "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}{offset}"
                );
                for (at, how, with) in edits {
                    let at = text.char_indices().map(|(i, _)| i).nth(at).unwrap_or(text.len());
                    match how {
                        0 => text.insert_str(at, &with),
                        1 if at < text.len() => {
                            text.remove(at);
                        }
                        _ if at < text.len() => {
                            text.remove(at);
                            text.insert_str(at, &with);
                        }
                        _ => {}
                    }
                }
                proptest::prop_assert_eq!(parse_instant(&text), chrono_parse(&text), "{:?}", text);
            }

            #[test]
            fn writes_what_chrono_writes(
                seconds in -70_000_000_000i64..260_000_000_000,
                nanos in proptest::prop_oneof![
                    proptest::strategy::Just(0u32),
                    (0u32..1000).prop_map(|n| n * 1_000_000),
                    (0u32..1_000_000).prop_map(|n| n * 1_000),
                    0u32..1_000_000_000,
                ],
                leap in proptest::bool::ANY,
            ) {
                // Proves format_instant writes what chrono's to_rfc3339_opts(AutoSi, true) writes, for years from about -250 to 10,200 (signed outside 0000 – 9999), every precision of fraction, and leap seconds.
                let (seconds, nanos) = if leap { (seconds - seconds.rem_euclid(60) + 59, nanos + 1_000_000_000) } else { (seconds, nanos) };
                let t = DateTime::from_timestamp(seconds, nanos).unwrap();
                proptest::prop_assert_eq!(
                    format_instant(&t),
                    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                );
            }
        }
    }
}
