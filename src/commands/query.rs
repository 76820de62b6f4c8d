//! `payrecon query`: SQL over the lake.

use std::io::Write;

use polars::prelude::*;

use super::{CommandError, Outcome};
use crate::cli::{QueryArgs, QueryFormat};
use crate::lake::Lake;
use crate::query::{QueryError, run as run_sql, sql_text};
use crate::settings::Config;

pub fn run(config: &Config, args: &QueryArgs) -> Result<Outcome, CommandError> {
    let lake = Lake::read_only(&config.lake)?;
    let sql = sql_text(&args.query)?;
    let mut df = run_sql(&lake, &sql)?;
    let polars = |e: PolarsError| QueryError::Polars {
        context: "writing the result".into(),
        source: e,
    };
    let io = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| CommandError::Io { path, source: e }
    };
    match (args.format, &args.output) {
        (QueryFormat::Parquet, None) => {
            return Err(CommandError::Usage(
                "--format parquet needs --output FILE".into(),
            ));
        }
        (QueryFormat::Parquet, Some(path)) => {
            let file = std::fs::File::create(path).map_err(io(path))?;
            ParquetWriter::new(file).finish(&mut df).map_err(polars)?;
        }
        (QueryFormat::Csv, Some(path)) => {
            let mut file = std::fs::File::create(path).map_err(io(path))?;
            CsvWriter::new(&mut file).finish(&mut df).map_err(polars)?;
        }
        (QueryFormat::Csv, None) => {
            let mut out = std::io::stdout().lock();
            CsvWriter::new(&mut out).finish(&mut df).map_err(polars)?;
        }
        (QueryFormat::Json | QueryFormat::Md | QueryFormat::Table, dest) => {
            let text = match args.format {
                QueryFormat::Json => crate::query::to_json(&df),
                QueryFormat::Md => crate::query::to_markdown(&df),
                _ => format!(
                    "{df}\n({} row{})\n",
                    df.height(),
                    if df.height() == 1 { "" } else { "s" }
                ),
            };
            match dest {
                Some(path) => std::fs::write(path, text).map_err(io(path))?,
                None => std::io::stdout()
                    .write_all(text.as_bytes())
                    .map_err(io(std::path::Path::new("<stdout>")))?,
            }
        }
    }
    Ok(Outcome::Clean)
}
