//! What every reader writes into: the job it reads ([`FileJob`]), the rows it spills per
//! table and day ([`Spiller`], bounded by [`SPILL_ROWS`] and the shared [`MemoryBudget`]), its
//! rejects with file, line, column and reason ([`Rejects`]), and what it produced
//! ([`FileRead`]). The CSV, bank and JSON readers share these and nothing else.

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::{RecordBatch, UInt32Array};
use arrow_select::take::take_record_batch;

use super::detect::Detected;
use super::rows::RowError;
use super::{IngestError, IngestOptions};
use crate::lake::LakeError;
use crate::lake::builder::{RowBuilder, Value};
use crate::lake::merge::{Chunk, key_hash};
use crate::lake::parquet_io;
use crate::model::schema::{REJECTS, TableDef};
use crate::printable::{MAX_MESSAGE_CHARS, MAX_NAME_CHARS, printable};

/// Rows buffered per table before spilling to disk.
pub const SPILL_ROWS: usize = 64 * 1024;
/// Longest raw record kept in `rejects`.
const MAX_RECORD_CHARS: usize = 2000;

/// A file to read, with its ingest sequence number.
#[derive(Debug, Clone)]
pub struct FileJob {
    pub path: PathBuf,
    /// The path as shown to the user and stored as `source_file`.
    pub display: String,
    pub seq: i64,
    pub detected: Detected,
    /// Compute the file's SHA-256 while reading it (it was not hashed up front).
    pub hash: bool,
}

/// New rows of one table from one file, by day.
#[derive(Debug, Default)]
pub struct Spilled {
    pub spills: BTreeMap<i32, Vec<Chunk>>,
    pub keys: Vec<(u64, i32)>,
}

/// What reading one file produced.
#[derive(Debug)]
pub struct FileRead {
    pub rows_read: u64,
    pub rejected: u64,
    pub warnings: u64,
    /// Unknown settlement `TransactionType` values and their counts.
    pub unknown_types: BTreeMap<String, u64>,
    pub tables: Vec<(&'static TableDef, Spilled)>,
    pub rejects: Option<RecordBatch>,
    /// The file's SHA-256, when [`FileJob::hash`] asked for it.
    pub sha256: Option<String>,
    /// Findings about the file as a whole (a bank statement whose balances do not add up).
    pub notes: Vec<String>,
}

impl FileRead {
    /// What reading a file of a kind with one table (all but settlement reports) produced.
    pub(super) fn one_table(
        rows_read: u64,
        rejects: Rejects<'_>,
        spiller: Spiller<'_>,
    ) -> Result<FileRead, IngestError> {
        let (rejected, rejects) = rejects.finish();
        Ok(FileRead {
            rows_read,
            rejected,
            warnings: 0,
            unknown_types: BTreeMap::new(),
            tables: vec![spiller.finish().map_err(IngestError::Lake)?],
            rejects,
            sha256: None,
            notes: Vec::new(),
        })
    }
}

/// Bytes of parsed rows an ingest may hold in memory before spilling chunks to disk.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    pub fn new(limit: usize) -> Self {
        MemoryBudget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// Reserves `bytes` if they fit.
    fn try_take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                (u + bytes <= self.limit).then_some(u + bytes)
            })
            .is_ok()
    }
}

pub(super) struct Spiller<'b> {
    budget: &'b MemoryBudget,
    table: &'static TableDef,
    pub(super) builder: RowBuilder,
    dir: PathBuf,
    seq: i64,
    chunk: u32,
    out: Spilled,
}

impl<'b> Spiller<'b> {
    pub(super) fn new(
        table: &'static TableDef,
        dir: &Path,
        seq: i64,
        budget: &'b MemoryBudget,
    ) -> Self {
        Spiller {
            budget,
            table,
            builder: RowBuilder::new(table, 1024),
            dir: dir.join(table.name),
            seq,
            chunk: 0,
            out: Spilled::default(),
        }
    }

    pub(super) fn row_done(&mut self) -> Result<(), LakeError> {
        if self.builder.len() >= SPILL_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), LakeError> {
        if self.builder.is_empty() {
            return Ok(());
        }
        let (batch, days) = self.builder.take_batch();
        if let Some(key) = self.table.key {
            let keys = batch.column(self.table.index_of(key)).as_string::<i32>();
            self.out.keys.extend(
                keys.iter()
                    .zip(&days)
                    .map(|(k, &d)| (key_hash(k.unwrap_or("")), d)),
            );
        }
        let mut by_day: BTreeMap<i32, Vec<u32>> = BTreeMap::new();
        for (i, &d) in days.iter().enumerate() {
            by_day.entry(d).or_default().push(i as u32);
        }
        for (day, idx) in by_day {
            let part = if idx.len() == batch.num_rows() {
                batch.clone()
            } else {
                take_record_batch(&batch, &UInt32Array::from(idx)).expect("indices in range")
            };
            let chunk = if self.budget.try_take(part.get_array_memory_size()) {
                Chunk::Memory(part)
            } else {
                let path = self
                    .dir
                    .join(format!("f{:08}-c{:04}-d{day}.arrow", self.seq, self.chunk));
                parquet_io::write_spill(&path, self.table.arrow_schema(), &part)?;
                Chunk::Disk(path)
            };
            self.out.spills.entry(day).or_default().push(chunk);
        }
        self.chunk += 1;
        Ok(())
    }

    pub(super) fn finish(mut self) -> Result<(&'static TableDef, Spilled), LakeError> {
        self.flush()?;
        Ok((self.table, self.out))
    }
}

pub(super) struct Rejects<'a> {
    job: &'a FileJob,
    builder: RowBuilder,
    count: u64,
}

impl<'a> Rejects<'a> {
    pub(super) fn new(job: &'a FileJob) -> Self {
        Rejects {
            job,
            builder: RowBuilder::new(&REJECTS, 16),
            count: 0,
        }
    }

    pub(super) fn add(&mut self, line: u64, err: RowError, record: &str) {
        let record: String = record.chars().take(MAX_RECORD_CHARS).collect();
        // Reasons and column names quote file content: bounded and escaped before they reach
        // the table, a log line or a terminal.
        let column = err.column.as_deref().map(|c| printable(c, MAX_NAME_CHARS));
        let reason = printable(&err.reason, MAX_MESSAGE_CHARS);
        let b = &mut self.builder;
        b.push(Value::Int(Some(self.job.seq)));
        b.push(Value::Str(Some(&self.job.display)));
        b.push(Value::Int(Some(line as i64)));
        b.push(Value::Str(Some(self.job.detected.kind.as_str())));
        b.push(Value::Str(column.as_deref()));
        b.push(Value::Str(Some(&reason)));
        b.push(Value::Str(Some(&record)));
        b.finish_row("", 0, 0);
        self.count += 1;
        if self.count <= 5 {
            tracing::debug!(file = %self.job.display, line, column = column.as_deref().unwrap_or(""), "rejected: {reason}");
        }
    }

    pub(super) fn finish(mut self) -> (u64, Option<RecordBatch>) {
        if self.builder.is_empty() {
            return (0, None);
        }
        (self.count, Some(self.builder.take_batch().0))
    }
}
pub(super) fn oversize_row(opts: &IngestOptions, bytes: u64) -> RowError {
    RowError::row(format!(
        "record of {bytes} bytes is longer than the limit of {} bytes (setting \
         ingest.max_record_bytes); it was read past, not loaded",
        opts.max_record_bytes
    ))
}
