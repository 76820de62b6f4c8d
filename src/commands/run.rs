//! `payrecon run`: the nightly pipeline for cron. Under one lock: ingest every new file of the
//! inbox, archive what was processed, reconcile, and write the reconciliation and every month's
//! reports, touching only files whose bytes change. `--full` rebuilds the lake from the archive
//! and the inbox first; `--dry-run` says what would be done.
//!
//! Crash safety: the lake commits atomically (redo journal), files are archived only after the
//! commit that holds them, every output is written to a temporary name and renamed, and a run
//! sweeps up what a killed run left (temporary files, a half-swapped `--full` rebuild). So a run
//! after a kill at any point ends with the same lake, results and reports as an uninterrupted run.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Datelike;
use rayon::prelude::*;

use super::ingest::outcome as ingest_outcome;
use super::reconcile::{
    exceptions_outcome, exceptions_verdict, facts_and_reconciliation, severity_counts,
    top_exceptions,
};
use super::run_state::{RunState, Summary, inputs_key};
use super::{CommandError, Outcome, thousands};
use crate::cli::RunArgs;
use crate::ingest::{FileStatus, IngestOptions, IngestReport, Planned, crash_point, ingest};
use crate::lake::{Lake, LockMode};
use crate::model::catalogue::Catalogue;
use crate::reconcile::close::Month;
use crate::reconcile::incremental;
use crate::reconcile::output::{csv_bytes, exceptions_frame, write_results};
use crate::report::cache::TablesCache;
use crate::report::{self, ReportSettings};
use crate::settings::Config;

/// The shipped demo inbox: its files are left in place (never archived).
const SAMPLE_INBOX: &str = "sample-data";

/// Resolved paths of a run.
struct Paths {
    inbox: PathBuf,
    archive: PathBuf,
    keep: bool,
    lake: PathBuf,
    reports: PathBuf,
}

fn paths(config: &Config, args: &RunArgs) -> Paths {
    let (inbox, default_inbox) = match &args.inbox {
        Some(p) => (p.clone(), false),
        None => (PathBuf::from(SAMPLE_INBOX), true),
    };
    let archive = args.archive.clone().unwrap_or_else(|| {
        let parent = inbox
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        parent.join("archive")
    });
    Paths {
        inbox,
        archive,
        keep: args.keep || default_inbox,
        lake: config.lake.clone(),
        reports: args
            .reports
            .clone()
            .unwrap_or_else(|| config.reports.clone()),
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// The run lock: a file beside the lake (it outlives a `--full` swap of the lake folder).
fn run_lock(lake: &Path, wait: bool) -> Result<std::fs::File, CommandError> {
    let path = sibling(lake, ".run-lock");
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CommandError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| CommandError::Io {
            path: path.clone(),
            source: e,
        })?;
    if wait {
        tracing::info!(lock = %path.display(), "waiting for the run lock");
        file.lock().map_err(|e| CommandError::Io {
            path: path.clone(),
            source: e,
        })?;
    } else {
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(CommandError::Usage(format!(
                    "another payrecon run is in progress (lock {} is held); not starting. \
                     Use --wait to wait for it",
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(CommandError::Io {
                    path: path.clone(),
                    source: e,
                });
            }
        }
    }
    Ok(file)
}

/// Finishes or undoes a `--full` lake swap that a killed run left half done.
fn recover_swap(lake: &Path) -> Result<(), CommandError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| CommandError::Io { path, source: e }
    };
    let old = sibling(lake, ".old");
    let rebuild = sibling(lake, ".rebuild");
    if old.exists() {
        if lake.exists() {
            tracing::warn!(lake = %lake.display(), "finishing an interrupted --full swap");
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        } else {
            tracing::warn!(lake = %lake.display(), "undoing an interrupted --full swap");
            std::fs::rename(&old, lake).map_err(io(&old))?;
        }
    }
    if rebuild.exists() {
        tracing::warn!(folder = %rebuild.display(), "removing an interrupted --full rebuild");
        std::fs::remove_dir_all(&rebuild).map_err(io(&rebuild))?;
    }
    Ok(())
}

fn ingest_options(config: &Config) -> Result<IngestOptions, CommandError> {
    super::ingest::options(config, std::io::stderr().is_terminal())
}

/// Night folders of the archive, oldest first.
fn archive_nights(archive: &Path) -> Result<Vec<PathBuf>, CommandError> {
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
fn rebuild_lake(config: &Config, p: &Paths, current: &Lake) -> Result<IngestReport, CommandError> {
    let rebuild = sibling(&p.lake, ".rebuild");
    let opts = ingest_options(config)?;
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
        ingest(&lake, std::slice::from_ref(&p.inbox), &opts)?
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

fn dry_run(
    config: &Config,
    p: &Paths,
    full: bool,
    cutoff: Option<&str>,
) -> Result<Outcome, CommandError> {
    let known = match Lake::read_only(&p.lake) {
        Ok(lake) if !full => lake.known_files()?,
        _ => vec![],
    };
    let crate::ingest::Preview { plan, skipped } = crate::ingest::preview(
        &known,
        std::slice::from_ref(&p.inbox),
        &ingest_options(config)?,
    )?;
    println!("dry run: nothing is changed");
    if full {
        println!(
            "would rebuild the lake {} from {} archived night(s) in {} and the inbox",
            p.lake.display(),
            archive_nights(&p.archive)?.len(),
            p.archive.display()
        );
    }
    let mut archived = 0;
    for (path, bytes, what) in &plan {
        let text = match what {
            Planned::New(d) => {
                archived += 1;
                format!(
                    "ingest {} ({}, {} bytes)",
                    d.kind,
                    d.format.as_str(),
                    thousands(*bytes)
                )
            }
            Planned::Known { seq } => {
                archived += 1;
                format!("already in the lake (file {seq}): archive only")
            }
            Planned::Repeat { path } => {
                archived += 1;
                format!("same content as {path}: archive only")
            }
            Planned::Unrecognized(why) => format!("not recognised, stays in the inbox: {why}"),
            Planned::Failed(why) => format!("cannot be read, stays in the inbox: {why}"),
            Planned::Empty => {
                archived += 1;
                "empty: archive only".to_string()
            }
        };
        println!("  {}: {text}", crate::ingest::inbox::shown_path(path));
    }
    for s in &skipped {
        println!(
            "  {}: skipped, stays in the inbox: {}",
            crate::ingest::inbox::shown_path(&s.path),
            s.why
        );
    }
    if p.keep {
        println!("files stay in {} (demo inbox or --keep)", p.inbox.display());
    } else {
        println!(
            "would archive {archived} file(s) to {}",
            p.archive.join("<run start, UTC>").display()
        );
    }
    let nothing_new = !plan
        .iter()
        .any(|(_, _, what)| matches!(what, Planned::New(_)));
    let unchanged = !full
        && nothing_new
        && Lake::read_only(&p.lake).is_ok_and(|lake| {
            inputs_key(&lake, config, cutoff).is_ok_and(|key| {
                RunState::load(&p.reports).is_some_and(|s| s.still_holds(&p.reports, &key))
            })
        });
    if unchanged {
        println!(
            "nothing changed since the last run (same lake, settings and outputs): \
             {}/reconcile and the month reports would stand as they are",
            p.reports.display()
        );
    } else {
        println!(
            "would reconcile the lake and write {}/reconcile and the reports of every month with \
             data in {}/YYYY-MM (only files whose bytes change)",
            p.reports.display(),
            p.reports.display()
        );
    }
    Ok(Outcome::Clean)
}

/// The months with data (attempts, or reconciliation items by the UTC days of their results
/// files), local, in order. Only months that have data: a stray row years away makes one
/// month, not every month in between.
fn months_with_data(
    facts: &crate::analytics::facts::Facts,
    result_days: &[i32],
    tz: chrono_tz::Tz,
    window: &crate::model::time::TimeWindow,
) -> Vec<String> {
    let mut days: rustc_hash::FxHashSet<i32> = Default::default();
    let mut last = None;
    for a in &facts.attempts {
        if last != Some(a.day) {
            days.insert(a.day);
            last = Some(a.day);
        }
    }
    let mut months: std::collections::BTreeSet<(i32, u32)> = days
        .into_iter()
        .map(|d| {
            let d = crate::model::time::from_epoch_days(d);
            (d.year(), d.month())
        })
        .collect();
    let local = |ts: i64| {
        let d = crate::model::time::from_micros(ts).with_timezone(&tz);
        (d.year(), d.month())
    };
    // The local months of each results day's start and end.
    const DAY_US: i64 = 86_400_000_000;
    for &day in result_days {
        months.insert(local(day as i64 * DAY_US));
        months.insert(local(day as i64 * DAY_US + DAY_US - 1));
    }
    // A lake written by an older build (or under another clock) may hold rows outside the
    // plausible window: they get no month of their own.
    let lo = (window.earliest.year(), window.earliest.month());
    let hi = local(window.latest_us);
    let (inside, outside): (Vec<_>, Vec<_>) =
        months.into_iter().partition(|m| *m >= lo && *m <= hi);
    if !outside.is_empty() {
        tracing::warn!(
            months = outside.len(),
            "the lake has rows outside the plausible time window (see docs/LIMITS.md): no reports for their months"
        );
    }
    inside
        .into_iter()
        .map(|(y, m)| format!("{y}-{m:02}"))
        .collect()
}

/// `run`, with `--fetch` first: a failed fetch does not stop the night (what is in the inbox
/// is still ingested and reconciled), but the run then exits 2 with the fetch's error.
pub fn run(config: &Config, args: &RunArgs) -> Result<Outcome, CommandError> {
    let fetch_error = if args.fetch {
        let Some(inbox) = &args.inbox else {
            return Err(CommandError::Usage(
                "--fetch needs --inbox DIR (the folder the reports are downloaded into; the \
                 shipped sample-data is not one)"
                    .into(),
            ));
        };
        let mut s = super::fetch::settings(config, inbox, None)?;
        s.dry_run = args.dry_run;
        match crate::fetch::fetch(&s) {
            Ok(summary) => {
                super::fetch::print_summary(&summary, &s);
                None
            }
            Err(e) => {
                tracing::error!("fetch failed; going on with what is in the inbox: {e}");
                Some(e)
            }
        }
    } else {
        None
    };
    let outcome = run_pipeline(config, args)?;
    match fetch_error {
        Some(e) => Err(e.into()),
        None => Ok(outcome),
    }
}

fn run_pipeline(config: &Config, args: &RunArgs) -> Result<Outcome, CommandError> {
    let start = Instant::now();
    let p = paths(config, args);
    if !p.inbox.is_dir() {
        return Err(CommandError::Usage(format!(
            "inbox {} is not a folder (run from the repository root, or pass --inbox DIR)",
            p.inbox.display()
        )));
    }
    if !p.keep
        && std::path::absolute(&p.archive)
            .ok()
            .zip(std::path::absolute(&p.inbox).ok())
            .is_some_and(|(a, i)| a.starts_with(&i))
    {
        return Err(CommandError::Usage(format!(
            "the archive {} is inside the inbox {}: archived files would be read again; \
             choose an archive folder outside the inbox",
            p.archive.display(),
            p.inbox.display()
        )));
    }
    if args.dry_run {
        return dry_run(config, &p, args.full, args.cutoff.as_deref());
    }
    let _run_lock = run_lock(&p.lake, args.wait)?;
    recover_swap(&p.lake)?;
    let swept = crate::durable::remove_stale_temp_files(&p.reports)?;
    if swept > 0 {
        tracing::warn!(
            files = swept,
            "removed temporary files of an interrupted run"
        );
    }
    tracing::info!(inbox = %p.inbox.display(), lake = %p.lake.display(), full = args.full, "run started");

    // 1. Ingest (or rebuild), then archive what was processed. The lake's own lock (which a
    // manual `payrecon ingest` also takes) is held to the end, so the reconciliation and the
    // reports read one state of the lake.
    let (report, lake) = if args.full {
        // No manual ingest may slip into the old lake while its replacement is built.
        let old = Lake::open_for_rebuild(&p.lake, LockMode::Wait)?;
        let report = rebuild_lake(config, &p, &old)?;
        drop(old);
        (report, Lake::open(&p.lake, LockMode::Wait)?)
    } else {
        let lake = Lake::open(&p.lake, LockMode::Wait)?;
        let report = ingest(
            &lake,
            std::slice::from_ref(&p.inbox),
            &ingest_options(config)?,
        )?;
        (report, lake)
    };
    let new_files = report.files_loaded();
    let rows_loaded: u64 = report.files.iter().map(|f| f.loaded).sum();
    let rows_read: u64 = report.files.iter().map(|f| f.rows_read).sum();
    let duplicates: u64 = report.files.iter().map(|f| f.duplicates).sum();
    if std::io::stdout().is_terminal() && new_files > 0 {
        super::ingest::print_report(
            &report,
            &p.lake.display().to_string(),
            start.elapsed().as_secs_f64(),
            super::ingest::Detail::PerKind,
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
    let archived = archive(&report, &p, &night)?;
    if archived > 0 {
        tracing::info!(files = archived, to = %p.archive.join(&night).display(), "archived");
    }

    // Nothing changed since the last run (same lake, settings and outputs): its outputs stand.
    let inputs_digest = inputs_key(&lake, config, args.cutoff.as_deref())?;
    if let Some(state) = RunState::load(&p.reports)
        .filter(|s| !args.full && s.still_holds(&p.reports, &inputs_digest))
    {
        tracing::info!(
            "nothing changed since the last run (same lake, settings and outputs): \
             its reconciliation and reports stand"
        );
        return Ok(finish(
            config,
            &p.reports,
            &report,
            archived,
            &state.summary,
            &[],
            &state.summary.months,
            None,
            "none",
            start,
        ));
    }

    // 2. Facts and reconciliation, side by side: the reconciliation of the components the
    // new rows touch when the last run's state fits (same settings and build, its outputs
    // untouched), else of the whole lake.
    let lake_config = Config {
        lake: p.lake.clone(),
        ..config.clone()
    };
    let tz = config.tz().map_err(CommandError::Usage)?;
    let rec_dir = p.reports.join("reconcile");
    let options = super::reconcile::options(config, args.cutoff.as_deref())?;
    let settings = incremental::settings_digest(&options, &config.timezone);
    let step = Instant::now();
    let progress = super::progress::Step::new("reconciling");
    // Digests of outputs already at hand (by path, as `run_state::file_digest` gives them), so
    // that the run state does not read those files again.
    let mut known: BTreeMap<PathBuf, String> = BTreeMap::new();
    let last = if args.full {
        None
    } else {
        RunState::load(&p.reports)
    };
    let prior = if args.full {
        None
    } else {
        // The state and the outputs it goes with (read and hashed side by side).
        let (state, holds) = rayon::join(
            || incremental::State::load(&p.reports),
            || {
                last.as_ref()
                    .is_some_and(|r| r.holds_under(&p.reports, "reconcile/"))
            },
        );
        state
            .filter(|(s, digest)| {
                holds
                    && s.settings == settings
                    && last
                        .as_ref()
                        .is_some_and(|r| r.outputs.get(incremental::STATE_FILE) == Some(digest))
            })
            .map(|(s, _)| s)
    };
    tracing::debug!(
        elapsed_ms = step.elapsed().as_millis() as u64,
        usable = prior.is_some(),
        "incremental state"
    );
    let mut outputs_rec: Vec<PathBuf> = Vec::new();
    let rel = |q: &Path| rec_dir.join(q);
    let fact_options = super::analytics::fact_options(config)?;
    let night = match prior {
        Some(state) => {
            let night = incremental::night(
                &lake,
                &rec_dir,
                state,
                &options,
                &fact_options,
                Catalogue::embedded(),
            )?;
            match night {
                Some((view, state, stats)) => {
                    tracing::debug!(
                        elapsed_ms = step.elapsed().as_millis() as u64,
                        changed_rows = stats.changed_rows,
                        touched_components = stats.touched_components,
                        reconciled_rows = stats.reconciled_rows,
                        written = stats.results.written.len(),
                        patched = stats.results.patched,
                        unchanged = stats.results.unchanged.len(),
                        removed = stats.results.removed,
                        "incremental reconciliation"
                    );
                    let w = &stats.results;
                    outputs_rec.push(rel(&w.digests));
                    outputs_rec.extend(w.written.iter().chain(&w.unchanged).map(|q| rel(q)));
                    // Every output the last run recorded under `reconcile/` was checked against
                    // its digest before this night began; the files it left alone still hold it.
                    let recorded = last.as_ref().map(|r| &r.outputs);
                    for q in &w.unchanged {
                        let path = rel(q);
                        let key = path
                            .strip_prefix(&p.reports)
                            .unwrap_or(&path)
                            .to_string_lossy()
                            .into_owned();
                        if let Some(d) = recorded.and_then(|o| o.get(&key)) {
                            known.insert(path, d.clone());
                        }
                    }
                    Some((view, state))
                }
                None => {
                    tracing::info!("the cut-off went back: reconciling the whole lake");
                    None
                }
            }
        }
        None => None,
    };
    let mode = if night.is_some() {
        "incremental"
    } else {
        "full"
    };
    let (view, state) = match night {
        Some(n) => n,
        None => {
            let (facts, inputs, rec) =
                facts_and_reconciliation(&lake_config, args.cutoff.as_deref())?;
            let mark = incremental::lake_mark(&lake)?;
            let (wrote, after) = rayon::join(
                || write_results(&rec, &rec_dir, args.full),
                || {
                    incremental::after_full(
                        inputs, &rec.rows, facts, rec.cutoff, mark, settings, tz,
                    )
                },
            );
            let wrote = wrote?;
            tracing::debug!(
                elapsed_ms = step.elapsed().as_millis() as u64,
                written = wrote.written.len(),
                unchanged = wrote.unchanged.len(),
                removed = wrote.removed,
                "reconciliation results"
            );
            outputs_rec.push(rel(&wrote.digests));
            outputs_rec.extend(wrote.written.iter().chain(&wrote.unchanged).map(|q| rel(q)));
            after
        }
    };
    let facts = &state.facts.facts;
    drop(progress);
    crash_point("run-after-reconcile");

    // 3. The exceptions and the state of the next night (after the results it vouches for),
    // written while every month's reports are rendered.
    let days = crate::reconcile::output::results_days(&rec_dir);
    let months = months_with_data(facts, &days, tz, &config.ingest.time_window()?);
    let progress = super::progress::Step::counted("writing reports, months", months.len() as u64);
    /// A month's files, whether its roll-forward ties, and the digest of its tables with their
    /// frames when they were computed (not taken from the last run).
    type Rendered = (
        Month,
        Vec<report::ReportFile>,
        bool,
        (u128, Option<Vec<Vec<u8>>>),
    );
    let (written_rec, rendered) = rayon::join(
        || -> Result<(), CommandError> {
            let (ex_path, digest) = rayon::join(
                || -> Result<PathBuf, CommandError> {
                    let exceptions = exceptions_frame(view.exceptions(), view.cutoff);
                    let ex_path = rec_dir.join("exceptions.csv");
                    report::write_files(
                        &rec_dir,
                        &[("exceptions.csv".into(), csv_bytes(&exceptions, &ex_path)?)],
                        !args.full,
                    )?;
                    tracing::debug!(
                        elapsed_ms = step.elapsed().as_millis() as u64,
                        "exceptions written"
                    );
                    Ok(ex_path)
                },
                || {
                    let digest = state.save(&p.reports);
                    tracing::debug!(
                        elapsed_ms = step.elapsed().as_millis() as u64,
                        "reconcile state saved"
                    );
                    digest
                },
            );
            outputs_rec.push(ex_path?);
            let path = p.reports.join(incremental::STATE_FILE);
            known.insert(path.clone(), digest?);
            outputs_rec.push(path);
            Ok(())
        },
        // 4. Every month's reports, rendered in parallel.
        || -> Result<Vec<Rendered>, CommandError> {
            // The tables of months whose attempts did not change come from the last run; the
            // others are computed beside the close pack's lookups.
            let last = if args.full {
                TablesCache::default()
            } else {
                TablesCache::load(&p.reports)
            };
            let (ix, tables) = rayon::join(
                || view.close_index(),
                || {
                    months
                        .par_iter()
                        .map(|label| {
                            let month = Month::parse(label, tz).expect("a month label");
                            let settings = ReportSettings::new(month, config, None);
                            let digest = report::cache::digest(facts, &settings);
                            Ok(match last.get(digest, facts, &settings) {
                                Some(t) => (settings, t, (digest, None)),
                                None => {
                                    let t =
                                        report::tables(facts, Catalogue::embedded(), &settings)?;
                                    let frames = TablesCache::encode(&t, &p.reports)?;
                                    (settings, t, (digest, Some(frames)))
                                }
                            })
                        })
                        .collect::<Result<Vec<_>, CommandError>>()
                },
            );
            tracing::debug!(
                elapsed_ms = step.elapsed().as_millis() as u64,
                "close index and tables"
            );
            let rendered = tables?
                .into_par_iter()
                .map(|(settings, tables, cached)| {
                    let (files, ties, _) =
                        report::render_month_using(facts, &ix, &settings, Some(tables))?;
                    progress.inc();
                    Ok((settings.month, files, ties, cached))
                })
                .collect::<Result<Vec<Rendered>, CommandError>>()?;
            let mut cache = TablesCache::default();
            for (month, _, _, (digest, frames)) in &rendered {
                match frames {
                    Some(f) => cache.insert(month.label(), *digest, f.clone()),
                    None => cache.keep_from(&last, &month.label()),
                }
            }
            cache.save(&p.reports)?;
            tracing::debug!(
                elapsed_ms = step.elapsed().as_millis() as u64,
                months = rendered.len(),
                from_the_last_run = rendered.iter().filter(|r| r.3.1.is_none()).count(),
                "rendered the reports"
            );
            Ok(rendered)
        },
    );
    written_rec?;
    let rendered = rendered?;
    // Written where their bytes changed.
    let mut written_months = Vec::new();
    let mut unchanged_months = Vec::new();
    let mut outputs = outputs_rec;
    let mut files_written = 0;
    for (i, (month, files, _, _)) in rendered.iter().enumerate() {
        let w = report::write_files(&p.reports.join(month.label()), files, !args.full)?;
        if w.written.is_empty() {
            unchanged_months.push(month.label());
        } else {
            written_months.push(month.label());
        }
        files_written += w.written.len();
        outputs.extend(w.written.into_iter().chain(w.unchanged));
        if i == 0 {
            crash_point("run-mid-reports");
        }
    }
    // The operator's approval rate: attempts of the last 7 local days with data.
    let approval = facts.newest_day.and_then(|newest| {
        let week = crate::analytics::ReportOptions {
            dims: vec![],
            from: Some(newest - 6),
            to: Some(newest),
            min_n: config.analytics.min_n,
        };
        let df = crate::analytics::approvals(facts, &week).ok()?;
        report::Headline::of(&df).attempt.rate
    });
    let ties = rendered.iter().all(|r| r.2);

    drop(progress);
    // 5. The state that vouches for these outputs (written last), then the summary.
    let counts = severity_counts(view.exceptions());
    let summary = Summary {
        approval_rate_7d: approval,
        exceptions_high: counts[0],
        exceptions_medium: counts[1],
        exceptions_low: counts[2],
        findings: exceptions_outcome(config, counts) == Outcome::Findings || !ties,
        ties,
        months: rendered.iter().map(|r| r.0.label()).collect(),
        // The month to open first: the last one that ended by the cut-off (data runs a few
        // days into the next month), else the last.
        main_month: rendered
            .iter()
            .map(|r| &r.0)
            .filter(|m| m.end <= view.cutoff)
            .chain(rendered.last().map(|r| &r.0))
            .max_by_key(|m| (m.end <= view.cutoff, m.start))
            .map(|m| m.label()),
        top_exceptions: top_exceptions(view.exceptions(), view.cutoff, RUN_TOP_EXCEPTIONS),
    };
    outputs.sort();
    RunState::of_outputs(&p.reports, inputs_digest, &outputs, &known, summary.clone())?
        .save(&p.reports)?;
    // What is left is memory only (millions of lines, rows and facts): the run ends without
    // taking it apart piece by piece, the system frees it at once.
    std::mem::forget((view, state, rendered));
    Ok(finish(
        config,
        &p.reports,
        &report,
        archived,
        &summary,
        &written_months,
        &unchanged_months,
        Some(files_written),
        mode,
        start,
    ))
}

/// Logs the `run finished` event and prints the one-line summary; returns the run's outcome.
/// `, 2 empty, 1 inbox entry skipped` (nothing when there are none).
fn odd_entries(report: &IngestReport) -> String {
    let mut out = String::new();
    let empty = report.files_empty();
    if empty > 0 {
        out.push_str(&format!(", {empty} empty"));
    }
    let n = report.skipped.len();
    if n > 0 {
        out.push_str(&format!(
            ", {n} inbox entr{} skipped",
            if n == 1 { "y" } else { "ies" }
        ));
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn finish(
    config: &Config,
    reports: &Path,
    report: &IngestReport,
    archived: usize,
    summary: &Summary,
    written_months: &[String],
    unchanged_months: &[String],
    files_written: Option<usize>,
    reconciliation: &str,
    start: Instant,
) -> Outcome {
    // `None`: nothing changed since the last run, nothing was recomputed.
    let skipped = files_written.is_none();
    let new_files = report.files_loaded();
    let rows_loaded: u64 = report.files.iter().map(|f| f.loaded).sum();
    let rows_read: u64 = report.files.iter().map(|f| f.rows_read).sum();
    let duplicates: u64 = report.files.iter().map(|f| f.duplicates).sum();
    let exceptions_total =
        summary.exceptions_high + summary.exceptions_medium + summary.exceptions_low;
    let seconds = start.elapsed().as_secs_f64();
    let mut result = ingest_outcome(report, config);
    if summary.findings {
        result = Outcome::Findings;
    }
    let line = format!(
        "run {}: {} files ({} new, {} archived, {} failed{}), rows {} read = {} loaded + {} rejected \
         + {} duplicates, approval (7 days) {}, exceptions {} (high {}, medium {}, low {}), {}, {:.1} s",
        if result == Outcome::Clean {
            "ok"
        } else {
            "finished with findings"
        },
        report.files.len(),
        new_files,
        archived,
        report.files_failed(),
        odd_entries(report),
        thousands(rows_read),
        thousands(rows_loaded),
        thousands(report.rows_rejected()),
        thousands(duplicates),
        report::pct(summary.approval_rate_7d),
        thousands(exceptions_total),
        summary.exceptions_high,
        summary.exceptions_medium,
        summary.exceptions_low,
        if skipped {
            "nothing changed since the last run, reports unchanged".to_string()
        } else {
            format!(
                "reports {} written{}",
                if written_months.is_empty() {
                    "none".to_string()
                } else {
                    written_months.join(",")
                },
                if unchanged_months.is_empty() {
                    String::new()
                } else {
                    format!(" ({} unchanged)", unchanged_months.join(","))
                }
            )
        },
        seconds
    );
    tracing::info!(
        files = report.files.len(),
        new_files,
        archived,
        failed_files = report.files_failed(),
        empty_files = report.files_empty(),
        skipped_entries = report.skipped.len(),
        rows_read,
        rows_loaded,
        rows_rejected = report.rows_rejected(),
        duplicates,
        approval_rate_7d = summary.approval_rate_7d.unwrap_or(f64::NAN),
        exceptions = exceptions_total,
        exceptions_high = summary.exceptions_high,
        exceptions_medium = summary.exceptions_medium,
        exceptions_low = summary.exceptions_low,
        months_written = %written_months.join(","),
        months_unchanged = %unchanged_months.join(","),
        report_files_written = files_written.unwrap_or(0),
        unchanged_since_last_run = skipped,
        reconciliation,
        seconds,
        outcome = if result == Outcome::Clean { "ok" } else { "findings" },
        "run finished"
    );
    println!("{line}");
    for l in next_steps(config, reports, report, summary) {
        println!("{l}");
    }
    result
}

/// The lines after the summary: what to open, and when the run has findings, why and where.
/// Exceptions a run's summary names.
const RUN_TOP_EXCEPTIONS: usize = 3;

fn next_steps(
    config: &Config,
    reports: &Path,
    report: &IngestReport,
    summary: &Summary,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(month) = summary
        .main_month
        .as_ref()
        .or_else(|| summary.months.iter().max())
    {
        let dir = reports.join(month);
        out.push(format!(
            "open {} (approvals) and {} (month close){}",
            dir.join("approvals.html").display(),
            dir.join(format!("close-{month}.xlsx")).display(),
            if summary.months.len() > 1 {
                format!("; {} months in {}", summary.months.len(), reports.display())
            } else {
                String::new()
            }
        ));
    }
    let rejected = report.rows_rejected() + report.files_failed() as u64;
    if rejected > config.thresholds.max_rejected_rows {
        out.push(format!(
            "findings: {} rejected rows or unreadable files (more than [thresholds] \
             max_rejected_rows = {}); the rows are in the lake's table `rejects` \
             (`payrecon query \"select * from rejects\"`)",
            thousands(rejected),
            config.thresholds.max_rejected_rows
        ));
    }
    let counts = [
        summary.exceptions_high,
        summary.exceptions_medium,
        summary.exceptions_low,
    ];
    if let Some(v) = exceptions_verdict(
        config,
        counts,
        &reports.join("reconcile").join("exceptions.csv"),
    ) {
        out.push(v);
    }
    if !summary.top_exceptions.is_empty() {
        let total: u64 = counts.iter().sum();
        out.push(if total as usize > summary.top_exceptions.len() {
            format!("the first {} to look at:", summary.top_exceptions.len())
        } else {
            "to look at:".to_string()
        });
        for t in &summary.top_exceptions {
            out.push(format!("  {t}"));
        }
    }
    if !summary.ties {
        out.push(format!(
            "findings: a month's roll-forward does not tie (see the Summary sheet of its \
             close workbook in {})",
            reports.display()
        ));
    }
    out
}
