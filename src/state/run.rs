//! What the last finished `payrecon run` computed from, what it wrote, and what it said: kept as
//! `.payrecon-run.json` in the reports folder, written last (atomically) by every run that gets
//! to the end.
//!
//! A run whose inputs are those of the last run (the lake's data files, the settings that shape
//! the outputs, `--cutoff`, the payrecon build) and whose outputs are still the bytes that run
//! wrote would recompute exactly the same files: it skips the facts, the reconciliation and the
//! reports, and repeats the last summary. Anything else (a new file ingested, a report deleted
//! or edited, another setting, another version) recomputes as before. A run killed before it
//! writes the state leaves the previous one, which holds only if the lake and every output are
//! again exactly what it names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

pub use super::digest::file_digest;

use super::{StateError, digest, load_json, save_json};
use crate::lake::Lake;
use crate::model::schema::TABLES;
use crate::settings::Config;

/// File name of the state, in the reports folder.
pub const STATE_FILE: &str = ".payrecon-run.json";

/// What a run said at its end, repeated by a run that finds nothing changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Approval rate of the attempts of the last 7 local days with data.
    pub approval_rate_7d: Option<f64>,
    pub exceptions_high: u64,
    pub exceptions_medium: u64,
    pub exceptions_low: u64,
    /// The reconciliation is above its exception threshold, or a month's roll-forward does not tie.
    pub findings: bool,
    /// Every month's roll-forward ties.
    #[serde(default = "yes")]
    pub ties: bool,
    /// Months with reports, `YYYY-MM`.
    pub months: Vec<String>,
    /// The month whose reports to open first (the last complete one).
    #[serde(default)]
    pub main_month: Option<String>,
    /// The exceptions to look at first, in words (`reconcile::top_exceptions`).
    #[serde(default)]
    pub top_exceptions: Vec<String>,
}

fn yes() -> bool {
    true
}

/// The state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Digest of everything the outputs are computed from ([`inputs_key`]).
    pub inputs: String,
    /// Every output of the run, relative to the reports folder: `xxh3-128 hex:bytes`.
    pub outputs: BTreeMap<String, String>,
    pub summary: Summary,
}

/// The digest of a run's inputs: the payrecon version and build (the binary's size and
/// modification time), the settings that shape facts,
/// reconciliation, reports and outcome, `--cutoff`, and the lake's data: the relative path and
/// size of every data file of every table. Every ingest that changes rows adds a part to the
/// `files` table, so a changed lake never keeps its listing.
pub fn inputs_key(
    lake: &Lake,
    config: &Config,
    cutoff: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<String, StateError> {
    let mut h = Xxh3::new();
    let settings = serde_json::json!({
        "payrecon": env!("CARGO_PKG_VERSION"),
        "timezone": config.timezone,
        "value_bands": config.value_bands,
        "analytics": config.analytics,
        "reconcile": config.reconcile,
        "thresholds": config.thresholds,
        "cutoff": cutoff.map(crate::model::time::to_micros),
    });
    h.update(settings.to_string().as_bytes());
    // This very build: a rebuilt binary (same version number, other code) recomputes.
    digest::hash_this_build(&mut h);
    for table in TABLES {
        for path in lake.table_files(table)? {
            let len = std::fs::metadata(&path)
                .map_err(|e| crate::lake::LakeError::io(&path, e))?
                .len();
            let rel = path.strip_prefix(lake.root()).unwrap_or(&path);
            h.update(rel.to_string_lossy().as_bytes());
            h.update(&[0]);
            h.update(&len.to_le_bytes());
        }
    }
    Ok(format!("{:032x}", h.digest128()))
}

impl RunState {
    /// The state of the outputs `files` (paths inside `reports`) as they are on disk now, read
    /// and hashed in parallel; `known`: digests already at hand (by path, as [`file_digest`]
    /// gives them).
    pub fn of_outputs(
        reports: &Path,
        inputs: String,
        files: &[PathBuf],
        known: &BTreeMap<PathBuf, String>,
        summary: Summary,
    ) -> Result<RunState, StateError> {
        use rayon::prelude::*;
        let digests: Vec<(String, String)> = files
            .par_iter()
            .map(|path| {
                let rel = path.strip_prefix(reports).unwrap_or(path);
                let digest = match known.get(path) {
                    Some(d) => d.clone(),
                    None => file_digest(path)
                        .ok_or_else(|| StateError::Unreadable { path: path.clone() })?,
                };
                Ok((rel.to_string_lossy().into_owned(), digest))
            })
            .collect::<Result<_, StateError>>()?;
        let outputs: BTreeMap<String, String> = digests.into_iter().collect();
        Ok(RunState {
            inputs,
            outputs,
            summary,
        })
    }

    /// The last run's state, if there is a readable one.
    pub fn load(reports: &Path) -> Option<RunState> {
        load_json(&reports.join(STATE_FILE))
    }

    /// Writes the state atomically (written last: it vouches for the outputs).
    pub fn save(&self, reports: &Path) -> Result<(), StateError> {
        save_json(&reports.join(STATE_FILE), self)?;
        Ok(())
    }

    /// Are these inputs the state's, and every output still the bytes the state names?
    /// Whether every output it recorded below `prefix` (a folder of the reports, `reconcile/`)
    /// still has its recorded bytes, and it recorded some.
    pub fn holds_under(&self, reports: &Path, prefix: &str) -> bool {
        use rayon::prelude::*;
        let under: Vec<(&String, &String)> = self
            .outputs
            .iter()
            .filter(|(rel, _)| rel.starts_with(prefix))
            .collect();
        !under.is_empty()
            && under
                .par_iter()
                .all(|(rel, digest)| file_digest(&reports.join(rel)).as_deref() == Some(*digest))
    }

    pub fn still_holds(&self, reports: &Path, inputs: &str) -> bool {
        self.inputs == inputs
            && !self.outputs.is_empty()
            && self
                .outputs
                .iter()
                .all(|(rel, digest)| file_digest(&reports.join(rel)).as_deref() == Some(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            approval_rate_7d: Some(0.875),
            exceptions_high: 1,
            exceptions_medium: 2,
            exceptions_low: 3,
            findings: true,
            ties: true,
            main_month: None,
            top_exceptions: vec![],
            months: vec!["2026-10".into()],
        }
    }

    #[test]
    fn a_state_holds_until_an_output_or_the_inputs_change() {
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path();
        std::fs::create_dir_all(reports.join("2026-10")).unwrap();
        let a = reports.join("2026-10/summary.md");
        let b = reports.join("exceptions.csv");
        std::fs::write(&a, "# report\n").unwrap();
        std::fs::write(&b, "status\n").unwrap();
        let state = RunState::of_outputs(
            reports,
            "k1".into(),
            &[a.clone(), b.clone()],
            &BTreeMap::new(),
            summary(),
        )
        .unwrap();
        state.save(reports).unwrap();
        let loaded = RunState::load(reports).unwrap();
        assert_eq!(loaded, state);
        assert!(loaded.still_holds(reports, "k1"));
        assert!(!loaded.still_holds(reports, "k2"), "other inputs");
        std::fs::write(&a, "# edited\n").unwrap();
        assert!(!loaded.still_holds(reports, "k1"), "an edited output");
        std::fs::write(&a, "# report\n").unwrap();
        assert!(loaded.still_holds(reports, "k1"));
        std::fs::remove_file(&b).unwrap();
        assert!(!loaded.still_holds(reports, "k1"), "a deleted output");
    }

    #[test]
    fn an_unreadable_state_is_no_state() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STATE_FILE), "{not json").unwrap();
        assert!(RunState::load(dir.path()).is_none());
    }
}
