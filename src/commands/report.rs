//! `payrecon report`: a month's reports for people (HTML, workbook, CSV, Markdown).

use std::time::Instant;

use chrono::Datelike;

use super::reconcile::{facts_and_reconciliation, outcome};
use super::{CommandError, Outcome};
use crate::cli::ReportCmdArgs;
use crate::reconcile::close::Month;
use crate::report::{self, ReportSettings};
use crate::settings::Config;

pub fn run(config: &Config, args: &ReportCmdArgs) -> Result<Outcome, CommandError> {
    let start = Instant::now();
    let tz = config.tz().map_err(CommandError::Usage)?;
    let (facts, inputs, rec) = facts_and_reconciliation(config, args.cutoff.as_deref())?;
    let facts = facts.facts;
    let label = match &args.month {
        Some(m) => m.clone(),
        None => report::newest_month(&facts).unwrap_or_else(|| {
            let d = crate::model::time::from_micros(rec.cutoff).with_timezone(&tz);
            format!("{}-{:02}", d.year(), d.month())
        }),
    };
    let month = Month::parse(&label, tz)
        .ok_or_else(|| CommandError::Usage(format!("--month {label:?} is not YYYY-MM")))?;
    let settings = ReportSettings::new(month, config, args.now.then(chrono::Utc::now));
    let (files, ties) = report::render_month(&facts, &inputs, &rec, &settings)?;
    let dir = args
        .out
        .as_deref()
        .unwrap_or(&config.reports)
        .join(month.label());
    let written = report::write_files(&dir, &files, false)?.written;
    println!(
        "report {} written to {} ({} files, {:.1} s):",
        month.label(),
        dir.display(),
        written.len(),
        start.elapsed().as_secs_f64()
    );
    for p in &written {
        println!("  {}", p.file_name().unwrap_or_default().to_string_lossy());
    }
    if !ties {
        return Ok(Outcome::Findings);
    }
    Ok(outcome(config, &rec))
}
