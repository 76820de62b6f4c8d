//! Bank statement formats — ISO 20022 camt.052/053/054, SWIFT MT940/MT942 and BAI2 — read as
//! statement lines.
//!
//! The parsers here are pure: they turn a byte stream into [`Event`]s (each line with the
//! statement it belongs to, balance findings, statement ends) and know nothing of the lake.
//! `ingest::read` derives ids, keeps pending lines apart and pushes rows. A line that cannot
//! be read is an `Err` entry with its position (the file goes on); a file that is not the
//! format at all (malformed XML, no statement) is a [`Stop::Format`] with line and column.

pub mod bai2;
pub mod camt;
pub mod mt940;

use chrono::NaiveDate;

use super::rows::RowError;
use crate::model::Currency;
use crate::model::money::format_minor;
use crate::model::time::TimeWindow;

/// One statement line as the statement states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub booking: NaiveDate,
    /// Signed, in minor units of `currency`: money in positive.
    pub minor: i64,
    pub currency: Currency,
    /// The texts of the line joined by one space, in document order.
    pub reference: String,
    /// The bank's own id of the line, when the format gives one.
    pub id: Option<String>,
    /// Not booked (camt `Sts` other than `BOOK`, MT942 interim lines): kept apart, never matched.
    pub pending: bool,
}

/// The statement lines belong to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statement {
    pub id: Option<String>,
    pub account: Option<String>,
}

/// What a parser reports, in document order.
#[derive(Debug)]
pub enum Event<'a> {
    /// A line of `statement`, at `line` of the file (for an unreadable line, the line of the
    /// part at fault); `raw` is what the rejects table keeps of it.
    Line {
        statement: &'a Statement,
        line: u64,
        entry: Result<Entry, RowError>,
        raw: &'a str,
    },
    /// A statement whose stated balances or control totals do not add up (its lines are
    /// still loaded).
    Note(String),
    /// The end of a statement: identical lines are counted per statement.
    StatementEnd,
}

/// Why a parser stopped before the end of its file.
#[derive(Debug)]
pub enum Stop<E> {
    /// The file is not readable as its format from here on.
    Format {
        line: u64,
        column: Option<u64>,
        message: String,
    },
    Io(std::io::Error),
    /// The sink failed (writing spilled rows).
    Sink(E),
}

/// What a parser needs to know of the run.
#[derive(Debug, Clone, Copy)]
pub struct Limits<'a> {
    pub window: &'a TimeWindow,
    /// The longest line (or XML text run) read; longer ones are rejected or fail the file.
    pub max_record_bytes: usize,
}

/// A running balance check of one statement: opening + Σ booked lines = closing.
#[derive(Debug, Default)]
pub(crate) struct BalanceCheck {
    pub opening: Option<(i64, Currency)>,
    pub closing: Option<(i64, Currency)>,
    pub sum: i64,
    pub lines: u64,
    /// Lines of the statement that could not be read (their amounts are missing from `sum`).
    pub rejected: u64,
}

impl BalanceCheck {
    pub(crate) fn add(&mut self, entry: &Result<Entry, RowError>) {
        match entry {
            Ok(e) if !e.pending => {
                self.sum += e.minor;
                self.lines += 1;
            }
            Ok(_) => {}
            Err(_) => self.rejected += 1,
        }
    }

    /// The finding, when the statement states both balances and they do not add up.
    pub(crate) fn finding(&self, what: &str, statement: &Statement) -> Option<String> {
        let ((open, cur), (close, cur2)) = (self.opening?, self.closing?);
        if cur != cur2 {
            return Some(format!(
                "{} states an opening balance in {} and a closing balance in {}",
                describe(what, statement),
                cur.code(),
                cur2.code()
            ));
        }
        let end = open + self.sum;
        (end != close).then(|| {
            format!(
                "{} does not add up: opening {} + {} booked lines {} = {}, but the closing balance is {} (difference {} {}){}",
                describe(what, statement),
                format_minor(open, cur),
                self.lines,
                format_minor(self.sum, cur),
                format_minor(end, cur),
                format_minor(close, cur),
                format_minor(close - end, cur),
                cur.code(),
                if self.rejected > 0 {
                    format!("; {} of its lines were rejected", self.rejected)
                } else {
                    String::new()
                }
            )
        })
    }
}

/// "statement 2024-001 of account DE89…", as findings name a statement.
pub(crate) fn describe(what: &str, s: &Statement) -> String {
    let mut out = what.to_string();
    if let Some(id) = &s.id {
        out.push(' ');
        out.push_str(id);
    }
    if let Some(a) = &s.account {
        out.push_str(" of account ");
        out.push_str(a);
    }
    out
}

/// A line's bytes as text: UTF-8 when they are, else windows-1252 (the single-byte set German
/// and US banks' MT940 and BAI2 files are written in).
pub(crate) fn line_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

/// Texts joined by one space, each trimmed, empty ones left out.
pub(crate) fn join_texts<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

/// What the parsers' unit tests read back.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Every line (its line number, entry and statement) and every note, in order.
    pub(crate) type Collected = (Vec<(u64, Result<Entry, RowError>, Statement)>, Vec<String>);

    /// A window from 2000 to 2030.
    pub(crate) fn window() -> TimeWindow {
        TimeWindow::new(
            NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2030, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc(),
            2,
        )
    }

    /// Runs a parser over the whole input and collects what it reports.
    pub(crate) fn collect(
        read: impl FnOnce(
            Limits<'_>,
            &mut dyn FnMut(Event<'_>) -> Result<(), ()>,
        ) -> Result<(), Stop<()>>,
    ) -> Collected {
        let w = window();
        let (mut lines, mut notes) = (Vec::new(), Vec::new());
        let limits = Limits {
            window: &w,
            max_record_bytes: 1 << 20,
        };
        read(limits, &mut |e| {
            match e {
                Event::Line {
                    statement,
                    line,
                    entry,
                    ..
                } => lines.push((line, entry, statement.clone())),
                Event::Note(n) => notes.push(n),
                Event::StatementEnd => {}
            }
            Ok(())
        })
        .map_err(|e| format!("{e:?}"))
        .unwrap();
        (lines, notes)
    }
}
