//! A columnar row builder for any lake table, driven by its [`TableDef`].
//!
//! Parsers push one typed value per data column, in schema order, then call
//! [`RowBuilder::finish_row`] with the row's provenance. The builder hashes the data columns as
//! it goes (the row hash that identifies exact duplicates) and remembers each row's partition.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, Date32Builder, Decimal128Builder, FixedSizeBinaryBuilder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use xxhash_rust::xxh3::xxh3_128;

use crate::model::money::{LAKE_PRECISION, LAKE_SCALE};
use crate::model::schema::{ColType, Partitioning, TableDef};

/// Microseconds per day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

enum Col {
    Str(StringBuilder),
    Money(Decimal128Builder),
    Ts(TimestampMicrosecondBuilder),
    Date(Date32Builder),
    Int(Int64Builder),
    Hash(FixedSizeBinaryBuilder),
}

impl Col {
    fn new(ty: ColType, cap: usize) -> Col {
        match ty {
            ColType::Str => Col::Str(StringBuilder::with_capacity(cap, cap * 16)),
            ColType::Money => Col::Money(
                Decimal128Builder::with_capacity(cap)
                    .with_precision_and_scale(LAKE_PRECISION, LAKE_SCALE as i8)
                    .expect("valid decimal type"),
            ),
            ColType::Timestamp => {
                Col::Ts(TimestampMicrosecondBuilder::with_capacity(cap).with_timezone("UTC"))
            }
            ColType::Date => Col::Date(Date32Builder::with_capacity(cap)),
            ColType::Int => Col::Int(Int64Builder::with_capacity(cap)),
            ColType::Hash => Col::Hash(FixedSizeBinaryBuilder::with_capacity(cap, 16)),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::Str(b) => Arc::new(b.finish()),
            Col::Money(b) => Arc::new(b.finish()),
            Col::Ts(b) => Arc::new(b.finish()),
            Col::Date(b) => Arc::new(b.finish()),
            Col::Int(b) => Arc::new(b.finish()),
            Col::Hash(b) => Arc::new(b.finish()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Col::Str(b) => b.len(),
            Col::Money(b) => b.len(),
            Col::Ts(b) => b.len(),
            Col::Date(b) => b.len(),
            Col::Int(b) => b.len(),
            Col::Hash(b) => b.len(),
        }
    }
}

/// A typed value for one column of a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Str(Option<&'a str>),
    /// Unscaled `DECIMAL(18,2)`.
    Money(Option<i128>),
    /// Microseconds since the epoch, UTC.
    Ts(Option<i64>),
    /// Days since the epoch.
    Date(Option<i32>),
    Int(Option<i64>),
}

/// Builds record batches of one table, row by row.
pub struct RowBuilder {
    table: &'static TableDef,
    cols: Vec<Col>,
    next_col: usize,
    /// The row's canonical bytes, hashed once when the row is finished.
    canon: Vec<u8>,
    part_col: Option<usize>,
    /// Partition day (days since epoch) of each finished row; 0 for unpartitioned tables.
    days: Vec<i32>,
    pending_day: i32,
}

impl RowBuilder {
    pub fn new(table: &'static TableDef, capacity: usize) -> Self {
        let cols = table
            .all_columns()
            .map(|c| Col::new(c.ty, capacity))
            .collect();
        let part_col = match table.partitioning {
            Partitioning::Day(c) => Some(table.index_of(c)),
            _ => None,
        };
        RowBuilder {
            table,
            cols,
            next_col: 0,
            canon: Vec::with_capacity(256),
            part_col,
            days: Vec::with_capacity(capacity),
            pending_day: 0,
        }
    }

    pub fn table(&self) -> &'static TableDef {
        self.table
    }

    /// Rows finished so far.
    pub fn len(&self) -> usize {
        self.days.len()
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// Pushes the next data column's value.
    pub fn push(&mut self, value: Value<'_>) {
        let i = self.next_col;
        debug_assert!(
            i < self.table.columns.len(),
            "too many values for {}",
            self.table.name
        );
        if self.part_col == Some(i) {
            self.pending_day = match value {
                Value::Ts(Some(us)) => us.div_euclid(MICROS_PER_DAY) as i32,
                Value::Date(Some(d)) => d,
                _ => 0,
            };
        }
        self.hash_value(i as u8, &value);
        push_value(&mut self.cols[i], value);
        self.next_col += 1;
    }

    fn hash_value(&mut self, col: u8, value: &Value<'_>) {
        let c = &mut self.canon;
        c.push(col);
        match value {
            Value::Str(Some(s)) => {
                c.push(1);
                c.extend_from_slice(&(s.len() as u32).to_le_bytes());
                c.extend_from_slice(s.as_bytes());
            }
            Value::Money(Some(v)) => {
                c.push(1);
                c.extend_from_slice(&v.to_le_bytes());
            }
            Value::Ts(Some(v)) | Value::Int(Some(v)) => {
                c.push(1);
                c.extend_from_slice(&v.to_le_bytes());
            }
            Value::Date(Some(v)) => {
                c.push(1);
                c.extend_from_slice(&v.to_le_bytes());
            }
            _ => c.push(0),
        }
    }

    /// Completes the row: appends provenance (for entity tables) and returns its row hash.
    pub fn finish_row(&mut self, source_file: &str, source_line: u64, file_seq: i64) -> u128 {
        assert_eq!(
            self.next_col,
            self.table.columns.len(),
            "row of {} is missing values",
            self.table.name
        );
        let hash = xxh3_128(&self.canon);
        self.canon.clear();
        if self.table.provenance {
            let n = self.table.columns.len();
            push_value(&mut self.cols[n], Value::Str(Some(source_file)));
            push_value(&mut self.cols[n + 1], Value::Int(Some(source_line as i64)));
            push_value(&mut self.cols[n + 2], Value::Int(Some(file_seq)));
            match &mut self.cols[n + 3] {
                Col::Hash(b) => b.append_value(hash.to_le_bytes()).expect("16 bytes"),
                _ => unreachable!("row_hash is a hash column"),
            }
        }
        self.days.push(self.pending_day);
        self.pending_day = 0;
        self.next_col = 0;
        hash
    }

    /// Finishes the batch, returning it with each row's partition day, and resets the builder.
    pub fn take_batch(&mut self) -> (RecordBatch, Vec<i32>) {
        debug_assert!(self.cols.iter().all(|c| c.len() == self.days.len()));
        let arrays: Vec<ArrayRef> = self.cols.iter_mut().map(Col::finish).collect();
        let batch = RecordBatch::try_new(self.table.arrow_schema(), arrays)
            .expect("builder matches schema");
        (batch, std::mem::take(&mut self.days))
    }
}

fn push_value(col: &mut Col, value: Value<'_>) {
    match (col, value) {
        (Col::Str(b), Value::Str(v)) => b.append_option(v),
        (Col::Money(b), Value::Money(v)) => b.append_option(v),
        (Col::Ts(b), Value::Ts(v)) => b.append_option(v),
        (Col::Date(b), Value::Date(v)) => b.append_option(v),
        (Col::Int(b), Value::Int(v)) => b.append_option(v),
        (_, v) => panic!("value {v:?} does not fit the column type"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schema::DEPOSITS;

    fn deposit(b: &mut RowBuilder, id: &str, amount: i128, line: u64) -> u128 {
        b.push(Value::Str(Some(id)));
        b.push(Value::Date(Some(20_000)));
        b.push(Value::Money(Some(amount)));
        b.push(Value::Str(Some("USD")));
        for _ in 0..3 {
            b.push(Value::Str(None));
        }
        b.finish_row("bank.csv", line, 1)
    }

    #[test]
    fn hash_ignores_provenance_but_not_data() {
        let mut b = RowBuilder::new(&DEPOSITS, 4);
        let h1 = deposit(&mut b, "T1", 100, 2);
        let h2 = deposit(&mut b, "T1", 100, 3);
        let h3 = deposit(&mut b, "T1", 101, 4);
        assert_eq!(h1, h2);
        assert_ne!(h1, h3);
        let (batch, days) = b.take_batch();
        assert_eq!(batch.num_rows(), 3);
        assert_eq!(days, vec![20_000; 3]);
        assert!(b.is_empty());
    }

    #[test]
    fn null_and_empty_string_hash_differently() {
        let mut b = RowBuilder::new(&DEPOSITS, 2);
        b.push(Value::Str(Some("T")));
        b.push(Value::Date(Some(1)));
        b.push(Value::Money(Some(1)));
        b.push(Value::Str(Some("USD")));
        b.push(Value::Str(None));
        b.push(Value::Str(None));
        b.push(Value::Str(None));
        let a = b.finish_row("f", 1, 1);
        b.push(Value::Str(Some("T")));
        b.push(Value::Date(Some(1)));
        b.push(Value::Money(Some(1)));
        b.push(Value::Str(Some("USD")));
        b.push(Value::Str(Some("")));
        b.push(Value::Str(None));
        b.push(Value::Str(None));
        let c = b.finish_row("f", 2, 1);
        assert_ne!(a, c);
    }
}
