//! SQL over the lake: every table registered by name as a polars lazy scan.
//!
//! `payrecon query "SELECT ..."` or `payrecon query queries/NAME.sql` runs standard SQL over the
//! lake's tables (`orders`, `charges`, `refunds`, `settlements`, `settlement_lines`, `deposits`,
//! `rejects`, `files`); partitioned tables carry their Hive `day` column. The same SQL runs in
//! DuckDB over views of `read_parquet('lake/<table>/**/*.parquet', hive_partitioning = true)`.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars::sql::SQLContext;

use crate::lake::{Lake, LakeError};
use crate::model::schema::{ColType, Partitioning, TABLES, TableDef};

/// Errors of the query stage.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    Polars {
        context: String,
        source: PolarsError,
    },
    #[error(transparent)]
    Lake(#[from] LakeError),
}

fn polars_err(context: impl Into<String>) -> impl FnOnce(PolarsError) -> QueryError {
    let context = context.into();
    move |source| QueryError::Polars { context, source }
}

/// The polars type of a lake column type.
pub fn polars_dtype(ty: ColType) -> DataType {
    match ty {
        ColType::Str => DataType::String,
        ColType::Money => DataType::Decimal(18, 2),
        ColType::Timestamp => DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
        ColType::Date => DataType::Date,
        ColType::Int => DataType::Int64,
        ColType::Hash => DataType::Binary,
    }
}

/// A table's polars schema (the Hive `day` column included for partitioned tables).
pub fn polars_schema(table: &TableDef) -> Schema {
    let mut schema: Schema = table
        .all_columns()
        .map(|c| Field::new(c.name.into(), polars_dtype(c.ty)))
        .collect();
    if matches!(table.partitioning, Partitioning::Day(_)) {
        schema.with_column("day".into(), DataType::Date);
    }
    schema
}

/// A lazy scan of one table (an empty frame of the right schema when it has no files yet).
pub fn scan_table(lake: &Lake, table: &TableDef) -> Result<LazyFrame, QueryError> {
    let files = lake.table_files(table)?;
    if files.is_empty() {
        return Ok(DataFrame::empty_with_schema(&polars_schema(table)).lazy());
    }
    let dir = lake.root().join(table.name);
    let (pattern, hive) = match table.partitioning {
        Partitioning::Day(_) => (
            format!("{}/day=*/*.parquet", dir.display()),
            HiveOptions::new_enabled(),
        ),
        _ => (
            format!("{}/*.parquet", dir.display()),
            HiveOptions {
                enabled: Some(false),
                ..HiveOptions::new_enabled()
            },
        ),
    };
    let args = ScanArgsParquet {
        hive_options: hive,
        ..Default::default()
    };
    LazyFrame::scan_parquet(PlRefPath::new(pattern.as_str()), args)
        .map_err(polars_err(format!("scanning {}", dir.display())))
}

/// A SQL context with every lake table registered by name.
pub fn context(lake: &Lake) -> Result<SQLContext, QueryError> {
    let ctx = SQLContext::new();
    for t in TABLES {
        ctx.register(t.name, scan_table(lake, t)?);
    }
    Ok(ctx)
}

/// The SQL text of `query`: the contents of a `.sql` file when it names one, else the text.
pub fn sql_text(query: &str) -> Result<String, QueryError> {
    let path = Path::new(query);
    if query.trim_end().ends_with(".sql") && !query.contains(char::is_whitespace) {
        return std::fs::read_to_string(path).map_err(|e| QueryError::Io {
            path: path.to_path_buf(),
            source: e,
        });
    }
    Ok(query.to_string())
}

/// Runs SQL over the lake.
pub fn run(lake: &Lake, sql: &str) -> Result<DataFrame, QueryError> {
    let mut ctx = context(lake)?;
    ctx.execute(sql)
        .and_then(|lf| lf.collect())
        .map_err(polars_err("query"))
}
