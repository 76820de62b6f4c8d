//! The fetch ledger beside the lake (`lake.fetch/reports.json`): which reports arrived,
//! where the last window ended, and which reports were still being made then. Written
//! atomically after every report, held under an exclusive lock while a fetch runs.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::FetchError;

const FILE: &str = "reports.json";
/// Entries older than this are dropped: Amazon keeps reports 90 days, so a window never
/// lists them again.
const KEEP_DAYS: i64 = 100;

/// One report that arrived.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Fetched {
    pub report_type: String,
    pub document_id: String,
    /// The inbox file it was written to.
    pub file: String,
    pub bytes: u64,
    pub fetched_at: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Data {
    /// The end of the last window fetched in full.
    #[serde(default)]
    last_until: Option<String>,
    /// `createdTime` of the reports still in progress at the end of that window.
    #[serde(default)]
    pending_created: Vec<String>,
    #[serde(default)]
    reports: BTreeMap<String, Fetched>,
}

pub struct Ledger {
    path: PathBuf,
    data: Data,
    _lock: File,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    crate::model::time::parse_timestamp(s).ok()
}

impl Ledger {
    /// Opens (or starts) the ledger in `dir`, holding its lock.
    pub fn open(dir: &Path) -> Result<Ledger, FetchError> {
        fs::create_dir_all(dir).map_err(|e| FetchError::io(dir, e))?;
        let lock_path = dir.join(".lock");
        let lock = File::create(&lock_path).map_err(|e| FetchError::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(FetchError::Busy { path: lock_path }),
            Err(fs::TryLockError::Error(e)) => return Err(FetchError::io(&lock_path, e)),
        }
        let path = dir.join(FILE);
        let data = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| FetchError::Ledger {
                path: path.clone(),
                message: format!(
                    "is not a payrecon fetch ledger ({e}); move it away to start afresh \
                     (reports already in the inbox or the lake are not duplicated by an ingest)"
                ),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Data::default(),
            Err(e) => return Err(FetchError::io(&path, e)),
        };
        Ok(Ledger {
            path,
            data,
            _lock: lock,
        })
    }

    pub fn has(&self, report_id: &str) -> bool {
        self.data.reports.contains_key(report_id)
    }

    /// Where the next default window starts: the last one's end, or earlier when a report was
    /// still in progress then.
    pub fn next_since(&self) -> Option<DateTime<Utc>> {
        let last = parse_time(self.data.last_until.as_deref()?)?;
        let pending = self
            .data
            .pending_created
            .iter()
            .filter_map(|t| parse_time(t))
            .min();
        Some(pending.map_or(last, |p| p.min(last)))
    }

    /// Records a report that arrived (durably, before the next one is fetched).
    pub fn record(&mut self, report_id: &str, fetched: Fetched) -> Result<(), FetchError> {
        self.data.reports.insert(report_id.to_string(), fetched);
        self.save()
    }

    /// Records a window fetched in full.
    pub fn finish_window(
        &mut self,
        until: DateTime<Utc>,
        pending: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), FetchError> {
        self.data.last_until = Some(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let mut pending = pending.to_vec();
        pending.sort();
        pending.dedup();
        self.data.pending_created = pending;
        let cutoff = now - chrono::Duration::days(KEEP_DAYS);
        self.data
            .reports
            .retain(|_, f| parse_time(&f.fetched_at).is_none_or(|t| t >= cutoff));
        self.save()
    }

    fn save(&self) -> Result<(), FetchError> {
        let io = |e| FetchError::io(&self.path, e);
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".reports-")
            .tempfile_in(dir)
            .map_err(io)?;
        let mut text = serde_json::to_vec_pretty(&self.data).expect("plain data");
        text.push(b'\n');
        tmp.write_all(&text).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(&self.path).map_err(|e| io(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_window_reaches_back_to_reports_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(dir.path()).unwrap();
        assert!(l.next_since().is_none());
        let until = parse_time("2026-12-03T00:00:00Z").unwrap();
        l.finish_window(until, &["2026-12-02T23:00:00Z".into()], until)
            .unwrap();
        assert!(matches!(
            Ledger::open(dir.path()),
            Err(FetchError::Busy { .. })
        ));
        drop(l);
        let l = Ledger::open(dir.path()).unwrap();
        assert_eq!(l.next_since(), parse_time("2026-12-02T23:00:00Z"));
    }
}
