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
    #[error("no table {name:?}{hint}; the tables are {}", tables.join(", "))]
    UnknownTable {
        name: String,
        hint: String,
        tables: Vec<String>,
    },
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

/// A lazy scan of the reconciliation's results table in `dir` (a `results/` folder of
/// `payrecon reconcile` or `payrecon run`: one file per item day and type), or `None` when
/// there are no results there yet.
pub fn scan_results(dir: &Path) -> Result<Option<LazyFrame>, QueryError> {
    let any = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.path().is_dir());
    if !any {
        return Ok(None);
    }
    // The files carry `item_date`; the `day=` folders add nothing.
    let args = ScanArgsParquet {
        hive_options: HiveOptions {
            enabled: Some(false),
            ..HiveOptions::new_enabled()
        },
        ..Default::default()
    };
    let pattern = format!("{}/day=*/*.parquet", dir.display());
    LazyFrame::scan_parquet(PlRefPath::new(pattern.as_str()), args)
        .map(Some)
        .map_err(polars_err(format!("scanning {}", dir.display())))
}

/// A SQL context with every lake table registered by name, the reason-code catalogue as table
/// `reason_codes` (the columns of `payrecon codes --format csv`), and the reconciliation's
/// results as table `results` when `results` (a `results/` folder) holds any.
pub fn context(lake: &Lake, results: Option<&Path>) -> Result<SQLContext, QueryError> {
    let ctx = SQLContext::new();
    for t in TABLES {
        ctx.register(t.name, scan_table(lake, t)?);
    }
    ctx.register("reason_codes", reason_codes_frame()?.lazy());
    if let Some(scan) = results.map(scan_results).transpose()?.flatten() {
        ctx.register("results", scan);
    }
    Ok(ctx)
}

/// The embedded reason-code catalogue as a frame.
pub fn reason_codes_frame() -> Result<DataFrame, QueryError> {
    let entries = crate::model::catalogue::Catalogue::embedded().entries();
    let text = |f: fn(&crate::model::catalogue::ReasonCode) -> String| {
        entries.iter().map(f).collect::<Vec<String>>()
    };
    let columns = vec![
        Column::new("code".into(), text(|e| e.code.clone())),
        Column::new("group".into(), text(|e| e.group.clone())),
        Column::new("title".into(), text(|e| e.title.clone())),
        Column::new("level".into(), text(|e| e.level.clone())),
        Column::new("frequency".into(), text(|e| e.frequency.clone())),
        Column::new("tier".into(), text(|e| e.tier.clone())),
        Column::new(
            "http_status".into(),
            entries
                .iter()
                .map(|e| e.http_status.map(i64::from))
                .collect::<Vec<Option<i64>>>(),
        ),
        Column::new(
            "decline_class".into(),
            text(|e| e.decline_class.as_str().to_string()),
        ),
        Column::new("description".into(), text(|e| e.description.clone())),
    ];
    DataFrame::new(entries.len(), columns).map_err(polars_err("building reason_codes"))
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

/// One cell as text: money exact (`1234.50`), instants as `2026-10-01T14:37:01Z`, dates ISO.
pub fn cell_text(av: &AnyValue<'_>) -> Option<String> {
    use crate::model::time::{format_timestamp, from_epoch_days, from_micros};
    Some(match av {
        AnyValue::Null => return None,
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Decimal(v, _, scale) => {
            rust_decimal::Decimal::from_i128_with_scale(*v, *scale as u32).to_string()
        }
        AnyValue::Date(d) => from_epoch_days(*d).to_string(),
        AnyValue::Datetime(v, unit, _) | AnyValue::DatetimeOwned(v, unit, _) => {
            let micros = match unit {
                TimeUnit::Nanoseconds => v.div_euclid(1000),
                TimeUnit::Microseconds => *v,
                TimeUnit::Milliseconds => v * 1000,
            };
            format_timestamp(from_micros(micros))
        }
        other => other.to_string(),
    })
}

/// One cell as JSON: numbers for integers and floats, strings for exact decimals (money stays
/// exact, as in the Amazon Pay API), instants and dates.
pub fn cell_json(av: &AnyValue<'_>) -> serde_json::Value {
    use serde_json::Value;
    match av {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(*b),
        AnyValue::Int8(_) | AnyValue::Int16(_) | AnyValue::Int32(_) | AnyValue::Int64(_) => {
            av.extract::<i64>().map(Value::from).unwrap_or(Value::Null)
        }
        AnyValue::UInt8(_) | AnyValue::UInt16(_) | AnyValue::UInt32(_) | AnyValue::UInt64(_) => {
            av.extract::<u64>().map(Value::from).unwrap_or(Value::Null)
        }
        AnyValue::Float32(_) | AnyValue::Float64(_) => av
            .extract::<f64>()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        _ => cell_text(av).map(Value::String).unwrap_or(Value::Null),
    }
}

/// The rows of a result as a JSON array of objects, keys in column order.
pub fn to_json(df: &DataFrame) -> String {
    let columns = df.columns();
    let names: Vec<String> = columns
        .iter()
        .map(|c| serde_json::Value::from(c.name().as_str()).to_string())
        .collect();
    let mut out = String::from("[");
    for i in 0..df.height() {
        out.push_str(if i == 0 { "\n  {" } else { ",\n  {" });
        for (k, c) in columns.iter().enumerate() {
            let v = c.get(i).map(|v| cell_json(&v)).unwrap_or_default();
            out.push_str(&format!(
                "{}{}: {}",
                if k == 0 { "" } else { ", " },
                names[k],
                v
            ));
        }
        out.push('}');
    }
    out.push_str(if df.height() == 0 { "]\n" } else { "\n]\n" });
    out
}

/// A result as a GitHub-flavoured Markdown table.
pub fn to_markdown(df: &DataFrame) -> String {
    let columns = df.columns();
    let escape = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = String::new();
    let names: Vec<String> = columns.iter().map(|c| escape(c.name())).collect();
    out.push_str(&format!("| {} |\n", names.join(" | ")));
    let aligns: Vec<&str> = columns
        .iter()
        .map(|c| {
            if c.dtype().is_primitive_numeric() || c.dtype().is_decimal() {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    out.push_str(&format!("|{}|\n", aligns.join("|")));
    for i in 0..df.height() {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| {
                c.get(i)
                    .ok()
                    .and_then(|v| cell_text(&v))
                    .map(|s| escape(&s))
                    .unwrap_or_default()
            })
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// Runs SQL over the lake (and the results in `results`, see [`context`]).
pub fn run(lake: &Lake, results: Option<&Path>, sql: &str) -> Result<DataFrame, QueryError> {
    let mut ctx = context(lake, results)?;
    ctx.execute(sql)
        .and_then(|lf| lf.collect())
        .map_err(|e| unknown_table(&e, &ctx.get_tables()).unwrap_or_else(|| polars_err("query")(e)))
}

/// polars' "relation 'x' was not found" as the list of tables, with the nearest one.
fn unknown_table(e: &PolarsError, tables: &[String]) -> Option<QueryError> {
    let text = e.to_string();
    let rest = &text[text.find("relation '")? + "relation '".len()..];
    let name = &rest[..rest.find("' was not found")?];
    let mut tables = tables.to_vec();
    tables.sort();
    Some(QueryError::UnknownTable {
        name: name.to_string(),
        hint: crate::suggest::hint(name, tables.iter().map(String::as_str)),
        tables,
    })
}
