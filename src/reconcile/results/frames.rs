//! The reconciliation's results as tables: the exceptions and results frames (polars, exact
//! decimals, ages at the cut-off), their CSV, and the text of amounts and instants.

use std::path::Path;

use polars::prelude::*;

use crate::durable::write_atomic_with;
use crate::model::money::format_lake;
use crate::model::time::from_micros;
use crate::reconcile::{ReconcileError, Reconciliation, ResultRow, age_bucket};

/// A money column: lake units as `DECIMAL(18,2)`.
pub fn money_column(name: &str, values: Vec<Option<i64>>) -> Column {
    let v: Vec<Option<i128>> = values.into_iter().map(|v| v.map(i128::from)).collect();
    Series::new(name.into(), v)
        .into_decimal(18, 2)
        .expect("Int128 converts to a decimal")
        .into_column()
}

pub(super) fn date_of(ts: i64) -> i32 {
    ts.div_euclid(86_400_000_000) as i32
}

pub(super) fn date_column(name: &str, values: Vec<i32>) -> Column {
    Series::new(name.into(), values)
        .cast(&DataType::Date)
        .expect("i32 casts to Date")
        .into_column()
}

pub(super) fn text_column<S: AsRef<str>>(
    name: &str,
    values: impl Iterator<Item = Option<S>>,
) -> Column {
    StringChunked::from_iter_options(name.into(), values).into_column()
}

/// The columns shared by the results and exceptions tables, for `rows`, built in parallel. The
/// exceptions (`ages_at` = the cut-off) lead with the status and carry the ages; the results
/// (`None`) lead with the layer and do not depend on the cut-off beyond the statuses.
pub(super) fn item_columns(rows: &[&ResultRow], ages_at: Option<i64>) -> Vec<Column> {
    use rayon::prelude::*;
    let cutoff = ages_at.unwrap_or(0);
    // The two tables differ in what leads, the ages, and where `layer` goes.
    let (lead, after): (&[&str], &[&str]) = if ages_at.is_some() {
        (&["status", "item_type", "item_id"], &["layer"])
    } else {
        (&["layer", "item_type", "item_id", "status"], &[])
    };
    let ages: &[&str] = if ages_at.is_some() {
        &["age_days", "age_bucket"]
    } else {
        &[]
    };
    let names: Vec<&str> = lead
        .iter()
        .chain(&[
            "currency",
            "expected_amount",
            "actual_amount",
            "difference",
            "item_date",
        ])
        .chain(ages)
        .chain(&["counterpart_ids"])
        .chain(after)
        .chain(&["source_file", "source_line"])
        .copied()
        .collect();
    let build = |name: &&str| -> Column {
        let name = *name;
        match name {
            "status" => text_column(name, rows.iter().map(|r| Some(r.status.as_str()))),
            "item_type" => text_column(name, rows.iter().map(|r| Some(r.item_type.as_str()))),
            "item_id" => text_column(name, rows.iter().map(|r| Some(&*r.item_id))),
            "layer" => Column::new(
                name.into(),
                rows.iter().map(|r| r.layer as u32).collect::<Vec<u32>>(),
            ),
            "currency" => text_column(name, rows.iter().map(|r| Some(r.currency.code()))),
            "expected_amount" => money_column(name, rows.iter().map(|r| r.expected).collect()),
            "actual_amount" => money_column(name, rows.iter().map(|r| r.actual).collect()),
            "difference" => money_column(name, rows.iter().map(|r| r.difference()).collect()),
            "item_date" => date_column(name, rows.iter().map(|r| date_of(r.item_ts)).collect()),
            "age_days" => Column::new(
                name.into(),
                rows.iter()
                    .map(|r| r.age_days(cutoff))
                    .collect::<Vec<i64>>(),
            ),
            "age_bucket" => text_column(
                name,
                rows.iter().map(|r| Some(age_bucket(r.age_days(cutoff)))),
            ),
            "counterpart_ids" => text_column(
                name,
                rows.iter()
                    .map(|r| (!r.counterparts.is_empty()).then(|| r.counterparts.text())),
            ),
            "source_file" => text_column(name, rows.iter().map(|r| r.source_file.as_deref())),
            "source_line" => Column::new(
                name.into(),
                rows.iter()
                    .map(|r| r.source_line)
                    .collect::<Vec<Option<i64>>>(),
            ),
            other => unreachable!("no column {other}"),
        }
    };
    names.par_iter().map(build).collect()
}

/// The results table of some rows: `layer, item_type, item_id, status, exception, currency,
/// expected_amount, actual_amount, difference, item_date, counterpart_ids, source_file,
/// source_line`.
pub(super) fn results_chunk(rows: &[ResultRow]) -> DataFrame {
    let rows: Vec<&ResultRow> = rows.iter().collect();
    let mut cols = item_columns(&rows, None);
    cols.insert(
        4,
        Column::new(
            "exception".into(),
            rows.iter().map(|r| r.is_exception()).collect::<Vec<bool>>(),
        ),
    );
    DataFrame::new(rows.len(), cols).expect("columns have equal lengths")
}

/// The exceptions, sorted by status, then age (oldest first), then item.
pub fn exceptions_frame<'a>(
    rows: impl IntoIterator<Item = &'a ResultRow>,
    cutoff: i64,
) -> DataFrame {
    let mut rows: Vec<&ResultRow> = rows.into_iter().collect();
    rows.sort_by(|a, b| {
        a.status
            .as_str()
            .cmp(b.status.as_str())
            .then(b.age_days(cutoff).cmp(&a.age_days(cutoff)))
            .then(a.item_type.cmp(&b.item_type))
            .then(a.item_id.cmp(&b.item_id))
            .then(a.source_line.cmp(&b.source_line))
    });
    let cols = item_columns(&rows, Some(cutoff));
    DataFrame::new(rows.len(), cols).expect("columns have equal lengths")
}

pub(super) fn polars_err(path: &Path) -> impl FnOnce(PolarsError) -> ReconcileError + '_ {
    move |e| ReconcileError::Polars {
        path: path.to_path_buf(),
        source: e,
    }
}

/// `df` as CSV bytes, with formula-like text neutralised ([`crate::export`]).
pub fn csv_bytes(df: &DataFrame, path: &Path) -> Result<Vec<u8>, ReconcileError> {
    let mut out = Vec::new();
    crate::export::write_csv(df, &mut out, true).map_err(polars_err(path))?;
    Ok(out)
}

/// Writes `df` as CSV to `path`, atomically, with formula-like text neutralised
/// ([`crate::export`]).
pub fn write_csv(df: &DataFrame, path: &Path) -> Result<(), ReconcileError> {
    write_atomic_with(path, |w| {
        crate::export::write_csv(df, w, true).map_err(polars_err(path))
    })
}

/// Rows per chunk when the results are written as CSV: bounds the memory of the table being
/// encoded.
pub(super) const RESULT_CHUNK: usize = 1 << 20;

/// Writes the results table to `path` as CSV, a chunk of rows at a time, atomically.
pub fn write_results_csv(rec: &Reconciliation, path: &Path) -> Result<(), ReconcileError> {
    write_atomic_with(path, |w| {
        for (i, chunk) in rec.rows.chunks(RESULT_CHUNK).enumerate() {
            crate::export::write_csv(&results_chunk(chunk), &mut *w, i == 0)
                .map_err(polars_err(path))?;
        }
        if rec.rows.is_empty() {
            crate::export::write_csv(&results_chunk(&[]), &mut *w, true)
                .map_err(polars_err(path))?;
        }
        Ok(())
    })
}

/// A cut-off instant as text.
pub fn cutoff_text(cutoff: i64) -> String {
    crate::model::time::format_timestamp(from_micros(cutoff))
}

/// Lake units as decimal text (`1234.50`).
pub fn amount_text(v: i64) -> String {
    format_lake(v as i128)
}
