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
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, TimeError> {
    let err = || TimeError {
        text: text.to_string(),
        what: "timestamp",
    };
    let s = text.trim();
    if s.len() < 15 || !s.is_ascii() {
        return Err(err());
    }
    // Split the local part from the offset: the offset starts at 'Z' or at a sign after the time.
    let t_pos = s.find(['T', 't']).ok_or_else(err)?;
    let (local, offset) = match s[t_pos..].find(['Z', 'z', '+', '-']) {
        Some(i) => s.split_at(t_pos + i),
        None => (s, ""),
    };
    let local = local.trim_end();
    let naive = parse_local(local).ok_or_else(err)?;
    let offset = parse_offset(offset).ok_or_else(err)?;
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|dt| dt.with_timezone(&Utc))
        .ok_or_else(err)
}

fn parse_local(local: &str) -> Option<NaiveDateTime> {
    const EXTENDED: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"];
    if local.as_bytes().get(4) == Some(&b'-') {
        EXTENDED
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(local, f).ok())
    } else {
        // Basic form: 20261001T143701 (optionally with fraction).
        ["%Y%m%dT%H%M%S%.f", "%Y%m%dT%H%M%S"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(local, f).ok())
    }
}

fn parse_offset(offset: &str) -> Option<FixedOffset> {
    match offset {
        "" | "Z" | "z" => return FixedOffset::east_opt(0),
        _ => {}
    }
    let (sign, rest) = match offset.as_bytes()[0] {
        b'+' => (1, &offset[1..]),
        b'-' => (-1, &offset[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits[..2].parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if rest.contains(':') && rest.find(':') != Some(2) {
        return None;
    }
    if h > 23 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
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

/// Inverse of [`to_micros`].
pub fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).expect("lake timestamps are in range")
}

/// Days since the Unix epoch, as stored in the lake's `DATE` columns.
pub fn to_epoch_days(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// Inverse of [`to_epoch_days`].
pub fn from_epoch_days(days: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Days::new(days as u64)
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
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dates_and_round_trips() {
        let d = parse_date("2026-10-01").unwrap();
        assert_eq!(from_epoch_days(to_epoch_days(d)), d);
        assert!(parse_date("01/10/2026").is_err());
        let ts = utc("2026-10-01T14:37:01.123Z");
        assert_eq!(from_micros(to_micros(ts)), ts);
        assert_eq!(format_timestamp(ts), "2026-10-01T14:37:01.123Z");
    }
}
