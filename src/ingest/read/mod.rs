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

mod settlement;
mod statements;

use settlement::read_settlement;
use statements::{read_bank_csv, read_bank_statement};

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
