//! `payrecon run`: the pipeline on an inbox folder, then a summary of the lake.

use std::io::IsTerminal;
use std::time::Instant;

use super::ingest::{Detail, outcome, print_report};
use super::{CommandError, Outcome, thousands};
use crate::cli::RunArgs;
use crate::ingest::{IngestOptions, ingest};
use crate::lake::{Lake, LockMode};
use crate::model::schema::TABLES;
use crate::settings::Config;

pub fn run(config: &Config, args: &RunArgs) -> Result<Outcome, CommandError> {
    if !args.inbox.is_dir() {
        return Err(CommandError::Usage(format!(
            "inbox {} is not a folder (run from the repository root, or pass --inbox DIR)",
            args.inbox.display()
        )));
    }
    let start = Instant::now();
    let lake = Lake::open(
        &config.lake,
        if args.wait {
            LockMode::Wait
        } else {
            LockMode::Fail
        },
    )?;
    let opts = IngestOptions {
        progress: std::io::stderr().is_terminal(),
        memory_budget: config.ingest.memory_budget_mb as usize * (1 << 20),
        ..IngestOptions::new(config.orders.columns.clone())
    };
    let report = ingest(&lake, std::slice::from_ref(&args.inbox), &opts)?;
    print_report(
        &report,
        &config.lake.display().to_string(),
        start.elapsed().as_secs_f64(),
        Detail::PerKind,
    );
    println!("lake {}:", config.lake.display());
    for t in TABLES {
        let s = lake.table_stats(t)?;
        println!(
            "  {:<18} {:>12} rows in {:>4} file{}",
            t.name,
            thousands(s.rows),
            s.files,
            if s.files == 1 { "" } else { "s" }
        );
    }
    Ok(outcome(&report, config))
}
