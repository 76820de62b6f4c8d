//! Step 4 of a run: its summary (kept in the run state, so a night with nothing new repeats
//! it), the one line printed and the `run finished` event, and what to open next.

use std::path::Path;
use std::time::Instant;

use super::ingest::Ingested;
use super::reconcile::Reconciled;
use super::reports::Reported;
use super::settings::RunSettings;
use crate::commands::ingest::outcome as ingest_outcome;
use crate::commands::reconcile::{
    exceptions_outcome, exceptions_verdict, severity_counts, top_exceptions,
};
use crate::commands::{Outcome, thousands};
use crate::ingest::IngestReport;
use crate::report;
use crate::settings::Config;
use crate::state::run::Summary;

/// What the run wrote, for the summary line.
pub(super) struct Written<'a> {
    pub(super) written_months: &'a [String],
    pub(super) unchanged_months: &'a [String],
    /// `None`: nothing changed since the last run, nothing was recomputed.
    pub(super) files_written: Option<usize>,
    /// How the lake was reconciled: `incremental`, `full` or `none`.
    pub(super) mode: &'a str,
}

/// The summary of a run that reconciled and wrote its reports.
pub(super) fn of_run(s: &RunSettings, rec: &Reconciled, rep: &Reported) -> Summary {
    let view = &rec.view;
    let ties = rep.months.iter().all(|m| m.1);
    let counts = severity_counts(view.exceptions());
    Summary {
        approval_rate_7d: rep.approval_rate_7d,
        exceptions_high: counts[0],
        exceptions_medium: counts[1],
        exceptions_low: counts[2],
        findings: exceptions_outcome(&s.config.thresholds, counts) == Outcome::Findings || !ties,
        ties,
        months: rep.months.iter().map(|m| m.0.label()).collect(),
        // The month to open first: the last one that ended by the cut-off (data runs a few
        // days into the next month), else the last.
        main_month: rep
            .months
            .iter()
            .map(|m| &m.0)
            .filter(|m| m.end <= view.cutoff)
            .chain(rep.months.last().map(|m| &m.0))
            .max_by_key(|m| (m.end <= view.cutoff, m.start))
            .map(|m| m.label()),
        top_exceptions: top_exceptions(view.exceptions(), view.cutoff, RUN_TOP_EXCEPTIONS),
    }
}

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

/// Logs the `run finished` event and prints the one-line summary; returns the run's outcome.
pub(super) fn finish(
    s: &RunSettings,
    ingested: &Ingested,
    summary: &Summary,
    written: Written<'_>,
    start: Instant,
) -> Outcome {
    let (config, reports) = (&s.config, s.paths.reports.as_path());
    let (report, archived) = (&ingested.report, ingested.archived);
    let Written {
        written_months,
        unchanged_months,
        files_written,
        mode: reconciliation,
    } = written;
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

/// Exceptions a run's summary names.
const RUN_TOP_EXCEPTIONS: usize = 3;

/// The lines after the summary: what to open, and when the run has findings, why and where.
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
        &config.thresholds,
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
