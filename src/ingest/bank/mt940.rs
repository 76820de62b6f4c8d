//! SWIFT MT940 customer statements (and MT942 interim reports, whose lines are pending).
//!
//! Line-based: a tag `:NN[a]:` starts a field, other lines continue it, `{1:`…`{4:` blocks
//! and `-}` frame messages. A `:61:` line waits for its `:86:` text; the German structured
//! `:86:` (`166?00…?20…`) gives its purpose subfields.

use std::io::{BufReader, Read};

use chrono::{Datelike, NaiveDate};

use super::{BalanceCheck, Entry, Event, Limits, Statement, Stop, join_texts, line_text};
use crate::ingest::records::read_line_bounded;
use crate::ingest::rows::RowError;
use crate::model::Currency;
use crate::model::money::parse_minor;

/// A field being read: its tag, the line it starts on and its lines.
struct Field {
    tag: String,
    line: u64,
    lines: Vec<String>,
}

/// A `:61:` line waiting for its `:86:`.
struct Pending61 {
    line: u64,
    parsed: Result<Entry, RowError>,
    raw: String,
}

#[derive(Default)]
struct Message {
    statement: Statement,
    reference_20: Option<String>,
    currency: Option<Currency>,
    interim: bool,
    check: BalanceCheck,
    waiting: Option<Pending61>,
    /// Whether anything of a statement has been read (a bare `:20:` starts one).
    started: bool,
}

/// Reads MT940/MT942 messages, sending their lines to `sink`.
pub fn read<R: Read, E>(
    source: R,
    limits: Limits<'_>,
    sink: &mut dyn FnMut(Event<'_>) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    let mut rdr = BufReader::with_capacity(64 * 1024, source);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut field: Option<Field> = None;
    let mut msg = Message::default();
    let mut messages = 0u64;
    let mut interim_block = false;
    while let Some((_, oversize)) =
        read_line_bounded(&mut rdr, &mut buf, limits.max_record_bytes).map_err(Stop::Io)?
    {
        line_no += 1;
        if oversize {
            return Err(Stop::Format {
                line: line_no,
                column: None,
                message: format!(
                    "a line longer than {} bytes (setting ingest.max_record_bytes): not MT940",
                    limits.max_record_bytes
                ),
            });
        }
        let text = line_text(&buf);
        let mut line = text.trim_end_matches(['\n', '\r']).trim_end();
        // Block framing: `{1:…}{2:I940…}{4:` then the text block; `-}` ends it.
        if line.starts_with('{') {
            if let Some(i) = line.find("{2:") {
                let block = &line[i + 3..];
                interim_block = block.get(1..4) == Some("942");
            }
            match line.find("{4:") {
                Some(i) => line = line[i + 3..].trim_start(),
                None => continue,
            }
            if line.is_empty() {
                continue;
            }
        }
        if line == "-" || line.starts_with("-}") || line == "}" {
            if let Some(f) = field.take() {
                apply(f, &mut msg, limits, sink)?;
            }
            if msg.started {
                end_message(&mut msg, sink)?;
                messages += 1;
            }
            msg = Message::default();
            continue;
        }
        match tag_of(line) {
            Some((tag, rest)) => {
                if let Some(f) = field.take() {
                    apply(f, &mut msg, limits, sink)?;
                }
                if tag == "20" && msg.started {
                    // A new message without framing between them.
                    end_message(&mut msg, sink)?;
                    messages += 1;
                    msg = Message::default();
                }
                if !msg.started {
                    msg.started = true;
                    msg.interim = interim_block;
                }
                field = Some(Field {
                    tag: tag.to_string(),
                    line: line_no,
                    lines: vec![rest.to_string()],
                });
            }
            None => {
                if let Some(f) = &mut field {
                    f.lines.push(line.to_string());
                }
                // Else a bank's own header lines before the first message (ABN AMRO writes
                // `ABNANL2A`, `940`, `ABNANL2A`): no part of any statement.
            }
        }
    }
    if let Some(f) = field.take() {
        apply(f, &mut msg, limits, sink)?;
    }
    if msg.started {
        end_message(&mut msg, sink)?;
        messages += 1;
    }
    if messages == 0 {
        return Err(Stop::Format {
            line: 1,
            column: None,
            message: "no MT940 statement (`:20:` … `:61:`) in the file".into(),
        });
    }
    Ok(())
}

/// `:61:` → `("61", rest)`; tags are two digits and an optional letter.
fn tag_of(line: &str) -> Option<(&str, &str)> {
    let b = line.as_bytes();
    if b.len() < 4 || b[0] != b':' || !b[1].is_ascii_digit() || !b[2].is_ascii_digit() {
        return None;
    }
    let end = if b[3] == b':' {
        3
    } else if b.len() >= 5 && b[3].is_ascii_alphabetic() && b[4] == b':' {
        4
    } else {
        return None;
    };
    Some((&line[1..end], &line[end + 1..]))
}

fn apply<E>(
    f: Field,
    msg: &mut Message,
    limits: Limits<'_>,
    sink: &mut dyn FnMut(Event<'_>) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    let first = f.lines.first().map(String::as_str).unwrap_or("").trim();
    match f.tag.as_str() {
        "20" => {
            msg.reference_20 = Some(first.to_string());
            msg.statement.id.get_or_insert_with(|| first.to_string());
        }
        "25" => msg.statement.account = Some(first.to_string()),
        "28C" | "28" => msg.statement.id = Some(first.to_string()),
        "13D" | "34F" => {
            msg.interim = true;
            if f.tag == "34F" {
                msg.currency = first.get(..3).and_then(|c| c.parse().ok()).or(msg.currency);
            }
        }
        "60F" | "60M" => {
            flush(msg, sink)?;
            if let Some((v, c)) = balance(first) {
                msg.currency = Some(c);
                msg.check.opening.get_or_insert((v, c));
            }
        }
        "62F" | "62M" => {
            flush(msg, sink)?;
            if let Some((v, c)) = balance(first) {
                msg.currency.get_or_insert(c);
                msg.check.closing = Some((v, c));
            }
        }
        "61" => {
            flush(msg, sink)?;
            let parsed = entry_61(&f.lines, msg, limits);
            msg.waiting = Some(Pending61 {
                line: f.line,
                parsed,
                raw: format!(":61:{}", f.lines.join("\n")),
            });
        }
        "86" => {
            if let Some(w) = &mut msg.waiting {
                if let Ok(e) = &mut w.parsed {
                    e.reference = reference_86(&f.lines);
                }
                w.raw.push_str("\n:86:");
                w.raw.push_str(&f.lines.join("\n"));
                flush(msg, sink)?;
            }
        }
        _ => flush(msg, sink)?,
    }
    Ok(())
}

/// Sends the waiting `:61:` line (with or without its `:86:`).
fn flush<E>(
    msg: &mut Message,
    sink: &mut dyn FnMut(Event<'_>) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    if let Some(w) = msg.waiting.take() {
        msg.check.add(&w.parsed);
        sink(Event::Line {
            statement: &msg.statement,
            line: w.line,
            entry: w.parsed,
            raw: &w.raw,
        })
        .map_err(Stop::Sink)?;
    }
    Ok(())
}

fn end_message<E>(
    msg: &mut Message,
    sink: &mut dyn FnMut(Event<'_>) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    flush(msg, sink)?;
    if let Some(f) = msg.check.finding("statement", &msg.statement) {
        sink(Event::Note(f)).map_err(Stop::Sink)?;
    }
    sink(Event::StatementEnd).map_err(Stop::Sink)
}

/// `C240301EUR1234,56` → (123456, EUR).
fn balance(text: &str) -> Option<(i64, Currency)> {
    let sign = match text.get(..1)? {
        "C" => 1,
        "D" => -1,
        _ => return None,
    };
    let currency: Currency = text.get(7..10)?.parse().ok()?;
    let v = amount(text.get(10..)?.trim(), currency).ok()?;
    Some((sign * v, currency))
}

/// A decimal-comma amount (`1234,56`, `12,`) in minor units.
fn amount(text: &str, currency: Currency) -> Result<i64, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b',') {
        return Err(format!(
            "{text:?} is not an MT940 amount (digits and a decimal comma)"
        ));
    }
    let plain = text.replace(',', ".");
    let plain = plain.strip_suffix('.').unwrap_or(&plain);
    parse_minor(plain, currency).map_err(|e| format!("{text:?}: {e}"))
}

fn yymmdd(s: &str) -> Option<NaiveDate> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    NaiveDate::from_ymd_opt(2000 + n(0..2)? as i32, n(2..4)?, n(4..6)?)
}

/// The entry date (MMDD) in whichever year puts it nearest the value date: a line valued on
/// 2 January may have been booked on 31 December.
fn entry_date(value: NaiveDate, mmdd: &str) -> Option<NaiveDate> {
    let (m, d) = (mmdd[..2].parse().ok()?, mmdd[2..].parse().ok()?);
    [value.year() - 1, value.year(), value.year() + 1]
        .into_iter()
        .filter_map(|y| NaiveDate::from_ymd_opt(y, m, d))
        .min_by_key(|c| (*c - value).num_days().abs())
}

/// `:61:` `YYMMDD[MMDD](C|D|RC|RD)[funds]amount` type, customer reference `[//bank ref]`, and
/// supplementary details on its second line.
fn entry_61(lines: &[String], msg: &Message, limits: Limits<'_>) -> Result<Entry, RowError> {
    let s = lines.first().map(String::as_str).unwrap_or("");
    let at = |part: &str, reason: String| RowError::at(&format!(":61: {part}"), reason);
    let value = yymmdd(s.get(..6).unwrap_or("")).ok_or_else(|| {
        at(
            "value date",
            format!("{:?} is not a date YYMMDD", s.get(..6).unwrap_or(s)),
        )
    })?;
    let mut rest = &s[6..];
    let mut booking = value;
    if rest.len() >= 4 && rest.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        booking = entry_date(value, &rest[..4])
            .ok_or_else(|| at("entry date", format!("{:?} is not a date MMDD", &rest[..4])))?;
        rest = &rest[4..];
    }
    let (sign, n) = if rest.starts_with("RC") {
        (-1, 2)
    } else if rest.starts_with("RD") {
        (1, 2)
    } else if rest.starts_with('C') {
        (1, 1)
    } else if rest.starts_with('D') {
        (-1, 1)
    } else {
        return Err(at(
            "mark",
            format!("{:?} is not C, D, RC or RD", rest.get(..2).unwrap_or(rest)),
        ));
    };
    rest = &rest[n..];
    // An optional funds code: the third letter of the currency code.
    if rest.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) {
        rest = &rest[1..];
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ','))
        .unwrap_or(rest.len());
    let currency = msg.currency.ok_or_else(|| {
        RowError::row("no currency: the statement has no opening balance (`:60F:`) before it")
    })?;
    // The amount always has its decimal comma and is followed by the type's S, N or F: a
    // letter inside the digits (`25O,00`) is a bad amount, not a short one.
    let kind = rest.as_bytes().get(end).copied();
    if !rest[..end].contains(',') || !matches!(kind, Some(b'S' | b'N' | b'F')) {
        let upto = rest[end..]
            .find(['S', 'N', 'F'])
            .map_or(rest.len(), |i| end + i);
        return Err(at(
            "amount",
            format!(
                "{:?} is not an MT940 amount (digits and a decimal comma, then the type S, N or F)",
                &rest[..upto]
            ),
        ));
    }
    let minor = sign * amount(&rest[..end], currency).map_err(|e| at("amount", e))?;
    let booking = limits
        .window
        .check_date(booking)
        .map_err(|e| at("entry date", e))?;
    // Transaction type (4 characters), then customer reference `//` bank reference.
    let refs = rest[end..].get(4..).unwrap_or("");
    let id = refs
        .split_once("//")
        .map(|(_, bank)| bank.trim())
        .filter(|b| !b.is_empty())
        .map(String::from);
    Ok(Entry {
        booking,
        minor,
        currency,
        reference: String::new(),
        id,
        pending: msg.interim,
    })
}

/// The `:86:` text: structured German subfields (`?20`–`?29`, `?60`–`?63`, then the name in
/// `?32`/`?33`), else its lines joined by a space.
fn reference_86(lines: &[String]) -> String {
    let first = lines.first().map(String::as_str).unwrap_or("");
    let b = first.as_bytes();
    let structured = b.len() >= 4
        && b[..3].iter().all(u8::is_ascii_digit)
        && !b[3].is_ascii_alphanumeric()
        && !b[3].is_ascii_whitespace();
    if !structured {
        return join_texts(lines.iter().map(String::as_str));
    }
    let sep = b[3] as char;
    // Subfields run across lines: the lines are one text.
    let text: String = lines.concat();
    let mut purpose = Vec::new();
    let mut name = Vec::new();
    for part in text.split(sep).skip(1) {
        let (code, value) = (part.get(..2).unwrap_or(""), part.get(2..).unwrap_or(""));
        match code.parse::<u8>() {
            Ok(20..=29 | 60..=63) => purpose.push(value),
            Ok(32 | 33) => name.push(value),
            _ => {}
        }
    }
    join_texts(purpose.into_iter().chain(name))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Collected, collect};
    use super::*;

    fn read_str(text: &str) -> Collected {
        collect(|limits, sink| read(text.as_bytes(), limits, sink))
    }

    const STMT: &str = "{1:F01ABNANL2AXXXX0000000000}{2:I940ABNANL2AXXXXN}{4:\r
:20:ABN AMRO BANK NV\r
:25:517852257\r
:28C:19321/1\r
:60F:C231229EUR1000,00\r
:61:2401021229C250,00N196NONREF//BT0000000042\r
:86:/TRTP/SEPA OVERBOEKING/REMI/AMAZON PAYMENTS EUROPE S.C.A.\r
 SETTLEMENT 1234567\r
:61:240102D10,NMSCNONREF\r
:86:166?00GUTSCHRIFT?100599?20AMAZON PAY SETTLEMENT?21 987654?32AMAZON PAYMENTS?33EUROPE SCA\r
:62F:C240102EUR1240,00\r
-}\r
";

    #[test]
    fn reads_lines_year_end_and_both_texts() {
        let (lines, notes) = read_str(STMT);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(lines.len(), 2);
        let (line, e, s) = &lines[0];
        assert_eq!(*line, 6);
        assert_eq!(s.id.as_deref(), Some("19321/1"));
        assert_eq!(s.account.as_deref(), Some("517852257"));
        let e = e.as_ref().unwrap();
        assert_eq!(e.booking.to_string(), "2023-12-29");
        assert_eq!(e.minor, 25000);
        assert_eq!(e.id.as_deref(), Some("BT0000000042"));
        assert_eq!(
            e.reference,
            "/TRTP/SEPA OVERBOEKING/REMI/AMAZON PAYMENTS EUROPE S.C.A. SETTLEMENT 1234567"
        );
        let e = lines[1].1.as_ref().unwrap();
        assert_eq!((e.minor, e.id.clone()), (-1000, None));
        assert_eq!(
            e.reference,
            "AMAZON PAY SETTLEMENT 987654 AMAZON PAYMENTS EUROPE SCA"
        );
    }

    #[test]
    fn a_statement_that_does_not_add_up_is_a_note() {
        let (_, notes) = read_str(&STMT.replace("1240,00", "1241,00"));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("statement 19321/1 of account 517852257"));
    }

    #[test]
    fn a_bad_amount_is_rejected_and_the_rest_read() {
        let (lines, _) = read_str(&STMT.replace("C250,00", "C25O,00"));
        assert_eq!(lines.len(), 2);
        let err = lines[0].1.as_ref().unwrap_err();
        assert_eq!(err.column.as_deref(), Some(":61: amount"));
    }

    #[test]
    fn mt942_lines_are_pending() {
        let text = STMT.replace("{2:I940", "{2:I942");
        let (lines, _) = read_str(&text);
        assert!(lines.iter().all(|(_, e, _)| e.as_ref().unwrap().pending));
    }
}
