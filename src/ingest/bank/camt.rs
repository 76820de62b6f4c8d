//! ISO 20022 bank-to-customer statements, reports and notifications (camt.053, camt.052,
//! camt.054), any version: the versions differ in namespace, not in the `Ntry` structure read
//! here, so elements are matched by local name.
//!
//! Streamed with `quick-xml` (no document tree): memory is one entry's texts. Every element's
//! line and column come from [`Positions`], which watches the bytes go by.

use std::collections::VecDeque;
use std::io::{BufReader, Read};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event as Xml};

use super::{BalanceCheck, Entry, Event, Limits, Statement, Stop, join_texts};
use crate::ingest::rows::RowError;
use crate::model::Currency;
use crate::model::money::parse_minor;

/// Deeper nesting than any camt message has: a hostile file cannot grow the element stack.
const MAX_DEPTH: usize = 64;
/// At most this many texts of one entry are kept (a reference is a few of them).
const MAX_TEXTS: usize = 256;

/// The elements that hold statements, by message.
const STATEMENT_ELEMENTS: [&str; 3] = ["Stmt", "Rpt", "Ntfctn"];

/// Byte offsets of the newlines that quick-xml has been given but not yet asked about, so an
/// offset becomes a line and column; and a bound on text between markup, which quick-xml
/// would otherwise hold whole.
struct Positions<R> {
    inner: R,
    offset: u64,
    newlines: VecDeque<u64>,
    /// Lines before the first newline still queued, and the offset of the last one passed.
    line: u64,
    line_start: u64,
    run: usize,
    max_run: usize,
    overlong_at: Option<u64>,
}

impl<R: Read> Read for Positions<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        // Only markup and newlines matter: jump between them (memchr) instead of looking at
        // every byte.
        let mut last = 0usize;
        for i in memchr::memchr3_iter(b'<', b'>', b'\n', &buf[..n]) {
            // The text since the last hit (a newline counts too; markup ends the run).
            let newline = buf[i] == b'\n';
            let len = i - last + usize::from(newline);
            if self.run + len > self.max_run {
                self.overlong_at = Some(self.offset + (last + self.max_run - self.run) as u64);
                return Err(std::io::Error::other("text run too long"));
            }
            if newline {
                self.newlines.push_back(self.offset + i as u64);
                self.run += len;
            } else {
                self.run = 0;
            }
            last = i + 1;
        }
        let len = n - last;
        if self.run + len > self.max_run {
            self.overlong_at = Some(self.offset + (last + self.max_run - self.run) as u64);
            return Err(std::io::Error::other("text run too long"));
        }
        self.run += len;
        self.offset += n as u64;
        Ok(n)
    }
}

impl<R> Positions<R> {
    /// Line and column (both from 1) of byte `at`; offsets must be asked in increasing order.
    fn locate(&mut self, at: u64) -> (u64, u64) {
        while let Some(&nl) = self.newlines.front() {
            if nl >= at {
                break;
            }
            self.newlines.pop_front();
            self.line += 1;
            self.line_start = nl + 1;
        }
        (self.line, at.saturating_sub(self.line_start) + 1)
    }
}

type Pos = (u64, u64);

/// One element's text and where it starts.
#[derive(Debug, Default, Clone)]
struct Field {
    text: String,
    pos: Pos,
}

#[derive(Debug, Default)]
struct NtryState {
    pos: Pos,
    amt: Option<(Field, Option<String>)>,
    cdt_dbt: Option<Field>,
    status: Option<Field>,
    booking: Option<Field>,
    value: Option<Field>,
    ntry_ref: Option<String>,
    acct_svcr_ref: Option<String>,
    ustrd: Vec<String>,
    strd: Vec<String>,
    addtl: Vec<String>,
}

#[derive(Debug, Default)]
struct BalState {
    code: Option<String>,
    amt: Option<(Field, Option<String>)>,
    cdt_dbt: Option<String>,
}

struct StmtState {
    element: &'static str,
    depth: usize,
    statement: Statement,
    check: BalanceCheck,
}

/// Reads a camt document, sending its statements' lines to `sink`.
pub fn read<R: Read, E>(
    source: R,
    limits: Limits<'_>,
    sink: &mut dyn FnMut(Event<'_>) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    let positions = Positions {
        inner: source,
        offset: 0,
        newlines: VecDeque::new(),
        line: 1,
        line_start: 0,
        run: 0,
        max_run: limits.max_record_bytes,
        overlong_at: None,
    };
    let mut reader = Reader::from_reader(BufReader::with_capacity(64 * 1024, positions));
    reader.config_mut().expand_empty_elements = true;
    let mut buf = Vec::new();
    let mut stack = ElementPath::default();
    // The path of an ending element below its entry, balance or statement (reused).
    let mut rel = String::new();
    let mut text = String::new();
    let mut stmt: Option<StmtState> = None;
    let mut ntry: Option<(usize, NtryState)> = None;
    let mut bal: Option<(usize, BalState)> = None;
    let mut statements = 0u64;
    let mut root_seen = false;
    loop {
        // One event's bytes at a time: memory stays flat whatever the file's size.
        buf.clear();
        let at = reader.buffer_position();
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                let p = reader.get_mut().get_mut();
                if let Some(off) = p.overlong_at {
                    let (line, column) = p.locate(off);
                    return Err(Stop::Format {
                        line,
                        column: Some(column),
                        message: format!(
                            "more than {} bytes of text without markup (setting ingest.max_record_bytes)",
                            limits.max_record_bytes
                        ),
                    });
                }
                if let quick_xml::Error::Io(io) = &e {
                    return Err(Stop::Io(std::io::Error::new(io.kind(), io.to_string())));
                }
                let off = reader.error_position();
                let (line, column) = reader.get_mut().get_mut().locate(off);
                return Err(Stop::Format {
                    line,
                    column: Some(column),
                    message: format!("malformed XML: {e}"),
                });
            }
        };
        let pos = reader.get_mut().get_mut().locate(at);
        match event {
            Xml::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                if !root_seen {
                    if name != "Document" {
                        return Err(format_stop(
                            pos,
                            format!("the root element is <{name}>, not a camt <Document>"),
                        ));
                    }
                    root_seen = true;
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(format_stop(
                        pos,
                        format!("elements nested deeper than {MAX_DEPTH}"),
                    ));
                }
                text.clear();
                let depth = stack.len();
                let in_stmt = stmt.as_ref().map(|s| s.depth);
                let in_ntry = ntry.as_ref().map(|(d, _)| *d);
                let in_bal = bal.as_ref().map(|(d, _)| *d);
                let amt = || {
                    Some((
                        Field {
                            text: String::new(),
                            pos,
                        },
                        attribute(&e, "Ccy"),
                    ))
                };
                if in_stmt.is_none() && depth == 2 {
                    if let Some(&el) = STATEMENT_ELEMENTS.iter().find(|&&s| s == name) {
                        stmt = Some(StmtState {
                            element: el,
                            depth,
                            statement: Statement::default(),
                            check: BalanceCheck::default(),
                        });
                    }
                } else if in_ntry.is_none()
                    && in_bal.is_none()
                    && in_stmt.map(|d| d + 1) == Some(depth)
                {
                    if name == "Ntry" {
                        ntry = Some((
                            depth,
                            NtryState {
                                pos,
                                ..Default::default()
                            },
                        ));
                    } else if name == "Bal" {
                        bal = Some((depth, BalState::default()));
                    }
                } else if in_ntry.map(|d| d + 1) == Some(depth) && name == "Amt" {
                    ntry.as_mut().expect("inside an entry").1.amt = amt();
                } else if in_bal.map(|d| d + 1) == Some(depth) && name == "Amt" {
                    bal.as_mut().expect("inside a balance").1.amt = amt();
                }
                stack.push(&name);
                // Remember where the element starts, for the fields an entry is read from.
                if let Some((d, n)) = &mut ntry {
                    let field = Field {
                        text: String::new(),
                        pos,
                    };
                    match stack.below(*d) {
                        "CdtDbtInd" => n.cdt_dbt = Some(field),
                        "BookgDt/Dt" | "BookgDt/DtTm" => n.booking = Some(field),
                        "ValDt/Dt" | "ValDt/DtTm" => n.value = Some(field),
                        "Sts" | "Sts/Cd" | "Sts/Prtry" => n.status = Some(field),
                        _ => {}
                    }
                }
            }
            Xml::End(_) => {
                if stack.is_empty() {
                    continue;
                }
                let depth = stack.len() - 1;
                // The element's path below the innermost entry, balance or statement open.
                let under = ntry
                    .as_ref()
                    .map(|(d, _)| *d)
                    .or(bal.as_ref().map(|(d, _)| *d))
                    .or(stmt.as_ref().map(|s| s.depth));
                rel.clear();
                if let Some(d) = under {
                    rel.push_str(stack.below(d));
                }
                stack.pop();
                let value = std::mem::take(&mut text);
                if let Some((d, n)) = &mut ntry {
                    if depth > *d {
                        end_ntry_field(n, &rel, value);
                        continue;
                    }
                    if depth == *d {
                        let (_, n) = ntry.take().expect("inside an entry");
                        let s = stmt.as_mut().expect("entries are inside statements");
                        let raw = describe_entry(&n);
                        let (line, entry) = entry_of(n, limits);
                        s.check.add(&entry);
                        sink(Event::Line {
                            statement: &s.statement,
                            line,
                            entry,
                            raw: &raw,
                        })
                        .map_err(Stop::Sink)?;
                        continue;
                    }
                }
                if let Some((d, b)) = &mut bal {
                    if depth > *d {
                        match rel.as_str() {
                            "Tp/CdOrPrtry/Cd" => b.code = Some(value),
                            "Amt" => {
                                if let Some((f, _)) = &mut b.amt {
                                    f.text = value;
                                }
                            }
                            "CdtDbtInd" => b.cdt_dbt = Some(value),
                            _ => {}
                        }
                        continue;
                    }
                    if depth == *d {
                        let (_, b) = bal.take().expect("inside a balance");
                        if let Some(s) = &mut stmt {
                            take_balance(b, &mut s.check);
                        }
                        continue;
                    }
                }
                if let Some(s) = &mut stmt {
                    if depth > s.depth {
                        match rel.as_str() {
                            "Id" => s.statement.id = Some(value.trim().to_string()),
                            "Acct/Id/IBAN" | "Acct/Id/Othr/Id" => {
                                s.statement.account = Some(value.trim().to_string())
                            }
                            _ => {}
                        }
                        continue;
                    }
                    if depth == s.depth {
                        let s = stmt.take().expect("inside a statement");
                        statements += 1;
                        if let Some(f) = s.check.finding(s.element_name(), &s.statement) {
                            sink(Event::Note(f)).map_err(Stop::Sink)?;
                        }
                        sink(Event::StatementEnd).map_err(Stop::Sink)?;
                    }
                }
            }
            Xml::Text(t) => push_text(&mut text, &t, limits),
            Xml::CData(t) => push_text(&mut text, &t, limits),
            Xml::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten().map(String::from)
                } else {
                    quick_xml::escape::resolve_predefined_entity(&r).map(String::from)
                };
                match resolved {
                    Some(s) => push_text(&mut text, &s, limits),
                    None => {
                        return Err(format_stop(pos, format!("unknown entity &{};", &*r)));
                    }
                }
            }
            Xml::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        let (line, column) = {
            let p = reader.get_mut().get_mut();
            let off = p.offset;
            p.locate(off)
        };
        return Err(Stop::Format {
            line,
            column: Some(column),
            message: format!(
                "the document ends inside <{}>",
                stack.text.replace('/', "><")
            ),
        });
    }
    if statements == 0 {
        return Err(Stop::Format {
            line: 1,
            column: None,
            message: "a camt document without a statement (Stmt, Rpt or Ntfctn)".into(),
        });
    }
    Ok(())
}

impl StmtState {
    fn element_name(&self) -> &'static str {
        match self.element {
            "Rpt" => "report",
            "Ntfctn" => "notification",
            _ => "statement",
        }
    }
}

fn format_stop<E>(pos: Pos, message: String) -> Stop<E> {
    Stop::Format {
        line: pos.0,
        column: Some(pos.1),
        message,
    }
}

fn attribute(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .map(|a| a.value.trim().to_string())
}

/// The names of the open elements, as one `a/b/c` text (no allocation per element).
#[derive(Debug, Default)]
struct ElementPath {
    text: String,
    /// Where each element's segment starts in `text` (at its `/`, or 0 for the root).
    starts: Vec<usize>,
}

impl ElementPath {
    fn len(&self) -> usize {
        self.starts.len()
    }

    fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    fn push(&mut self, name: &str) {
        self.starts.push(self.text.len());
        if !self.text.is_empty() {
            self.text.push('/');
        }
        self.text.push_str(name);
    }

    fn pop(&mut self) {
        if let Some(start) = self.starts.pop() {
            self.text.truncate(start);
        }
    }

    /// The path of the open elements below the one at index `d` (`Amt`, `BookgDt/Dt`).
    fn below(&self, d: usize) -> &str {
        match self.starts.get(d + 1) {
            Some(&start) => &self.text[start + 1..],
            None => "",
        }
    }
}

fn push_text(text: &mut String, s: &str, limits: Limits<'_>) {
    // Markup-free runs are bounded by `Positions`; many short texts of one element are bounded here.
    if text.len() + s.len() <= limits.max_record_bytes {
        text.push_str(s);
    }
}

fn end_ntry_field(n: &mut NtryState, rel: &str, value: String) {
    let keep = |v: &mut Vec<String>, value: String| {
        if v.len() < MAX_TEXTS {
            v.push(value);
        }
    };
    match rel {
        "Amt" => {
            if let Some((f, _)) = &mut n.amt {
                f.text = value;
            }
        }
        "CdtDbtInd" => set_text(&mut n.cdt_dbt, value),
        // `<Sts>BOOK</Sts>` (up to version 7) or `<Sts><Cd>BOOK</Cd></Sts>`: the outer
        // element of the second form has no text of its own.
        "Sts" if value.trim().is_empty() => {}
        "Sts" | "Sts/Cd" | "Sts/Prtry" => set_text(&mut n.status, value),
        "BookgDt/Dt" | "BookgDt/DtTm" => set_text(&mut n.booking, value),
        "ValDt/Dt" | "ValDt/DtTm" => set_text(&mut n.value, value),
        "NtryRef" => n.ntry_ref = Some(value),
        "AcctSvcrRef" => n.acct_svcr_ref = Some(value),
        "AddtlNtryInf" => keep(&mut n.addtl, value),
        _ if rel.ends_with("/RmtInf/Ustrd") && rel.starts_with("NtryDtls/TxDtls/") => {
            keep(&mut n.ustrd, value)
        }
        _ if rel.ends_with("/RmtInf/Strd/CdtrRefInf/Ref")
            && rel.starts_with("NtryDtls/TxDtls/") =>
        {
            keep(&mut n.strd, value)
        }
        _ => {}
    }
}

fn set_text(f: &mut Option<Field>, value: String) {
    if let Some(f) = f {
        f.text = value;
    }
}

/// What the rejects table keeps of an entry: its fields, not its markup.
fn describe_entry(n: &NtryState) -> String {
    let mut parts = Vec::new();
    if let Some((f, ccy)) = &n.amt {
        parts.push(format!(
            "Amt={} {}",
            f.text.trim(),
            ccy.as_deref().unwrap_or("")
        ));
    }
    for (k, v) in [
        ("CdtDbtInd", &n.cdt_dbt),
        ("Sts", &n.status),
        ("BookgDt", &n.booking),
        ("ValDt", &n.value),
    ] {
        if let Some(f) = v {
            parts.push(format!("{k}={}", f.text.trim()));
        }
    }
    if let Some(r) = &n.ntry_ref {
        parts.push(format!("NtryRef={}", r.trim()));
    }
    if let Some(r) = &n.acct_svcr_ref {
        parts.push(format!("AcctSvcrRef={}", r.trim()));
    }
    let reference = entry_reference(n);
    if !reference.is_empty() {
        parts.push(format!("reference={reference}"));
    }
    format!("<Ntry> {}", parts.join(" "))
}

/// The entry, or why it cannot be read (at the line of the element at fault).
fn entry_of(n: NtryState, limits: Limits<'_>) -> (u64, Result<Entry, RowError>) {
    let fail = |field: &str, pos: Pos, reason: String| {
        (
            pos.0,
            Err(RowError::at(
                &format!("Ntry/{field} (column {})", pos.1),
                reason,
            )),
        )
    };
    let status = n.status.as_ref().map(|f| f.text.trim().to_string());
    let pending = status.as_deref().is_some_and(|s| s != "BOOK");
    let Some((amt, ccy)) = &n.amt else {
        return fail("Amt", n.pos, "the entry has no Amt".into());
    };
    let currency = match ccy.as_deref().map(str::parse::<Currency>) {
        Some(Ok(c)) => c,
        Some(Err(e)) => return fail("Amt", amt.pos, format!("Ccy: {e}")),
        None => return fail("Amt", amt.pos, "Amt has no Ccy attribute".into()),
    };
    let magnitude = match parse_minor(amt.text.trim(), currency) {
        Ok(v) if v >= 0 => v,
        Ok(_) => {
            return fail(
                "Amt",
                amt.pos,
                "a negative Amt (the sign is CdtDbtInd's)".into(),
            );
        }
        Err(e) => return fail("Amt", amt.pos, format!("{:?}: {e}", amt.text.trim())),
    };
    let minor = match n.cdt_dbt.as_ref().map(|f| (f.text.trim(), f.pos)) {
        Some(("CRDT", _)) => magnitude,
        Some(("DBIT", _)) => -magnitude,
        Some((other, pos)) => {
            return fail(
                "CdtDbtInd",
                pos,
                format!("{other:?} is neither CRDT nor DBIT"),
            );
        }
        None => return fail("CdtDbtInd", n.pos, "the entry has no CdtDbtInd".into()),
    };
    // Booked entries by their booking date; a pending one may only have a value date.
    let date_field = match (&n.booking, &n.value) {
        (Some(b), _) => ("BookgDt", b),
        (None, Some(v)) if pending => ("ValDt", v),
        _ => return fail("BookgDt", n.pos, "the entry has no BookgDt".into()),
    };
    let (parent, f) = date_field;
    let name = &format!(
        "{parent}/{}",
        if f.text.contains('T') { "DtTm" } else { "Dt" }
    );
    let text = f.text.trim();
    // `DtTm` gives the date as written in its own offset: its first ten characters.
    let booking = match text
        .get(..10)
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    {
        Some(d) => match limits.window.check_date(d) {
            Ok(d) => d,
            Err(e) => return fail(name, f.pos, e),
        },
        None => return fail(name, f.pos, format!("{text:?} is not a date")),
    };
    let reference = entry_reference(&n);
    let id = n
        .acct_svcr_ref
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("NOTPROVIDED"))
        .or_else(|| {
            n.ntry_ref
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
        })
        .map(String::from);
    (
        n.pos.0,
        Ok(Entry {
            booking,
            minor,
            currency,
            reference,
            id,
            pending,
        }),
    )
}

/// The entry's texts as the spec joins them: every `Ustrd`, then `Strd` creditor references,
/// then `AddtlNtryInf`.
fn entry_reference(n: &NtryState) -> String {
    join_texts(
        n.ustrd
            .iter()
            .chain(&n.strd)
            .chain(&n.addtl)
            .map(String::as_str),
    )
}

/// A statement balance: opening (`OPBD`, or `PRCD`, the previous closing) and closing (`CLBD`).
fn take_balance(b: BalState, check: &mut BalanceCheck) {
    let (Some(code), Some((amt, Some(ccy)))) = (b.code, b.amt) else {
        return;
    };
    let Ok(currency) = ccy.parse::<Currency>() else {
        return;
    };
    let Ok(v) = parse_minor(amt.text.trim(), currency) else {
        return;
    };
    let v = if b.cdt_dbt.as_deref().map(str::trim) == Some("DBIT") {
        -v
    } else {
        v
    };
    match code.trim() {
        "OPBD" => check.opening = Some((v, currency)),
        "PRCD" => {
            check.opening.get_or_insert((v, currency));
        }
        "CLBD" => check.closing = Some((v, currency)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Collected, collect, window};
    use super::*;

    fn read_str(xml: &str) -> Collected {
        collect(|limits, sink| read(xml.as_bytes(), limits, sink))
    }

    const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>M1</MsgId></GrpHdr>
    <Stmt>
      <Id>STMT-1</Id>
      <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">112.50</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>
      <Ntry>
        <Amt Ccy="EUR">20.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2024-03-01</Dt></BookgDt>
        <AcctSvcrRef>REF-1</AcctSvcrRef>
        <NtryDtls><TxDtls><AcctSvcrRef>TX-LEVEL</AcctSvcrRef>
          <RmtInf><Ustrd>AMAZON PAYMENTS EUROPE</Ustrd><Ustrd>SETTLEMENT 123 &amp; more</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
        <AddtlNtryInf>GUTSCHRIFT</AddtlNtryInf>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">7.50</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><DtTm>2024-03-02T23:30:00-05:00</DtTm></BookgDt>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">1.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>PDNG</Sts>
        <ValDt><Dt>2024-03-03</Dt></ValDt>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"#;

    #[test]
    fn reads_entries_in_both_status_shapes_and_joins_texts() {
        let (lines, notes) = read_str(DOC);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(lines.len(), 3);
        let (line, e, s) = &lines[0];
        assert_eq!(*line, 10);
        assert_eq!(s.id.as_deref(), Some("STMT-1"));
        assert_eq!(s.account.as_deref(), Some("DE89370400440532013000"));
        let e = e.as_ref().unwrap();
        assert_eq!(e.minor, 2000);
        assert_eq!(e.id.as_deref(), Some("REF-1"));
        assert_eq!(
            e.reference,
            "AMAZON PAYMENTS EUROPE SETTLEMENT 123 & more GUTSCHRIFT"
        );
        let e1 = lines[1].1.as_ref().unwrap();
        assert_eq!(
            (e1.minor, e1.booking.to_string(), e1.pending, e1.id.clone()),
            (-750, "2024-03-02".into(), false, None)
        );
        let e2 = lines[2].1.as_ref().unwrap();
        assert!(e2.pending);
        assert_eq!(e2.booking.to_string(), "2024-03-03");
    }

    #[test]
    fn a_statement_that_does_not_add_up_is_a_note() {
        let doc = DOC.replace("112.50", "112.00");
        let (_, notes) = read_str(&doc);
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("statement STMT-1 of account DE89"),
            "{}",
            notes[0]
        );
        assert!(notes[0].contains("difference -0.50 EUR"), "{}", notes[0]);
    }

    #[test]
    fn a_bad_entry_is_rejected_at_its_element() {
        let doc = DOC.replace("<Amt Ccy=\"EUR\">7.50</Amt>", "<Amt Ccy=\"EUR\">7,50</Amt>");
        let (lines, _) = read_str(&doc);
        let (line, e, _) = &lines[1];
        let err = e.as_ref().unwrap_err();
        assert_eq!(*line, 22);
        assert_eq!(err.column.as_deref(), Some("Ntry/Amt (column 9)"));
    }

    #[test]
    fn malformed_xml_stops_with_line_and_column() {
        let doc = DOC.replace("</Ntry>\n      <Ntry>", "</Ntri>\n      <Ntry>");
        let w = window();
        let limits = Limits {
            window: &w,
            max_record_bytes: 1 << 20,
        };
        let err = read::<_, ()>(doc.as_bytes(), limits, &mut |_| Ok(())).unwrap_err();
        match err {
            Stop::Format { line, column, .. } => {
                assert_eq!(line, 20);
                assert!(column.is_some());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_long_text_run_stops_the_file_without_holding_it() {
        let doc = DOC.replace("GUTSCHRIFT", &"x".repeat(5000));
        let w = window();
        let limits = Limits {
            window: &w,
            max_record_bytes: 1000,
        };
        let err = read::<_, ()>(doc.as_bytes(), limits, &mut |_| Ok(())).unwrap_err();
        assert!(matches!(err, Stop::Format { line: 19, .. }), "{err:?}");
    }
}
