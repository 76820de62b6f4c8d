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
pub(super) enum Report {
    Approvals,
    Declines,
    Recovery,
}

/// Builds the facts of the lake named by the configuration.
pub(super) fn load_facts(config: &Config) -> Result<Facts, CommandError> {
    let start = Instant::now();
    let lake = Lake::read_only(&config.lake)?;
    let facts = facts::build(&lake, Catalogue::embedded(), &fact_options(config)?)?;
    log_facts(&facts, start);
    Ok(facts)
}

/// Logs what the facts hold and how long they took since `start`.
pub(super) fn log_facts(facts: &Facts, start: Instant) {
    tracing::debug!(
        attempts = facts.attempts.len(),
        orders = facts.orders.len(),
        elapsed_ms = start.elapsed().as_millis() as u64,
        "built attempt and order facts"
    );
}

/// The facts' options from the configuration.
pub(super) fn fact_options(config: &Config) -> Result<FactOptions, CommandError> {
    Ok(FactOptions {
        tz: config.tz().map_err(CommandError::Usage)?,
        bands: config.value_bands.clone(),
        retry_window_hours: config.analytics.retry_window_hours,
    })
}

pub(super) fn run_report(
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
    warn_if_empty(&facts, opts.from, opts.to);
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

/// `; the lake's attempts run from A to B` (or that it has none).
fn lake_days(facts: &Facts) -> String {
    match analytics::attempt_days(facts) {
        Some((a, b)) => format!(
            "; the lake's attempts run from {} to {}",
            crate::model::time::from_epoch_days(a),
            crate::model::time::from_epoch_days(b)
        ),
        None => "; the lake has no attempts".to_string(),
    }
}

/// Warns when `--from`/`--to` choose days without attempts.
fn warn_if_empty(facts: &Facts, from: Option<i32>, to: Option<i32>) {
    if from.is_none() && to.is_none() {
        return;
    }
    let (lo, hi) = (from.unwrap_or(i32::MIN), to.unwrap_or(i32::MAX));
    if analytics::attempts_between(facts, lo, hi) == 0 {
        let day = |d: Option<i32>| d.map(|d| crate::model::time::from_epoch_days(d).to_string());
        let range = match (day(from), day(to)) {
            (Some(a), Some(b)) => format!("from {a} to {b}"),
            (Some(a), None) => format!("from {a} on"),
            (None, Some(b)) => format!("up to {b}"),
            (None, None) => unreachable!("one bound is set"),
        };
        tracing::warn!("no attempts {range}{}", lake_days(facts));
    }
}

pub(super) fn run_changes(config: &Config, args: &ChangesArgs) -> Result<Outcome, CommandError> {
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
    let at = match at {
        Some(d) => Some(d),
        None => period.last_complete(&facts).map(|(day, complete)| {
            let label = period.bounds(day).2;
            if complete {
                tracing::info!(
                    "testing {} {label}, the last complete {0} (--at DAY picks another)",
                    period.noun()
                );
            } else {
                tracing::warn!(
                    "no complete {} in the lake yet: testing {label}, still in progress",
                    period.noun()
                );
            }
            day
        }),
    };
    if let Some(day) = at {
        let (from, to, label) = period.bounds(day);
        if analytics::attempts_between(&facts, from, to) == 0 {
            tracing::warn!(
                "no attempts in {} {label}{}",
                period.noun(),
                lake_days(&facts)
            );
        }
    }
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
