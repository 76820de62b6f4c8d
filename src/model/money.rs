//! Exact money: supported currencies, their exponents, and decimal-text parsing.
//!
//! Amounts are parsed from decimal text straight into integer minor units (cents, yen);
//! no binary float is ever involved. The lake stores every amount as `DECIMAL(18,2)`,
//! which holds every supported currency exactly (all have an exponent of 0 or 2).
//!
//! There is no `Money` struct: amounts live in Arrow columns (`Decimal128`) with the currency
//! in a column of its own, and every stage works on them as `i64` lake units beside a
//! [`Currency`]; a struct pairing the two would be taken apart again at every column boundary.
//! The types that pay are the [`Currency`] enum and the exact parse and format functions.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Scale of every money column in the lake (`DECIMAL(18, 2)`).
pub const LAKE_SCALE: u32 = 2;
/// Precision of every money column in the lake.
pub const LAKE_PRECISION: u8 = 18;

/// An ISO 4217 currency the pipeline supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Currency {
    USD,
    EUR,
    GBP,
    JPY,
    AUD,
    CAD,
    CHF,
    SEK,
    DKK,
    NOK,
}

impl Currency {
    /// Every supported currency, in a fixed order.
    pub const ALL: [Currency; 10] = [
        Currency::USD,
        Currency::EUR,
        Currency::GBP,
        Currency::JPY,
        Currency::AUD,
        Currency::CAD,
        Currency::CHF,
        Currency::SEK,
        Currency::DKK,
        Currency::NOK,
    ];

    /// Number of fractional digits of the currency's minor unit.
    pub fn exponent(self) -> u32 {
        match self {
            Currency::JPY => 0,
            _ => 2,
        }
    }

    /// The ISO 4217 code.
    pub fn code(self) -> &'static str {
        match self {
            Currency::USD => "USD",
            Currency::EUR => "EUR",
            Currency::GBP => "GBP",
            Currency::JPY => "JPY",
            Currency::AUD => "AUD",
            Currency::CAD => "CAD",
            Currency::CHF => "CHF",
            Currency::SEK => "SEK",
            Currency::DKK => "DKK",
            Currency::NOK => "NOK",
        }
    }

    /// Factor that turns minor units into the lake's scale-2 unscaled value.
    pub fn lake_factor(self) -> i64 {
        10_i64.pow(LAKE_SCALE - self.exponent())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or_else(|| MoneyError::UnknownCurrency(s.to_string()))
    }
}

/// Why a money value could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
    #[error("empty amount")]
    Empty,
    #[error("{0:?} is not a decimal amount")]
    NotDecimal(String),
    #[error("{text:?} has {digits} fractional digits, {currency} allows {allowed}")]
    TooPrecise {
        text: String,
        digits: u32,
        currency: Currency,
        allowed: u32,
    },
    #[error("{0:?} is out of range")]
    OutOfRange(String),
}

/// Formats minor units as decimal text in major units.
pub fn format_minor(minor: i64, currency: Currency) -> String {
    Decimal::new(minor, currency.exponent()).to_string()
}

/// Formats a lake `DECIMAL(18,2)` unscaled value as decimal text with two places.
pub fn format_lake(unscaled: i128) -> String {
    Decimal::from_i128_with_scale(unscaled, LAKE_SCALE).to_string()
}

/// Inserts grouping commas into decimal text: `-1234567.89` → `-1,234,567.89`.
pub fn group_thousands(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map(|r| ("-", r)).unwrap_or(("", s));
    let (int, frac) = rest
        .split_once('.')
        .map(|(i, f)| (i, Some(f)))
        .unwrap_or((rest, None));
    let mut out = String::from(sign);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// Strips grouping commas (`1,234,567.89`), accepting only well-formed groups of three.
fn strip_grouping(text: &str) -> Option<String> {
    if !text.contains(',') {
        return Some(text.to_string());
    }
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    let (int_part, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let mut groups = int_part.split(',');
    let first = groups.next()?;
    if first.is_empty() || first.len() > 3 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(sign);
    out.push_str(first);
    for g in groups {
        if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push_str(g);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

/// Parses decimal text into integer minor units of `currency`.
pub fn parse_minor(text: &str, currency: Currency) -> Result<i64, MoneyError> {
    match fast_minor(text.as_bytes(), currency) {
        Some(v) => Ok(v),
        None => parse_minor_general(text, currency),
    }
}

/// The common case on the ingest hot path, `-?\d{1,15}(\.\d{0..=exp})?` with no grouping, as
/// exact integer arithmetic. Anything else (grouping commas, padding, errors) returns `None` and
/// takes the general path, which gives the same value or the precise error.
fn fast_minor(s: &[u8], currency: Currency) -> Option<i64> {
    let (neg, body) = match s.first()? {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = match body.iter().position(|&b| b == b'.') {
        Some(p) => (&body[..p], &body[p + 1..]),
        None => (body, &body[body.len()..]),
    };
    let exp = currency.exponent() as usize;
    if int.is_empty()
        || int.len() > 15
        || frac.len() > exp
        || (frac.is_empty() && body.len() != int.len())
    {
        return None;
    }
    let mut v: i64 = 0;
    for &b in int.iter().chain(frac) {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(b - b'0');
    }
    v *= 10_i64.pow((exp - frac.len()) as u32);
    if v.unsigned_abs() >= 10_u64.pow(16) / currency.lake_factor() as u64 {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn parse_minor_general(text: &str, currency: Currency) -> Result<i64, MoneyError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(MoneyError::Empty);
    }
    let not_decimal = || MoneyError::NotDecimal(trimmed.to_string());
    // Only plain decimal notation: digits, one optional sign, one optional point, grouping commas.
    let valid_chars = trimmed.bytes().enumerate().all(|(i, b)| {
        b.is_ascii_digit() || b == b'.' || b == b',' || (i == 0 && (b == b'-' || b == b'+'))
    });
    if !valid_chars || !trimmed.bytes().any(|b| b.is_ascii_digit()) {
        return Err(not_decimal());
    }
    let cleaned = strip_grouping(trimmed).ok_or_else(not_decimal)?;
    if cleaned.ends_with('.') || cleaned.starts_with('.') || cleaned.starts_with("-.") {
        return Err(not_decimal());
    }
    let dec = Decimal::from_str_exact(&cleaned).map_err(|_| not_decimal())?;
    let allowed = currency.exponent();
    // Trailing zeros beyond the exponent ("5000.00" JPY) are exact and accepted.
    let dec = dec.normalize();
    if dec.scale() > allowed {
        return Err(MoneyError::TooPrecise {
            text: trimmed.to_string(),
            digits: dec.scale(),
            currency,
            allowed,
        });
    }
    let minor = dec
        .checked_mul(Decimal::from(10_i64.pow(allowed)))
        .ok_or_else(|| MoneyError::OutOfRange(trimmed.to_string()))?;
    let minor: i64 = minor
        .trunc()
        .try_into()
        .map_err(|_| MoneyError::OutOfRange(trimmed.to_string()))?;
    // Keep well inside DECIMAL(18,2) once scaled to the lake.
    if minor.unsigned_abs() >= 10_u64.pow(16) / currency.lake_factor() as u64 {
        return Err(MoneyError::OutOfRange(trimmed.to_string()));
    }
    Ok(minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_signed_amounts() {
        assert_eq!(parse_minor("49.99", Currency::USD), Ok(4999));
        assert_eq!(parse_minor("-0.30", Currency::USD), Ok(-30));
        assert_eq!(parse_minor("+1.5", Currency::EUR), Ok(150));
        assert_eq!(parse_minor("7", Currency::GBP), Ok(700));
        assert_eq!(parse_minor(" 12.00 ", Currency::USD), Ok(1200));
    }

    #[test]
    fn parses_grouping_commas() {
        assert_eq!(parse_minor("1,234.56", Currency::USD), Ok(123456));
        assert_eq!(parse_minor("-1,234,567.00", Currency::EUR), Ok(-123456700));
        assert!(parse_minor("12,34.56", Currency::USD).is_err());
        assert!(parse_minor("1,2345", Currency::USD).is_err());
        assert!(parse_minor(",123", Currency::USD).is_err());
    }

    #[test]
    fn jpy_has_no_minor_unit() {
        assert_eq!(parse_minor("5000", Currency::JPY), Ok(5000));
        assert_eq!(parse_minor("5,000", Currency::JPY), Ok(5000));
        assert_eq!(parse_minor("5000.00", Currency::JPY), Ok(5000));
        assert!(matches!(
            parse_minor("5000.5", Currency::JPY),
            Err(MoneyError::TooPrecise { .. })
        ));
    }

    #[test]
    fn rejects_too_many_decimals_and_junk() {
        assert!(matches!(
            parse_minor("1.234", Currency::USD),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert_eq!(parse_minor("1.230", Currency::USD), Ok(123));
        for bad in [
            "", "abc", "1e5", "1.2.3", "--1", "1-", ".", "1.", ".5", "NaN", "12 34", "$5",
        ] {
            assert!(
                parse_minor(bad, Currency::USD).is_err(),
                "{bad:?} should fail"
            );
        }
    }

    #[test]
    fn fast_path_agrees_with_the_general_path() {
        for text in [
            "0",
            "-0",
            "0.5",
            "12.34",
            "-1.05",
            "999999999999.99",
            "5000",
            "5000.0",
            "1.",
            "-.5",
            "+3",
            "00012.30",
        ] {
            for c in [Currency::USD, Currency::JPY] {
                assert_eq!(
                    parse_minor(text, c),
                    parse_minor_general(text, c),
                    "{text} {c}"
                );
            }
        }
    }

    #[test]
    fn grouping_round_trips() {
        assert_eq!(group_thousands("1234567.89"), "1,234,567.89");
        assert_eq!(group_thousands("-1000"), "-1,000");
        assert_eq!(group_thousands("999.99"), "999.99");
        assert_eq!(
            parse_minor(&group_thousands("-1234567.89"), Currency::EUR),
            Ok(-123456789)
        );
    }

    #[test]
    fn formats_and_scales_to_lake() {
        let m = parse_minor("-1.45", Currency::USD).unwrap();
        assert_eq!(format_minor(m, Currency::USD), "-1.45");
        assert_eq!(m * Currency::USD.lake_factor(), -145);
        let y = parse_minor("5000", Currency::JPY).unwrap();
        assert_eq!(format_minor(y, Currency::JPY), "5000");
        assert_eq!(y * Currency::JPY.lake_factor(), 500000);
        assert_eq!(format_lake(500000), "5000.00");
    }

    #[test]
    fn currency_codes_round_trip() {
        for c in Currency::ALL {
            assert_eq!(c.code().parse::<Currency>().unwrap(), c);
        }
        assert!("usd".parse::<Currency>().is_err());
        assert!("XXX".parse::<Currency>().is_err());
    }
}
