//! Rendering lake rows as text (for tests, debugging and small listings).

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Decimal128Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};

use super::{Lake, LakeError, parquet_io};
use crate::model::money::format_lake;
use crate::model::schema::{ColType, TableDef};
use crate::model::time::{format_timestamp, from_epoch_days, from_micros};

/// One row as `(column, value)` pairs; `None` is SQL NULL.
pub type TextRow = Vec<(&'static str, Option<String>)>;

/// Renders one value of a batch column.
pub fn cell(batch: &RecordBatch, col: usize, ty: ColType, row: usize) -> Option<String> {
    let a = batch.column(col);
    if a.is_null(row) {
        return None;
    }
    Some(match ty {
        ColType::Str => a.as_string::<i32>().value(row).to_string(),
        ColType::Money => format_lake(a.as_primitive::<Decimal128Type>().value(row)),
        ColType::Timestamp => format_timestamp(from_micros(
            a.as_primitive::<TimestampMicrosecondType>().value(row),
        )),
        ColType::Date => from_epoch_days(a.as_primitive::<Date32Type>().value(row)).to_string(),
        ColType::Int => a.as_primitive::<Int64Type>().value(row).to_string(),
        ColType::Hash => a
            .as_fixed_size_binary()
            .value(row)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    })
}

impl Lake {
    /// Every row of a table, in file order (partitions by day, rows as stored).
    pub fn table_rows(&self, table: &'static TableDef) -> Result<Vec<TextRow>, LakeError> {
        let cols: Vec<_> = table.all_columns().collect();
        let mut out = Vec::new();
        for path in self.table_files(table)? {
            for batch in parquet_io::read_batches(&path, None)? {
                for r in 0..batch.num_rows() {
                    out.push(
                        cols.iter()
                            .enumerate()
                            .map(|(i, c)| (c.name, cell(&batch, i, c.ty, r)))
                            .collect(),
                    );
                }
            }
        }
        Ok(out)
    }
}
