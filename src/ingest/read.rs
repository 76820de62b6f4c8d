//! Reading one source file into typed rows (phase 1 of an ingest).
//!
//! Rows stream from the file into a [`RowBuilder`]; every [`SPILL_ROWS`] rows the builder is
//! spilled to uncompressed Parquet chunks, one per partition day, so memory stays bounded by
//! the chunk size whatever the file size. Bad rows go to a rejects builder with file, line,
//! column and reason.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;

use super::detect::Detected;
use super::hashing::HashingReader;
use super::records::{Record, Records};
use super::rows::{self, Fields, RowError};
use super::sink::{FileJob, FileRead, MemoryBudget, Rejects, Spiller, oversize_row};
use super::{IngestError, IngestOptions};
use crate::lake::builder::Value;
use crate::lake::merge::Chunk;
use crate::model::schema::{
    CHARGES, DEPOSITS, ORDERS, REFUNDS, REJECTS, SETTLEMENT_LINES, SETTLEMENTS, TableDef,
};
use crate::model::time::{parse_timestamp, to_micros};
use crate::model::{FileFormat, FileKind};
use crate::printable::{MAX_MESSAGE_CHARS, MAX_NAME_CHARS, printable};

/// Reads one file into spill chunks under `scratch`.
pub fn read_file(
    job: &FileJob,
    opts: &IngestOptions,
    scratch: &Path,
    budget: &MemoryBudget,
    progress: &dyn Fn(u64),
) -> Result<FileRead, IngestError> {
    let file = super::inbox::open_regular(&job.path).map_err(|e| IngestError::io(&job.path, e))?;
    let (read, hash) = read_source(
        HashingReader::new(file, job.hash),
        job,
        opts,
        scratch,
        budget,
        progress,
    )?;
    Ok(FileRead {
        sha256: hash.finish(),
        ..read
    })
}

/// Reads one source (a file, or bytes for the fuzz tests) of the kind `job` says; gives the
/// source back so a hashing reader can finish.
pub fn read_source<R: std::io::Read>(
    source: R,
    job: &FileJob,
    opts: &IngestOptions,
    scratch: &Path,
    budget: &MemoryBudget,
    progress: &dyn Fn(u64),
) -> Result<(FileRead, R), IngestError> {
    match (job.detected.kind, job.detected.format) {
        (FileKind::Settlement, _) => read_settlement(source, job, opts, scratch, budget, progress),
        (FileKind::Deposits, FileFormat::BankCsv(i)) => {
            let layout = opts.banks.get(usize::from(i)).ok_or_else(|| {
                IngestError::Internal(format!("no [[bank.csv]] layout number {i}"))
            })?;
            read_bank_csv(source, job, layout, opts, scratch, budget, progress)
        }
        (
            FileKind::Deposits,
            format @ (FileFormat::Camt | FileFormat::Mt940 | FileFormat::Bai2),
        ) => read_bank_statement(source, job, format, opts, scratch, budget),
        (kind, FileFormat::JsonLines) => {
            super::json::read_json(source, job, kind, opts, scratch, budget, progress)
        }
        (kind, _) => read_csv(source, job, kind, opts, scratch, budget, progress),
    }
}

fn read_csv<R: std::io::Read>(
    source: R,
    job: &FileJob,
    kind: FileKind,
    opts: &IngestOptions,
    scratch: &Path,
    budget: &MemoryBudget,
    progress: &dyn Fn(u64),
) -> Result<(FileRead, R), IngestError> {
    let lake_err = IngestError::Lake;
    let orders = &opts.orders;
    let w = &opts.window;
    let (table, required): (&'static TableDef, Vec<&str>) = match kind {
        FileKind::Charges => (&CHARGES, rows::charge::REQUIRED.to_vec()),
        FileKind::Refunds => (&REFUNDS, rows::refund::REQUIRED.to_vec()),
        FileKind::Deposits => (&DEPOSITS, rows::deposit::REQUIRED.to_vec()),
        FileKind::Orders => (
            &ORDERS,
            vec![
                orders.order_id.as_str(),
                &orders.created_at,
                &orders.country,
                &orders.device,
                &orders.order_total,
                &orders.currency,
            ],
        ),
        FileKind::Settlement => unreachable!("settlement reports have their own reader"),
    };
    let mut spiller = Spiller::new(table, scratch, job.seq, budget);
    let mut rejects = Rejects::new(job);
    let mut rdr = Records::new(source, b',', opts.max_record_bytes);
    let mut rec = Record::default();
    let header = read_header(&mut rdr, &mut rec, job, opts)?;
    check_required(job, rec.line, &header.names, &required)?;
    let read = each_row(
        &mut rdr,
        &mut rec,
        (&header, job, opts, false),
        &mut rejects,
        progress,
        |row, line| {
            let result = match kind {
                FileKind::Charges => rows::push_charge(row, w, &mut spiller.builder),
                FileKind::Refunds => rows::push_refund(row, w, &mut spiller.builder),
                FileKind::Deposits => rows::push_deposit(row, w, &mut spiller.builder),
                FileKind::Orders => rows::push_order(row, orders, w, &mut spiller.builder),
                FileKind::Settlement => unreachable!("settlement reports have their own reader"),
            };
            if result.is_ok() {
                spiller.builder.finish_row(&job.display, line, job.seq);
                spiller.row_done().map_err(lake_err)?;
            }
            Ok(result)
        },
    )?;
    Ok((
        FileRead::one_table(read, rejects, spiller)?,
        rdr.into_inner(),
    ))
}

/// A bank's own CSV export, read by its `[[bank.csv]]` layout: transcoded to UTF-8 as it
/// streams, the preamble skipped by lines, amounts with the layout's decimal separator, dates
/// in its format, references joined from several columns, ids derived when it has none.
fn read_bank_csv<R: std::io::Read>(
    mut source: R,
    job: &FileJob,
    layout: &crate::settings::BankCsvLayout,
    opts: &IngestOptions,
    scratch: &Path,
    budget: &MemoryBudget,
    progress: &dyn Fn(u64),
) -> Result<(FileRead, R), IngestError> {
    use crate::model::Currency;
    let io = |e| IngestError::io(&job.path, e);
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(layout.encoding()))
        .strip_bom(true)
        .build(&mut source);
    let mut spiller = Spiller::new(&DEPOSITS, scratch, job.seq, budget);
    let mut rejects = Rejects::new(job);
    let mut rdr = Records::new(decoded, layout.delimiter_byte(), opts.max_record_bytes);
    rdr.skip_lines(layout.skip_lines).map_err(io)?;
    let mut rec = Record::default();
    let header = read_header(&mut rdr, &mut rec, job, opts)?;
    check_required(job, rec.line, &header.names, &layout.headers())?;
    let c = &layout.columns;
    let fixed_currency = layout
        .currency
        .as_deref()
        .and_then(|t| t.parse::<Currency>().ok());
    let references = c.reference.names();
    // Identical lines within the file (the statement) are told apart by their count.
    let mut seen: FxHashMap<String, u32> = FxHashMap::default();
    // A trailing delimiter (an empty last field on data lines only) is tolerated.
    let read = each_row(
        &mut rdr,
        &mut rec,
        (&header, job, opts, true),
        &mut rejects,
        progress,
        |row, line| {
            let parsed = (|| -> Result<(), RowError> {
                let date_text = rows::required(row, &c.booking_date)?;
                let booking = chrono::NaiveDate::parse_from_str(date_text, &layout.date_format)
                    .map_err(|_| {
                        format!(
                            "{date_text:?} is not a date in the format {:?}",
                            layout.date_format
                        )
                    })
                    .and_then(|d| opts.window.check_date(d))
                    .map_err(|e| RowError::at(&c.booking_date, e))?;
                let currency = match &c.currency {
                    Some(col) => rows::required(row, col)?
                        .parse::<Currency>()
                        .map_err(|e| RowError::at(col, e.to_string()))?,
                    None => fixed_currency.ok_or_else(|| RowError::row("no currency"))?,
                };
                let amount = |col: &str| -> Result<Option<i64>, RowError> {
                    rows::optional(row, col)
                        .map(|t| {
                            bank_amount(t, layout.decimal_byte(), currency)
                                .map_err(|e| RowError::at(col, e))
                        })
                        .transpose()
                };
                let minor = match (&c.amount, &c.credit, &c.debit) {
                    (Some(col), _, _) => {
                        amount(col)?.ok_or_else(|| RowError::at(col, "required field is empty"))?
                    }
                    (None, Some(cr), Some(dr)) => match (amount(cr)?, amount(dr)?) {
                        (Some(a), None) => a.abs(),
                        (None, Some(b)) => -b.abs(),
                        (None, None) => {
                            return Err(RowError::at(cr, format!("both {cr} and {dr} are empty")));
                        }
                        (Some(_), Some(_)) => {
                            return Err(RowError::at(
                                dr,
                                format!("both {cr} and {dr} hold an amount"),
                            ));
                        }
                    },
                    _ => return Err(RowError::row("the layout maps no amount")),
                };
                let reference: Vec<&str> = references
                    .iter()
                    .filter_map(|col| rows::optional(row, col))
                    .collect();
                let reference = reference.join(" ");
                let account = c
                    .account
                    .as_deref()
                    .and_then(|col| rows::optional(row, col));
                let derived;
                let id = match &c.bank_transaction_id {
                    Some(col) => rows::required(row, col)?,
                    None => {
                        let key = format!(
                            "{}|{booking}|{minor}|{}|{reference}",
                            account.unwrap_or(""),
                            currency.code()
                        );
                        let n = seen.entry(key).or_insert(0);
                        *n += 1;
                        derived = rows::derived_bank_id(
                            account.unwrap_or(""),
                            booking,
                            minor,
                            currency,
                            &reference,
                            *n,
                        );
                        &derived
                    }
                };
                rows::push_bank_line(
                    &rows::BankLine {
                        id,
                        booking,
                        amount: i128::from(minor) * i128::from(currency.lake_factor()),
                        currency,
                        reference: Some(&reference),
                        account,
                        statement: None,
                    },
                    &mut spiller.builder,
                );
                Ok(())
            })();
            if parsed.is_ok() {
                spiller.builder.finish_row(&job.display, line, job.seq);
                spiller.row_done().map_err(IngestError::Lake)?;
            }
            Ok(parsed)
        },
    )?;
    drop(rdr);
    Ok((FileRead::one_table(read, rejects, spiller)?, source))
}

/// Reads a camt, MT940 or BAI2 statement file: booked lines into `deposits`, pending ones into
/// `bank_pending`, ids derived per statement where the format gives none.
fn read_bank_statement<R: std::io::Read>(
    mut source: R,
    job: &FileJob,
    format: FileFormat,
    opts: &IngestOptions,
    scratch: &Path,
    budget: &MemoryBudget,
) -> Result<(FileRead, R), IngestError> {
    use super::bank::{self, Event, Limits, Stop};
    use crate::model::schema::BANK_PENDING;
    let mut booked = Spiller::new(&DEPOSITS, scratch, job.seq, budget);
    let mut pending = Spiller::new(&BANK_PENDING, scratch, job.seq, budget);
    let mut rejects = Rejects::new(job);
    let mut notes = Vec::new();
    let mut rows_read = 0u64;
    // Identical lines are told apart by their count within one statement.
    let mut seen: FxHashMap<String, u32> = FxHashMap::default();
    let limits = Limits {
        window: &opts.window,
        max_record_bytes: opts.max_record_bytes,
    };
    let mut sink = |event: Event<'_>| -> Result<(), IngestError> {
        match event {
            Event::StatementEnd => seen.clear(),
            Event::Note(n) => {
                let n = printable(&n, MAX_MESSAGE_CHARS).into_owned();
                // Printed under the file in the summary; logged only in detail.
                tracing::debug!(file = %job.display, "{n}");
                notes.push(n);
            }
            Event::Line {
                statement,
                line,
                entry,
                raw,
            } => {
                rows_read += 1;
                let e = match entry {
                    Ok(e) => e,
                    Err(err) => {
                        rejects.add(line, err, raw);
                        return Ok(());
                    }
                };
                let account = statement.account.as_deref().unwrap_or("");
                let derived;
                let id = match &e.id {
                    Some(id) => id.as_str(),
                    None => {
                        let key = format!(
                            "{account}|{}|{}|{}|{}",
                            e.booking,
                            e.minor,
                            e.currency.code(),
                            e.reference
                        );
                        let n = seen.entry(key).or_insert(0);
                        *n += 1;
                        derived = rows::derived_bank_id(
                            account,
                            e.booking,
                            e.minor,
                            e.currency,
                            &e.reference,
                            *n,
                        );
                        derived.as_str()
                    }
                };
                let spiller = if e.pending { &mut pending } else { &mut booked };
                rows::push_bank_line(
                    &rows::BankLine {
                        id,
                        booking: e.booking,
                        amount: i128::from(e.minor) * i128::from(e.currency.lake_factor()),
                        currency: e.currency,
                        reference: Some(&e.reference)
                            .filter(|r| !r.is_empty())
                            .map(|r| r.as_str()),
                        account: statement.account.as_deref(),
                        statement: statement.id.as_deref(),
                    },
                    &mut spiller.builder,
                );
                spiller.builder.finish_row(&job.display, line, job.seq);
                spiller.row_done().map_err(IngestError::Lake)?;
            }
        }
        Ok(())
    };
    let result = match format {
        FileFormat::Camt => bank::camt::read(&mut source, limits, &mut sink),
        FileFormat::Mt940 => bank::mt940::read(&mut source, limits, &mut sink),
        FileFormat::Bai2 => bank::bai2::read(&mut source, limits, &mut sink),
        other => {
            return Err(IngestError::Internal(format!(
                "{} is not a bank statement format",
                other.as_str()
            )));
        }
    };
    match result {
        Ok(()) => {}
        Err(Stop::Sink(e)) => return Err(e),
        Err(Stop::Io(e)) => return Err(IngestError::io(&job.path, e)),
        Err(Stop::Format {
            line,
            column,
            message,
        }) => {
            return Err(IngestError::file(
                job,
                line,
                column.map(|c| c.to_string()),
                format!("not readable as {}: {message}", format.as_str()),
            ));
        }
    }
    let (rejected, rejects) = rejects.finish();
    Ok((
        FileRead {
            rows_read,
            rejected,
            warnings: 0,
            unknown_types: BTreeMap::new(),
            tables: vec![
                booked.finish().map_err(IngestError::Lake)?,
                pending.finish().map_err(IngestError::Lake)?,
            ],
            rejects,
            sha256: None,
            notes,
        },
        source,
    ))
}

/// A bank's amount text in minor units: `decimal` separates the fraction and the other of `.`
/// and `,` may group digits; a sign may lead or trail (`-12,50`, `12,50-`, `+3.00`).
fn bank_amount(text: &str, decimal: u8, currency: crate::model::Currency) -> Result<i64, String> {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (neg, body) = if let Some(b) = t.strip_suffix('-') {
        (true, b)
    } else if let Some(b) = t.strip_prefix('-') {
        (true, b)
    } else {
        (false, t.strip_prefix('+').unwrap_or(&t))
    };
    let group = if decimal == b',' { '.' } else { ',' };
    let plain: String = body
        .chars()
        .filter(|&c| c != group)
        .map(|c| if c == decimal as char { '.' } else { c })
        .collect();
    let v = crate::model::money::parse_minor(&plain, currency).map_err(|e| e.to_string())?;
    if plain.starts_with('-') || plain.starts_with('+') {
        return Err(format!("{text:?} has two signs"));
    }
    Ok(if neg { -v } else { v })
}

fn oversize_header(opts: &IngestOptions) -> String {
    format!(
        "the header row is longer than {} bytes (setting ingest.max_record_bytes)",
        opts.max_record_bytes
    )
}

/// Reads a CSV source's header row (its first record).
fn read_header<R: std::io::Read>(
    rdr: &mut Records<R>,
    rec: &mut Record,
    job: &FileJob,
    opts: &IngestOptions,
) -> Result<Header, IngestError> {
    match rdr.read(rec).map_err(|e| IngestError::io(&job.path, e))? {
        true if rec.oversize => Err(IngestError::file(
            job,
            rec.line,
            None,
            oversize_header(opts),
        )),
        true => Ok(header_index(rec)),
        false => Err(IngestError::file(job, 1, None, "no header row")),
    }
}

/// Reads every data record of a CSV source: a record that cannot be split into the header's
/// fields is rejected here; `parse` pushes one that parses (and says why one does not). Returns
/// the rows read. `how`: the header, the job, the options, and whether a trailing delimiter is
/// tolerated.
fn each_row<R: std::io::Read>(
    rdr: &mut Records<R>,
    rec: &mut Record,
    how: (&Header, &FileJob, &IngestOptions, bool),
    rejects: &mut Rejects<'_>,
    progress: &dyn Fn(u64),
    mut parse: impl FnMut(&CsvRow<'_>, u64) -> Result<Result<(), RowError>, IngestError>,
) -> Result<u64, IngestError> {
    let (header, job, opts, lenient) = how;
    let mut read = 0u64;
    while rdr.read(rec).map_err(|e| IngestError::io(&job.path, e))? {
        read += 1;
        if read.is_multiple_of(65536) {
            progress(rdr.position());
        }
        let line = rec.line;
        let row = if lenient {
            CsvRow::new_lenient(header, rec, opts)
        } else {
            CsvRow::new(header, rec, opts)
        };
        let outcome = match row {
            Ok(row) => parse(&row, line)?,
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            rejects.add(line, e, &raw_record(rec));
        }
    }
    Ok(read)
}

struct Header {
    names: Vec<String>,
    index: FxHashMap<String, usize>,
    /// Lookups already made, by the address and length of the name asked for: parsers ask for
    /// the same `&str`s in the same order on every row, so a pointer comparison finds them.
    memo: std::cell::RefCell<Vec<(usize, usize, Option<usize>)>>,
}

impl Header {
    fn position(&self, name: &str) -> Option<usize> {
        let key = (name.as_ptr() as usize, name.len());
        let mut memo = self.memo.borrow_mut();
        if let Some(&(_, _, i)) = memo.iter().find(|(p, l, _)| (*p, *l) == key) {
            return i;
        }
        let i = self.index.get(name).copied();
        memo.push((key.0, key.1, i));
        i
    }
}

fn header_index(rec: &Record) -> Header {
    let names: Vec<String> = rec
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect();
    let mut index = FxHashMap::default();
    for (i, n) in names.iter().enumerate() {
        index.entry(n.clone()).or_insert(i);
    }
    Header {
        names,
        index,
        memo: Default::default(),
    }
}

fn check_required(
    job: &FileJob,
    line: u64,
    names: &[String],
    required: &[&str],
) -> Result<(), IngestError> {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|r| !names.iter().any(|n| n == r))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(IngestError::file(
            job,
            line,
            Some(missing.join(", ")),
            format!(
                "missing required column{} {}",
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", ")
            ),
        ))
    }
}

struct CsvRow<'a> {
    header: &'a Header,
    rec: &'a Record,
    all: &'a str,
}

impl<'a> CsvRow<'a> {
    /// Like [`CsvRow::new`], but an empty last field beyond the header (a trailing delimiter
    /// on data lines) or a header with one is tolerated, as bank exports have them.
    fn new_lenient(
        header: &'a Header,
        rec: &'a Record,
        opts: &IngestOptions,
    ) -> Result<Self, RowError> {
        let n = header.names.len();
        let extra_empty = rec.len() == n + 1 && rec.get(n).is_some_and(|f| f.is_empty());
        let header_trailing =
            header.names.last().is_some_and(|h| h.is_empty()) && rec.len() + 1 == n;
        if extra_empty || header_trailing {
            return Self::checked(header, rec, opts, false);
        }
        Self::new(header, rec, opts)
    }

    fn new(header: &'a Header, rec: &'a Record, opts: &IngestOptions) -> Result<Self, RowError> {
        Self::checked(header, rec, opts, true)
    }

    fn checked(
        header: &'a Header,
        rec: &'a Record,
        opts: &IngestOptions,
        count: bool,
    ) -> Result<Self, RowError> {
        if rec.oversize {
            return Err(oversize_row(opts, rec.source_bytes));
        }
        if count && rec.len() != header.names.len() {
            return Err(RowError::row(format!(
                "expected {} fields, found {}",
                header.names.len(),
                rec.len()
            )));
        }
        // One UTF-8 check for the whole record; fields split on ASCII, so each is valid too.
        let Ok(all) = std::str::from_utf8(rec.as_slice()) else {
            let bad = rec
                .iter()
                .position(|f| std::str::from_utf8(f).is_err())
                .unwrap_or(0);
            return Err(RowError::at(&header.names[bad], "invalid UTF-8"));
        };
        Ok(CsvRow { header, rec, all })
    }
}

impl Fields for CsvRow<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        let i = self.header.position(name)?;
        Some(&self.all[self.rec.range(i)?])
    }
}

/// The record as CSV text again (of an oversize record, what was kept of it).
fn raw_record(rec: &Record) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let _ = if rec.oversize {
        w.write_record(rec.kept_prefix())
    } else {
        w.write_record(rec.iter())
    };
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .trim_end_matches('\n')
        .to_string()
}

/// Lines of a settlement report's header block looked through for its column row.
const MAX_HEADER_BLOCK: usize = 1000;

fn read_settlement<R: std::io::Read>(
    source: R,
    job: &FileJob,
    opts: &IngestOptions,
    scratch: &Path,
    budget: &MemoryBudget,
    progress: &dyn Fn(u64),
) -> Result<(FileRead, R), IngestError> {
    let lake_err = IngestError::Lake;
    let io = |e| IngestError::io(&job.path, e);
    let mut rdr = Records::new(source, b',', opts.max_record_bytes);
    let mut rec = Record::default();
    let mut meta: Vec<(String, String)> = Vec::new();
    let mut block = 0;
    let (header, header_line) = loop {
        if !rdr.read(&mut rec).map_err(io)? || block == MAX_HEADER_BLOCK {
            return Err(IngestError::file(
                job,
                rec.line.max(1),
                Some(rows::line::POSTED.into()),
                format!(
                    "settlement report has no `TransactionPostedDate` column row{}",
                    if block == MAX_HEADER_BLOCK {
                        format!(" in its first {MAX_HEADER_BLOCK} lines")
                    } else {
                        String::new()
                    }
                ),
            ));
        }
        block += 1;
        if rec.oversize {
            return Err(IngestError::file(
                job,
                rec.line,
                None,
                oversize_header(opts),
            ));
        }
        let first = String::from_utf8_lossy(rec.get(0).unwrap_or_default())
            .trim()
            .to_string();
        if first == rows::line::POSTED {
            break (header_index(&rec), rec.line);
        }
        if !first.is_empty() {
            let value = String::from_utf8_lossy(rec.get(1).unwrap_or_default())
                .trim()
                .to_string();
            meta.push((first, value));
        }
    };
    check_required(job, header_line, &header.names, &rows::line::REQUIRED)?;
    let mut lines = Spiller::new(&SETTLEMENT_LINES, scratch, job.seq, budget);
    let mut rejects = Rejects::new(job);
    let mut per_settlement: BTreeMap<String, (u64, u64)> = BTreeMap::new(); // id -> (count, first line)
    let mut unknown_types: BTreeMap<String, u64> = BTreeMap::new();
    let read = each_row(
        &mut rdr,
        &mut rec,
        (&header, job, opts, false),
        &mut rejects,
        progress,
        |row, line| match rows::push_settlement_line(row, &opts.window, &mut lines.builder) {
            Ok((id, unknown)) => {
                if unknown {
                    let t = row.get(rows::line::TYPE).unwrap_or("").trim();
                    *unknown_types
                        .entry(printable(t, MAX_NAME_CHARS).into_owned())
                        .or_default() += 1;
                }
                let e = per_settlement.entry(id.to_string()).or_insert((0, line));
                e.0 += 1;
                lines.builder.finish_row(&job.display, line, job.seq);
                lines.row_done().map_err(lake_err)?;
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e)),
        },
    )?;
    // One `settlements` row per settlement id in the report, carrying the header block.
    let mut heads = Spiller::new(&SETTLEMENTS, scratch, job.seq, budget);
    let header_json = {
        let pairs: Vec<String> = meta
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}:{}",
                    serde_json::Value::from(k.as_str()),
                    serde_json::Value::from(v.as_str())
                )
            })
            .collect();
        format!("{{{}}}", pairs.join(","))
    };
    // A header date that is not a plausible timestamp is left empty (and said), never stored.
    let meta_ts = |key: &str| {
        let (_, v) = meta.iter().find(|(k, _)| k == key)?;
        let checked = parse_timestamp(v)
            .map_err(|e| e.to_string())
            .and_then(|t| opts.window.check_timestamp(to_micros(t)));
        match checked {
            Ok(t) => Some(t),
            Err(why) => {
                tracing::warn!(file = %job.display, "header {key} left empty: {}", printable(&why, MAX_MESSAGE_CHARS));
                None
            }
        }
    };
    let seller = meta
        .iter()
        .find(|(k, _)| k == "SellerId")
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty());
    for (id, (count, first_line)) in &per_settlement {
        let b = &mut heads.builder;
        b.push(Value::Str(Some(id)));
        b.push(Value::Str(seller));
        b.push(Value::Ts(meta_ts("SettlementStartDate")));
        b.push(Value::Ts(meta_ts("SettlementEndDate")));
        b.push(Value::Ts(meta_ts("DepositDate")));
        b.push(Value::Str(Some(&header_json)));
        b.push(Value::Int(Some(*count as i64)));
        b.finish_row(&job.display, *first_line, job.seq);
    }
    let warnings: u64 = unknown_types.values().sum();
    if !unknown_types.is_empty() {
        tracing::warn!(file = %job.display, types = ?unknown_types, "unknown settlement TransactionType values loaded as-is");
    }
    let (rejected, rejects) = rejects.finish();
    Ok((
        FileRead {
            rows_read: read,
            rejected,
            warnings,
            unknown_types,
            tables: vec![
                lines.finish().map_err(lake_err)?,
                heads.finish().map_err(lake_err)?,
            ],
            rejects,
            sha256: None,
            notes: Vec::new(),
        },
        rdr.into_inner(),
    ))
}

/// What [`read_bytes`] made of some bytes.
#[derive(Debug)]
pub struct BytesRead {
    /// What the bytes were taken for.
    pub sniffed: super::Sniffed,
    pub rows_read: u64,
    /// Rows that parsed (of every table the kind writes: a settlement's `settlements` rows too).
    pub rows_loaded: u64,
    /// Rows of the tables the kind's rows are counted by (deposits: `deposits` and
    /// `bank_pending`) that parsed.
    pub main_rows: u64,
    pub rejected: u64,
    /// The physical line of every reject.
    pub reject_lines: Vec<u64>,
    /// The error that refused the bytes as a whole, if one did.
    pub error: Option<String>,
}

/// The byte-level entry point to every reader: recognises `bytes` (or reads them as `force`
/// says) and parses them in memory, as an ingest would, without a lake. For the fuzz tests.
pub fn read_bytes(bytes: &[u8], force: Option<Detected>, opts: &IngestOptions) -> BytesRead {
    let sniffed = match force {
        Some(d) => super::Sniffed::Kind(d),
        None => super::detect::detect_bytes(bytes, &opts.orders, &opts.banks),
    };
    let mut out = BytesRead {
        sniffed: sniffed.clone(),
        rows_read: 0,
        rows_loaded: 0,
        main_rows: 0,
        rejected: 0,
        reject_lines: Vec::new(),
        error: None,
    };
    let super::Sniffed::Kind(detected) = sniffed else {
        return out;
    };
    let job = FileJob {
        path: PathBuf::from("<bytes>"),
        display: "<bytes>".into(),
        seq: 1,
        detected,
        hash: false,
    };
    // Everything stays in memory: the scratch folder is never written.
    let budget = MemoryBudget::new(usize::MAX);
    match read_source(
        bytes,
        &job,
        opts,
        Path::new("/nonexistent"),
        &budget,
        &|_| {},
    ) {
        Ok((read, _)) => {
            out.rows_read = read.rows_read;
            out.rejected = read.rejected;
            let counted = super::row_tables(detected.kind);
            for (table, spilled) in &read.tables {
                let n: u64 = spilled
                    .spills
                    .values()
                    .flatten()
                    .map(|c| match c {
                        Chunk::Memory(b) => b.num_rows() as u64,
                        Chunk::Disk(_) => 0,
                    })
                    .sum();
                out.rows_loaded += n;
                if counted.iter().any(|t| t.name == table.name) {
                    out.main_rows += n;
                }
            }
            if let Some(b) = &read.rejects {
                let lines = b
                    .column(REJECTS.index_of("source_line"))
                    .as_primitive::<arrow_array::types::Int64Type>();
                out.reject_lines = lines.values().iter().map(|&l| l as u64).collect();
            }
        }
        Err(e) => out.error = Some(e.to_string()),
    }
    out
}
