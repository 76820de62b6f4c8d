//! Timestamps and dates in every form Amazon Pay emits, normalised to UTC.
//!
//! Accepted: `2026-10-01T14:37:01-0700`, `2026-10-01T14:37:01 +0000`,
//! `2026-10-01T14:37:01+07:00`, `2026-10-01T14:37:01Z`, `2026-10-01T14:37:01.123Z`, the API's
//! basic form `20261001T143701Z`, and any of them without an offset (taken as UTC).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Why a timestamp or date could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an ISO 8601 {what}")]
pub struct TimeError {
    pub text: String,
    pub what: &'static str,
}

/// Parses an ISO 8601 timestamp into UTC.
///
/// A strict byte-level parser (this is the ingest hot path; chrono's format interpreter costs
/// several times more); the calendar and clock are validated by chrono.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, TimeError> {
    parse_bytes(text.trim().as_bytes()).ok_or_else(|| TimeError {
        text: text.to_string(),
        what: "timestamp",
    })
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let mut v = 0u32;
    for &b in s.get(at..at + n)? {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(b - b'0');
    }
    Some(v)
}

/// Field offsets (year, month, day, hour, minute, second), required separators (position,
/// accepted bytes), and where the time of day ends.
type Layout = ([usize; 6], &'static [(usize, &'static [u8])], usize);

fn parse_bytes(s: &[u8]) -> Option<DateTime<Utc>> {
    // Offsets of year, month, day, hour, minute, second; the separators each form requires;
    // and where the time ends.
    let (at, seps, end): Layout = if s.get(4) == Some(&b'-') {
        // Extended: 2026-10-01T14:37:01
        (
            [0, 5, 8, 11, 14, 17],
            &[(4, b"-"), (7, b"-"), (10, b"Tt"), (13, b":"), (16, b":")],
            19,
        )
    } else {
        // Basic: 20261001T143701
        ([0, 4, 6, 9, 11, 13], &[(8, b"Tt")], 15)
    };
    if !seps
        .iter()
        .all(|(pos, ok)| s.get(*pos).is_some_and(|c| ok.contains(c)))
    {
        return None;
    }
    let (y, mo, d) = (
        digits(s, at[0], 4)?,
        digits(s, at[1], 2)?,
        digits(s, at[2], 2)?,
    );
    let (h, mi, se) = (
        digits(s, at[3], 2)?,
        digits(s, at[4], 2)?,
        digits(s, at[5], 2)?,
    );
    let mut i = end;
    let mut nanos = 0u32;
    if s.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(s, start, n)? * 10u32.pow(9 - n as u32);
    }
    if s.get(i) == Some(&b' ') && matches!(s.get(i + 1), Some(b'+' | b'-')) {
        i += 1;
    }
    let offset_secs: i32 = match s.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == s.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let hh = digits(s, i + 1, 2)?;
            let mut j = i + 3;
            if s.get(j) == Some(&b':') {
                j += 1;
            }
            let mm = if j == s.len() && s[j - 1] != b':' {
                0
            } else {
                let m = digits(s, j, 2)?;
                j += 2;
                m
            };
            if j != s.len() || hh > 23 || mm > 59 {
                return None;
            }
            let secs = (hh * 3600 + mm * 60) as i32;
            if sign == b'-' { -secs } else { secs }
        }
        Some(_) => return None,
    };
    let date = NaiveDate::from_ymd_opt(y as i32, mo, d)?;
    let time = chrono::NaiveTime::from_hms_nano_opt(h, mi, se, nanos)?;
    let local = NaiveDateTime::new(date, time);
    let offset = FixedOffset::east_opt(offset_secs)?;
    offset
        .from_local_datetime(&local)
        .single()
        .map(|dt| dt.with_timezone(&Utc))
}

/// Parses a calendar date `YYYY-MM-DD` (a local date of the merchant's time zone).
pub fn parse_date(text: &str) -> Result<NaiveDate, TimeError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| TimeError {
        text: text.to_string(),
        what: "date",
    })
}

/// Microseconds since the Unix epoch, as stored in the lake.
pub fn to_micros(ts: DateTime<Utc>) -> i64 {
    ts.timestamp_micros()
}

/// Inverse of [`to_micros`]. Total: an instant beyond chrono's range (±262,000 years, never
/// stored by ingest, but a lake is a file anyone can write) saturates instead of panicking.
pub fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or(if micros < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// Days since the Unix epoch, as stored in the lake's `DATE` columns.
pub fn to_epoch_days(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const EPOCH_FROM_CE: i32 = 719_163;

/// Inverse of [`to_epoch_days`]. Total: days before 1970 are negative, and a day beyond
/// chrono's range saturates instead of panicking.
pub fn from_epoch_days(days: i32) -> NaiveDate {
    days.checked_add(EPOCH_FROM_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .unwrap_or(if days < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// The plausible range of a row's times: no earlier than a configured date (default
/// 2000-01-01) and no later than the time of the run plus a tolerance (default 2 days; a payment
/// cannot come from the future). A time outside it is a rejected row, so one odd row can never
/// move the cut-off or make reports for empty months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// The earliest plausible local date.
    pub earliest: NaiveDate,
    /// The latest plausible instant (the run's clock plus the tolerance), microseconds.
    pub latest_us: i64,
    /// The tolerance in days, for messages.
    pub tolerance_days: u32,
}

/// The default earliest plausible date.
pub const DEFAULT_EARLIEST: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date");
/// The default tolerance for times after the run's clock, in days.
pub const DEFAULT_FUTURE_DAYS: u32 = 2;

impl TimeWindow {
    /// The window for a run at `now`.
    pub fn new(earliest: NaiveDate, now: DateTime<Utc>, tolerance_days: u32) -> Self {
        let latest = now
            .checked_add_signed(chrono::TimeDelta::days(i64::from(tolerance_days)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        TimeWindow {
            earliest,
            latest_us: to_micros(latest),
            tolerance_days,
        }
    }

    /// The defaults, at the current time.
    pub fn now() -> Self {
        TimeWindow::new(DEFAULT_EARLIEST, Utc::now(), DEFAULT_FUTURE_DAYS)
    }

    /// Why an instant is implausible, if it is.
    pub fn check_timestamp(&self, micros: i64) -> Result<i64, String> {
        if micros < to_micros(self.earliest.and_time(chrono::NaiveTime::MIN).and_utc()) {
            return Err(format!(
                "{} is before the earliest plausible date {} (setting ingest.earliest_date)",
                format_timestamp(from_micros(micros)),
                self.earliest
            ));
        }
        if micros > self.latest_us {
            return Err(self.future(&format_timestamp(from_micros(micros))));
        }
        Ok(micros)
    }

    /// Why a local calendar date is implausible, if it is.
    pub fn check_date(&self, date: NaiveDate) -> Result<NaiveDate, String> {
        if date < self.earliest {
            return Err(format!(
                "{date} is before the earliest plausible date {} (setting ingest.earliest_date)",
                self.earliest
            ));
        }
        // A local date: its first moment may be up to 14 hours behind UTC's.
        let latest_day = from_micros(self.latest_us + 14 * 3_600_000_000).date_naive();
        if date > latest_day {
            return Err(self.future(&date.to_string()));
        }
        Ok(date)
    }

    fn future(&self, what: &str) -> String {
        format!(
            "{what} is in the future: later than the time of this run plus {} day{} (setting \
             ingest.future_tolerance_days)",
            self.tolerance_days,
            if self.tolerance_days == 1 { "" } else { "s" }
        )
    }
}

/// Formats a UTC instant the way payrecon writes timestamps: `2026-10-01T14:37:01Z`
/// (with milliseconds only when present).
pub fn format_timestamp(ts: DateTime<Utc>) -> String {
    if ts.timestamp_subsec_micros() == 0 {
        ts.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        ts.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_amazon_pay_form() {
        let cases = [
            ("2026-10-01T14:37:01-0700", "2026-10-01T21:37:01Z"),
            ("2026-10-01T14:37:01 +0000", "2026-10-01T14:37:01Z"),
            ("2026-10-01T14:37:01-0000", "2026-10-01T14:37:01Z"),
            ("2026-10-01T14:37:01+07:00", "2026-10-01T07:37:01Z"),
            ("2026-10-01T14:37:01Z", "2026-10-01T14:37:01Z"),
            ("2026-10-01T14:37:01.123Z", "2026-10-01T14:37:01.123Z"),
            ("20261001T143701Z", "2026-10-01T14:37:01Z"),
            ("2026-10-01T14:37:01", "2026-10-01T14:37:01Z"),
            ("2026-10-01T14:37:01+05", "2026-10-01T09:37:01Z"),
            ("2026-10-01t14:37:01.5+05:30", "2026-10-01T09:07:01.5Z"),
            ("20261001T143701.250Z", "2026-10-01T14:37:01.250Z"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_timestamp(input).unwrap(), utc(want), "{input}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2026-10-01",
            "2026-13-01T00:00:00Z",
            "2026-10-01T25:00:00Z",
            "yesterday",
            "2026-10-01T14:37:01+0",
            "2026-10-01T14:37:01+2500",
            "2026-10-01T14:37:01 PST",
            "2026/10/01T14:37:01Z",
            "2026-10-01T14:37:01.Z",
            "2026-10-01T14:37:01+07:",
            "2026-10-01T14:37:01Zjunk",
            "2026-02-30T00:00:00Z",
            "20261001T1437Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_plausible_window() {
        let w = TimeWindow::new(DEFAULT_EARLIEST, utc("2026-12-02T12:00:00Z"), 2);
        let at = |s: &str| w.check_timestamp(to_micros(parse_timestamp(s).unwrap()));
        assert!(at("2000-01-01T00:00:00Z").is_ok());
        assert!(at("2026-12-04T12:00:00Z").is_ok());
        assert!(at("1999-12-31T23:59:59Z").unwrap_err().contains("earliest"));
        assert!(
            at("1969-07-20T20:17:00Z")
                .unwrap_err()
                .contains("1969-07-20")
        );
        assert!(at("2026-12-04T12:00:01Z").unwrap_err().contains("future"));
        assert!(
            at("9999-12-31T23:59:59Z")
                .unwrap_err()
                .contains("9999-12-31")
        );
        let day = |s: &str| w.check_date(parse_date(s).unwrap());
        assert!(day("2026-12-05").is_ok());
        assert!(day("2026-12-06").is_err());
        assert!(day("0001-01-01").is_err());
        assert!(day("9999-12-31").is_err());
    }

    #[test]
    fn dates_and_round_trips() {
        let d = parse_date("2026-10-01").unwrap();
        assert_eq!(from_epoch_days(to_epoch_days(d)), d);
        assert!(parse_date("01/10/2026").is_err());
        let ts = utc("2026-10-01T14:37:01.123Z");
        assert_eq!(from_micros(to_micros(ts)), ts);
        // Before 1970 and beyond chrono's range: no panic.
        let old = parse_date("1969-12-31").unwrap();
        assert_eq!(to_epoch_days(old), -1);
        assert_eq!(from_epoch_days(-1), old);
        assert_eq!(from_epoch_days(i32::MIN), NaiveDate::MIN);
        assert_eq!(from_epoch_days(i32::MAX), NaiveDate::MAX);
        assert_eq!(from_micros(i64::MIN), DateTime::<Utc>::MIN_UTC);
        assert_eq!(from_micros(i64::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(format_timestamp(ts), "2026-10-01T14:37:01.123Z");
    }
}
