//! Step 2 of a run: the attempt facts and the reconciliation, side by side: of the components
//! the new rows touch when the last run's state fits (same settings and build, its outputs
//! untouched), else of the whole lake; the results written where their bytes change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::settings::RunSettings;
use crate::commands::CommandError;
use crate::commands::reconcile::{ReconcileInput, facts_and_reconciliation};
use crate::lake::Lake;
use crate::model::catalogue::Catalogue;
use crate::reconcile::incremental::{self, State, View};
use crate::reconcile::results::write_results;
use crate::state::run::RunState;

/// What step 2 produced.
pub(super) struct Reconciled {
    /// The whole lake's results, as the exceptions and reports read them.
    pub(super) view: View,
    /// The next night's state (holding the facts).
    pub(super) state: State,
    /// The results files, as outputs of the run.
    pub(super) outputs: Vec<PathBuf>,
    /// Digests of outputs already at hand (by path, as `state::file_digest` gives them),
    /// so that the run state does not read those files again.
    pub(super) known: BTreeMap<PathBuf, String>,
    /// `incremental` or `full`.
    pub(super) mode: &'static str,
}

pub(super) fn step(
    s: &RunSettings,
    lake: &Lake,
    step: Instant,
) -> Result<Reconciled, CommandError> {
    let p = &s.paths;
    // 2. Facts and reconciliation, side by side: the reconciliation of the components the
    // new rows touch when the last run's state fits (same settings and build, its outputs
    // untouched), else of the whole lake.
    let rec_dir = p.reports.join("reconcile");
    let options = &s.reconcile;
    let settings = incremental::settings_digest(options, &s.config.timezone);
    let progress = crate::commands::progress::Step::new("reconciling");
    // Digests of outputs already at hand (by path, as `state::file_digest` gives them), so
    // that the run state does not read those files again.
    let mut known: BTreeMap<PathBuf, String> = BTreeMap::new();
    let last = if s.full {
        None
    } else {
        RunState::load(&p.reports)
    };
    let prior = if s.full {
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
    let night = match prior {
        Some(state) => {
            let night = incremental::night(
                lake,
                &rec_dir,
                state,
                options,
                &s.facts,
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
            let input = ReconcileInput {
                lake: s.paths.lake.clone(),
                options: s.reconcile.clone(),
            };
            let (facts, inputs, rec) = facts_and_reconciliation(&input, &s.facts)?;
            let mark = incremental::lake_mark(lake)?;
            let (wrote, after) = rayon::join(
                || write_results(&rec, &rec_dir, s.full),
                || {
                    incremental::after_full(
                        inputs, &rec.rows, facts, rec.cutoff, mark, settings, s.tz,
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
    drop(progress);
    Ok(Reconciled {
        view,
        state,
        outputs: outputs_rec,
        known,
        mode,
    })
}
