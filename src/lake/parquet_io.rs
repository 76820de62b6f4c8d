//! Reading and writing the lake's Parquet files (arrow-rs), with payrecon's key-value metadata,
//! and patching a stored file: its unchanged column chunks copied as they are, the changed
//! columns encoded again ([`write_patched`], [`Patch`]; results files use it too).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use arrow_select::concat::concat_batches;
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelectionPolicy,
};
use parquet::arrow::arrow_writer::{ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::Compression;
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::{KeyValue, PageIndexPolicy, ParquetMetaData};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::statistics::Statistics;
use parquet::file::writer::SerializedFileWriter;

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

/// The key of the file metadata entry naming how the file was written ([`layout`]).
const LAYOUT_KEY: &str = "payrecon.layout";

/// Everything that decides how a column's values are encoded: a file whose `payrecon.layout`
/// entry and writer equal this build's holds column chunks byte-identical to the ones this build
/// would write for the same values, so [`write_patched`] may copy them as they are.
fn layout() -> String {
    format!(
        "codec={CODEC:?};dictionary={};plain={};statistics=page;row_group_rows={ROW_GROUP_ROWS};nulls=canonical",
        LOW_CARDINALITY.join(","),
        RANDOM_HASHES.join(",")
    )
}

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
            KeyValue::new(LAYOUT_KEY.to_string(), layout()),
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
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
        .map_err(|e| LakeError::parquet(path, e))?;
    // One write per row group, of canonical arrays: the pages then fall where they would for
    // the same rows coming from anywhere (see [`canonical`]).
    let whole;
    let batch = match batches {
        [] => return Err(LakeError::corrupt(path, "no batch to write")),
        [one] => one,
        many => {
            whole = concat_batches(&schema, many)
                .map_err(|e| LakeError::corrupt(path, e.to_string()))?;
            &whole
        }
    };
    for (start, rows) in row_groups(batch.num_rows(), ROW_GROUP_ROWS) {
        let columns = batch
            .slice(start, rows)
            .columns()
            .iter()
            .map(canonical)
            .collect();
        let group = RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| LakeError::corrupt(path, e.to_string()))?;
        writer
            .write(&group)
            .map_err(|e| LakeError::parquet(path, e))?;
    }
    let file = writer
        .into_inner()
        .map_err(|e| LakeError::parquet(path, e))?;
    crate::durable::start_writeback(&file);
    Ok(())
}

/// An array in the one form the writer encodes the same way whatever made it: a null buffer
/// without a null is dropped. The parquet writer cuts a column into pages at different rows
/// for an array with definition levels to write (any null buffer) than for one without, so the
/// same values read back from a file (which come with a null buffer) and built afresh (which
/// do not) would give different bytes.
pub fn canonical(array: &ArrayRef) -> ArrayRef {
    match array.nulls() {
        Some(nulls) if nulls.null_count() == 0 => {
            let data = array.to_data().into_builder().nulls(None);
            // SAFETY: only a null buffer that marks every value valid is removed; the values,
            // offsets and children are those of a valid array.
            arrow_array::make_array(unsafe { data.build_unchecked() })
        }
        _ => array.clone(),
    }
}

/// A lake file as it is stored: its metadata with the page indexes (which [`write_patched`]
/// needs to copy its column chunks) and the columns read so far: all of them
/// ([`read_stored`]), or only those a caller asked for ([`StoredFile::open`],
/// [`StoredFile::load`]).
pub struct StoredFile {
    pub meta: Arc<ParquetMetaData>,
    pub schema: SchemaRef,
    pub rows: usize,
    columns: Vec<Option<ArrayRef>>,
    reader: ArrowReaderMetadata,
    path: PathBuf,
}

impl StoredFile {
    /// Opens a stored file with the given schema: its footer and page indexes, no column yet.
    pub fn open(path: &Path, schema: &SchemaRef) -> Result<StoredFile, LakeError> {
        let file = File::open(path).map_err(|e| LakeError::io(path, e))?;
        // The page indexes and the full page encoding statistics are copied with the chunks.
        let options = ArrowReaderOptions::new()
            .with_page_index_policy(PageIndexPolicy::Optional)
            .with_encoding_stats_as_mask(false);
        let reader =
            ArrowReaderMetadata::load(&file, options).map_err(|e| LakeError::parquet(path, e))?;
        let names = |s: &SchemaRef| {
            s.fields()
                .iter()
                .map(|f| f.name().clone())
                .collect::<Vec<_>>()
        };
        if names(reader.schema()) != names(schema) {
            return Err(LakeError::corrupt(
                path,
                format!("does not have the columns {}", names(schema).join(", ")),
            ));
        }
        let meta = reader.metadata().clone();
        Ok(StoredFile {
            rows: meta.file_metadata().num_rows() as usize,
            meta,
            schema: schema.clone(),
            columns: vec![None; schema.fields().len()],
            reader,
            path: path.to_path_buf(),
        })
    }

    /// Reads the given columns (by position) whole, those not read yet.
    pub fn load(&mut self, columns: &[usize]) -> Result<(), LakeError> {
        let wanted = self.unread(columns);
        if wanted.is_empty() {
            return Ok(());
        }
        let arrays = self.read(&wanted, None)?;
        for (c, a) in wanted.into_iter().zip(arrays) {
            self.columns[c] = Some(a);
        }
        Ok(())
    }

    /// Those of `columns` not read yet, ascending, each once.
    fn unread(&self, columns: &[usize]) -> Vec<usize> {
        let mut unread: Vec<usize> = columns
            .iter()
            .copied()
            .filter(|&c| self.columns[c].is_none())
            .collect();
        unread.sort_unstable();
        unread.dedup();
        unread
    }

    /// Column `c`, which [`StoredFile::load`] has read.
    pub fn column(&self, c: usize) -> &ArrayRef {
        self.columns[c]
            .as_ref()
            .expect("a stored file's column is loaded before it is used")
    }

    /// The values of the given columns at `rows` (ascending): only the pages holding them are
    /// decompressed, and only those rows are decoded. Columns already read are taken from them.
    pub fn values_at(&self, columns: &[usize], rows: &[usize]) -> Result<Vec<ArrayRef>, LakeError> {
        let unread = self.unread(columns);
        let read = self.read(&unread, Some(rows))?;
        let from_file: Vec<(usize, ArrayRef)> = unread.into_iter().zip(read).collect();
        let at = arrow_array::UInt64Array::from_iter_values(rows.iter().map(|&p| p as u64));
        columns
            .iter()
            .map(|&c| match &self.columns[c] {
                Some(a) => arrow_select::take::take(a, &at, None)
                    .map_err(|e| LakeError::corrupt(&self.path, e.to_string())),
                None => Ok(from_file
                    .iter()
                    .find(|(u, _)| *u == c)
                    .map(|(_, a)| a.clone())
                    .expect("every unread column was read")),
            })
            .collect()
    }

    /// The whole file as one batch: every column must have been read.
    pub fn batch(&self) -> RecordBatch {
        let columns = (0..self.columns.len())
            .map(|c| self.column(c).clone())
            .collect();
        RecordBatch::try_new(self.schema.clone(), columns)
            .expect("a stored file's columns match its schema")
    }

    /// Reads columns (ascending positions), of every row or of `rows` (ascending) only: one
    /// array per column.
    fn read(&self, columns: &[usize], rows: Option<&[usize]>) -> Result<Vec<ArrayRef>, LakeError> {
        let path = &self.path;
        if columns.is_empty() {
            return Ok(Vec::new());
        }
        let file = File::open(path).map_err(|e| LakeError::io(path, e))?;
        let mask =
            ProjectionMask::roots(self.meta.file_metadata().schema_descr(), columns.to_vec());
        let mut builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.reader.clone())
                .with_projection(mask)
                .with_batch_size(64 * 1024);
        if let Some(rows) = rows {
            let selection =
                RowSelection::from_consecutive_ranges(rows.iter().map(|&r| r..r + 1), self.rows);
            builder = builder
                .with_row_selection(selection)
                .with_row_selection_policy(RowSelectionPolicy::Selectors);
        }
        let batches = builder
            .build()
            .map_err(|e| LakeError::parquet(path, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| LakeError::corrupt(path, e.to_string()))?;
        (0..columns.len())
            .map(|j| {
                let arrays: Vec<&dyn arrow_array::Array> =
                    batches.iter().map(|b| b.column(j).as_ref()).collect();
                match arrays.as_slice() {
                    [] => Ok(arrow_array::new_empty_array(
                        self.schema.field(columns[j]).data_type(),
                    )),
                    [one] => Ok(arrow_array::make_array(one.to_data())),
                    _ => arrow_select::concat::concat(&arrays)
                        .map_err(|e| LakeError::corrupt(path, e.to_string())),
                }
            })
            .collect()
    }
}

/// Reads a whole stored file, with its metadata.
pub fn read_stored(path: &Path, schema: &SchemaRef) -> Result<StoredFile, LakeError> {
    let mut file = StoredFile::open(path, schema)?;
    let all: Vec<usize> = (0..schema.fields().len()).collect();
    file.load(&all)?;
    Ok(file)
}

/// A file's batches as one batch of `schema` (columns by position).
fn one_batch(
    path: &Path,
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<RecordBatch, LakeError> {
    let normalised: Vec<RecordBatch> = batches
        .into_iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| LakeError::corrupt(path, format!("does not match the table schema: {e}")))?;
    concat_batches(schema, &normalised).map_err(|e| LakeError::corrupt(path, e.to_string()))
}

/// Where putting `new` (one value per row of `rows`, ascending) in place of a column's `old`
/// values at `rows` changes it: the first of `rows` in each row group of `group_rows` rows
/// where a value differs (empty: the column stays as it is). This is what [`Patch::changed`]
/// takes for the column.
pub fn changed_groups(
    old: &dyn arrow_array::Array,
    rows: &[usize],
    new: &dyn arrow_array::Array,
    group_rows: usize,
) -> Result<Vec<usize>, arrow_schema::ArrowError> {
    let at = arrow_array::UInt64Array::from_iter_values(rows.iter().map(|&p| p as u64));
    let before = arrow_select::take::take(old, &at, None)?;
    Ok(changed_groups_at(
        before.as_ref(),
        rows,
        new,
        old.len(),
        group_rows,
    ))
}

/// [`changed_groups`] from the old values at `rows` (`before`) of a column of `len` rows.
pub fn changed_groups_at(
    before: &dyn arrow_array::Array,
    rows: &[usize],
    new: &dyn arrow_array::Array,
    len: usize,
    group_rows: usize,
) -> Vec<usize> {
    (0..len.div_ceil(group_rows))
        .map(|g| {
            rows.partition_point(|&p| p < g * group_rows)
                ..rows.partition_point(|&p| p < (g + 1) * group_rows)
        })
        .filter(|g| {
            !g.is_empty()
                && before.slice(g.start, g.len()).to_data() != new.slice(g.start, g.len()).to_data()
        })
        .map(|g| rows[g.start])
        .collect()
}

/// The row groups of `rows` rows at `group_rows` rows each: `(first row, rows)` each.
fn row_groups(rows: usize, group_rows: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..rows.div_ceil(group_rows))
        .map(move |g| (g * group_rows, group_rows.min(rows - g * group_rows)))
}

/// Whether `stored` was written by this parquet writer with the footer entries `kv` (which name
/// how its columns were encoded), in row groups of `group_rows`: then its column chunks are
/// byte-identical to the ones the same writer makes of the same values, and can be copied.
pub fn same_layout(stored: &StoredFile, group_rows: usize, kv: &[(&str, &str)]) -> bool {
    let meta = stored.meta.file_metadata();
    let value = |k: &str| {
        meta.key_value_metadata()
            .and_then(|kvs| kvs.iter().find(|e| e.key == k))
            .and_then(|e| e.value.as_deref())
    };
    let groups: Vec<(usize, usize)> = row_groups(stored.rows, group_rows).collect();
    let writer = WriterProperties::default();
    meta.created_by() == Some(writer.created_by())
        && kv.iter().all(|(k, v)| value(k) == Some(v))
        && stored.meta.num_row_groups() == groups.len()
        && stored
            .meta
            .row_groups()
            .iter()
            .zip(&groups)
            .all(|(rg, &(_, n))| rg.num_rows() as usize == n)
}

/// Whether `stored` was written by this build's lake writer with this build's layout: then
/// [`write_patched`] may copy its column chunks.
pub fn patchable(stored: &StoredFile, table: &str) -> bool {
    let layout = layout();
    same_layout(
        stored,
        ROW_GROUP_ROWS,
        &[(LAYOUT_KEY, layout.as_str()), ("payrecon.table", table)],
    )
}

/// Writes the rows of `stored` with some columns replaced, to `path`: `columns[c]` is `None`
/// where column `c` keeps its stored values, else its new values (all rows), re-encoded only in
/// the row groups where they differ from the stored ones (`changed[c]`: rows that differ,
/// ascending; one per row group is enough). Every other column chunk is copied from the stored
/// file as it is. The file is byte-identical to [`write_batches`] of the same rows; `stored`
/// must be [`patchable`].
pub fn write_patched(
    path: &Path,
    stored_path: &Path,
    table: &str,
    stored: &StoredFile,
    columns: &[Option<ArrayRef>],
    changed: &[Vec<usize>],
) -> Result<(), LakeError> {
    let schema = stored.schema.clone();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| LakeError::io(parent, e))?;
    }
    let pq = |e| LakeError::parquet(path, e);
    let source = File::open(stored_path).map_err(|e| LakeError::io(stored_path, e))?;
    let file = File::create(path).map_err(|e| LakeError::io(path, e))?;
    let writer =
        ArrowWriter::try_new(file, schema.clone(), Some(properties(table, &schema))).map_err(pq)?;
    let (mut writer, factory) = writer.into_serialized_writer().map_err(pq)?;
    let patch = Patch {
        stored,
        source: &source,
        columns,
        changed,
    };
    patch
        .write_groups(&mut writer, &factory, ROW_GROUP_ROWS)
        .map_err(pq)?;
    let file = writer.into_inner().map_err(pq)?;
    crate::durable::start_writeback(&file);
    Ok(())
}

/// A stored file's rows with some columns replaced (see [`write_patched`]).
pub struct Patch<'a> {
    pub stored: &'a StoredFile,
    /// The stored file, open for reading its column chunks.
    pub source: &'a File,
    pub columns: &'a [Option<ArrayRef>],
    pub changed: &'a [Vec<usize>],
}

impl Patch<'_> {
    /// Writes every row group: each column chunk copied from the stored file, or encoded from
    /// its new values where they differ in that row group.
    pub fn write_groups<W: std::io::Write + Send>(
        &self,
        writer: &mut SerializedFileWriter<W>,
        factory: &ArrowRowGroupWriterFactory,
        group_rows: usize,
    ) -> Result<(), ParquetError> {
        let schema = &self.stored.schema;
        let meta = &self.stored.meta;
        for (g, (start, rows)) in row_groups(self.stored.rows, group_rows).enumerate() {
            let mut encoders = factory.create_column_writers(g)?.into_iter();
            let stored_group = meta.row_group(g);
            let page_index = meta.page_index_for_row_group(g);
            let mut group = writer.next_row_group()?;
            for (c, field) in schema.fields().iter().enumerate() {
                let mut encoder = encoders.next().expect("a writer per column");
                let changed = &self.changed[c];
                let differs = changed
                    .get(changed.partition_point(|&r| r < start))
                    .is_some_and(|&r| r < start + rows);
                match &self.columns[c] {
                    Some(values) if differs => {
                        for leaf in compute_leaves(field, &canonical(&values.slice(start, rows)))? {
                            encoder.write(&leaf)?;
                        }
                        encoder.close()?.append_to_row_group(&mut group)?;
                    }
                    _ => {
                        let chunk = stored_group.column(c);
                        let mut metadata = chunk.clone();
                        if let Some(stats) = chunk.statistics() {
                            let signed = chunk.column_descr().sort_order().is_signed();
                            metadata = metadata
                                .into_builder()
                                .set_statistics(as_written(stats.clone(), signed))
                                .build()?;
                        }
                        let close = ColumnCloseResult {
                            bytes_written: chunk.compressed_size() as u64,
                            rows_written: rows as u64,
                            metadata,
                            bloom_filter: None,
                            column_index: page_index.column_index(c).cloned(),
                            offset_index: page_index.offset_index(c).cloned(),
                        };
                        group.append_column(self.source, close)?;
                    }
                }
            }
            group.close()?;
        }
        Ok(())
    }
}

/// Chunk statistics as the writer made them. Reading a file does not tell whether its min and
/// max were also written in the deprecated fields, which the writer does for signed sort orders.
fn as_written(stats: Statistics, signed: bool) -> Statistics {
    match stats {
        Statistics::Boolean(s) => Statistics::Boolean(s.with_backwards_compatible_min_max(signed)),
        Statistics::Int32(s) => Statistics::Int32(s.with_backwards_compatible_min_max(signed)),
        Statistics::Int64(s) => Statistics::Int64(s.with_backwards_compatible_min_max(signed)),
        Statistics::Int96(s) => Statistics::Int96(s.with_backwards_compatible_min_max(signed)),
        Statistics::Float(s) => Statistics::Float(s.with_backwards_compatible_min_max(signed)),
        Statistics::Double(s) => Statistics::Double(s.with_backwards_compatible_min_max(signed)),
        Statistics::ByteArray(s) => {
            Statistics::ByteArray(s.with_backwards_compatible_min_max(signed))
        }
        Statistics::FixedLenByteArray(s) => {
            Statistics::FixedLenByteArray(s.with_backwards_compatible_min_max(signed))
        }
    }
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
    one_batch(path, schema, read_batches(path, None)?)
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::Decimal128Type;
    use arrow_array::{
        Date32Array, FixedSizeBinaryArray, Int64Array, PrimitiveArray, StringArray,
        TimestampMicrosecondArray,
    };
    use arrow_schema::{DataType, Field, Schema, TimeUnit};

    /// Rows of every lake column type; `status` and `file_seq` are dictionary-encoded, `row_hash`
    /// stored plain. `status` and `amount` may differ by row.
    fn batch(
        rows: usize,
        status: impl Fn(usize) -> Option<String>,
        amount: impl Fn(usize) -> Option<i128>,
    ) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("status", DataType::Utf8, true),
            Field::new("amount", DataType::Decimal128(18, 2), true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("day", DataType::Date32, false),
            Field::new("file_seq", DataType::Int64, false),
            Field::new("row_hash", DataType::FixedSizeBinary(16), false),
        ]));
        let ids = StringArray::from_iter_values((0..rows).map(|i| format!("P01-{i:07}")));
        let status = StringArray::from_iter((0..rows).map(status));
        let amount = PrimitiveArray::<Decimal128Type>::from_iter((0..rows).map(amount))
            .with_precision_and_scale(18, 2)
            .unwrap();
        let at = TimestampMicrosecondArray::from_iter_values((0..rows).map(|i| i as i64 * 1_000))
            .with_timezone("UTC");
        let day = Date32Array::from_iter_values((0..rows).map(|i| 20_000 + (i % 3) as i32));
        let seq = Int64Array::from_iter_values((0..rows).map(|i| (i % 5) as i64));
        let hash = FixedSizeBinaryArray::try_from_iter(
            (0..rows).map(|i| xxhash_rust::xxh3::xxh3_128(&i.to_le_bytes()).to_le_bytes()),
        )
        .unwrap();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(ids),
            Arc::new(status),
            Arc::new(amount),
            Arc::new(at),
            Arc::new(day),
            Arc::new(seq),
            Arc::new(hash),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }

    /// A patched file has the bytes of a fresh write of the same rows, whichever row groups
    /// and columns change (one row group and three here).
    /// The same values give the same bytes whether their arrays carry a null buffer without a
    /// null (as arrays read back from a file do) or none (as arrays built afresh may): with the
    /// buffer, the writer would cut pages at other rows (20,480 rather than 20,000).
    #[test]
    fn a_null_buffer_without_nulls_does_not_change_the_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let rows = ROW_GROUP_ROWS + 50_001;
        let status = |i: usize| Some(format!("status of row {i} padded out to a longer string"));
        let plain = batch(rows, status, |i| Some(i as i128));
        // As an interleave or a parquet reader makes them: a null buffer marking all valid.
        let valid = || Some(arrow_buffer::NullBuffer::new_valid(rows));
        let mut with_nulls: Vec<ArrayRef> = plain.columns().to_vec();
        use arrow_array::cast::AsArray;
        let status = plain.column(1).as_string::<i32>();
        with_nulls[1] = Arc::new(StringArray::new(
            status.offsets().clone(),
            status.values().clone(),
            valid(),
        ));
        let amount = plain.column(2).as_primitive::<Decimal128Type>();
        with_nulls[2] = Arc::new(
            PrimitiveArray::<Decimal128Type>::new(amount.values().clone(), valid())
                .with_data_type(plain.column(2).data_type().clone()),
        );
        let with_nulls = RecordBatch::try_new(plain.schema(), with_nulls).unwrap();
        assert!(with_nulls.column(1).nulls().is_some() && with_nulls.column(2).nulls().is_some());
        let (a, b) = (tmp.path().join("a.parquet"), tmp.path().join("b.parquet"));
        write_batches(&a, "t", plain.schema(), std::slice::from_ref(&plain)).unwrap();
        write_batches(&b, "t", plain.schema(), std::slice::from_ref(&with_nulls)).unwrap();
        assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap());
        assert_eq!(read_file(&b, &plain.schema()).unwrap(), plain);
    }

    /// A stored file read column by column, or at some rows only, gives the values a whole
    /// read does (rows across pages and row groups, first and last included).
    #[test]
    fn stored_columns_read_lazily_equal_a_whole_read() {
        let tmp = tempfile::tempdir().unwrap();
        let rows = 2 * ROW_GROUP_ROWS + 77;
        let status = |i: usize| Some(["Open", "Captured", "Declined"][i % 3].to_string());
        let old = batch(rows, status, |i| {
            (!i.is_multiple_of(7)).then_some(i as i128)
        });
        let path = tmp.path().join("stored.parquet");
        write_batches(&path, "t", old.schema(), std::slice::from_ref(&old)).unwrap();
        let mut file = StoredFile::open(&path, &old.schema()).unwrap();
        assert_eq!(file.rows, rows);
        file.load(&[2, 5]).unwrap();
        let at: Vec<usize> = vec![0, 1, 2, 999, ROW_GROUP_ROWS, ROW_GROUP_ROWS + 5, rows - 1];
        let all: Vec<usize> = (0..old.num_columns()).collect();
        let values = file.values_at(&all, &at).unwrap();
        let idx = arrow_array::UInt64Array::from_iter_values(at.iter().map(|&p| p as u64));
        for c in all.iter().copied() {
            let want = arrow_select::take::take(old.column(c), &idx, None).unwrap();
            assert_eq!(values[c].to_data(), want.to_data(), "column {c}");
        }
        file.load(&all).unwrap();
        assert_eq!(file.batch(), old);
    }

    #[test]
    fn a_patched_file_equals_a_fresh_write() {
        let tmp = tempfile::tempdir().unwrap();
        for rows in [1000, 2 * ROW_GROUP_ROWS + 77] {
            let status = |i: usize| ["Open", "Captured", ""][i % 3].to_string();
            let status = move |i: usize| Some(status(i)).filter(|s| !s.is_empty());
            let amount = |i: usize| (!i.is_multiple_of(7)).then_some(i as i128 * 7);
            let old = batch(rows, status, amount);
            let stored_path = tmp.path().join("stored.parquet");
            write_batches(&stored_path, "t", old.schema(), std::slice::from_ref(&old)).unwrap();
            let stored = read_stored(&stored_path, &old.schema()).unwrap();
            assert_eq!(stored.batch(), old);
            assert!(patchable(&stored, "t"));
            assert!(!patchable(&stored, "other"));
            // Row 5 changes status, the last row its amount (in the last row group).
            let last = rows - 1;
            let new = batch(
                rows,
                |i| {
                    if i == 5 {
                        Some("Refunded".into())
                    } else {
                        status(i)
                    }
                },
                |i| if i == last { Some(-1) } else { amount(i) },
            );
            let mut columns: Vec<Option<ArrayRef>> = vec![None; 7];
            let mut changed = vec![vec![]; 7];
            for (c, row) in [(1, 5), (2, last)] {
                columns[c] = Some(new.column(c).clone());
                changed[c] = vec![row];
            }
            let patched = tmp.path().join("patched.parquet");
            write_patched(&patched, &stored_path, "t", &stored, &columns, &changed).unwrap();
            let fresh = tmp.path().join("fresh.parquet");
            write_batches(&fresh, "t", new.schema(), std::slice::from_ref(&new)).unwrap();
            let (a, b) = (
                std::fs::read(&patched).unwrap(),
                std::fs::read(&fresh).unwrap(),
            );
            let first_difference = a.iter().zip(&b).position(|(x, y)| x != y);
            assert!(
                a == b,
                "{rows} rows: {} against {} bytes, first difference at {first_difference:?}",
                a.len(),
                b.len()
            );
            assert_eq!(read_file(&patched, &new.schema()).unwrap(), new);
        }
    }
}
