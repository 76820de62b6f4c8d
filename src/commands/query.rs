//! `payrecon query`: SQL over the lake.

use super::output::{View, write_frame};
use super::{CommandError, Outcome};
use crate::cli::QueryArgs;
use crate::lake::Lake;
use crate::query::{run as run_sql, sql_text};
use crate::settings::Config;

pub(super) fn run(config: &Config, args: &QueryArgs) -> Result<Outcome, CommandError> {
    let lake = Lake::read_only(&config.lake)?;
    let sql = sql_text(&args.query)?;
    // The results of `payrecon run` (and of `payrecon reconcile` with its default --out).
    let results = config
        .reports
        .join("reconcile")
        .join(crate::reconcile::results::RESULTS_DIR);
    let df = run_sql(&lake, Some(&results), &sql)?;
    write_frame(df, &args.output, View::default())?;
    Ok(Outcome::Clean)
}
