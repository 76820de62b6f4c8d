//! Typed column access for the Rust transforms: parallel projected reads of a table's files and
//! checked downcasts of their Arrow columns, with errors that name the file.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Decimal128Type, TimestampMicrosecondType};
use arrow_array::{Array, PrimitiveArray, RecordBatch, StringArray};
use rayon::prelude::*;

use super::parquet_io::read_batches;
use super::{Lake, LakeError};
use crate::model::money::Currency;
use crate::model::schema::TableDef;

/// One batch of a table with the file it came from.
pub type Batch = (PathBuf, RecordBatch);

/// The named columns of every file of `table`, read in parallel (one rayon task per file),
/// in file order.
pub fn read_table(
    lake: &Lake,
    table: &TableDef,
    columns: &[&str],
) -> Result<Vec<Batch>, LakeError> {
    let files = lake.table_files(table)?;
    read_files(&files, columns)
}

/// The named columns of `files`, read in parallel, in file order.
pub fn read_files(files: &[PathBuf], columns: &[&str]) -> Result<Vec<Batch>, LakeError> {
    let per_file: Vec<Vec<Batch>> = files
        .par_iter()
        .map(|p| {
            read_batches(p, Some(columns))
                .map(|bs| bs.into_iter().map(|b| (p.clone(), b)).collect())
        })
        .collect::<Result<_, _>>()?;
    Ok(per_file.into_iter().flatten().collect())
}

/// A text column.
pub fn text<'a>(path: &Path, b: &'a RecordBatch, name: &str) -> Result<&'a StringArray, LakeError> {
    b.column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| LakeError::corrupt(path, format!("column {name} is missing or not text")))
}

/// A money column (`DECIMAL(18,2)`; values are lake units, hundredths of the major unit).
pub fn money<'a>(
    path: &Path,
    b: &'a RecordBatch,
    name: &str,
) -> Result<&'a PrimitiveArray<Decimal128Type>, LakeError> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<Decimal128Type>())
        .ok_or_else(|| {
            LakeError::corrupt(path, format!("column {name} is missing or not a decimal"))
        })
}

/// A timestamp column (µs, UTC).
pub fn timestamp<'a>(
    path: &Path,
    b: &'a RecordBatch,
    name: &str,
) -> Result<&'a PrimitiveArray<TimestampMicrosecondType>, LakeError> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
        .ok_or_else(|| {
            LakeError::corrupt(path, format!("column {name} is missing or not a timestamp"))
        })
}

/// A date column (days since the epoch).
pub fn date<'a>(
    path: &Path,
    b: &'a RecordBatch,
    name: &str,
) -> Result<&'a PrimitiveArray<Date32Type>, LakeError> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<Date32Type>())
        .ok_or_else(|| LakeError::corrupt(path, format!("column {name} is missing or not a date")))
}

/// An integer column.
pub fn int<'a>(
    path: &Path,
    b: &'a RecordBatch,
    name: &str,
) -> Result<&'a PrimitiveArray<arrow_array::types::Int64Type>, LakeError> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<arrow_array::types::Int64Type>())
        .ok_or_else(|| {
            LakeError::corrupt(path, format!("column {name} is missing or not an integer"))
        })
}

/// The value at `i`, `None` when null or empty.
pub fn opt(a: &StringArray, i: usize) -> Option<&str> {
    (a.is_valid(i) && !a.value(i).is_empty()).then(|| a.value(i))
}

/// A nullable primitive value.
pub fn opt_value<T: arrow_array::ArrowPrimitiveType>(
    a: &PrimitiveArray<T>,
    i: usize,
) -> Option<T::Native> {
    a.is_valid(i).then(|| a.value(i))
}

/// A currency code read from `path` (the lake holds only supported ones).
pub fn currency(path: &Path, code: &str) -> Result<Currency, LakeError> {
    code.parse()
        .map_err(|_| LakeError::corrupt(path, format!("unknown currency {code:?}")))
}

/// The files of `table` that hold rows loaded after `mark` (their `file_seq` statistics say
/// so), read whole with the named columns and `file_seq`. Also returns the greatest `file_seq`
/// of the table (at least `mark`).
pub fn read_changed_files(
    lake: &Lake,
    table: &TableDef,
    columns: &[&str],
    mark: i64,
) -> Result<(Vec<Batch>, i64), LakeError> {
    let files = lake.table_files(table)?;
    let maxima: Vec<Option<i64>> = files
        .par_iter()
        .map(|p| super::parquet_io::int_column_max(p, "file_seq"))
        .collect::<Result<_, _>>()?;
    let mut newest = maxima.iter().flatten().copied().fold(mark, i64::max);
    let changed: Vec<PathBuf> = files
        .into_iter()
        .zip(&maxima)
        .filter(|(_, m)| m.is_none_or(|m| m > mark))
        .map(|(p, _)| p)
        .collect();
    let mut wanted: Vec<&str> = columns.to_vec();
    if !wanted.contains(&"file_seq") {
        wanted.push("file_seq");
    }
    let batches = read_files(&changed, &wanted)?;
    for (p, b) in &batches {
        newest = int(p, b, "file_seq")?
            .iter()
            .flatten()
            .fold(newest, i64::max);
    }
    Ok((batches, newest))
}

/// The rows of `batches` loaded after `mark` (their `file_seq` is greater).
pub fn rows_since(batches: &[Batch], mark: i64) -> Result<Vec<Batch>, LakeError> {
    let mut out = Vec::with_capacity(batches.len());
    for (p, b) in batches {
        let seq = int(p, b, "file_seq")?;
        let mask: arrow_array::BooleanArray =
            seq.iter().map(|s| Some(s.unwrap_or(0) > mark)).collect();
        if mask.true_count() == 0 {
            continue;
        }
        let b = arrow_select::filter::filter_record_batch(b, &mask)
            .map_err(|e| LakeError::corrupt(p, e.to_string()))?;
        out.push((p.clone(), b));
    }
    Ok(out)
}
