//! `run --dry-run`: what a run would ingest, archive and write, changing nothing.

use super::ingest::archive_nights;
use super::settings::RunSettings;
use crate::commands::{CommandError, Outcome, thousands};
use crate::ingest::Planned;
use crate::lake::Lake;
use crate::state::run::{RunState, inputs_key};

pub(super) fn run(s: &RunSettings) -> Result<Outcome, CommandError> {
    let (p, full) = (&s.paths, s.full);
    let known = match Lake::read_only(&p.lake) {
        Ok(lake) if !full => lake.known_files()?,
        _ => vec![],
    };
    let crate::ingest::Preview { plan, skipped } =
        crate::ingest::preview(&known, std::slice::from_ref(&p.inbox), &s.ingest)?;
    println!("dry run: nothing is changed");
    if full {
        println!(
            "would rebuild the lake {} from {} archived night(s) in {} and the inbox",
            p.lake.display(),
            archive_nights(&p.archive)?.len(),
            p.archive.display()
        );
    }
    let mut archived = 0;
    for (path, bytes, what) in &plan {
        let text = match what {
            Planned::New(d) => {
                archived += 1;
                format!(
                    "ingest {} ({}, {} bytes)",
                    d.kind,
                    d.format.as_str(),
                    thousands(*bytes)
                )
            }
            Planned::Known { seq } => {
                archived += 1;
                format!("already in the lake (file {seq}): archive only")
            }
            Planned::Repeat { path } => {
                archived += 1;
                format!("same content as {path}: archive only")
            }
            Planned::Unrecognized(why) => format!("not recognised, stays in the inbox: {why}"),
            Planned::Failed(why) => format!("cannot be read, stays in the inbox: {why}"),
            Planned::Empty => {
                archived += 1;
                "empty: archive only".to_string()
            }
        };
        println!("  {}: {text}", crate::ingest::inbox::shown_path(path));
    }
    for s in &skipped {
        println!(
            "  {}: skipped, stays in the inbox: {}",
            crate::ingest::inbox::shown_path(&s.path),
            s.why
        );
    }
    if p.keep {
        println!("files stay in {} (demo inbox or --keep)", p.inbox.display());
    } else {
        println!(
            "would archive {archived} file(s) to {}",
            p.archive.join("<run start, UTC>").display()
        );
    }
    let nothing_new = !plan
        .iter()
        .any(|(_, _, what)| matches!(what, Planned::New(_)));
    let unchanged = !full
        && nothing_new
        && Lake::read_only(&p.lake).is_ok_and(|lake| {
            inputs_key(&lake, &s.config, s.cutoff).is_ok_and(|key| {
                RunState::load(&p.reports).is_some_and(|s| s.still_holds(&p.reports, &key))
            })
        });
    if unchanged {
        println!(
            "nothing changed since the last run (same lake, settings and outputs): \
             {}/reconcile and the month reports would stand as they are",
            p.reports.display()
        );
    } else {
        println!(
            "would reconcile the lake and write {}/reconcile and the reports of every month with \
             data in {}/YYYY-MM (only files whose bytes change)",
            p.reports.display(),
            p.reports.display()
        );
    }
    Ok(Outcome::Clean)
}
