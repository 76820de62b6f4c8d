//! Writing result tables in the format the user chose (`--format`, `--output`).

use std::io::{IsTerminal, Write};
use std::path::Path;

use polars::prelude::*;

use super::CommandError;
use crate::cli::{OutputArgs, QueryFormat};
use crate::query::QueryError;

/// Writes `df` as `args` asks: a table on a terminal by default, CSV when piped.
///
/// Every CSV goes through [`crate::export::write_csv`] (formula-like text neutralised, as in
/// the reports); every text format shows binary columns as hex.
pub fn write_frame(mut df: DataFrame, args: &OutputArgs) -> Result<(), CommandError> {
    let format = args.format.unwrap_or(
        if args.output.is_none() && std::io::stdout().is_terminal() {
            QueryFormat::Table
        } else {
            QueryFormat::Csv
        },
    );
    let polars = |e: PolarsError| QueryError::Polars {
        context: "writing the result".into(),
        source: e,
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| CommandError::Io { path, source: e }
    };
    match (format, &args.output) {
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
            let file = std::fs::File::create(path).map_err(io(path))?;
            crate::export::write_csv(&df, std::io::BufWriter::new(file), true).map_err(polars)?;
        }
        (QueryFormat::Csv, None) => {
            crate::export::write_csv(&df, std::io::stdout().lock(), true).map_err(polars)?;
        }
        (QueryFormat::Json | QueryFormat::Md | QueryFormat::Table, dest) => {
            let df = crate::export::binary_as_hex(&df);
            let text = match format {
                QueryFormat::Json => crate::query::to_json(&df),
                QueryFormat::Md => crate::query::to_markdown(&df),
                _ => crate::query::to_text_table(&df),
            };
            match dest {
                Some(path) => std::fs::write(path, text).map_err(io(path))?,
                None => std::io::stdout()
                    .write_all(text.as_bytes())
                    .map_err(io(Path::new("<stdout>")))?,
            }
        }
    }
    Ok(())
}
