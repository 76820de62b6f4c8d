//! A run's settings, resolved once from its arguments and the configuration: every path, the
//! typed cut-off, the ingest, reconciliation and fact options, the time zone and window. The
//! steps read only this.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::analytics::facts::FactOptions;
use crate::cli::RunArgs;
use crate::commands::CommandError;
use crate::fetch::FetchSettings;
use crate::ingest::IngestOptions;
use crate::model::time::TimeWindow;
use crate::reconcile::Options;
use crate::settings::Config;

/// The shipped demo inbox: its files are left in place (never archived).
const SAMPLE_INBOX: &str = "sample-data";

/// Where a run reads and writes.
pub(super) struct Paths {
    pub(super) inbox: PathBuf,
    pub(super) archive: PathBuf,
    /// Leave processed files in the inbox (`--keep`, or the demo inbox).
    pub(super) keep: bool,
    pub(super) lake: PathBuf,
    pub(super) reports: PathBuf,
}

/// Everything a run decides before it starts.
pub(super) struct RunSettings {
    /// The configuration, with `lake` the run's lake.
    pub(super) config: Config,
    pub(super) paths: Paths,
    /// `--cutoff`; `None`: the newest timestamp in the lake.
    pub(super) cutoff: Option<DateTime<Utc>>,
    pub(super) full: bool,
    pub(super) wait: bool,
    pub(super) dry_run: bool,
    /// `--fetch`: what to fetch into the inbox first.
    pub(super) fetch: Option<FetchSettings>,
    pub(super) ingest: IngestOptions,
    pub(super) reconcile: Options,
    pub(super) facts: FactOptions,
    pub(super) tz: chrono_tz::Tz,
    pub(super) window: TimeWindow,
}

impl RunSettings {
    pub(super) fn resolve(config: &Config, args: &RunArgs) -> Result<Self, CommandError> {
        let (inbox, default_inbox) = match &args.inbox {
            Some(p) => (p.clone(), false),
            None => (PathBuf::from(SAMPLE_INBOX), true),
        };
        let fetch = if args.fetch {
            let Some(inbox) = &args.inbox else {
                return Err(CommandError::Usage(
                    "--fetch needs --inbox DIR (the folder the reports are downloaded into; the \
                     shipped sample-data is not one)"
                        .into(),
                ));
            };
            let mut s = crate::commands::fetch::settings(config, inbox, None)?;
            s.dry_run = args.dry_run;
            Some(s)
        } else {
            None
        };
        let archive = args.archive.clone().unwrap_or_else(|| {
            let parent = inbox
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            parent.join("archive")
        });
        let paths = Paths {
            inbox,
            archive,
            keep: args.keep || default_inbox,
            lake: config.lake.clone(),
            reports: args
                .reports
                .clone()
                .unwrap_or_else(|| config.reports.clone()),
        };
        Ok(RunSettings {
            ingest: crate::commands::ingest::options(config, std::io::stderr().is_terminal())?,
            reconcile: crate::commands::reconcile::options(config, args.cutoff)?,
            facts: crate::commands::analytics::fact_options(config)?,
            tz: config.tz().map_err(CommandError::Usage)?,
            window: config.ingest.time_window()?,
            config: config.clone(),
            paths,
            cutoff: args.cutoff,
            full: args.full,
            wait: args.wait,
            dry_run: args.dry_run,
            fetch,
        })
    }

    /// The inbox is a folder, and the archive is not inside it.
    pub(super) fn check_folders(&self) -> Result<(), CommandError> {
        let p = &self.paths;
        if !p.inbox.is_dir() {
            return Err(CommandError::Usage(format!(
                "inbox {} is not a folder (run from the repository root, or pass --inbox DIR)",
                p.inbox.display()
            )));
        }
        if !p.keep
            && std::path::absolute(&p.archive)
                .ok()
                .zip(std::path::absolute(&p.inbox).ok())
                .is_some_and(|(a, i)| a.starts_with(&i))
        {
            return Err(CommandError::Usage(format!(
                "the archive {} is inside the inbox {}: archived files would be read again; \
                 choose an archive folder outside the inbox",
                p.archive.display(),
                p.inbox.display()
            )));
        }
        Ok(())
    }
}

/// `path` with `suffix` added to its file name (`lake` → `lake.old`).
pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}
