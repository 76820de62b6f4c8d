//! The results files' Parquet: their Arrow schema and arrays, the one writer (staged, row
//! groups encoded in parallel), and reading a file back as the rows it was written from.

use std::path::Path;

use super::frames::date_of;
use crate::durable::{Staged, stage_with};
use crate::reconcile::{ReconcileError, ResultRow};

/// Rows per row group of `results.parquet`: small enough that a group's arrays are reused
/// heap memory rather than fresh pages, large enough for good compression.
pub(super) const RESULT_ROW_GROUP: usize = 1 << 18;

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

/// Writes `n` rows whose arrays (of [`results_schema`]) `arrays(from, to)` gives as one Parquet
/// file at `path` (LZ4), staged (see [`commit_staged`]), with the arrow-rs writer: each row
/// group's columns are encoded in parallel, and written in order. [`WRITER`] names its
/// settings: keep the two in step.
pub(super) fn stage_parquet(
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
pub(super) const RESULT_DICTIONARY: [&str; 4] = ["item_type", "status", "currency", "source_file"];

/// How results files' columns are encoded: their footer's `payrecon.layout` entry. A file with
/// this entry (and the same parquet writer) may have its column chunks copied as they are.
pub(super) fn results_layout() -> String {
    format!(
        "codec={:?};dictionary={};statistics=chunk;row_group_rows={RESULT_ROW_GROUP};nulls=canonical",
        crate::lake::parquet_io::CODEC,
        RESULT_DICTIONARY.join(",")
    )
}

/// The writer properties and Parquet schema of results files.
pub(super) fn results_writer() -> Result<
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

/// How [`stage_parquet`] encodes a file, part of every file's digest: change it whenever
/// the writer's settings change, so that files written the old way are rewritten.
pub(super) const WRITER: &str = "lz4_raw, row groups of 2^18, dictionaries: item_type status currency source_file, chunk statistics, canonical nulls";

/// The rows of one results file, as the file holds them: the item's time is its UTC date's
/// midnight and a line counterpart is its text, so they encode (and write) as the rows the file
/// was written from.
pub fn read_results_file(path: &Path) -> Result<Vec<ResultRow>, ReconcileError> {
    use crate::lake::columns;
    use crate::reconcile::{Counterparts, ItemType, Status};
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
        let item_id = crate::reconcile::load::Shared::new(path, b, "item_id")?;
        let status = columns::text(path, b, "status")?;
        let currency = columns::text(path, b, "currency")?;
        let expected = columns::money(path, b, "expected_amount")?;
        let actual = columns::money(path, b, "actual_amount")?;
        let date = b
            .column_by_name("item_date")
            .and_then(|c| c.as_any().downcast_ref::<arrow_array::Date32Array>())
            .ok_or_else(|| corrupt("no item_date column".into()))?;
        let counterparts = columns::text(path, b, "counterpart_ids")?;
        let shared_counterparts = crate::reconcile::load::Shared::new(path, b, "counterpart_ids")?;
        let source_file = crate::reconcile::load::Shared::new(path, b, "source_file")?;
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::durable::commit_staged;

    /// Some rows written as one results file (the tests of the results' files share it).
    pub(in crate::reconcile::results) fn write_rows(
        rows: &[&ResultRow],
        path: &Path,
    ) -> Result<(), ReconcileError> {
        Ok(commit_staged(vec![stage_parquet(
            path,
            rows.len(),
            &|from, to| results_arrays(&rows[from..to]),
        )?])?)
    }
}
