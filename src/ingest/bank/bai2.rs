//! BAI2 cash management balance reports (BAI, 2005 edition).
//!
//! Records `01` file, `02` group (as-of date), `03` account (summary: `010` opening and `015`
//! closing ledger), `16` transaction, `88` continuation, `49`/`98`/`99` trailers with control
//! totals. A record and its `88`s are one logical record; a `16`'s text runs to the end of it.

use std::io::{BufReader, Read};

use chrono::NaiveDate;

use super::{BalanceCheck, Entry, Event, Limits, Statement, Stop, join_texts, line_text};
use crate::ingest::records::read_line_bounded;
use crate::ingest::rows::RowError;
use crate::model::Currency;

/// A record and the `88` continuations after it.
struct Logical {
    code: String,
    line: u64,
    first: String,
    continuations: Vec<String>,
}

#[derive(Default)]
struct Account {
    statement: Statement,
    currency: Option<Currency>,
    check: BalanceCheck,
    total: i128,
    records: u64,
}

#[derive(Default)]
struct Group {
    as_of: Option<NaiveDate>,
    as_of_text: String,
    currency: Option<Currency>,
    total: i128,
    accounts: u64,
    records: u64,
    /// A line of the group was rejected: its control total cannot be checked.
    unreadable: bool,
}

#[derive(Default)]
struct State {
    file_id: String,
    file_total: i128,
    file_unreadable: bool,
    groups: u64,
    records: u64,
    group: Option<Group>,
    account: Option<Account>,
    header_seen: bool,
}

/// Reads a BAI2 file, sending its accounts' transactions to `sink`.
pub fn read<R: Read, E>(
    source: R,
    limits: Limits<'_>,
    sink: &mut dyn FnMut(Event<'_>) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    let mut rdr = BufReader::with_capacity(64 * 1024, source);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut st = State::default();
    let mut current: Option<Logical> = None;
    while let Some((_, oversize)) =
        read_line_bounded(&mut rdr, &mut buf, limits.max_record_bytes).map_err(Stop::Io)?
    {
        line_no += 1;
        if oversize {
            return Err(Stop::Format {
                line: line_no,
                column: None,
                message: format!(
                    "a record longer than {} bytes (setting ingest.max_record_bytes)",
                    limits.max_record_bytes
                ),
            });
        }
        let text = line_text(&buf);
        let record = text.trim_end_matches(['\n', '\r']).trim_end();
        if record.is_empty() {
            continue;
        }
        let (code, body) = record.split_once(',').unwrap_or((record, ""));
        let body = body.strip_suffix('/').unwrap_or(body);
        if code == "88" {
            match &mut current {
                Some(l) => {
                    l.continuations.push(body.to_string());
                    continue;
                }
                None => {
                    return Err(Stop::Format {
                        line: line_no,
                        column: Some(1),
                        message: "a continuation record (88) before any record".into(),
                    });
                }
            }
        }
        if let Some(l) = current.take() {
            process(l, &mut st, limits, sink)?;
        }
        if !st.header_seen && code != "01" {
            return Err(Stop::Format {
                line: line_no,
                column: Some(1),
                message: format!("the first record is {code:?}, not a BAI2 file header (01)"),
            });
        }
        current = Some(Logical {
            code: code.to_string(),
            line: line_no,
            first: body.to_string(),
            continuations: Vec::new(),
        });
    }
    if let Some(l) = current.take() {
        process(l, &mut st, limits, sink)?;
    }
    if st.account.is_some() {
        end_account(&mut st, None, sink)?;
    }
    Ok(())
}

fn process<E>(
    l: Logical,
    st: &mut State,
    limits: Limits<'_>,
    sink: &mut dyn FnMut(Event<'_>) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    let physical = 1 + l.continuations.len() as u64;
    st.records += physical;
    if let Some(g) = &mut st.group {
        g.records += physical;
    }
    if let Some(a) = &mut st.account {
        a.records += physical;
    }
    // Fields of a record other than a `16` run on into its continuations.
    let mut fields: Vec<&str> = l.first.split(',').collect();
    if l.code != "16" {
        let mut prev = l.first.as_str();
        for c in &l.continuations {
            // A record broken after a field delimiter (`…,015,` then `88,160000,,/`) has no
            // empty field at the break.
            if prev.ends_with(',') {
                fields.pop();
            }
            fields.extend(c.split(','));
            prev = c;
        }
    }
    let field = |i: usize| fields.get(i).map(|s| s.trim()).unwrap_or("");
    let mut note = |s: String| sink(Event::Note(s)).map_err(Stop::Sink);
    match l.code.as_str() {
        "01" => {
            st.header_seen = true;
            st.file_id = field(4).to_string();
        }
        "02" => {
            let as_of_text = field(3).to_string();
            let as_of = yymmdd(&as_of_text);
            if as_of.is_none() {
                note(format!(
                    "line {}: the group's as-of date {as_of_text:?} is not a date YYMMDD; its lines are rejected",
                    l.line
                ))?;
            }
            st.group = Some(Group {
                as_of,
                as_of_text,
                currency: field(5).parse().ok(),
                records: physical,
                ..Default::default()
            });
            st.groups += 1;
        }
        "03" => {
            if st.account.is_some() {
                end_account(st, None, sink)?;
            }
            let group_currency = st.group.as_ref().and_then(|g| g.currency);
            let currency = match field(1) {
                "" => group_currency.or(Some(Currency::USD)),
                c => c.parse().ok(),
            };
            let mut a = Account {
                statement: Statement {
                    id: Some(format!(
                        "{}/{}",
                        st.file_id,
                        st.group
                            .as_ref()
                            .map(|g| g.as_of_text.as_str())
                            .unwrap_or("")
                    )),
                    account: Some(field(0).to_string()).filter(|s| !s.is_empty()),
                },
                currency,
                records: physical,
                ..Default::default()
            };
            // Summary items: type code, amount, item count, funds type (and its fields).
            let mut i = 2;
            while i + 1 < fields.len() {
                let (ty, amount) = (field(i), field(i + 1));
                if let (Ok(v), Some(c)) = (amount.parse::<i64>(), currency) {
                    a.total += i128::from(v);
                    match ty {
                        "010" => a.check.opening = Some((v, c)),
                        "015" => a.check.closing = Some((v, c)),
                        _ => {}
                    }
                }
                i += 4 + funds_fields(field(i + 3), |k| field(i + 4 + k));
            }
            st.account = Some(a);
        }
        "16" => {
            let (entry, raw) = transaction(&l, st, limits);
            if let Some(a) = &mut st.account {
                if let Ok(e) = &entry {
                    a.total += i128::from(e.minor.abs());
                }
                a.check.add(&entry);
            }
            let empty = Statement::default();
            let statement = st.account.as_ref().map(|a| &a.statement).unwrap_or(&empty);
            sink(Event::Line {
                statement,
                line: l.line,
                entry,
                raw: &raw,
            })
            .map_err(Stop::Sink)?;
        }
        "49" => end_account(st, Some((l.line, field(0), field(1))), sink)?,
        "98" => {
            let g = st.group.take().unwrap_or_default();
            if let Some(f) = totals_finding(
                "group",
                l.line,
                (!g.unreadable).then_some(g.total),
                g.records,
                field(0),
                field(2),
            ) {
                note(f)?;
            }
            if field(1)
                .parse::<u64>()
                .ok()
                .is_some_and(|n| n != g.accounts)
            {
                note(format!(
                    "line {}: the group trailer counts {} accounts, the group has {}",
                    l.line,
                    field(1),
                    g.accounts
                ))?;
            }
            st.file_total += g.total;
            st.file_unreadable |= g.unreadable;
        }
        "99" => {
            if let Some(f) = totals_finding(
                "file",
                l.line,
                (!st.file_unreadable).then_some(st.file_total),
                st.records,
                field(0),
                field(2),
            ) {
                note(f)?;
            }
            if field(1).parse::<u64>().ok().is_some_and(|n| n != st.groups) {
                note(format!(
                    "line {}: the file trailer counts {} groups, the file has {}",
                    l.line,
                    field(1),
                    st.groups
                ))?;
            }
        }
        other => note(format!(
            "line {}: record type {other:?} is not a BAI2 record; skipped",
            l.line
        ))?,
    }
    Ok(())
}

/// How many fields a funds type takes after itself.
fn funds_fields<'a>(funds: &str, field: impl Fn(usize) -> &'a str) -> usize {
    match funds {
        "V" => 2,
        "S" => 3,
        "D" => {
            let n: usize = field(0).parse().unwrap_or(0);
            1 + 2 * n.min(64)
        }
        _ => 0,
    }
}

fn totals_finding(
    what: &str,
    line: u64,
    // `None` when a rejected line's amount is missing: the total is not checked (the reject
    // already says what is wrong).
    total: Option<i128>,
    records: u64,
    stated_total: &str,
    stated_records: &str,
) -> Option<String> {
    let mut out = Vec::new();
    if let (Ok(t), Some(total)) = (stated_total.parse::<i128>(), total)
        && t != total
    {
        out.push(format!(
            "control total {t}, the {what}'s amounts add up to {total}"
        ));
    }
    if let Ok(n) = stated_records.parse::<u64>()
        && n != records
    {
        out.push(format!("{n} records stated, {records} read"));
    }
    (!out.is_empty()).then(|| {
        format!(
            "line {line}: the {what} trailer does not tie: {}",
            out.join("; ")
        )
    })
}

fn end_account<E>(
    st: &mut State,
    trailer: Option<(u64, &str, &str)>,
    sink: &mut dyn FnMut(Event<'_>) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    let Some(a) = st.account.take() else {
        return Ok(());
    };
    if let Some(f) = a.check.finding("account", &a.statement) {
        sink(Event::Note(f)).map_err(Stop::Sink)?;
    }
    if let Some((line, total, records)) = trailer
        && let Some(f) = totals_finding(
            "account",
            line,
            (a.check.rejected == 0).then_some(a.total),
            a.records,
            total,
            records,
        )
    {
        sink(Event::Note(format!(
            "{}: {f}",
            super::describe("account", &a.statement)
        )))
        .map_err(Stop::Sink)?;
    }
    if let Some(g) = &mut st.group {
        g.total += a.total;
        g.accounts += 1;
        g.unreadable |= a.check.rejected > 0;
    }
    sink(Event::StatementEnd).map_err(Stop::Sink)
}

fn yymmdd(s: &str) -> Option<NaiveDate> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    NaiveDate::from_ymd_opt(2000 + n(0..2)? as i32, n(2..4)?, n(4..6)?)
}

/// A `16` record: type code, amount, funds type (and its fields), bank reference, customer
/// reference, text — which runs to the end of the record and on through its `88`s.
fn transaction(l: &Logical, st: &State, limits: Limits<'_>) -> (Result<Entry, RowError>, String) {
    let mut raw = format!("16,{}", l.first);
    for c in &l.continuations {
        raw.push_str("\n88,");
        raw.push_str(c);
    }
    // The record's fields may themselves continue on an `88` before the text starts.
    let mut body = l.first.clone();
    let mut conts = l.continuations.iter();
    let (fields, text) = loop {
        match split_16(&body) {
            Some(parts) => break parts,
            None => match conts.next() {
                Some(c) => {
                    if !body.ends_with(',') {
                        body.push(',');
                    }
                    body.push_str(c);
                }
                None => break (body.split(',').map(str::to_string).collect(), None),
            },
        }
    };
    let texts: Vec<&str> = text
        .iter()
        .map(String::as_str)
        .chain(conts.map(String::as_str))
        .collect();
    (entry_16(&fields, &texts, st, limits), raw)
}

/// Splits a `16` body into its fields up to the customer reference and its text; `None` when
/// it ends before the text.
fn split_16(body: &str) -> Option<(Vec<String>, Option<String>)> {
    let mut fields: Vec<String> = Vec::new();
    let mut rest = body;
    let take = |rest: &mut &str| -> Option<String> {
        let (f, r) = rest.split_once(',')?;
        *rest = r;
        Some(f.to_string())
    };
    for _ in 0..3 {
        fields.push(take(&mut rest)?);
    }
    let extra = match fields[2].trim() {
        "V" => 2,
        "S" => 3,
        "D" => {
            let n = take(&mut rest)?;
            let k: usize = n.trim().parse().unwrap_or(0).min(64);
            fields.push(n);
            2 * k
        }
        _ => 0,
    };
    for _ in 0..extra {
        fields.push(take(&mut rest)?);
    }
    let bank = take(&mut rest)?;
    fields.push(bank);
    // Customer reference, then the text (absent when the record ends after the reference).
    match rest.split_once(',') {
        Some((cust, text)) => {
            fields.push(cust.to_string());
            Some((fields, Some(text.to_string())))
        }
        None => {
            fields.push(rest.to_string());
            Some((fields, None))
        }
    }
}

fn entry_16(
    fields: &[String],
    texts: &[&str],
    st: &State,
    limits: Limits<'_>,
) -> Result<Entry, RowError> {
    let f = |i: usize| fields.get(i).map(|s| s.trim()).unwrap_or("");
    let account = st
        .account
        .as_ref()
        .ok_or_else(|| RowError::row("a transaction (16) outside an account (no 03 before it)"))?;
    let group = st
        .group
        .as_ref()
        .ok_or_else(|| RowError::row("a transaction (16) outside a group (no 02 before it)"))?;
    let booking = group.as_of.ok_or_else(|| {
        RowError::row(format!(
            "the group's as-of date {:?} is not a date",
            group.as_of_text
        ))
    })?;
    let booking = limits
        .window
        .check_date(booking)
        .map_err(|e| RowError::at("02 as-of date", e))?;
    let code: u16 = f(0)
        .parse()
        .map_err(|_| RowError::at("16 type code", format!("{:?} is not a type code", f(0))))?;
    let sign = match code {
        100..=399 => 1,
        400..=699 => -1,
        _ => {
            return Err(RowError::at(
                "16 type code",
                format!("type code {code} is neither a credit (100–399) nor a debit (400–699)"),
            ));
        }
    };
    let amount = f(1);
    if amount.is_empty() || !amount.bytes().all(|b| b.is_ascii_digit()) || amount.len() > 15 {
        return Err(RowError::at(
            "16 amount",
            format!("{amount:?} is not an amount in minor units"),
        ));
    }
    let minor: i64 = amount.parse().expect("at most 15 digits");
    let currency = account
        .currency
        .ok_or_else(|| RowError::at("03 currency", "the account's currency is not known"))?;
    let n = fields.len();
    let (bank, customer) = (f(n.saturating_sub(2)), f(n.saturating_sub(1)));
    Ok(Entry {
        booking,
        minor: sign * minor,
        currency,
        reference: join_texts(std::iter::once(customer).chain(texts.iter().copied())),
        id: Some(bank.to_string()).filter(|b| !b.is_empty()),
        pending: false,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Collected, collect};
    use super::*;

    fn read_str(text: &str) -> Collected {
        collect(|limits, sink| read(text.as_bytes(), limits, sink))
    }

    const FILE: &str = "01,122099999,123456789,240302,0200,1,,,2/
02,123456789,122099999,1,240301,2400,USD,2/
03,0975312468,USD,010,500000,,,015,512500,,/
16,195,25000,Z,BT0000000042,SETTLEMENT 42,AMAZON PAYMENTS
88,INC SETTLEMENT 42
16,475,12500,V,240301,0000,BX1,,CHECK PAID/
49,1050000,5/
98,1050000,1,7/
99,1050000,1,9/
";

    #[test]
    fn reads_transactions_with_continuations_and_totals() {
        let (lines, notes) = read_str(FILE);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(lines.len(), 2);
        let (line, e, s) = &lines[0];
        assert_eq!(*line, 4);
        assert_eq!(s.account.as_deref(), Some("0975312468"));
        assert_eq!(s.id.as_deref(), Some("1/240301"));
        let e = e.as_ref().unwrap();
        assert_eq!(e.booking.to_string(), "2024-03-01");
        assert_eq!(e.minor, 25000);
        assert_eq!(e.id.as_deref(), Some("BT0000000042"));
        assert_eq!(
            e.reference,
            "SETTLEMENT 42 AMAZON PAYMENTS INC SETTLEMENT 42"
        );
        let e = lines[1].1.as_ref().unwrap();
        assert_eq!((e.minor, e.id.as_deref()), (-12500, Some("BX1")));
        assert_eq!(e.reference, "CHECK PAID");
    }

    #[test]
    fn totals_and_balances_that_do_not_tie_are_notes() {
        let (_, notes) = read_str(
            &FILE
                .replace("015,512500", "015,512600")
                .replace("1050000", "1050100"),
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        let (_, notes) = read_str(&FILE.replace("015,512500", "015,512600"));
        assert_eq!(notes.len(), 4, "{notes:?}");
        assert!(
            notes[0].contains("account 1/240301 of account 0975312468 does not add up"),
            "{}",
            notes[0]
        );
    }

    #[test]
    fn an_informational_type_code_is_rejected() {
        let (lines, _) = read_str(&FILE.replace("16,475", "16,890"));
        let err = lines[1].1.as_ref().unwrap_err();
        assert_eq!(err.column.as_deref(), Some("16 type code"));
    }
}
