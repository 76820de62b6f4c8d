//! `payrecon ingest`: load files into the lake and print a per-file summary.

use std::io::IsTerminal;
use std::time::Instant;

use super::{CommandError, Outcome, thousands};
use crate::cli::IngestArgs;
use crate::ingest::{FileStatus, IngestOptions, IngestReport, ingest};
use crate::lake::{Lake, LockMode};
use crate::settings::Config;

pub(super) fn run(config: &Config, args: &IngestArgs) -> Result<Outcome, CommandError> {
    let lake = Lake::open(
        &config.lake,
        if args.wait {
            LockMode::Wait
        } else {
            LockMode::Fail
        },
    )?;
    let start = Instant::now();
    let opts = options(config, !args.no_progress && std::io::stderr().is_terminal())?;
    let report = ingest(&lake, &args.paths, &opts)?;
    print_report(
        &report,
        &config.lake.display().to_string(),
        start.elapsed().as_secs_f64(),
        Detail::PerFile,
    );
    Ok(outcome(&report, config))
}

/// The ingest options of the configuration (the plausible-time window at this run's clock).
pub(super) fn options(config: &Config, progress: bool) -> Result<IngestOptions, CommandError> {
    Ok(IngestOptions {
        progress,
        memory_budget: config.ingest.memory_budget_mb as usize * (1 << 20),
        window: config.ingest.time_window()?,
        max_record_bytes: usize::try_from(config.ingest.max_record_bytes).unwrap_or(usize::MAX),
        follow_symlinks: config.ingest.follow_symlinks,
        banks: config.bank.csv.clone(),
        ..IngestOptions::new(config.orders.columns.clone())
    })
}

/// Exit 1 when rejected rows plus unreadable files exceed the threshold.
pub(super) fn outcome(report: &IngestReport, config: &Config) -> Outcome {
    let findings = report.rows_rejected() + report.files_failed() as u64;
    if findings > config.thresholds.max_rejected_rows {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

/// How much of an ingest to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Detail {
    /// One line per file read in this run.
    PerFile,
    /// Totals per kind of file.
    PerKind,
}

pub(super) fn print_report(report: &IngestReport, lake: &str, seconds: f64, detail: Detail) {
    let skipped = report
        .files
        .iter()
        .filter(|f| {
            matches!(
                f.status,
                FileStatus::AlreadyIngested { .. } | FileStatus::SameAsEarlier { .. }
            )
        })
        .count();
    let empty = report.files_empty();
    println!(
        "ingest into {lake}: {} files, {} loaded, {} already ingested, {}{} not ingested ({seconds:.2} s)",
        report.files.len(),
        report.files_loaded(),
        skipped,
        if empty > 0 {
            format!("{empty} empty, ")
        } else {
            String::new()
        },
        report.files_failed()
    );
    if !report.skipped.is_empty() {
        println!(
            "{} inbox entr{} skipped (not regular files; see the warnings):",
            report.skipped.len(),
            if report.skipped.len() == 1 {
                "y"
            } else {
                "ies"
            }
        );
        for s in &report.skipped {
            println!("  {}: {}", crate::ingest::inbox::shown_path(&s.path), s.why);
        }
    }
    let loaded: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.status == FileStatus::Loaded)
        .collect();
    if !loaded.is_empty() {
        // (label, kind, format, read, loaded, rejected, dups)
        let mut lines: Vec<(String, &str, &str, u64, u64, u64, u64)> = Vec::new();
        match detail {
            Detail::PerFile => {
                for f in &loaded {
                    let d = f.detected.expect("loaded files were recognised");
                    lines.push((
                        f.path.clone(),
                        d.kind.as_str(),
                        d.format.as_str(),
                        f.rows_read,
                        f.loaded,
                        f.rejected,
                        f.duplicates,
                    ));
                }
            }
            Detail::PerKind => {
                let mut by_kind: std::collections::BTreeMap<&str, (u64, u64, u64, u64, u64)> =
                    Default::default();
                for f in &loaded {
                    let d = f.detected.expect("loaded files were recognised");
                    let e = by_kind.entry(d.kind.as_str()).or_default();
                    e.0 += 1;
                    e.1 += f.rows_read;
                    e.2 += f.loaded;
                    e.3 += f.rejected;
                    e.4 += f.duplicates;
                }
                for (kind, (n, r, l, j, d)) in by_kind {
                    lines.push((
                        format!("{n} file{}", if n == 1 { "" } else { "s" }),
                        kind,
                        "",
                        r,
                        l,
                        j,
                        d,
                    ));
                }
            }
        }
        let width = lines
            .iter()
            .map(|l| l.0.len())
            .max()
            .unwrap_or(4)
            .clamp(4, 70);
        println!(
            "  {:<width$}  {:<10} {:<9} {:>10} {:>10} {:>8} {:>6}",
            if detail == Detail::PerFile {
                "file"
            } else {
                "files"
            },
            "kind",
            "format",
            "read",
            "loaded",
            "rejected",
            "dups"
        );
        for (label, kind, format, r, l, j, d) in lines {
            println!(
                "  {label:<width$}  {kind:<10} {format:<9} {:>10} {:>10} {:>8} {:>6}",
                thousands(r),
                thousands(l),
                thousands(j),
                thousands(d)
            );
        }
    }
    for f in &report.files {
        match &f.status {
            FileStatus::Unrecognized(why) => println!("{}: not ingested: {why}", f.path),
            FileStatus::Failed(why) => println!("not ingested: {why}"),
            FileStatus::Loaded if f.rejected > 0 => {
                let (line, col, reason) =
                    f.first_reject.clone().unwrap_or((0, None, String::new()));
                println!(
                    "{}: {} row{} rejected; first at line {line}{}: {reason} (all in table `rejects`)",
                    f.path,
                    thousands(f.rejected),
                    if f.rejected == 1 { "" } else { "s" },
                    col.map(|c| format!(", column {c}")).unwrap_or_default()
                );
            }
            _ => {}
        }
        for n in &f.notes {
            println!("{}: {n}", f.path);
        }
    }
    let warnings: u64 = report.files.iter().map(|f| f.warnings).sum();
    if warnings > 0 {
        println!(
            "{warnings} rows loaded with warnings (unknown settlement TransactionType; see the log)"
        );
    }
}
