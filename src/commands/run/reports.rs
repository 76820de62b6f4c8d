//! Step 3 of a run: the exceptions and the next night's state written while every month's
//! reports are rendered (in parallel), then the reports written where their bytes change.

use std::path::PathBuf;
use std::time::Instant;

use chrono::Datelike;
use rayon::prelude::*;

use super::reconcile::Reconciled;
use super::settings::RunSettings;
use crate::commands::CommandError;
use crate::ingest::crash_point;
use crate::model::catalogue::Catalogue;
use crate::reconcile::close::Month;
use crate::reconcile::incremental;
use crate::reconcile::results::{csv_bytes, exceptions_frame};
use crate::report::cache::TablesCache;
use crate::report::{self, ReportSettings};

/// What step 3 wrote.
pub(super) struct Reported {
    /// Months in order, and whether each one's roll-forward ties.
    pub(super) months: Vec<(Month, bool)>,
    pub(super) written_months: Vec<String>,
    pub(super) unchanged_months: Vec<String>,
    pub(super) files_written: usize,
    /// The approval rate of the last 7 local days with data.
    pub(super) approval_rate_7d: Option<f64>,
}

pub(super) fn step(
    s: &RunSettings,
    rec: &mut Reconciled,
    step: Instant,
) -> Result<Reported, CommandError> {
    let p = &s.paths;
    let facts = &rec.state.facts.facts;
    let (view, state) = (&rec.view, &rec.state);
    let rec_dir = p.reports.join("reconcile");
    // 3. The exceptions and the state of the next night (after the results it vouches for),
    // written while every month's reports are rendered.
    let days = crate::reconcile::results::results_days(&rec_dir);
    let months = months_with_data(facts, &days, s.tz, &s.window);
    let progress =
        crate::commands::progress::Step::counted("writing reports, months", months.len() as u64);
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
                        !s.full,
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
            rec.outputs.push(ex_path?);
            let path = p.reports.join(incremental::STATE_FILE);
            rec.known.insert(path.clone(), digest?);
            rec.outputs.push(path);
            Ok(())
        },
        // 4. Every month's reports, rendered in parallel.
        || -> Result<Vec<Rendered>, CommandError> {
            // The tables of months whose attempts did not change come from the last run; the
            // others are computed beside the close pack's lookups.
            let last = if s.full {
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
                            let month = Month::parse(label, s.tz).expect("a month label");
                            let settings = ReportSettings::new(month, &s.config, None);
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
    let mut files_written = 0;
    for (i, (month, files, _, _)) in rendered.iter().enumerate() {
        let w = report::write_files(&p.reports.join(month.label()), files, !s.full)?;
        if w.written.is_empty() {
            unchanged_months.push(month.label());
        } else {
            written_months.push(month.label());
        }
        files_written += w.written.len();
        rec.outputs.extend(w.written.into_iter().chain(w.unchanged));
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
            min_n: s.config.analytics.min_n,
        };
        let df = crate::analytics::approvals(facts, &week).ok()?;
        report::Headline::of(&df).attempt.rate
    });
    drop(progress);
    let months = rendered.iter().map(|r| (r.0, r.2)).collect();
    // What is left is memory only (every month's files): the run ends without taking it apart
    // piece by piece, the system frees it at once.
    std::mem::forget(rendered);
    Ok(Reported {
        months,
        written_months,
        unchanged_months,
        files_written,
        approval_rate_7d: approval,
    })
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
