//! Step 1 of a run: ingest the inbox (or, `--full`, rebuild the lake from the archive and the
//! inbox and swap it in), then archive what was processed.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::settings::{Paths, RunSettings, sibling};
use crate::commands::CommandError;
use crate::ingest::{FileStatus, IngestOptions, IngestReport, crash_point, ingest};
use crate::lake::{Lake, LockMode};

/// What step 1 did.
pub(super) struct Ingested {
    pub(super) report: IngestReport,
    /// The lake, its lock held to the end of the run, so the reconciliation and the reports read
    /// one state of it.
    pub(super) lake: Lake,
    /// Files moved to the archive.
    pub(super) archived: usize,
}

pub(super) fn step(s: &RunSettings, start: Instant) -> Result<Ingested, CommandError> {
    let p = &s.paths;
    // 1. Ingest (or rebuild), then archive what was processed. The lake's own lock (which a
    // manual `payrecon ingest` also takes) is held to the end, so the reconciliation and the
    // reports read one state of the lake.
    let (report, lake) = if s.full {
        // No manual ingest may slip into the old lake while its replacement is built.
        let old = Lake::open_for_rebuild(&p.lake, LockMode::Wait)?;
        let report = rebuild_lake(s, &old)?;
        drop(old);
        (report, Lake::open(&p.lake, LockMode::Wait)?)
    } else {
        let lake = Lake::open(&p.lake, LockMode::Wait)?;
        let report = ingest(&lake, std::slice::from_ref(&p.inbox), &s.ingest)?;
        (report, lake)
    };
    let new_files = report.files_loaded();
    let rows_loaded: u64 = report.files.iter().map(|f| f.loaded).sum();
    let rows_read: u64 = report.files.iter().map(|f| f.rows_read).sum();
    let duplicates: u64 = report.files.iter().map(|f| f.duplicates).sum();
    if std::io::stdout().is_terminal() && new_files > 0 {
        crate::commands::ingest::print_report(
            &report,
            &p.lake.display().to_string(),
            start.elapsed().as_secs_f64(),
            crate::commands::ingest::Detail::PerKind,
        );
    }
    tracing::info!(
        files = report.files.len(),
        new = new_files,
        rows_read,
        rows_loaded,
        rows_rejected = report.rows_rejected(),
        duplicates,
        failed = report.files_failed(),
        "ingested"
    );
    for f in &report.files {
        if let FileStatus::Unrecognized(why) | FileStatus::Failed(why) = &f.status {
            tracing::warn!(file = %f.path, "left in the inbox: {why}");
        }
    }
    crash_point("run-after-ingest");
    // One archive folder per run, named by its start (UTC), so folders sort in ingest order.
    let night = chrono::Utc::now()
        .format("%Y-%m-%dT%H%M%S%.3fZ")
        .to_string();
    let archived = archive(&report, p, &night)?;
    if archived > 0 {
        tracing::info!(files = archived, to = %p.archive.join(&night).display(), "archived");
    }

    Ok(Ingested {
        report,
        lake,
        archived,
    })
}

/// Night folders of the archive, oldest first.
pub(super) fn archive_nights(archive: &Path) -> Result<Vec<PathBuf>, CommandError> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(archive) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => {
            return Err(CommandError::Io {
                path: archive.to_path_buf(),
                source: e,
            });
        }
    };
    v.sort();
    Ok(v)
}

/// `--full`: a new lake from every archived night (in order) and the inbox, swapped in for the
/// old one. Returns the ingest report of the inbox part.
fn rebuild_lake(s: &RunSettings, current: &Lake) -> Result<IngestReport, CommandError> {
    let p = &s.paths;
    let rebuild = sibling(&p.lake, ".rebuild");
    let opts = &s.ingest;
    let report = {
        let lake = Lake::open(&rebuild, LockMode::Fail)?;
        for night in archive_nights(&p.archive)? {
            tracing::info!(night = %night.display(), "rebuild: ingesting archived files");
            // Recorded under the inbox paths they arrived with, as the nightly runs did.
            let opts = IngestOptions {
                path_alias: Some((night.clone(), p.inbox.clone())),
                ..opts.clone()
            };
            ingest(&lake, std::slice::from_ref(&night), &opts)?;
        }
        ingest(&lake, std::slice::from_ref(&p.inbox), opts)?
    };
    // Never lose history: every file the old lake (of any format) holds must be in the
    // rebuilt one.
    {
        let rebuilt: std::collections::HashSet<String> = Lake::read_only(&rebuild)?
            .known_files()?
            .into_iter()
            .map(|(sha, _, _)| sha)
            .collect();
        let missing = current
            .known_files()?
            .into_iter()
            .filter(|(sha, _, _)| !rebuilt.contains(sha))
            .count();
        if missing > 0 {
            std::fs::remove_dir_all(&rebuild).map_err(|e| CommandError::Io {
                path: rebuild.clone(),
                source: e,
            })?;
            return Err(CommandError::Usage(format!(
                "--full: {missing} file(s) in the lake are in neither the archive {} nor the \
                 inbox (ingested with --keep or by `payrecon ingest`?); the lake was left as it was",
                p.archive.display()
            )));
        }
    }
    crash_point("run-before-swap");
    let old = sibling(&p.lake, ".old");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| CommandError::Io { path, source: e }
    };
    if p.lake.exists() {
        std::fs::rename(&p.lake, &old).map_err(io(&p.lake))?;
    }
    crash_point("run-mid-swap");
    std::fs::rename(&rebuild, &p.lake).map_err(io(&rebuild))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(report)
}

/// Moves the files the ingest processed (loaded, or already in the lake) to the archive.
fn archive(report: &IngestReport, p: &Paths, night: &str) -> Result<usize, CommandError> {
    if p.keep {
        return Ok(0);
    }
    let dir = p.archive.join(night);
    let mut moved = 0;
    for f in &report.files {
        if matches!(
            f.status,
            FileStatus::Loaded
                | FileStatus::AlreadyIngested { .. }
                | FileStatus::SameAsEarlier { .. }
                | FileStatus::Empty
        ) {
            let path = f.source.as_path();
            // A file that cannot be moved (gone, or the archive refuses it) stays behind: the
            // next run finds its content in the lake and archives it then.
            let to = match crate::ingest::archive::archive_file(path, &p.inbox, &dir) {
                Ok(to) => to,
                Err(e) => {
                    tracing::warn!(file = %f.path, "not archived, left in the inbox: {e}");
                    continue;
                }
            };
            tracing::debug!(file = %f.path, to = %to.display(), "archived");
            moved += 1;
            if moved == 1 {
                crash_point("run-mid-archive");
            }
        }
    }
    Ok(moved)
}
