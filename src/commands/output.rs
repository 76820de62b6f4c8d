//! Writing result tables in the format the user chose (`--format`, `--output`, `--columns`,
//! `--all`).

use std::io::{IsTerminal, Write};
use std::path::Path;

use polars::prelude::*;

use super::CommandError;
use super::table::{self, Layout};
use crate::cli::{OutputArgs, QueryFormat};
use crate::query::QueryError;

/// How a command's table shows on a terminal.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct View {
    /// The columns a terminal table shows by default besides the dimensions (empty: all).
    pub compact: &'static [&'static str],
    /// Rates and shares as percentages.
    pub percent: bool,
}

/// Columns that name a cell (the dimensions and periods): always shown.
const KEY_COLUMNS: [&str; 11] = [
    "country",
    "device",
    "value_band",
    "currency",
    "reason_code",
    "decline_class",
    "day",
    "week",
    "month",
    "period",
    "previous_period",
];

/// The longest text cell a terminal table shows (`--all`: no limit).
const MAX_CELL: usize = 40;

/// The terminal's width when standard output is one (`COLUMNS` when it is set).
fn terminal_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return Some(n);
    }
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0 as usize)
}

/// `df` with the columns `--columns` names, in that order.
fn pick(df: &DataFrame, names: &[String]) -> Result<DataFrame, CommandError> {
    let have: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
    for n in names {
        if !have.contains(&n.as_str()) {
            return Err(CommandError::Usage(format!(
                "--columns: no column {n:?}{}; the columns are {}",
                crate::suggest::hint(n, have.iter().copied()),
                have.join(", ")
            )));
        }
    }
    Ok(df
        .select(names.iter().map(|n| n.as_str()))
        .expect("the columns exist"))
}

/// `df` with the dimensions and `view.compact`'s columns only.
fn compact(df: &DataFrame, view: &View) -> DataFrame {
    if view.compact.is_empty() {
        return df.clone();
    }
    let keep: Vec<PlSmallStr> = df
        .get_column_names()
        .iter()
        .filter(|n| KEY_COLUMNS.contains(&n.as_str()) || view.compact.contains(&n.as_str()))
        .map(|n| (*n).clone())
        .collect();
    df.select(keep).expect("the columns exist")
}

/// Writes `df` as `args` asks: a table on a terminal by default (the view's compact columns,
/// fitted to the terminal's width), CSV when piped (every column).
///
/// Every CSV goes through [`crate::export::write_csv`] (formula-like text neutralised, as in
/// the reports); every text format shows binary columns as hex.
pub(super) fn write_frame(
    df: DataFrame,
    args: &OutputArgs,
    view: View,
) -> Result<(), CommandError> {
    let terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let format = args.format.unwrap_or(if terminal {
        QueryFormat::Table
    } else {
        QueryFormat::Csv
    });
    let mut df = match &args.columns {
        Some(names) => pick(&df, names)?,
        None if format == QueryFormat::Table && !args.all => compact(&df, &view),
        None => df,
    };
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
                _ => table::render(
                    &df,
                    &Layout {
                        max_width: (terminal && !args.all).then(terminal_width).flatten(),
                        percent: view.percent,
                        max_cell: if args.all { 0 } else { MAX_CELL },
                    },
                ),
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
