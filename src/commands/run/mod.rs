//! `payrecon run`: the nightly pipeline for cron. Under one lock: ingest every new file of the
//! inbox, archive what was processed, reconcile, and write the reconciliation and every month's
//! reports, touching only files whose bytes change. `--full` rebuilds the lake from the archive
//! and the inbox first; `--dry-run` says what would be done.
//!
//! Crash safety: the lake commits atomically (redo journal), files are archived only after the
//! commit that holds them, every output is written to a temporary name and renamed, and a run
//! sweeps up what a killed run left (temporary files, a half-swapped `--full` rebuild). So a run
//! after a kill at any point ends with the same lake, results and reports as an uninterrupted run.
//!
//! The steps, one module each, in order: [`settings`] (resolved once from the arguments and
//! the configuration), [`lock`], [`ingest`] (and archive), [`reconcile`], [`reports`],
//! [`summary`]; [`dry_run`] says what they would do.

mod dry_run;
mod ingest;
mod lock;
mod reconcile;
mod reports;
mod settings;
mod summary;

use std::time::Instant;

use super::{CommandError, Outcome};
use crate::cli::RunArgs;
use crate::settings::Config;
use crate::state::run::{RunState, inputs_key};
use settings::RunSettings;
use summary::Written;

/// `run`, with `--fetch` first: a failed fetch does not stop the night (what is in the inbox
/// is still ingested and reconciled), but the run then exits 2 with the fetch's error.
pub(super) fn run(config: &Config, args: &RunArgs) -> Result<Outcome, CommandError> {
    let s = RunSettings::resolve(config, args)?;
    let fetch_error = s.fetch.as_ref().and_then(|f| match crate::fetch::fetch(f) {
        Ok(summary) => {
            super::fetch::print_summary(&summary, f);
            None
        }
        Err(e) => {
            tracing::error!("fetch failed; going on with what is in the inbox: {e}");
            Some(e)
        }
    });
    let outcome = pipeline(&s)?;
    match fetch_error {
        Some(e) => Err(e.into()),
        None => Ok(outcome),
    }
}

fn pipeline(s: &RunSettings) -> Result<Outcome, CommandError> {
    let start = Instant::now();
    s.check_folders()?;
    if s.dry_run {
        return dry_run::run(s);
    }
    let _run_lock = lock::take(s)?;
    let p = &s.paths;
    tracing::info!(inbox = %p.inbox.display(), lake = %p.lake.display(), full = s.full, "run started");
    let ingested = ingest::step(s, start)?;

    // Nothing changed since the last run (same lake, settings and outputs): its outputs stand.
    let inputs_digest = inputs_key(&ingested.lake, &s.config, s.cutoff)?;
    if let Some(last) = RunState::load(&p.reports)
        .filter(|last| !s.full && last.still_holds(&p.reports, &inputs_digest))
    {
        tracing::info!(
            "nothing changed since the last run (same lake, settings and outputs): \
             its reconciliation and reports stand"
        );
        let written = Written {
            written_months: &[],
            unchanged_months: &last.summary.months,
            files_written: None,
            mode: "none",
        };
        return Ok(summary::finish(s, &ingested, &last.summary, written, start));
    }

    let step = Instant::now();
    let mut rec = reconcile::step(s, &ingested.lake, step)?;
    crate::ingest::crash_point("run-after-reconcile");
    let rep = reports::step(s, &mut rec, step)?;

    // The state that vouches for these outputs (written last), then the summary.
    let summary = summary::of_run(s, &rec, &rep);
    rec.outputs.sort();
    RunState::of_outputs(
        &p.reports,
        inputs_digest,
        &rec.outputs,
        &rec.known,
        summary.clone(),
    )?
    .save(&p.reports)?;
    let written = Written {
        written_months: &rep.written_months,
        unchanged_months: &rep.unchanged_months,
        files_written: Some(rep.files_written),
        mode: rec.mode,
    };
    let outcome = summary::finish(s, &ingested, &summary, written, start);
    // What is left is memory only (millions of lines, rows and facts): the run ends without
    // taking it apart piece by piece, the system frees it at once.
    std::mem::forget(rec);
    Ok(outcome)
}
