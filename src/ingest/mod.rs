//! Ingest: source files in, a clean typed Parquet lake out (or exactly which row is wrong).
//!
//! 1. Files are listed (folders recursively, in name order), hashed (SHA-256), and skipped when
//!    the manifest (table `files`) already holds their content.
//! 2. Each new file is recognised by its header and read in parallel (rayon), rows spilled to
//!    per-day Parquet chunks; bad rows go to `rejects`.
//! 3. Each table's new rows are merged into the lake (exact duplicates skipped, latest state
//!    wins), and the manifest and rejects appended, all in one atomic commit.
//!
//! Per file, always: rows read = loaded + rejected + duplicates.

pub mod archive;
pub mod bank;
pub mod detect;
pub mod hashing;
pub mod inbox;
pub mod json;
pub mod json_frames;
mod json_kind;
pub mod read;
pub mod records;
pub mod rows;
pub mod sink;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::RecordBatch;
use arrow_select::concat::concat_batches;
use rayon::prelude::*;

use crate::lake::builder::{RowBuilder, Value};
use crate::lake::merge::{TableDelta, merge_tables};
use crate::lake::parquet_io;
use crate::lake::{Lake, LakeError};
use crate::model::FileKind;
use crate::model::schema::{
    BANK_PENDING, CHARGES, DEPOSITS, FILES, ORDERS, REFUNDS, REJECTS, SETTLEMENT_LINES, TableDef,
};
use crate::model::time::TimeWindow;
use crate::printable::{MAX_MESSAGE_CHARS, printable};
use crate::settings::OrderColumns;
pub use detect::{Detected, Sniffed};
pub use inbox::Skipped;
use sink::{FileJob, FileRead};

/// Errors of the ingest stage.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A whole file cannot be read (the run goes on without it).
    #[error("{file}:{line}{}: {message}", column.as_ref().map(|c| format!(" (column {c})")).unwrap_or_default())]
    File {
        file: String,
        line: u64,
        column: Option<String>,
        message: String,
    },
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl IngestError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        IngestError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    fn file(job: &FileJob, line: u64, column: Option<String>, message: impl Into<String>) -> Self {
        IngestError::File {
            file: job.display.clone(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    /// Read and merged.
    Loaded,
    /// Its content was ingested before (as file `seq`): nothing to do.
    AlreadyIngested { seq: i64 },
    /// Its content appears earlier in this same run.
    SameAsEarlier { path: String },
    /// Not recognised as any input kind; not recorded, so a later run tries again.
    Unrecognized(String),
    /// Recognised but unreadable as a whole (e.g. a missing required column, or a read error);
    /// not recorded.
    Failed(String),
    /// Nothing but white space: nothing to read, archived like a loaded file, not recorded.
    Empty,
}

/// Counts and outcome for one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The path as shown and stored as `source_file` (see [`inbox::display`]).
    pub path: String,
    /// The path itself (its own bytes, which may not be UTF-8).
    pub source: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    pub detected: Option<Detected>,
    pub seq: Option<i64>,
    pub rows_read: u64,
    pub loaded: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub warnings: u64,
    /// The first rejected row: line, column, reason.
    pub first_reject: Option<(u64, Option<String>, String)>,
    /// Findings about the file as a whole (a bank statement that does not add up).
    pub notes: Vec<String>,
    pub status: FileStatus,
}

/// The outcome of an ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    pub files: Vec<FileReport>,
    /// Inbox entries that were not files to read (links not followed, FIFOs, ...).
    pub skipped: Vec<Skipped>,
}

impl IngestReport {
    pub fn rows_rejected(&self) -> u64 {
        self.files.iter().map(|f| f.rejected).sum()
    }
    pub fn files_failed(&self) -> usize {
        self.files
            .iter()
            .filter(|f| {
                matches!(
                    f.status,
                    FileStatus::Unrecognized(_) | FileStatus::Failed(_)
                )
            })
            .count()
    }
    pub fn files_empty(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.status == FileStatus::Empty)
            .count()
    }
    pub fn files_loaded(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.status == FileStatus::Loaded)
            .count()
    }
}

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub orders: OrderColumns,
    /// Show a progress bar (only drawn on a terminal).
    pub progress: bool,
    /// Bytes of parsed rows held in memory before chunks spill to disk.
    pub memory_budget: usize,
    /// Record files below `.0` as if they were below `.1` (`source_file`, the `files` table):
    /// a `run --full` rebuild reads archived files under the inbox paths they arrived with.
    pub path_alias: Option<(PathBuf, PathBuf)>,
    /// Rows whose times fall outside this window are rejected.
    pub window: TimeWindow,
    /// The longest record (CSV record or JSON line) read; a longer one is rejected.
    pub max_record_bytes: usize,
    /// Follow symbolic links found in folders (loop-safe) instead of skipping them.
    pub follow_symlinks: bool,
    /// Banks' own CSV export layouts (`[[bank.csv]]`).
    pub banks: Vec<crate::settings::BankCsvLayout>,
}

/// The default [`IngestOptions::memory_budget`]: 128 MiB.
pub const DEFAULT_MEMORY_BUDGET: usize = 128 << 20;

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions::new(OrderColumns::default())
    }
}

impl IngestOptions {
    pub fn new(orders: OrderColumns) -> Self {
        IngestOptions {
            orders,
            progress: false,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            path_alias: None,
            window: TimeWindow::now(),
            max_record_bytes: crate::settings::DEFAULT_MAX_RECORD_BYTES as usize,
            follow_symlinks: false,
            banks: Vec::new(),
        }
    }
}

/// Lists the files under `paths` (see [`inbox::list`]).
pub fn discover(paths: &[PathBuf], follow_symlinks: bool) -> Result<inbox::Listing, IngestError> {
    inbox::list(paths, follow_symlinks).map_err(|e| IngestError::Io {
        path: paths.first().cloned().unwrap_or_default(),
        source: e,
    })
}

/// The tables whose rows a file of `kind` is counted by (rows read = loaded + rejected +
/// duplicates over them).
pub(crate) fn row_tables(kind: FileKind) -> &'static [&'static TableDef] {
    match kind {
        FileKind::Settlement => &[&SETTLEMENT_LINES],
        FileKind::Charges => &[&CHARGES],
        FileKind::Refunds => &[&REFUNDS],
        FileKind::Orders => &[&ORDERS],
        FileKind::Deposits => &[&DEPOSITS, &BANK_PENDING],
    }
}

/// What a run would do with one file (`payrecon run --dry-run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// New content of this kind: would be read and merged.
    New(Detected),
    /// Content already in the lake (as file `seq`): would only be archived.
    Known { seq: i64 },
    /// Same content as an earlier file of this batch.
    Repeat { path: String },
    /// Not recognised: would stay in the inbox.
    Unrecognized(String),
    /// Empty: would only be archived.
    Empty,
    /// Cannot be read: would stay in the inbox.
    Failed(String),
}

/// What [`preview`] found.
#[derive(Debug)]
pub struct Preview {
    /// Each file, its size, and what would be done with it.
    pub plan: Vec<(PathBuf, u64, Planned)>,
    /// Inbox entries that would be left alone.
    pub skipped: Vec<Skipped>,
}

/// Says what [`ingest`] would do with each file under `paths`, without reading rows or writing.
pub fn preview(
    known: &[(String, i64, u64)],
    paths: &[PathBuf],
    opts: &IngestOptions,
) -> Result<Preview, IngestError> {
    let known: HashMap<&str, i64> = known.iter().map(|(h, s, _)| (h.as_str(), *s)).collect();
    let listing = discover(paths, opts.follow_symlinks)?;
    let hashed: Vec<(PathBuf, std::io::Result<(String, u64)>)> = listing
        .files
        .into_par_iter()
        .map(|(p, _)| {
            let h = hashing::sha256_file(&p);
            (p, h)
        })
        .collect();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(hashed.len());
    for (path, hash) in hashed {
        let (sha, bytes) = match hash {
            Ok(h) => h,
            Err(e) => {
                out.push((path, 0, Planned::Failed(e.to_string())));
                continue;
            }
        };
        let plan = if let Some(&seq) = known.get(sha.as_str()) {
            Planned::Known { seq }
        } else if let Some(first) = seen.get(&sha) {
            Planned::Repeat {
                path: first.clone(),
            }
        } else {
            match detect::detect(&path, &opts.orders, &opts.banks, opts.max_record_bytes) {
                Ok(Sniffed::Kind(d)) => {
                    seen.insert(sha, inbox::shown_path(&path));
                    Planned::New(d)
                }
                Ok(Sniffed::Empty) => Planned::Empty,
                Ok(Sniffed::Unknown(why)) => Planned::Unrecognized(why),
                Err(e) => Planned::Failed(e.to_string()),
            }
        };
        out.push((path, bytes, plan));
    }
    Ok(Preview {
        plan: out,
        skipped: listing.skipped,
    })
}

/// Test hooks: `PAYRECON_CRASH_AT=<point>` aborts the process at that point, as a kill would;
/// `PAYRECON_PAUSE_AT=<point>:<ms>` sleeps there (a slow disk, for readers racing a commit).
pub fn crash_point(point: &str) {
    if std::env::var("PAYRECON_CRASH_AT").is_ok_and(|p| p == point) {
        eprintln!("PAYRECON_CRASH_AT={point}: aborting");
        std::process::abort();
    }
    if let Ok(pause) = std::env::var("PAYRECON_PAUSE_AT")
        && let Some((at, ms)) = pause.split_once(':')
        && at == point
        && let Ok(ms) = ms.parse::<u64>()
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Ingests `paths` into `lake`.
pub fn ingest(
    lake: &Lake,
    paths: &[PathBuf],
    opts: &IngestOptions,
) -> Result<IngestReport, IngestError> {
    let clock = std::time::Instant::now();
    let listing = discover(paths, opts.follow_symlinks)?;
    let known_files = lake.known_files()?;
    let known: HashMap<String, i64> = known_files
        .iter()
        .map(|(h, s, _)| (h.clone(), *s))
        .collect();
    // A file whose size matches no known file and no other file of this batch is new: it is
    // hashed while it is parsed. Only size collisions are hashed first, to find repeats.
    let mut size_count: HashMap<u64, usize> = HashMap::new();
    for (_, n) in &listing.files {
        *size_count.entry(*n).or_default() += 1;
    }
    for (_, _, n) in &known_files {
        *size_count.entry(*n).or_default() += 1;
    }
    let hashed: Vec<(PathBuf, std::io::Result<Option<String>>, u64)> = listing
        .files
        .into_par_iter()
        .map(|(p, n)| {
            if size_count[&n] > 1 && n > 0 {
                match hashing::sha256_file(&p) {
                    Ok((h, n)) => (p, Ok(Some(h)), n),
                    Err(e) => (p, Err(e), n),
                }
            } else {
                (p, Ok(None), n)
            }
        })
        .collect();
    tracing::debug!(
        seconds = clock.elapsed().as_secs_f64(),
        "phase: hashed {} files",
        hashed.len()
    );
    let mut next_seq = known.values().copied().max().unwrap_or(0) + 1;
    let mut seen_now: HashMap<String, String> = HashMap::new();
    let mut reports = Vec::with_capacity(hashed.len());
    let mut jobs = Vec::new();
    for (path, sha, bytes) in hashed {
        let display = match &opts.path_alias {
            Some((from, to)) => match path.strip_prefix(from) {
                Ok(rest) => inbox::shown_path(&to.join(rest)),
                Err(_) => inbox::shown_path(&path),
            },
            None => inbox::shown_path(&path),
        };
        let mut report = FileReport {
            path: display.clone(),
            source: path.clone(),
            sha256: String::new(),
            bytes,
            detected: None,
            seq: None,
            rows_read: 0,
            loaded: 0,
            rejected: 0,
            duplicates: 0,
            warnings: 0,
            first_reject: None,
            notes: Vec::new(),
            status: FileStatus::Loaded,
        };
        let sha = match sha {
            Ok(sha) => sha,
            Err(e) => {
                report.status = FileStatus::Failed(format!("{display}: cannot be read: {e}"));
                reports.push(report);
                continue;
            }
        };
        report.sha256 = sha.clone().unwrap_or_default();
        if let Some(&seq) = sha.as_ref().and_then(|h| known.get(h)) {
            report.status = FileStatus::AlreadyIngested { seq };
        } else if let Some(first) = sha.as_ref().and_then(|h| seen_now.get(h)) {
            report.status = FileStatus::SameAsEarlier {
                path: first.clone(),
            };
        } else {
            match detect::detect(&path, &opts.orders, &opts.banks, opts.max_record_bytes) {
                Err(e) => {
                    report.status = FileStatus::Failed(format!("{display}: cannot be read: {e}"))
                }
                Ok(Sniffed::Empty) => report.status = FileStatus::Empty,
                Ok(Sniffed::Unknown(why)) => report.status = FileStatus::Unrecognized(why),
                Ok(Sniffed::Kind(detected)) => {
                    if let Some(h) = &sha {
                        seen_now.insert(h.clone(), display.clone());
                    }
                    report.detected = Some(detected);
                    report.seq = Some(next_seq);
                    jobs.push((
                        reports.len(),
                        FileJob {
                            path,
                            display,
                            seq: next_seq,
                            detected,
                            hash: sha.is_none(),
                        },
                    ));
                    next_seq += 1;
                }
            }
        }
        reports.push(report);
    }
    for r in &reports {
        match &r.status {
            FileStatus::AlreadyIngested { seq } => {
                tracing::debug!(file = %r.path, seq, "already ingested: skipped")
            }
            FileStatus::SameAsEarlier { path } => {
                tracing::debug!(file = %r.path, same_as = %path, "same content as an earlier file: skipped")
            }
            FileStatus::Unrecognized(why) => tracing::warn!(file = %r.path, "not ingested: {why}"),
            FileStatus::Failed(why) => tracing::warn!(file = %r.path, "not ingested: {why}"),
            FileStatus::Empty => tracing::info!(file = %r.path, "empty file: nothing to read"),
            FileStatus::Loaded => {}
        }
    }
    let skipped = listing.skipped;
    if jobs.is_empty() {
        return Ok(IngestReport {
            files: reports,
            skipped,
        });
    }

    let mut txn = lake.begin()?;
    let scratch = txn.scratch_dir();
    let total_bytes: u64 = jobs.iter().map(|(i, _)| reports[*i].bytes).sum();
    let bar = if opts.progress {
        indicatif::ProgressBar::new(total_bytes).with_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} reading {bytes}/{total_bytes} {wide_bar} {eta}",
            )
            .expect("valid template"),
        )
    } else {
        indicatif::ProgressBar::hidden()
    };
    let done = AtomicU64::new(0);
    let budget = sink::MemoryBudget::new(opts.memory_budget);
    // Largest files first, so both cores stay busy to the end.
    jobs.sort_by_key(|(i, job)| (std::cmp::Reverse(reports[*i].bytes), job.seq));
    let reads: Vec<(usize, Result<FileRead, IngestError>)> = jobs
        .par_iter()
        .map(|(i, job)| {
            tracing::debug!(file = %job.display, kind = %job.detected.kind, "reading");
            let seen = AtomicU64::new(0);
            let progress = |pos: u64| {
                let prev = seen.swap(pos, Ordering::Relaxed);
                bar.inc(pos.saturating_sub(prev));
            };
            let r = read::read_file(job, opts, &scratch, &budget, &progress);
            bar.inc(
                reports[*i]
                    .bytes
                    .saturating_sub(seen.load(Ordering::Relaxed)),
            );
            done.fetch_add(1, Ordering::Relaxed);
            (*i, r)
        })
        .collect();
    bar.finish_and_clear();
    tracing::debug!(
        seconds = clock.elapsed().as_secs_f64(),
        "phase: read {} files",
        jobs.len()
    );
    crash_point("after-read");

    // In file order, so each day's chunks are in reading order for the merge.
    let mut reads = reads;
    reads.sort_by_key(|(i, _)| reports[*i].seq);
    let mut deltas: BTreeMap<&'static str, TableDelta> = BTreeMap::new();
    let mut reject_batches: Vec<RecordBatch> = Vec::new();
    for (i, r) in reads {
        let report = &mut reports[i];
        match r {
            Ok(read) => {
                if let Some(h) = read.sha256 {
                    report.sha256 = h;
                }
                report.rows_read = read.rows_read;
                report.rejected = read.rejected;
                report.warnings = read.warnings;
                report.notes = read.notes;
                if let Some(b) = &read.rejects {
                    report.first_reject = first_reject(b);
                    reject_batches.push(b.clone());
                }
                for (table, spilled) in read.tables {
                    let delta = deltas.entry(table.name).or_insert_with(|| TableDelta {
                        table,
                        spills: BTreeMap::new(),
                        keys: Vec::new(),
                    });
                    for (day, files) in spilled.spills {
                        delta.spills.entry(day).or_default().extend(files);
                    }
                    delta.keys.extend(spilled.keys);
                }
            }
            // A file that cannot be read as a whole fails alone; the others go on.
            Err(e @ (IngestError::File { .. } | IngestError::Io { .. })) => {
                let why = printable(&e.to_string(), MAX_MESSAGE_CHARS).into_owned();
                tracing::warn!("not ingested: {why}");
                report.status = FileStatus::Failed(why);
                report.seq = None;
            }
            Err(e) => return Err(e),
        }
    }

    // Merge each table; duplicates and accepted rows are attributed to the file that read them.
    let mut dups: HashMap<(&str, i64), u64> = HashMap::new();
    let mut accepted: HashMap<(&str, i64), u64> = HashMap::new();
    let (names, deltas): (Vec<&str>, Vec<TableDelta>) = deltas.into_iter().unzip();
    let outcomes = merge_tables(lake, &mut txn, &deltas)?;
    drop(deltas);
    tracing::debug!(seconds = clock.elapsed().as_secs_f64(), "phase: merged");
    for (name, outcome) in names.into_iter().zip(outcomes) {
        tracing::debug!(
            rewritten = outcome.rewritten,
            patched = outcome.patched,
            "merged {name}"
        );
        for (seq, n) in outcome.duplicates {
            dups.insert((name, seq), n);
        }
        for (seq, n) in outcome.accepted {
            accepted.insert((name, seq), n);
        }
    }
    crash_point("after-merge");

    let mut files_rows = RowBuilder::new(&FILES, reports.len());
    let mut first_seq = None;
    for r in reports
        .iter_mut()
        .filter(|r| r.status == FileStatus::Loaded)
    {
        let (Some(seq), Some(det)) = (r.seq, r.detected) else {
            continue;
        };
        let tables = row_tables(det.kind).iter().map(|t| t.name);
        r.duplicates = tables
            .clone()
            .map(|t| dups.get(&(t, seq)).copied().unwrap_or(0))
            .sum();
        r.loaded = tables
            .map(|t| accepted.get(&(t, seq)).copied().unwrap_or(0))
            .sum();
        if r.rows_read != r.loaded + r.rejected + r.duplicates {
            return Err(IngestError::Internal(format!(
                "{}: rows read {} != loaded {} + rejected {} + duplicates {}",
                r.path, r.rows_read, r.loaded, r.rejected, r.duplicates
            )));
        }
        first_seq.get_or_insert(seq);
        files_rows.push(Value::Int(Some(seq)));
        files_rows.push(Value::Str(Some(&r.path)));
        files_rows.push(Value::Str(Some(&r.sha256)));
        files_rows.push(Value::Int(Some(r.bytes as i64)));
        files_rows.push(Value::Str(Some(det.kind.as_str())));
        files_rows.push(Value::Str(Some(det.format.as_str())));
        files_rows.push(Value::Int(Some(r.rows_read as i64)));
        files_rows.push(Value::Int(Some(r.loaded as i64)));
        files_rows.push(Value::Int(Some(r.rejected as i64)));
        files_rows.push(Value::Int(Some(r.duplicates as i64)));
        files_rows.push(Value::Int(Some(r.warnings as i64)));
        files_rows.finish_row("", 0, 0);
    }
    if let Some(first_seq) = first_seq {
        let (batch, _) = files_rows.take_batch();
        let target = Lake::append_file(&FILES, first_seq);
        let staged = txn.stage(&target);
        parquet_io::write_batches(&staged, FILES.name, FILES.arrow_schema(), &[batch])?;
        // Rejects of files that failed as a whole are not kept (their rows are not counted).
        let loaded_seqs: Vec<i64> = reports
            .iter()
            .filter(|r| r.status == FileStatus::Loaded)
            .filter_map(|r| r.seq)
            .collect();
        let kept: Vec<RecordBatch> = reject_batches
            .into_iter()
            .filter(|b| {
                let seqs = b
                    .column(0)
                    .as_any()
                    .downcast_ref::<arrow_array::Int64Array>()
                    .expect("file_seq");
                !seqs.is_empty() && loaded_seqs.contains(&seqs.value(0))
            })
            .collect();
        if !kept.is_empty() {
            let schema = REJECTS.arrow_schema();
            let mut kept = kept;
            kept.sort_by_key(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<arrow_array::Int64Array>()
                    .expect("file_seq")
                    .value(0)
            });
            let all =
                concat_batches(&schema, &kept).map_err(|e| IngestError::Internal(e.to_string()))?;
            let staged = txn.stage(&Lake::append_file(&REJECTS, first_seq));
            parquet_io::write_batches(&staged, REJECTS.name, schema, &[all])?;
        }
    }
    if !txn.is_empty() {
        txn.commit_with_hook(crash_point)?;
    }
    tracing::debug!(seconds = clock.elapsed().as_secs_f64(), "phase: committed");
    Ok(IngestReport {
        files: reports,
        skipped,
    })
}

fn first_reject(batch: &RecordBatch) -> Option<(u64, Option<String>, String)> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    if batch.num_rows() == 0 {
        return None;
    }
    let line = batch
        .column(REJECTS.index_of("source_line"))
        .as_primitive::<Int64Type>()
        .value(0) as u64;
    let col = batch.column(REJECTS.index_of("column")).as_string::<i32>();
    let column = (!col.is_null(0)).then(|| col.value(0).to_string());
    let reason = batch
        .column(REJECTS.index_of("reason"))
        .as_string::<i32>()
        .value(0)
        .to_string();
    Some((line, column, reason))
}
