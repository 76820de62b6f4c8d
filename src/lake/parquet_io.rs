//! Reading and writing the lake's Parquet files (arrow-rs), with payrecon's key-value metadata.

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use arrow_select::concat::concat_batches;
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::LakeError;
use crate::model::schema::{LAKE_FORMAT_VERSION, LOW_CARDINALITY};
use parquet::schema::types::ColumnPath;

/// Columns of hash values, stored as they are (see [`properties`]).
const RANDOM_HASHES: [&str; 2] = ["row_hash", "key_hash"];

/// The codec of every Parquet file payrecon writes (lake and results): LZ4 (the `LZ4_RAW` codec
/// DuckDB, polars and Spark read). Against zstd level 1 it costs ~20 % more bytes but a fraction
/// of the CPU to write and read, and a night rewrites and reads back hundreds of MB.
pub const CODEC: Compression = Compression::LZ4_RAW;

/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

fn properties(table: &str, schema: &SchemaRef) -> WriterProperties {
    let mut builder = WriterProperties::builder().set_dictionary_enabled(false);
    for f in schema.fields() {
        if LOW_CARDINALITY.contains(&f.name().as_str()) {
            builder =
                builder.set_column_dictionary_enabled(ColumnPath::from(f.name().as_str()), true);
        }
    }
    // Hashes are random bytes: compressing them or keeping their min/max costs time and saves
    // nothing (about a fifth of a night's ingest went into zstd, much of it on these columns).
    for f in schema.fields() {
        if RANDOM_HASHES.contains(&f.name().as_str()) {
            let column = ColumnPath::from(f.name().as_str());
            builder = builder
                .set_column_compression(column.clone(), Compression::UNCOMPRESSED)
                .set_column_statistics_enabled(column, EnabledStatistics::None);
        }
    }
    builder
        .set_compression(CODEC)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_key_value_metadata(Some(vec![
            KeyValue::new("payrecon.table".to_string(), table.to_string()),
            KeyValue::new(
                "payrecon.format_version".to_string(),
                LAKE_FORMAT_VERSION.to_string(),
            ),
        ]))
        .build()
}

/// Writes batches to `path` (created or truncated). The file is not synced: the lake's files are
/// staged, and [`super::Txn::commit`] makes them durable together before its journal names them.
pub fn write_batches(
    path: &Path,
    table: &str,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), LakeError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| LakeError::io(parent, e))?;
    }
    let file = File::create(path).map_err(|e| LakeError::io(path, e))?;
    let props = properties(table, &schema);
    let mut writer =
        ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| LakeError::parquet(path, e))?;
    for b in batches {
        writer.write(b).map_err(|e| LakeError::parquet(path, e))?;
    }
    let file = writer
        .into_inner()
        .map_err(|e| LakeError::parquet(path, e))?;
    crate::durable::start_writeback(&file);
    Ok(())
}

/// Writes a spill file (Arrow IPC): read back once, seconds later, so no encoding is spent.
pub fn write_spill(path: &Path, schema: SchemaRef, batch: &RecordBatch) -> Result<(), LakeError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| LakeError::io(parent, e))?;
    }
    let file = std::io::BufWriter::new(File::create(path).map_err(|e| LakeError::io(path, e))?);
    let arrow = |e: arrow_schema::ArrowError| LakeError::corrupt(path, e.to_string());
    let mut w = arrow_ipc::writer::FileWriter::try_new(file, &schema).map_err(arrow)?;
    w.write(batch).map_err(arrow)?;
    w.finish().map_err(arrow)
}

/// Reads a spill file back as one batch.
pub fn read_spill(path: &Path, schema: &SchemaRef) -> Result<RecordBatch, LakeError> {
    let file = std::io::BufReader::new(File::open(path).map_err(|e| LakeError::io(path, e))?);
    let arrow = |e: arrow_schema::ArrowError| LakeError::corrupt(path, e.to_string());
    let reader = arrow_ipc::reader::FileReader::try_new(file, None).map_err(arrow)?;
    let batches = reader.collect::<Result<Vec<_>, _>>().map_err(arrow)?;
    concat_batches(schema, &batches).map_err(arrow)
}

/// Reads a whole file as one batch with the given schema (columns by position).
pub fn read_file(path: &Path, schema: &SchemaRef) -> Result<RecordBatch, LakeError> {
    let batches = read_batches(path, None)?;
    let normalised: Vec<RecordBatch> = batches
        .into_iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| LakeError::corrupt(path, format!("does not match the table schema: {e}")))?;
    concat_batches(schema, &normalised).map_err(|e| LakeError::corrupt(path, e.to_string()))
}

/// Reads a file's batches, optionally only the named top-level columns.
pub fn read_batches(path: &Path, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>, LakeError> {
    let file = File::open(path).map_err(|e| LakeError::io(path, e))?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| LakeError::parquet(path, e))?
        .with_batch_size(64 * 1024);
    if let Some(cols) = columns {
        let schema = builder.schema().clone();
        let indices: Vec<usize> = cols
            .iter()
            .map(|c| {
                schema
                    .index_of(c)
                    .map_err(|_| LakeError::corrupt(path, format!("has no column {c}")))
            })
            .collect::<Result<_, _>>()?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
        builder = builder.with_projection(mask);
    }
    let reader = builder.build().map_err(|e| LakeError::parquet(path, e))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| LakeError::corrupt(path, e.to_string()))
}

/// The largest value of an integer column in a file, from its row groups' statistics (`None`
/// when a row group has none: the caller must then read the file).
pub fn int_column_max(path: &Path, column: &str) -> Result<Option<i64>, LakeError> {
    let file = File::open(path).map_err(|e| LakeError::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| LakeError::parquet(path, e))?;
    let meta = builder.metadata();
    let Some(index) = builder.schema().index_of(column).ok() else {
        return Err(LakeError::corrupt(path, format!("has no column {column}")));
    };
    let mut max: Option<i64> = None;
    for rg in meta.row_groups() {
        match rg.column(index).statistics() {
            Some(parquet::file::statistics::Statistics::Int64(s)) => match s.max_opt() {
                Some(&m) => max = Some(max.map_or(m, |x| x.max(m))),
                None if rg.num_rows() == 0 => {}
                None => return Ok(None),
            },
            _ => return Ok(None),
        }
    }
    Ok(max.or(Some(i64::MIN)))
}
