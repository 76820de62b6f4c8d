//! `payrecon report`: a month's reports for people (HTML, workbook, CSV, Markdown).

use std::time::Instant;

use chrono::Datelike;

use super::reconcile::{ReconcileInput, facts_and_reconciliation, outcome};
use super::{CommandError, Outcome};
use crate::analytics::facts::FactOptions;
use crate::cli::ReportCmdArgs;
use crate::reconcile::close::Month;
use crate::report::{self, ReportSettings};
use crate::settings::Config;

/// `payrecon report`, resolved once from its arguments and the configuration.
pub(super) struct ReportCmdSettings {
    input: ReconcileInput,
    facts: FactOptions,
    /// The configuration (the month's report settings are drawn from it once the month is
    /// known).
    config: Config,
    /// `--month`; `None`: the default month, known once the facts are.
    month: Option<String>,
    out: std::path::PathBuf,
    generated_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ReportCmdSettings {
    pub(super) fn resolve(config: &Config, args: &ReportCmdArgs) -> Result<Self, CommandError> {
        Ok(ReportCmdSettings {
            input: ReconcileInput::resolve(config, args.cutoff)?,
            facts: super::analytics::fact_options(config)?,
            config: config.clone(),
            month: args.month.clone(),
            out: args.out.clone().unwrap_or_else(|| config.reports.clone()),
            generated_at: args.now.then(chrono::Utc::now),
        })
    }
}

/// The last month that is over by the cut-off (the data runs on into the next one), else the
/// newest month with attempts, else the cut-off's month.
fn default_month(facts: &crate::analytics::facts::Facts, cutoff: i64, tz: chrono_tz::Tz) -> String {
    let newest = report::newest_month(facts).unwrap_or_else(|| {
        let d = crate::model::time::from_micros(cutoff).with_timezone(&tz);
        format!("{}-{:02}", d.year(), d.month())
    });
    let Some(month) = Month::parse(&newest, tz) else {
        return newest;
    };
    if month.end <= cutoff {
        return newest;
    }
    let previous = crate::model::time::from_micros(month.start - 1).with_timezone(&tz);
    let label = format!("{}-{:02}", previous.year(), previous.month());
    let has_attempts = Month::parse(&label, tz).is_some_and(|m| {
        let (first, last) = super::reconcile::month_local_days(m, tz);
        crate::analytics::attempts_between(facts, first, last) > 0
    });
    if has_attempts {
        tracing::info!("reporting {label}, the last complete month (--month picks another)");
        label
    } else {
        tracing::warn!("{newest} is not over yet; reporting it as far as the data goes");
        newest
    }
}

pub(super) fn run(s: &ReportCmdSettings) -> Result<Outcome, CommandError> {
    let start = Instant::now();
    let tz = s.facts.tz;
    let progress = super::progress::Step::new("reconciling");
    let (facts, inputs, rec) = facts_and_reconciliation(&s.input, &s.facts)?;
    drop(progress);
    let facts = facts.facts;
    let label = match &s.month {
        Some(m) => m.clone(),
        None => default_month(&facts, rec.cutoff, tz),
    };
    let month = Month::parse(&label, tz)
        .ok_or_else(|| CommandError::Usage(format!("--month {label:?} is not YYYY-MM")))?;
    if s.month.is_some() && !super::reconcile::month_has_data(&inputs, Some(&facts), month, tz) {
        tracing::warn!(
            "nothing is dated in {}: no attempt, settlement line or bank line{}",
            month.label(),
            super::reconcile::lake_span(&inputs, Some(&facts))
        );
    }
    let settings = ReportSettings::new(month, &s.config, s.generated_at);
    let progress = super::progress::Step::new("writing the reports");
    let (files, ties) = report::render_month(&facts, &inputs, &rec, &settings)?;
    drop(progress);
    let dir = s.out.join(month.label());
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
    Ok(outcome(&s.config.thresholds, &rec))
}
