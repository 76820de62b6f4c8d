//! The Parquet lake: layout, locking, crash recovery, and the ingest merge.
//!
//! Layout (see `docs/SCHEMA.md`): one folder per table; partitioned tables hold
//! `day=YYYY-MM-DD/part-0.parquet`; append-only tables hold `part-NNNNNNNN.parquet`. Payrecon's
//! bookkeeping lives in folders starting with `_`: `_versions` (row hashes of every version ever
//! loaded, for exact-duplicate detection) and `_txn` (staging and the commit journal). A lock file
//! keeps two payrecon processes from writing at once.

pub mod builder;
pub mod columns;
pub mod merge;
pub mod parquet_io;
pub mod text;
pub mod txn;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use chrono::NaiveDate;

use crate::model::schema::{FILES, Partitioning, REJECTS, TableDef};
use crate::model::time::{from_epoch_days, to_epoch_days};
pub use txn::Txn;

/// Errors of the lake stage.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: Parquet: {source}", path.display())]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("the lake at {} is in use by another payrecon process (lock file {})", path.display(), path.join(LOCK_FILE).display())]
    Locked { path: PathBuf },
}

impl LakeError {
    pub fn io(path: &Path, source: io::Error) -> Self {
        LakeError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub fn parquet(path: &Path, source: parquet::errors::ParquetError) -> Self {
        LakeError::Parquet {
            path: path.to_path_buf(),
            source,
        }
    }
    pub fn corrupt(path: &Path, message: impl Into<String>) -> Self {
        LakeError::Corrupt {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

pub const LOCK_FILE: &str = ".lock";
/// How long a reader waits for a commit in progress before giving up.
const READ_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Refuses a lake written in another format version (its tables have other columns).
fn check_format(root: &Path) -> Result<(), LakeError> {
    let marker = root.join(MARKER);
    let text = fs::read(&marker).map_err(|e| LakeError::io(&marker, e))?;
    let version = serde_json::from_slice::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("version")?.as_str().map(str::to_string));
    let want = crate::model::schema::LAKE_FORMAT_VERSION;
    if version.as_deref() != Some(want) {
        return Err(LakeError::corrupt(
            root,
            format!(
                "is a payrecon lake of format {} and this build reads format {want}; rebuild it \
                 with `payrecon run --full` (from the archive), or ingest the files into a new \
                 lake folder",
                version.as_deref().unwrap_or("unknown")
            ),
        ));
    }
    Ok(())
}

/// Whether a payrecon process holds the lake's writer lock now.
fn writer_active(root: &Path) -> bool {
    let Ok(lock) = fs::File::open(root.join(LOCK_FILE)) else {
        return false;
    };
    matches!(lock.try_lock_shared(), Err(fs::TryLockError::WouldBlock))
}
const MARKER: &str = "_payrecon.json";
pub const VERSIONS_DIR: &str = "_versions";

/// Whether to wait for another process's lock or fail at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Fail,
    Wait,
}

/// An open, locked lake.
#[derive(Debug)]
pub struct Lake {
    root: PathBuf,
    /// The exclusive lock of a writer; `None` for a read-only handle.
    _lock: Option<fs::File>,
}

impl Lake {
    /// Opens (creating if needed) the lake at `root`, takes its lock, and recovers any
    /// interrupted commit.
    pub fn open(root: &Path, mode: LockMode) -> Result<Lake, LakeError> {
        Self::open_with(root, mode, true)
    }

    /// Opens a lake of any format version, for `run --full` to lock it and read its manifest
    /// (a table whose columns never changed) before replacing it with a rebuilt one.
    pub fn open_for_rebuild(root: &Path, mode: LockMode) -> Result<Lake, LakeError> {
        Self::open_with(root, mode, false)
    }

    fn open_with(root: &Path, mode: LockMode, check: bool) -> Result<Lake, LakeError> {
        fs::create_dir_all(root).map_err(|e| LakeError::io(root, e))?;
        let lock_path = root.join(LOCK_FILE);
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| LakeError::io(&lock_path, e))?;
        match mode {
            LockMode::Wait => lock.lock().map_err(|e| LakeError::io(&lock_path, e))?,
            LockMode::Fail => match lock.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(LakeError::Locked {
                        path: root.to_path_buf(),
                    });
                }
                Err(fs::TryLockError::Error(e)) => return Err(LakeError::io(&lock_path, e)),
            },
        }
        let marker = root.join(MARKER);
        if !marker.exists() {
            // Append-only tables exist from the start (an empty file), so that other engines'
            // globs over them match even before the first reject.
            for table in [&REJECTS, &FILES] {
                let target = root.join(Self::append_file(table, 0));
                if !target.exists() {
                    let tmp = target.with_extension("parquet.tmp");
                    let empty = arrow_array::RecordBatch::new_empty(table.arrow_schema());
                    parquet_io::write_batches(&tmp, table.name, table.arrow_schema(), &[empty])?;
                    crate::durable::sync_files([tmp.as_path()])
                        .map_err(|(path, e)| LakeError::io(&path, e))?;
                    fs::rename(&tmp, &target).map_err(|e| LakeError::io(&target, e))?;
                }
            }
            let text = format!(
                "{{\"format\": \"payrecon-lake\", \"version\": \"{}\"}}\n",
                crate::model::schema::LAKE_FORMAT_VERSION
            );
            fs::write(&marker, text).map_err(|e| LakeError::io(&marker, e))?;
        }
        if check {
            check_format(root)?;
        }
        if let Some(what) = txn::recover(root)? {
            tracing::warn!(lake = %root.display(), "{what}");
        }
        Ok(Lake {
            root: root.to_path_buf(),
            _lock: Some(lock),
        })
    }

    /// Opens an existing lake for reading only: no lock is taken and nothing is written. A lake
    /// with an interrupted commit is refused (any writing command recovers it first).
    pub fn read_only(root: &Path) -> Result<Lake, LakeError> {
        if !root.join(MARKER).exists() {
            return Err(LakeError::corrupt(
                root,
                "is not a payrecon lake (no _payrecon.json); run `payrecon ingest` first",
            ));
        }
        check_format(root)?;
        let journal = root.join(txn::TXN_DIR).join("journal.json");
        let started = std::time::Instant::now();
        while journal.exists() {
            // A commit is being applied right now when a writer holds the lock: wait for it
            // (its renames take moments). Without a writer, the commit was interrupted.
            if !writer_active(root) {
                return Err(LakeError::corrupt(
                    root,
                    "has an interrupted commit; run `payrecon ingest` (with no files) or any writing command to recover it",
                ));
            }
            if started.elapsed() > READ_WAIT {
                return Err(LakeError::corrupt(
                    root,
                    format!(
                        "a commit by another payrecon process has been in progress for over {} s; try again when it has finished",
                        READ_WAIT.as_secs()
                    ),
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(Lake {
            root: root.to_path_buf(),
            _lock: None,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn begin(&self) -> Result<Txn, LakeError> {
        Txn::begin(&self.root)
    }

    /// Lake-relative path of a table's file for a partition day (ignored when unpartitioned).
    pub fn partition_file(table: &TableDef, day: i32) -> String {
        match table.partitioning {
            Partitioning::Day(_) => format!("{}/day={}/part-0.parquet", table.name, day_label(day)),
            Partitioning::Single => format!("{}/part-0.parquet", table.name),
            Partitioning::Append => {
                panic!("append-only table {} has no partition file", table.name)
            }
        }
    }

    /// Lake-relative path of the version-hash file beside a partition.
    pub fn versions_file(table: &TableDef, day: i32) -> String {
        format!("{VERSIONS_DIR}/{}", Self::partition_file(table, day))
    }

    /// Lake-relative path of an append-only table's file for a batch.
    pub fn append_file(table: &TableDef, first_seq: i64) -> String {
        format!("{}/part-{first_seq:08}.parquet", table.name)
    }

    /// Partition days present on disk for a table (0 for an unpartitioned table with a file).
    pub fn days(&self, table: &TableDef) -> Result<Vec<i32>, LakeError> {
        let dir = self.root.join(table.name);
        match table.partitioning {
            Partitioning::Single => Ok(if dir.join("part-0.parquet").exists() {
                vec![0]
            } else {
                vec![]
            }),
            Partitioning::Append => Ok(vec![]),
            Partitioning::Day(_) => {
                let mut days = Vec::new();
                let entries = match fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(days),
                    Err(e) => return Err(LakeError::io(&dir, e)),
                };
                for entry in entries {
                    let entry = entry.map_err(|e| LakeError::io(&dir, e))?;
                    let name = entry.file_name();
                    let Some(label) = name.to_str().and_then(|n| n.strip_prefix("day=")) else {
                        continue;
                    };
                    let date = NaiveDate::parse_from_str(label, "%Y-%m-%d").map_err(|_| {
                        LakeError::corrupt(&entry.path(), "partition folder is not day=YYYY-MM-DD")
                    })?;
                    if entry.path().join("part-0.parquet").exists() {
                        days.push(to_epoch_days(date));
                    }
                }
                days.sort_unstable();
                Ok(days)
            }
        }
    }

    /// Files of an append-only table, in order.
    pub fn append_files(&self, table: &TableDef) -> Result<Vec<PathBuf>, LakeError> {
        let dir = self.root.join(table.name);
        let mut files = Vec::new();
        match fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.map_err(|e| LakeError::io(&dir, e))?;
                    let path = entry.path();
                    if path.extension().is_some_and(|e| e == "parquet") {
                        files.push(path);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(LakeError::io(&dir, e)),
        }
        files.sort();
        Ok(files)
    }

    /// The ingest manifest: `(sha256, file_seq, bytes)` of every file already ingested.
    pub fn known_files(&self) -> Result<Vec<(String, i64, u64)>, LakeError> {
        let mut out = Vec::new();
        for path in self.append_files(&FILES)? {
            for batch in parquet_io::read_batches(&path, Some(&["sha256", "file_seq", "bytes"]))? {
                let col = |name: &str| {
                    batch
                        .column(batch.schema().index_of(name).expect("projected column"))
                        .clone()
                };
                let (shas, seqs, bytes) = (col("sha256"), col("file_seq"), col("bytes"));
                let shas = shas.as_string::<i32>();
                let seqs = seqs.as_primitive::<Int64Type>();
                let bytes = bytes.as_primitive::<Int64Type>();
                for i in 0..batch.num_rows() {
                    out.push((
                        shas.value(i).to_string(),
                        seqs.value(i),
                        bytes.value(i) as u64,
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// `YYYY-MM-DD` of a partition day.
pub fn day_label(day: i32) -> String {
    from_epoch_days(day).format("%Y-%m-%d").to_string()
}

/// Row and file counts of a table, from Parquet footers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    pub files: u64,
    pub rows: u64,
}

impl Lake {
    /// Every data file of a table.
    pub fn table_files(&self, table: &TableDef) -> Result<Vec<PathBuf>, LakeError> {
        match table.partitioning {
            Partitioning::Append => self.append_files(table),
            _ => Ok(self
                .days(table)?
                .into_iter()
                .map(|d| self.root.join(Self::partition_file(table, d)))
                .collect()),
        }
    }

    /// Row and file counts of a table.
    pub fn table_stats(&self, table: &TableDef) -> Result<TableStats, LakeError> {
        let mut stats = TableStats::default();
        for path in self.table_files(table)? {
            let file = fs::File::open(&path).map_err(|e| LakeError::io(&path, e))?;
            let reader = parquet::file::reader::SerializedFileReader::new(file)
                .map_err(|e| LakeError::parquet(&path, e))?;
            use parquet::file::reader::FileReader;
            stats.rows += reader.metadata().file_metadata().num_rows() as u64;
            stats.files += 1;
        }
        Ok(stats)
    }
}
