//! `payrecon approvals`, `declines`, `recovery` and `changes`: the analytics reports.

use std::time::Instant;

use super::output::{View, write_frame};
use super::{CommandError, Outcome};
use crate::analytics::facts::{self, FactOptions, Facts, parse_day};
use crate::analytics::{self, Dim, Period, ReportOptions};
use crate::cli::{ChangesArgs, PeriodArg, ReportArgs};
use crate::lake::Lake;
use crate::model::catalogue::Catalogue;
use crate::settings::Config;

/// Which report of [`ReportArgs`] to run.
#[derive(Debug, Clone, Copy)]
pub enum Report {
    Approvals,
    Declines,
    Recovery,
}

/// Builds the facts of the lake named by the configuration.
pub fn load_facts(config: &Config) -> Result<Facts, CommandError> {
    let start = Instant::now();
    let lake = Lake::read_only(&config.lake)?;
    let facts = facts::build(&lake, Catalogue::embedded(), &fact_options(config)?)?;
    log_facts(&facts, start);
    Ok(facts)
}

/// Logs what the facts hold and how long they took since `start`.
pub fn log_facts(facts: &Facts, start: Instant) {
    tracing::debug!(
        attempts = facts.attempts.len(),
        orders = facts.orders.len(),
        elapsed_ms = start.elapsed().as_millis() as u64,
        "built attempt and order facts"
    );
}

/// The facts' options from the configuration.
pub fn fact_options(config: &Config) -> Result<FactOptions, CommandError> {
    Ok(FactOptions {
        tz: config.tz().map_err(CommandError::Usage)?,
        bands: config.value_bands.clone(),
        retry_window_hours: config.analytics.retry_window_hours,
    })
}

pub fn run_report(
    config: &Config,
    args: &ReportArgs,
    report: Report,
) -> Result<Outcome, CommandError> {
    let opts = ReportOptions {
        dims: Dim::parse_list(&args.by)?,
        from: args.from.as_deref().map(parse_day).transpose()?,
        to: args.to.as_deref().map(parse_day).transpose()?,
        min_n: args.min_n.unwrap_or(config.analytics.min_n),
    };
    if let (Some(from), Some(to)) = (opts.from, opts.to)
        && from > to
    {
        return Err(CommandError::Usage(format!(
            "--from {} is after --to {}: no day is in that period",
            args.from.as_deref().unwrap_or_default(),
            args.to.as_deref().unwrap_or_default()
        )));
    }
    let facts = load_facts(config)?;
    let (df, compact): (_, &'static [&'static str]) = match report {
        Report::Approvals => (
            analytics::approvals(&facts, &opts)?,
            &[
                "attempts",
                "approval_rate",
                "approval_rate_lo",
                "approval_rate_hi",
                "orders",
                "first_attempt_rate",
                "eventual_rate",
                "low_volume",
            ],
        ),
        Report::Declines => (
            analytics::declines(&facts, Catalogue::embedded(), &opts)?,
            &[
                "declines",
                "share_of_declines",
                "share_of_attempts",
                "action",
            ],
        ),
        Report::Recovery => (
            analytics::recovery(&facts, &opts)?,
            &[
                "orders",
                "recovered",
                "recovery_rate",
                "recovery_rate_lo",
                "recovery_rate_hi",
                "median_attempts_to_recovery",
                "low_volume",
            ],
        ),
    };
    write_frame(
        df,
        &args.output,
        View {
            compact,
            percent: true,
        },
    )?;
    Ok(Outcome::Clean)
}

pub fn run_changes(config: &Config, args: &ChangesArgs) -> Result<Outcome, CommandError> {
    let dims = Dim::parse_list(&args.by)?;
    let at = args.at.as_deref().map(parse_day).transpose()?;
    let fdr = args.fdr.unwrap_or(config.analytics.fdr);
    if !(fdr > 0.0 && fdr < 1.0) {
        return Err(CommandError::Usage(format!(
            "--fdr must be between 0 and 1, not {fdr}"
        )));
    }
    let period = match args.period {
        PeriodArg::Day => Period::Day,
        PeriodArg::Week => Period::Week,
        PeriodArg::Month => Period::Month,
    };
    let facts = load_facts(config)?;
    let df = analytics::changes(
        &facts,
        &dims,
        period,
        at,
        fdr,
        args.min_n.unwrap_or(config.analytics.min_n),
    )?;
    write_frame(
        df,
        &args.output,
        View {
            compact: &[
                "previous_rate",
                "decided",
                "approval_rate",
                "change",
                "q_value",
                "significant",
                "direction",
            ],
            percent: true,
        },
    )?;
    Ok(Outcome::Clean)
}
