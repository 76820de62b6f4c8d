//! Result tables of the reconciliation (polars frames, exact decimals) and atomic file writes.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;

use super::{ReconcileError, Reconciliation, ResultRow, age_bucket};
use crate::durable::{
    Staged, TEMP_PREFIX, commit_staged, stage_with, write_atomic, write_atomic_with,
};
use crate::model::money::format_lake;
use crate::model::time::from_micros;

/// A money column: lake units as `DECIMAL(18,2)`.
pub fn money_column(name: &str, values: Vec<Option<i64>>) -> Column {
    let v: Vec<Option<i128>> = values.into_iter().map(|v| v.map(i128::from)).collect();
    Series::new(name.into(), v)
        .into_decimal(18, 2)
        .expect("Int128 converts to a decimal")
        .into_column()
}

fn date_of(ts: i64) -> i32 {
    ts.div_euclid(86_400_000_000) as i32
}

fn date_column(name: &str, values: Vec<i32>) -> Column {
    Series::new(name.into(), values)
        .cast(&DataType::Date)
        .expect("i32 casts to Date")
        .into_column()
}

fn text_column<S: AsRef<str>>(name: &str, values: impl Iterator<Item = Option<S>>) -> Column {
    StringChunked::from_iter_options(name.into(), values).into_column()
}

/// The columns shared by the results and exceptions tables, for `rows`, built in parallel. The
/// exceptions (`ages_at` = the cut-off) lead with the status and carry the ages; the results
/// (`None`) lead with the layer and do not depend on the cut-off beyond the statuses.
fn item_columns(rows: &[&ResultRow], ages_at: Option<i64>) -> Vec<Column> {
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
fn results_chunk(rows: &[ResultRow]) -> DataFrame {
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

fn polars_err(path: &Path) -> impl FnOnce(PolarsError) -> ReconcileError + '_ {
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
const RESULT_CHUNK: usize = 1 << 20;

/// Rows per row group of `results.parquet`: small enough that a group's arrays are reused
/// heap memory rather than fresh pages, large enough for good compression.
const RESULT_ROW_GROUP: usize = 1 << 18;

/// The results table's Arrow schema (the columns of [`results_chunk`]).
pub(super) fn results_schema() -> arrow_schema::SchemaRef {
    use arrow_schema::{DataType as D, Field, Schema};
    let money = || D::Decimal128(18, 2);
    std::sync::Arc::new(Schema::new(vec![
        Field::new("layer", D::UInt32, true),
        Field::new("item_type", D::Utf8, true),
        Field::new("item_id", D::Utf8, true),
        Field::new("status", D::Utf8, true),
        Field::new("exception", D::Boolean, true),
        Field::new("currency", D::Utf8, true),
        Field::new("expected_amount", money(), true),
        Field::new("actual_amount", money(), true),
        Field::new("difference", money(), true),
        Field::new("item_date", D::Date32, true),
        Field::new("counterpart_ids", D::Utf8, true),
        Field::new("source_file", D::Utf8, true),
        Field::new("source_line", D::Int64, true),
    ]))
}

/// The Arrow arrays of some rows, in [`results_schema`]'s order.
pub(super) fn results_arrays(rows: &[&ResultRow]) -> Vec<arrow_array::ArrayRef> {
    use arrow_array::builder::StringBuilder;
    use arrow_array::{ArrayRef, BooleanArray, Date32Array, Decimal128Array, Int64Array};
    use rayon::prelude::*;
    use std::sync::Arc;
    let text = |f: &(dyn Fn(&ResultRow, &mut String) -> bool + Sync)| -> ArrayRef {
        let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
        let mut buf = String::new();
        for r in rows {
            buf.clear();
            if f(r, &mut buf) {
                b.append_value(&buf);
            } else {
                b.append_null();
            }
        }
        Arc::new(b.finish())
    };
    let money = |f: &(dyn Fn(&ResultRow) -> Option<i64> + Sync)| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|r| f(r).map(i128::from))
                .collect::<Decimal128Array>()
                .with_precision_and_scale(18, 2)
                .expect("valid decimal type"),
        )
    };
    (0..13)
        .into_par_iter()
        .map(|c| -> ArrayRef {
            match c {
                0 => Arc::new(
                    rows.iter()
                        .map(|r| Some(r.layer as u32))
                        .collect::<arrow_array::UInt32Array>(),
                ),
                1 => text(&|r, s| {
                    s.push_str(r.item_type.as_str());
                    true
                }),
                2 => text(&|r, s| {
                    s.push_str(&r.item_id);
                    true
                }),
                3 => text(&|r, s| {
                    s.push_str(r.status.as_str());
                    true
                }),
                4 => Arc::new(
                    rows.iter()
                        .map(|r| Some(r.is_exception()))
                        .collect::<BooleanArray>(),
                ),
                5 => text(&|r, s| {
                    s.push_str(r.currency.code());
                    true
                }),
                6 => money(&|r| r.expected),
                7 => money(&|r| r.actual),
                8 => money(&|r| r.difference()),
                9 => Arc::new(
                    rows.iter()
                        .map(|r| Some(date_of(r.item_ts)))
                        .collect::<Date32Array>(),
                ),
                10 => text(&|r, s| {
                    r.counterparts.write_to(s);
                    !r.counterparts.is_empty()
                }),
                11 => text(&|r, s| match &r.source_file {
                    Some(f) => {
                        s.push_str(f);
                        true
                    }
                    None => false,
                }),
                _ => Arc::new(rows.iter().map(|r| r.source_line).collect::<Int64Array>()),
            }
        })
        .collect()
}

/// Writes some rows as one results file at `path`, atomically (see [`stage_parquet`]).
#[cfg(test)]
fn write_rows_parquet(rows: &[&ResultRow], path: &Path) -> Result<(), ReconcileError> {
    Ok(commit_staged(vec![stage_parquet(
        path,
        rows.len(),
        &|from, to| results_arrays(&rows[from..to]),
    )?])?)
}

/// Writes `n` rows whose arrays (of [`results_schema`]) `arrays(from, to)` gives as one Parquet
/// file at `path` (LZ4), staged (see [`commit_staged`]), with the arrow-rs writer: each row
/// group's columns are encoded in parallel, and written in order. [`WRITER`] names its
/// settings: keep the two in step.
fn stage_parquet(
    path: &Path,
    n: usize,
    arrays: &(dyn Fn(usize, usize) -> Vec<arrow_array::ArrayRef> + Sync),
) -> Result<Staged, ReconcileError> {
    use parquet::arrow::arrow_writer::{ArrowRowGroupWriterFactory, compute_leaves};
    use parquet::file::writer::SerializedFileWriter;
    use rayon::prelude::*;
    let pq = |e: parquet::errors::ParquetError| ReconcileError::Parquet {
        path: path.to_path_buf(),
        source: e,
    };
    let schema = results_schema();
    let (props, parquet_schema) = results_writer().map_err(pq)?;
    stage_with(path, |w| {
        let mut writer =
            SerializedFileWriter::new(w, parquet_schema.root_schema_ptr(), props.clone())
                .map_err(pq)?;
        let factory = ArrowRowGroupWriterFactory::new(&writer, schema.clone());
        for (g, from) in (0..n).step_by(RESULT_ROW_GROUP).enumerate() {
            let arrays = arrays(from, (from + RESULT_ROW_GROUP).min(n));
            let writers = factory.create_column_writers(g).map_err(pq)?;
            let chunks = writers
                .into_par_iter()
                .zip(arrays.par_iter().zip(schema.fields().par_iter()))
                .map(|(mut cw, (array, field))| {
                    let array = crate::lake::parquet_io::canonical(array);
                    for leaf in compute_leaves(field, &array)? {
                        cw.write(&leaf)?;
                    }
                    cw.close()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(pq)?;
            let mut group = writer.next_row_group().map_err(pq)?;
            for chunk in chunks {
                chunk.append_to_row_group(&mut group).map_err(pq)?;
            }
            group.close().map_err(pq)?;
        }
        writer.close().map_err(pq)?;
        Ok(())
    })
}

/// The columns of results files written with a dictionary.
const RESULT_DICTIONARY: [&str; 4] = ["item_type", "status", "currency", "source_file"];

/// How results files' columns are encoded: their footer's `payrecon.layout` entry. A file with
/// this entry (and the same parquet writer) may have its column chunks copied as they are.
fn results_layout() -> String {
    format!(
        "codec={:?};dictionary={};statistics=chunk;row_group_rows={RESULT_ROW_GROUP};nulls=canonical",
        crate::lake::parquet_io::CODEC,
        RESULT_DICTIONARY.join(",")
    )
}

/// The writer properties and Parquet schema of results files.
fn results_writer() -> Result<
    (
        std::sync::Arc<parquet::file::properties::WriterProperties>,
        parquet::schema::types::SchemaDescriptor,
    ),
    parquet::errors::ParquetError,
> {
    use parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    use parquet::schema::types::ColumnPath;
    let schema = results_schema();
    let mut props = WriterProperties::builder()
        .set_compression(crate::lake::parquet_io::CODEC)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_dictionary_enabled(false)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "payrecon.layout".to_string(),
            results_layout(),
        )]));
    for low in RESULT_DICTIONARY {
        props = props.set_column_dictionary_enabled(ColumnPath::from(low), true);
    }
    let mut props = props.build();
    add_encoded_arrow_schema_to_metadata(&schema, &mut props);
    let parquet_schema = ArrowSchemaConverter::new()
        .with_coerce_types(props.coerce_types())
        .convert(&schema)?;
    Ok((std::sync::Arc::new(props), parquet_schema))
}

/// Whether a results file's column chunks may be copied into a file this build writes.
fn results_patchable(stored: &crate::lake::parquet_io::StoredFile) -> bool {
    let layout = results_layout();
    crate::lake::parquet_io::same_layout(
        stored,
        RESULT_ROW_GROUP,
        &[("payrecon.layout", layout.as_str())],
    )
}

/// Stages the results file `path` from `stored` (the file there now) with the rows at
/// `replaced` replaced, as `batch` holds them: the columns whose values changed are encoded
/// again, in the row groups where they did; every other chunk is copied. Byte-identical to
/// [`stage_parquet`] of `batch`.
fn stage_patched(
    path: &Path,
    stored: &crate::lake::parquet_io::StoredFile,
    batch: &arrow_array::RecordBatch,
    changed: &[Vec<usize>],
) -> Result<Staged, ReconcileError> {
    use parquet::arrow::arrow_writer::ArrowRowGroupWriterFactory;
    use parquet::file::writer::SerializedFileWriter;
    let pq = |e: parquet::errors::ParquetError| ReconcileError::Parquet {
        path: path.to_path_buf(),
        source: e,
    };
    let source = std::fs::File::open(path).map_err(|e| ReconcileError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let columns: Vec<Option<arrow_array::ArrayRef>> = changed
        .iter()
        .enumerate()
        .map(|(c, rows)| (!rows.is_empty()).then(|| batch.column(c).clone()))
        .collect();
    let (props, parquet_schema) = results_writer().map_err(pq)?;
    stage_with(path, |w| {
        let mut writer =
            SerializedFileWriter::new(w, parquet_schema.root_schema_ptr(), props).map_err(pq)?;
        let factory = ArrowRowGroupWriterFactory::new(&writer, results_schema());
        crate::lake::parquet_io::Patch {
            stored,
            source: &source,
            columns: &columns,
            changed,
        }
        .write_groups(&mut writer, &factory, RESULT_ROW_GROUP)
        .map_err(pq)?;
        writer.close().map_err(pq)?;
        Ok(())
    })
}

/// A results file patched from the one at `old` (see [`stage_patched`]), for the tests of
/// [`super::file_rows`].
#[cfg(test)]
pub(super) fn write_patched_for_tests(
    old: &Path,
    path: &Path,
    batch: &arrow_array::RecordBatch,
    replaced: &[usize],
) -> Result<(), ReconcileError> {
    let stored = super::file_rows::read_stored(old)?;
    assert!(results_patchable(&stored));
    let changed =
        super::file_rows::changed_columns(old, &stored.batch(), batch, replaced, RESULT_ROW_GROUP)?;
    std::fs::copy(old, path).unwrap();
    Ok(commit_staged(vec![stage_patched(
        path, &stored, batch, &changed,
    )?])?)
}

/// [`write_rows_parquet`], for the tests of [`super::file_rows`].
#[cfg(test)]
pub(super) fn write_rows_parquet_for_tests(
    rows: &[&ResultRow],
    path: &Path,
) -> Result<(), ReconcileError> {
    write_rows_parquet(rows, path)
}

/// A batch written as [`FileRows::write`] writes it, for the tests of [`super::file_rows`].
#[cfg(test)]
pub(super) fn write_batch_for_tests(
    path: &Path,
    batch: &arrow_array::RecordBatch,
) -> Result<(), ReconcileError> {
    Ok(commit_staged(vec![
        FileRows::Batch(batch.clone()).stage(path)?,
    ])?)
}

/// The folder of the results table inside an output folder.
pub const RESULTS_DIR: &str = "results";

/// The digests of the results files, inside [`RESULTS_DIR`].
pub const RESULTS_DIGESTS: &str = "_digests.json";

/// How [`stage_parquet`] encodes a file, part of every file's digest: change it whenever
/// the writer's settings change, so that files written the old way are rewritten.
const WRITER: &str = "lz4_raw, row groups of 2^18, dictionaries: item_type status currency source_file, chunk statistics, canonical nulls";

/// What a results file's bytes depend on besides its rows (the schema, the text of every status
/// and item type, the writer's settings, the version), hashed into every digest: a version that
/// would write other bytes for the same rows rewrites every file.
fn format_seed() -> u128 {
    use super::{ItemType, Status};
    static SEED: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        let types = ItemType::ALL;
        let text = format!(
            "{:?}|{:?}|{:?}|{WRITER}|rows as files hold them|{}",
            results_schema(),
            Status::ALL.map(|s| (s as u8, s.as_str())),
            types.map(|t| (t as u8, t.as_str())),
            env!("CARGO_PKG_VERSION"),
        );
        xxhash_rust::xxh3::xxh3_128(text.as_bytes())
    })
}

/// Appends an unambiguous encoding of what a results file holds of `r` to `b` (lengths before
/// texts, a tag before optional values and counterparts): rows read back from a file
/// ([`read_results_file`]) encode as the rows it was written from.
fn encode_row(r: &ResultRow, b: &mut Vec<u8>) {
    use super::Counterparts;
    encode_row_head(r, b);
    // What the file holds: the item's UTC date, the counterparts' text.
    b.extend_from_slice(&date_of(r.item_ts).to_le_bytes());
    match &r.counterparts {
        Counterparts::None => b.push(0),
        c => {
            b.push(1);
            put_text(b, &c.text());
        }
    }
    encode_row_source(r, b);
}

/// A text, its length first.
pub(crate) fn put_text(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s.as_bytes());
}

/// An optional number, a tag first.
pub(crate) fn put_opt(b: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => {
            b.push(1);
            b.extend_from_slice(&v.to_le_bytes());
        }
        None => b.push(0),
    }
}

/// The fields every encoding of a row starts with: layer, item, status, currency, amounts.
pub(crate) fn encode_row_head(r: &ResultRow, b: &mut Vec<u8>) {
    b.push(r.layer);
    b.push(r.item_type as u8);
    put_text(b, &r.item_id);
    b.push(r.status as u8);
    put_text(b, r.currency.code());
    put_opt(b, r.expected);
    put_opt(b, r.actual);
}

/// The fields every encoding of a row ends with: where a line is.
pub(crate) fn encode_row_source(r: &ResultRow, b: &mut Vec<u8>) {
    match &r.source_file {
        Some(f) => {
            b.push(1);
            put_text(b, f);
        }
        None => b.push(0),
    }
    put_opt(b, r.source_line);
}

/// A digest of rows (every field a file of them is made of, and `format_seed`): equal
/// digests, equal files. Rows are encoded into a buffer a chunk at a time and each chunk hashed
/// whole, in parallel; the chunks' hashes are combined in order.
pub fn rows_digest(rows: &[&ResultRow]) -> String {
    use rayon::prelude::*;
    let parts: Vec<u128> = rows
        .par_chunks(DIGEST_CHUNK)
        .map(|chunk| {
            let mut b = Vec::with_capacity(chunk.len() * 96);
            for r in chunk {
                encode_row(r, &mut b);
            }
            xxhash_rust::xxh3::xxh3_128(&b)
        })
        .collect();
    combine_digest(rows.len(), &parts)
}

/// Rows per hashed chunk of a digest.
pub(super) const DIGEST_CHUNK: usize = 1 << 14;

/// A digest of `n` rows from the hashes of their chunks of [`DIGEST_CHUNK`] rows, in order.
pub(super) fn combine_digest(n: usize, parts: &[u128]) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&format_seed().to_le_bytes());
    h.update(&(n as u64).to_le_bytes());
    for p in parts {
        h.update(&p.to_le_bytes());
    }
    format!("{:032x}", h.digest128())
}

/// The rows of one results file to write: rows, or a file's rows kept as Arrow arrays
/// ([`super::file_rows`]).
enum FileRows<'a> {
    Rows(Vec<&'a ResultRow>),
    Batch(arrow_array::RecordBatch),
    /// The rows of the file on disk (`stored`) with some replaced in place (`batch`), and for
    /// each column the row groups where it changed (see [`stage_patched`]).
    Patched {
        batch: arrow_array::RecordBatch,
        stored: crate::lake::parquet_io::StoredFile,
        changed: Vec<Vec<usize>>,
    },
}

/// A results file to write: its rows, or the rows of the file on disk that `keep` keeps with
/// `new` (see [`super::file_rows::rewrite`]), made when the file is written.
enum Group<'a> {
    Ready(FileRows<'a>),
    Rewrite {
        new: Vec<&'a ResultRow>,
        keep: &'a (dyn Fn(u8, super::ItemType, &str) -> bool + Sync),
    },
}

impl FileRows<'_> {
    fn is_empty(&self) -> bool {
        match self {
            FileRows::Rows(rows) => rows.is_empty(),
            FileRows::Batch(b) | FileRows::Patched { batch: b, .. } => b.num_rows() == 0,
        }
    }

    fn digest(&self, path: &Path) -> Result<String, ReconcileError> {
        match self {
            FileRows::Rows(rows) => Ok(rows_digest(rows)),
            FileRows::Batch(b) | FileRows::Patched { batch: b, .. } => {
                super::file_rows::digest(path, b)
            }
        }
    }

    fn stage(&self, path: &Path) -> Result<Staged, ReconcileError> {
        match self {
            FileRows::Rows(rows) => stage_parquet(path, rows.len(), &|from, to| {
                results_arrays(&rows[from..to])
            }),
            FileRows::Batch(b) => stage_parquet(path, b.num_rows(), &|from, to| {
                b.slice(from, to - from).columns().to_vec()
            }),
            FileRows::Patched {
                batch,
                stored,
                changed,
            } => stage_patched(path, stored, batch, changed),
        }
    }
}

/// The results file of a row, relative to [`RESULTS_DIR`]: one file per UTC day of the item's
/// date and item type (`day=2026-10-31/order.parquet`). A night's new items land in the last
/// few days' files; an older day's files change only when one of their items does (an order
/// row names its refunds, so a refund rewrites its order's day file of orders, ~1/60 of them).
fn partition_of(r: &ResultRow) -> (i32, super::ItemType) {
    (date_of(r.item_ts), r.item_type)
}

fn partition_path((day, item_type): (i32, super::ItemType)) -> String {
    format!(
        "day={}/{}.parquet",
        crate::model::time::from_epoch_days(day).format("%Y-%m-%d"),
        item_type.as_str()
    )
}

/// What [`write_results`] did, paths inside the output folder.
#[derive(Debug, Default)]
pub struct ResultsWrite {
    pub written: Vec<std::path::PathBuf>,
    pub unchanged: Vec<std::path::PathBuf>,
    /// Of the written files, those patched from the file there before (rows kept their places).
    pub patched: usize,
    /// Files of partitions that no longer have rows, removed.
    pub removed: usize,
    /// The digests file ([`RESULTS_DIGESTS`]).
    pub digests: std::path::PathBuf,
}

/// The `.parquet` files under `dir` (one level of partition folders), relative to `dir`.
fn results_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for part in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if !part.path().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(part.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".parquet") && !name.starts_with(TEMP_PREFIX) {
                out.push(format!("{}/{name}", part.file_name().to_string_lossy()));
            }
        }
    }
    out.sort();
    out
}

/// Writes the results table into `out/results/`, a Parquet dataset partitioned by the item's
/// day and type (`partition_of`), rewriting only the files whose rows changed: each file's
/// row digest ([`rows_digest`]) and the hash of its bytes are kept in `results/_digests.json`,
/// and a file whose rows have the same digest and whose bytes are still the ones written stays
/// as it is (`force` rewrites every file). Files of partitions without rows any more are removed.
///
/// Crash-safe: every file is written atomically, and before any file is written or removed the
/// digests file is rewritten without it, so a digest never vouches for a file that a killed run
/// left half-way between two states; the complete digests file is written last.
pub fn write_results(
    rec: &Reconciliation,
    out: &Path,
    force: bool,
) -> Result<ResultsWrite, ReconcileError> {
    let mut groups: BTreeMap<(i32, super::ItemType), Vec<&ResultRow>> = BTreeMap::new();
    for r in &rec.rows {
        groups.entry(partition_of(r)).or_default().push(r);
    }
    let groups = groups
        .into_iter()
        .map(|(k, rows)| (k, Group::Ready(FileRows::Rows(rows))))
        .collect();
    write_groups(out, groups, &|_| true, force)
}

/// The results files of a night: `planned` files (UTC day, item type) get their rows in
/// untouched components (`keep`, by layer, item type and id) from the file as it is, plus
/// `recomputed` (the touched components' item rows); the settlement and deposit files get
/// `settlement_wide`. Every other file is left as it is. The rows of a file are in the order
/// [`super::reconcile`] sorts them: the old ones stay Arrow arrays and the recomputed ones are
/// put at their places (`reconcile::file_rows`).
pub fn write_results_night(
    out: &Path,
    planned: &std::collections::BTreeSet<(i32, super::ItemType)>,
    keep: &(dyn Fn(u8, super::ItemType, &str) -> bool + Sync),
    recomputed: &[ResultRow],
    settlement_wide: &[ResultRow],
) -> Result<ResultsWrite, ReconcileError> {
    use super::ItemType;
    let planned: Vec<(i32, ItemType)> = planned
        .iter()
        .copied()
        .filter(|(_, t)| !matches!(t, ItemType::Settlement | ItemType::Deposit))
        .collect();
    let mut new: BTreeMap<(i32, ItemType), Vec<&ResultRow>> =
        planned.iter().map(|&p| (p, Vec::new())).collect();
    for r in recomputed {
        if let Some(rows) = new.get_mut(&partition_of(r)) {
            rows.push(r);
        } else {
            return Err(ReconcileError::Incremental(format!(
                "a recomputed {} row of {} is in no planned results file",
                r.item_type.as_str(),
                r.item_id
            )));
        }
    }
    let mut groups: BTreeMap<(i32, ItemType), Group> = new
        .into_iter()
        .map(|(k, new)| (k, Group::Rewrite { new, keep }))
        .collect();
    let mut wide: BTreeMap<(i32, ItemType), Vec<&ResultRow>> = BTreeMap::new();
    for r in settlement_wide {
        wide.entry(partition_of(r)).or_default().push(r);
    }
    for (k, rows) in wide {
        if groups
            .insert(k, Group::Ready(FileRows::Rows(rows)))
            .is_some()
        {
            return Err(ReconcileError::Incremental(format!(
                "settlement-wide rows are in the planned results file {}",
                partition_path(k)
            )));
        }
    }
    let planned_paths: std::collections::HashSet<String> =
        planned.iter().map(|&p| partition_path(p)).collect();
    let own = |rel: &str| {
        planned_paths.contains(rel)
            || rel.ends_with(&format!("/{}.parquet", ItemType::Settlement.as_str()))
            || rel.ends_with(&format!("/{}.parquet", ItemType::Deposit.as_str()))
    };
    write_groups(out, groups, &own, false)
}

/// Writes each group's file where its digest changed (or `force`), removes the files that
/// `owned` claims and no group has (or whose rows came out empty), and keeps `_digests.json` in
/// step. Each file is made, hashed and staged in one task, so that its arrays are freed (and
/// their memory reused) before the next file's are made.
fn write_groups(
    out: &Path,
    groups: BTreeMap<(i32, super::ItemType), Group>,
    owned: &dyn Fn(&str) -> bool,
    force: bool,
) -> Result<ResultsWrite, ReconcileError> {
    use rayon::prelude::*;
    let dir = out.join(RESULTS_DIR);
    let digests_path = dir.join(RESULTS_DIGESTS);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| ReconcileError::Io { path, source: e }
    };
    // The single-file table of earlier versions: replaced by the folder.
    for legacy in ["results.parquet", "results.parquet.xxh3"] {
        let p = out.join(legacy);
        if p.exists() {
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    let groups: Vec<(String, Group)> = groups
        .into_iter()
        .map(|(k, rows)| (partition_path(k), rows))
        .collect();
    let old: BTreeMap<String, String> = std::fs::read(&digests_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    // A file's entry: the digest of its rows, then the hash of its bytes (read back), so an
    // edited or damaged file is rewritten even when its rows did not change.
    let bytes_hash = |rel: &str| {
        std::fs::read(dir.join(rel))
            .ok()
            .map(|b| format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&b)))
    };
    let entry = |digest: &str, hash: &str| format!("{digest}:{hash}");
    enum Outcome {
        /// Nothing to write: its rows came out empty.
        Empty,
        /// The file on disk already holds these rows.
        Same,
        /// Staged: the digest, the new file, and whether it was patched.
        New(String, Staged, bool),
    }
    let outcomes: Vec<Outcome> = groups
        .par_iter()
        .map(|(rel, rows)| {
            let path = dir.join(rel);
            let made;
            let rows = match rows {
                Group::Ready(rows) => rows,
                Group::Rewrite { new, keep } => {
                    if path.exists() {
                        let stored = super::file_rows::read_stored(&path)?;
                        let rewritten =
                            super::file_rows::rewrite(&path, &stored.batch(), *keep, new)?;
                        made = match rewritten.replaced {
                            Some(replaced) if results_patchable(&stored) => {
                                let changed = super::file_rows::changed_columns(
                                    &path,
                                    &stored.batch(),
                                    &rewritten.batch,
                                    &replaced,
                                    RESULT_ROW_GROUP,
                                )?;
                                FileRows::Patched {
                                    batch: rewritten.batch,
                                    stored,
                                    changed,
                                }
                            }
                            _ => FileRows::Batch(rewritten.batch),
                        };
                    } else {
                        let old = arrow_array::RecordBatch::new_empty(results_schema());
                        made = FileRows::Batch(
                            super::file_rows::rewrite(&path, &old, *keep, new)?.batch,
                        );
                    }
                    &made
                }
            };
            if rows.is_empty() {
                return Ok(Outcome::Empty);
            }
            let digest = rows.digest(&path)?;
            let same = !force
                && old.get(rel).is_some_and(|e| {
                    e.starts_with(digest.as_str())
                        && bytes_hash(rel).is_some_and(|h| *e == entry(&digest, &h))
                });
            Ok(if same {
                Outcome::Same
            } else {
                let staged = rows.stage(&path)?;
                Outcome::New(digest, staged, matches!(rows, FileRows::Patched { .. }))
            })
        })
        .collect::<Result<_, ReconcileError>>()?;
    // Files this write does not own keep their entries.
    let mut kept: BTreeMap<String, String> = old
        .iter()
        .filter(|(rel, _)| !owned(rel))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut done = ResultsWrite {
        digests: Path::new(RESULTS_DIR).join(RESULTS_DIGESTS),
        ..Default::default()
    };
    let mut wanted: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut staged = Vec::new();
    let mut new_entries = Vec::new();
    for ((rel, _), outcome) in groups.iter().zip(outcomes) {
        let p = Path::new(RESULTS_DIR).join(rel);
        match outcome {
            Outcome::Empty => continue,
            Outcome::Same => {
                kept.insert(rel.clone(), old[rel].clone());
                done.unchanged.push(p);
            }
            Outcome::New(digest, s, patched) => {
                done.patched += usize::from(patched);
                kept.remove(rel);
                new_entries.push((rel.clone(), entry(&digest, &format!("{:016x}", s.hash))));
                staged.push(s);
                done.written.push(p);
            }
        }
        wanted.insert(rel.as_str());
    }
    let stale: Vec<String> = results_files(&dir)
        .into_iter()
        .filter(|f| owned(f) && !wanted.contains(f.as_str()))
        .collect();
    if !staged.is_empty() || !stale.is_empty() || !digests_path.exists() {
        let json = |m: &BTreeMap<String, String>| {
            serde_json::to_vec_pretty(m).expect("a map of strings serialises")
        };
        for rel in &stale {
            kept.remove(rel);
        }
        // The digests first without the files about to change, then the files (synced
        // together, then renamed into place), then the digests with them.
        write_atomic(&digests_path, &json(&kept))?;
        commit_staged(staged)?;
        kept.extend(new_entries);
        for rel in &stale {
            let path = dir.join(rel);
            std::fs::remove_file(&path).map_err(io(&path))?;
            if let Some(parent) = path.parent() {
                // Only succeeds once the partition folder is empty.
                let _ = std::fs::remove_dir(parent);
            }
        }
        write_atomic(&digests_path, &json(&kept))?;
    }
    // The files this write left alone, still outputs.
    for rel in kept.keys().filter(|rel| !wanted.contains(rel.as_str())) {
        done.unchanged.push(Path::new(RESULTS_DIR).join(rel));
    }
    done.removed = stale.len();
    Ok(done)
}

/// The UTC days of the results files on disk (from `_digests.json`).
pub fn results_days(out: &Path) -> Vec<i32> {
    let path = out.join(RESULTS_DIR).join(RESULTS_DIGESTS);
    let map: BTreeMap<String, String> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut days: Vec<i32> = map
        .keys()
        .filter_map(|rel| {
            let d = rel.strip_prefix("day=")?.split('/').next()?;
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .ok()
                .map(crate::model::time::to_epoch_days)
        })
        .collect();
    days.dedup();
    days
}

/// The rows of one results file, as the file holds them: the item's time is its UTC date's
/// midnight and a line counterpart is its text, so they encode (and write) as the rows the file
/// was written from.
pub fn read_results_file(path: &Path) -> Result<Vec<ResultRow>, ReconcileError> {
    use super::{Counterparts, ItemType, Status};
    use crate::lake::columns;
    use arrow_array::Array;
    let corrupt = |m: String| ReconcileError::Lake(crate::lake::LakeError::corrupt(path, m));
    let batches = crate::lake::parquet_io::read_batches(path, None)?;
    let types = ItemType::ALL;
    let mut out = Vec::new();
    for b in &batches {
        let layer = b
            .column_by_name("layer")
            .and_then(|c| c.as_any().downcast_ref::<arrow_array::UInt32Array>())
            .ok_or_else(|| corrupt("no layer column".into()))?;
        let item_type = columns::text(path, b, "item_type")?;
        let item_id = super::load::Shared::new(path, b, "item_id")?;
        let status = columns::text(path, b, "status")?;
        let currency = columns::text(path, b, "currency")?;
        let expected = columns::money(path, b, "expected_amount")?;
        let actual = columns::money(path, b, "actual_amount")?;
        let date = b
            .column_by_name("item_date")
            .and_then(|c| c.as_any().downcast_ref::<arrow_array::Date32Array>())
            .ok_or_else(|| corrupt("no item_date column".into()))?;
        let counterparts = columns::text(path, b, "counterpart_ids")?;
        let shared_counterparts = super::load::Shared::new(path, b, "counterpart_ids")?;
        let source_file = super::load::Shared::new(path, b, "source_file")?;
        let source_file_valid = columns::text(path, b, "source_file")?;
        let source_line = columns::int(path, b, "source_line")?;
        let opt_money =
            |a: &arrow_array::Decimal128Array, i: usize| a.is_valid(i).then(|| a.value(i) as i64);
        for i in 0..b.num_rows() {
            let t = item_type.value(i);
            let st = status.value(i);
            let cur = currency.value(i);
            out.push(ResultRow {
                layer: layer.value(i) as u8,
                item_type: *types
                    .iter()
                    .find(|x| x.as_str() == t)
                    .ok_or_else(|| corrupt(format!("unknown item type {t:?}")))?,
                item_id: item_id.get(i),
                status: *Status::ALL
                    .iter()
                    .find(|x| x.as_str() == st)
                    .ok_or_else(|| corrupt(format!("unknown status {st:?}")))?,
                currency: cur
                    .parse()
                    .map_err(|_| corrupt(format!("unknown currency {cur:?}")))?,
                expected: opt_money(expected, i),
                actual: opt_money(actual, i),
                item_ts: date.value(i) as i64 * 86_400_000_000,
                counterparts: if counterparts.is_valid(i) {
                    let c = shared_counterparts.get(i);
                    if c.contains(';') {
                        Counterparts::Many(c)
                    } else {
                        Counterparts::Id(c)
                    }
                } else {
                    Counterparts::None
                },
                source_file: source_file_valid.is_valid(i).then(|| source_file.get(i)),
                source_line: source_line.is_valid(i).then(|| source_line.value(i)),
            });
        }
    }
    Ok(out)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::money::Currency;
    use crate::reconcile::{Counterparts, ItemType, Status};

    fn row(id: &str, status: Status) -> ResultRow {
        ResultRow {
            layer: 2,
            item_type: ItemType::Charge,
            item_id: id.into(),
            status,
            currency: Currency::EUR,
            expected: Some(1000),
            actual: Some(1000),
            item_ts: 1_700_000_000_000_000,
            counterparts: Counterparts::None,
            source_file: None,
            source_line: None,
        }
    }

    #[test]
    fn rows_read_back_from_a_file_digest_and_write_as_the_rows_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = row("A", Status::Settled);
        a.counterparts = Counterparts::Line("S1".into(), 3);
        let mut b = row("B", Status::Ambiguous);
        b.counterparts = Counterparts::Many("S1:4;S1:5".into());
        b.expected = None;
        let rows = [a, b, row("C", Status::InTransit)];
        let refs: Vec<&ResultRow> = rows.iter().collect();
        let path = dir.path().join("x.parquet");
        write_rows_parquet(&refs, &path).unwrap();
        let back = read_results_file(&path).unwrap();
        let back_refs: Vec<&ResultRow> = back.iter().collect();
        assert_eq!(rows_digest(&refs), rows_digest(&back_refs));
        let again = dir.path().join("y.parquet");
        write_rows_parquet(&back_refs, &again).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&again).unwrap()
        );
    }

    #[test]
    fn the_digest_follows_the_rows() {
        let a = row("a", Status::Settled);
        let b = row("b", Status::Settled);
        let base = rows_digest(&[&a, &b]);
        assert_eq!(base, rows_digest(&[&a, &b]));
        assert_ne!(base, rows_digest(&[&a, &row("b", Status::InTransit)]));
        assert_ne!(base, rows_digest(&[&b, &a]));
        // Field boundaries count: ("ab", "") is not ("a", "b").
        let mut x = row("ab", Status::Settled);
        x.counterparts = Counterparts::None;
        let mut y = row("a", Status::Settled);
        y.counterparts = Counterparts::Id("b".into());
        assert_ne!(rows_digest(&[&x]), rows_digest(&[&y]));
    }

    #[test]
    fn the_results_rewrite_only_the_files_whose_rows_changed() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path();
        let day = 86_400_000_000;
        let mut order = row("o1", Status::OrderMatched);
        order.layer = 1;
        order.item_type = ItemType::Order;
        let mut charge = row("c1", Status::Settled);
        charge.item_ts += day;
        let rec = |rows: Vec<ResultRow>| Reconciliation { cutoff: 0, rows };
        std::fs::write(out.join("results.parquet"), b"old layout").unwrap();

        let first = write_results(&rec(vec![order.clone(), charge.clone()]), out, false).unwrap();
        assert_eq!(first.written.len(), 2);
        assert!(!out.join("results.parquet").exists());
        let order_file = out.join("results/day=2023-11-14/order.parquet");
        let charge_file = out.join("results/day=2023-11-15/charge.parquet");
        let df = ParquetReader::new(std::fs::File::open(&charge_file).unwrap())
            .finish()
            .unwrap();
        assert_eq!(df.height(), 1);
        assert!(df.column("age_days").is_err());

        let again = write_results(&rec(vec![order.clone(), charge.clone()]), out, false).unwrap();
        assert_eq!((again.written.len(), again.unchanged.len()), (0, 2));

        charge.status = Status::InTransit;
        let changed = write_results(&rec(vec![order.clone(), charge.clone()]), out, false).unwrap();
        assert_eq!(
            changed.written,
            vec![Path::new("results/day=2023-11-15/charge.parquet")]
        );

        // A file that is not what the digests say (cut short, or one byte changed) is rewritten.
        let bytes = std::fs::read(&order_file).unwrap();
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 1;
        for damaged in [bytes[..bytes.len() - 1].to_vec(), flipped] {
            std::fs::write(&order_file, &damaged).unwrap();
            let repaired =
                write_results(&rec(vec![order.clone(), charge.clone()]), out, false).unwrap();
            assert_eq!(repaired.written.len(), 1);
            assert_eq!(std::fs::read(&order_file).unwrap(), bytes);
        }

        // A partition without rows any more goes, folder and all.
        let gone = write_results(&rec(vec![order.clone()]), out, false).unwrap();
        assert_eq!(gone.removed, 1);
        assert!(!charge_file.parent().unwrap().exists());
        let forced = write_results(&rec(vec![order]), out, true).unwrap();
        assert_eq!(forced.written.len(), 1);
    }

    /// Every file under `dir`, relative, with its bytes.
    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(dir).unwrap().display().to_string();
                    out.push((rel, std::fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Writing the results night after night (each night only the files whose rows changed)
        /// leaves exactly the files that one fresh write of the last night's results gives.
        #[test]
        fn incremental_writes_equal_a_fresh_write(
            nights in proptest::collection::vec(
                proptest::collection::vec((0u8..6, 0i64..4, 0u8..3, 0u8..3), 0..24),
                1..4,
            )
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let rec = |rows: &[(u8, i64, u8, u8)]| {
                let mut rows: Vec<ResultRow> = rows
                    .iter()
                    .map(|&(id, day, kind, status)| {
                        let mut r = row(
                            &format!("i{id}"),
                            [Status::Settled, Status::InTransit, Status::AmountMismatch]
                                [status as usize],
                        );
                        r.item_type = [ItemType::Charge, ItemType::Refund, ItemType::Order][kind as usize];
                        r.item_ts += day * 86_400_000_000;
                        r
                    })
                    .collect();
                rows.sort_by(|a, b| {
                    (a.item_type, &a.item_id, a.status, a.item_ts)
                        .cmp(&(b.item_type, &b.item_id, b.status, b.item_ts))
                });
                Reconciliation { cutoff: 0, rows }
            };
            let nightly = tmp.path().join("nightly");
            for night in &nights {
                write_results(&rec(night), &nightly, false).unwrap();
            }
            let fresh = tmp.path().join("fresh");
            write_results(&rec(nights.last().unwrap()), &fresh, true).unwrap();
            proptest::prop_assert_eq!(files(&nightly), files(&fresh));
        }
    }
}
