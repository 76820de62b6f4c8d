//! One results file's rows kept as the Arrow arrays it was read into, for a night's rewrite.
//!
//! A night rewrites a results file when one of its items was reconciled again: the rows of the
//! other items stay as they are. Decoding every row of the file into a [`ResultRow`] and
//! encoding it back took most of a night's results step, for a few hundred changed rows in
//! tens of thousands. Here the old rows stay Arrow arrays: a mask drops the items reconciled
//! again, the recomputed rows (as arrays) are interleaved at their places in the file's order,
//! and the digest is computed from the arrays with the same bytes [`super::digest`] hashes for
//! rows, so the file and its digest equal those a full run writes.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray,
    UInt32Array,
};
use rayon::prelude::*;

use super::digest::{DIGEST_CHUNK, combine_digest};
use super::parquet::{
    RESULT_ROW_GROUP, results_arrays, results_layout, results_schema, results_writer,
};
use crate::durable::{Staged, stage_with};
use crate::reconcile::{ItemType, ReconcileError, ResultRow, Status};
use crate::state::codec::{put_opt, put_text};

fn corrupt(path: &Path, m: impl Into<String>) -> ReconcileError {
    ReconcileError::Lake(crate::lake::LakeError::corrupt(path, m.into()))
}

/// The typed columns of a batch of results rows, item types and statuses parsed once.
struct Columns<'a> {
    layer: &'a UInt32Array,
    item_types: Vec<ItemType>,
    item_id: &'a StringArray,
    statuses: Vec<Status>,
    currency: &'a StringArray,
    expected: &'a Decimal128Array,
    actual: &'a Decimal128Array,
    date: &'a Date32Array,
    counterparts: &'a StringArray,
    source_file: &'a StringArray,
    source_line: &'a Int64Array,
}

/// Where a row goes in the order of [`crate::reconcile::row_order`] (counterparts compare by their text,
/// `""` for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key<'a> {
    layer: u8,
    item_type: ItemType,
    id: &'a str,
    status: Status,
    counterparts: &'a str,
    source_line: Option<i64>,
}

fn item_type_of(t: &str) -> Option<ItemType> {
    ItemType::ALL.iter().copied().find(|x| x.as_str() == t)
}

fn status_of(s: &str) -> Option<Status> {
    Status::ALL.iter().copied().find(|x| x.as_str() == s)
}

impl<'a> Columns<'a> {
    /// The columns of `b`, which must have [`results_schema`]'s fields.
    fn new(path: &Path, b: &'a RecordBatch) -> Result<Self, ReconcileError> {
        check_schema(path, b)?;
        let c = |i: usize| b.column(i);
        Ok(Columns {
            layer: c(0).as_primitive(),
            item_types: parse(path, c(1).as_string(), "item type", item_type_of)?,
            item_id: c(2).as_string(),
            statuses: parse(path, c(3).as_string(), "status", status_of)?,
            currency: c(5).as_string(),
            expected: c(6).as_primitive(),
            actual: c(7).as_primitive(),
            date: c(9).as_primitive(),
            counterparts: c(10).as_string(),
            source_file: c(11).as_string(),
            source_line: c(12).as_primitive(),
        })
    }

    fn opt_text(a: &'a StringArray, i: usize) -> Option<&'a str> {
        a.is_valid(i).then(|| a.value(i))
    }

    fn key(&self, i: usize) -> Key<'_> {
        Key {
            layer: self.layer.value(i) as u8,
            item_type: self.item_types[i],
            id: self.item_id.value(i),
            status: self.statuses[i],
            counterparts: Self::opt_text(self.counterparts, i).unwrap_or(""),
            source_line: self
                .source_line
                .is_valid(i)
                .then(|| self.source_line.value(i)),
        }
    }

    /// Appends row `i` as [`super::digest`]'s row encoding does for the row the file holds.
    fn encode(&self, i: usize, b: &mut Vec<u8>) {
        let money = |a: &Decimal128Array| a.is_valid(i).then(|| a.value(i) as i64);
        b.push(self.layer.value(i) as u8);
        b.push(self.item_types[i] as u8);
        put_text(b, self.item_id.value(i));
        b.push(self.statuses[i] as u8);
        put_text(b, self.currency.value(i));
        put_opt(b, money(self.expected));
        put_opt(b, money(self.actual));
        b.extend_from_slice(&self.date.value(i).to_le_bytes());
        for text in [self.counterparts, self.source_file] {
            match Self::opt_text(text, i) {
                Some(t) => {
                    b.push(1);
                    put_text(b, t);
                }
                None => b.push(0),
            }
        }
        put_opt(
            b,
            self.source_line
                .is_valid(i)
                .then(|| self.source_line.value(i)),
        );
    }
}

/// Whether `b` has [`results_schema`]'s columns.
fn check_schema(path: &Path, b: &RecordBatch) -> Result<(), ReconcileError> {
    let schema = results_schema();
    let same = b.num_columns() == schema.fields().len()
        && b.schema()
            .fields()
            .iter()
            .zip(schema.fields())
            .all(|(f, g)| f.name() == g.name() && f.data_type() == g.data_type());
    if same {
        Ok(())
    } else {
        Err(corrupt(path, "is not a results file of this version"))
    }
}

/// The values of a text column of a few distinct values (item types, statuses), parsed once
/// per run of equal texts.
fn parse<T: Copy>(
    path: &Path,
    a: &StringArray,
    what: &str,
    of: fn(&str) -> Option<T>,
) -> Result<Vec<T>, ReconcileError> {
    let mut out = Vec::with_capacity(a.len());
    let mut last: Option<(&str, T)> = None;
    for i in 0..a.len() {
        let t = if a.is_valid(i) { a.value(i) } else { "" };
        let v = match last {
            Some((l, v)) if l == t => v,
            _ => of(t).ok_or_else(|| corrupt(path, format!("unknown {what} {t:?}")))?,
        };
        last = Some((t, v));
        out.push(v);
    }
    Ok(out)
}

fn row_key(
    r: &ResultRow,
) -> (
    u8,
    ItemType,
    &str,
    Status,
    std::borrow::Cow<'_, str>,
    Option<i64>,
) {
    (
        r.layer,
        r.item_type,
        &r.item_id,
        r.status,
        r.counterparts.text(),
        r.source_line,
    )
}

/// The results file at `path`: its rows as one batch of [`results_schema`], with its metadata
/// (to patch it, see [`Rewritten`]).
pub(super) fn read_stored(
    path: &Path,
) -> Result<crate::lake::parquet_io::StoredFile, ReconcileError> {
    Ok(crate::lake::parquet_io::read_stored(
        path,
        &results_schema(),
    )?)
}

/// A file's rows `old` (in [`crate::reconcile::row_order`]; a file out of order is sorted first) less
/// those of the items `keep` (by layer, item type and id) says go, with `new` (in that order
/// too) at their places: equal rows keep the old one first, as [`super::merge_rows`] does.
/// The result is built in one pass over the columns (an interleave of the old and new arrays).
pub(super) fn rewrite(
    path: &Path,
    old: &RecordBatch,
    keep: &(dyn Fn(u8, ItemType, &str) -> bool + Sync),
    new: &[&ResultRow],
) -> Result<Rewritten, ReconcileError> {
    let schema = results_schema();
    let cols = Columns::new(path, old)?;
    let n = old.num_rows();
    let mut sorted = true;
    let mut prev: Option<Key> = None;
    for i in 0..n {
        let k = cols.key(i);
        sorted &= prev.is_none_or(|p| p <= k);
        prev = Some(k);
    }
    let mut order: Vec<usize> = (0..n)
        .filter(|&i| {
            keep(
                cols.layer.value(i) as u8,
                cols.item_types[i],
                cols.item_id.value(i),
            )
        })
        .collect();
    if !sorted {
        order.sort_by(|&a, &b| cols.key(a).cmp(&cols.key(b)));
    }
    let mut new: Vec<&ResultRow> = new.to_vec();
    if !new.is_sorted_by(|a, b| crate::reconcile::row_order(a, b).is_le()) {
        new.sort_by(|a, b| crate::reconcile::row_order(a, b));
    }
    if new.is_empty() && sorted && order.len() == n {
        return Ok(Rewritten {
            batch: old.clone(),
            replaced: Some(vec![]),
        });
    }
    // (which batch, which row) in the merged order: each new row after the old rows not
    // greater than it.
    let mut at: Vec<(usize, usize)> = Vec::with_capacity(order.len() + new.len());
    let mut o = 0;
    for (j, r) in new.iter().enumerate() {
        let (layer, item_type, id, status, counterparts, source_line) = row_key(r);
        let k = Key {
            layer,
            item_type,
            id,
            status,
            counterparts: &counterparts,
            source_line,
        };
        let p = o + order[o..].partition_point(|&i| cols.key(i) <= k);
        at.extend(order[o..p].iter().map(|&i| (0, i)));
        at.push((1, j));
        o = p;
    }
    at.extend(order[o..].iter().map(|&i| (0, i)));
    // Every old row that stays at its place: the new rows are replacements.
    let replaced = (at.len() == n && at.iter().enumerate().all(|(k, &(b, i))| b == 1 || i == k))
        .then(|| (0..n).filter(|&k| at[k].0 == 1).collect());
    let added = RecordBatch::try_new(schema.clone(), results_arrays(&new))
        .map_err(|e| corrupt(path, e.to_string()))?;
    let columns: Vec<ArrayRef> = (0..schema.fields().len())
        .into_par_iter()
        .map(|c| {
            arrow_select::interleave::interleave(
                &[old.column(c).as_ref(), added.column(c).as_ref()],
                &at,
            )
        })
        .collect::<Result<_, _>>()
        .map_err(|e| corrupt(path, e.to_string()))?;
    let batch = RecordBatch::try_new(schema, columns).map_err(|e| corrupt(path, e.to_string()))?;
    Ok(Rewritten { batch, replaced })
}

/// A results file's rows after [`rewrite`].
pub(super) struct Rewritten {
    pub batch: RecordBatch,
    /// When every old row that stays kept its place (the common night: a few items' rows
    /// recomputed, none added or dropped): the rows that were replaced, ascending.
    pub replaced: Option<Vec<usize>>,
}

/// For each column of `new` (the rows of `old` with those at `replaced` replaced): the first
/// replaced row of each row group of `group_rows` where its value changed (empty: the column is
/// the same).
pub(super) fn changed_columns(
    path: &Path,
    old: &RecordBatch,
    new: &RecordBatch,
    replaced: &[usize],
    group_rows: usize,
) -> Result<Vec<Vec<usize>>, ReconcileError> {
    let at = arrow_array::UInt64Array::from_iter_values(replaced.iter().map(|&p| p as u64));
    (0..old.num_columns())
        .map(|c| {
            let err = |e: arrow_schema::ArrowError| corrupt(path, e.to_string());
            let after = arrow_select::take::take(new.column(c), &at, None).map_err(err)?;
            crate::lake::parquet_io::changed_groups(
                old.column(c).as_ref(),
                replaced,
                after.as_ref(),
                group_rows,
            )
            .map_err(err)
        })
        .collect()
}

/// The digest of a batch's rows: equal to [`super::digest::rows_digest`] of the rows it holds.
pub(super) fn digest(path: &Path, batch: &RecordBatch) -> Result<String, ReconcileError> {
    let cols = Columns::new(path, batch)?;
    let n = batch.num_rows();
    let chunk = DIGEST_CHUNK;
    let parts: Vec<u128> = (0..n.div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let mut b = Vec::with_capacity(chunk * 96);
            for i in c * chunk..((c + 1) * chunk).min(n) {
                cols.encode(i, &mut b);
            }
            xxhash_rust::xxh3::xxh3_128(&b)
        })
        .collect();
    Ok(combine_digest(n, &parts))
}

/// Whether a results file's column chunks may be copied into a file this build writes.
pub(super) fn results_patchable(stored: &crate::lake::parquet_io::StoredFile) -> bool {
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
pub(super) fn stage_patched(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durable::commit_staged;
    use crate::reconcile::results::parquet::stage_parquet;

    /// A results file patched from the one at `old` (see [`stage_patched`]).
    fn write_patched(
        old: &Path,
        path: &Path,
        batch: &arrow_array::RecordBatch,
        replaced: &[usize],
    ) -> Result<(), ReconcileError> {
        let stored = read_stored(old)?;
        assert!(results_patchable(&stored));
        let changed = changed_columns(old, &stored.batch(), batch, replaced, RESULT_ROW_GROUP)?;
        std::fs::copy(old, path).unwrap();
        Ok(commit_staged(vec![stage_patched(
            path, &stored, batch, &changed,
        )?])?)
    }

    use crate::reconcile::results::parquet::tests::write_rows;

    /// A batch written as a results file.
    fn write_batch(path: &Path, batch: &arrow_array::RecordBatch) -> Result<(), ReconcileError> {
        Ok(commit_staged(vec![stage_parquet(
            path,
            batch.num_rows(),
            &|from, to| batch.slice(from, to - from).columns().to_vec(),
        )?])?)
    }
    use super::super::digest::rows_digest;
    use crate::model::money::Currency;
    use crate::reconcile::Counterparts;
    use std::collections::BTreeMap;

    /// A row of item `id`; `v` picks its status, counterparts, amounts and source.
    fn row(id: u8, v: u8) -> ResultRow {
        ResultRow {
            layer: 2,
            item_type: ItemType::Charge,
            item_id: format!("C{id:02}").into(),
            status: [Status::Settled, Status::InTransit, Status::AmountMismatch][v as usize % 3],
            currency: [Currency::EUR, Currency::GBP][v as usize % 2],
            expected: (!v.is_multiple_of(4)).then_some(1000 + v as i64),
            actual: (!v.is_multiple_of(5)).then_some(990),
            item_ts: 1_700_000_000_000_000,
            counterparts: match v % 4 {
                0 => Counterparts::None,
                1 => Counterparts::Id(format!("O{v}").into()),
                2 => Counterparts::Line("S1".into(), v as u32),
                _ => Counterparts::Many(format!("S1:{v};S2:1").into()),
            },
            source_file: v.is_multiple_of(3).then(|| "settlement.csv".into()),
            source_line: v.is_multiple_of(3).then_some(v as i64),
        }
    }

    fn sorted(mut rows: Vec<ResultRow>) -> Vec<ResultRow> {
        crate::reconcile::sort_rows(&mut rows);
        rows
    }

    #[test]
    fn a_batch_digests_as_its_rows() {
        let rows = sorted((0..40).map(|i| row(i % 7, i)).collect());
        let refs: Vec<&ResultRow> = rows.iter().collect();
        let schema = results_schema();
        let batch = RecordBatch::try_new(schema, results_arrays(&refs)).unwrap();
        assert_eq!(digest(Path::new("x"), &batch).unwrap(), rows_digest(&refs));
    }

    #[test]
    fn a_file_that_is_not_a_results_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        std::fs::write(&path, b"not parquet").unwrap();
        let e = read_stored(&path).err().unwrap().to_string();
        assert!(e.contains("x.parquet"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Items reconciled again into as many rows as before keep their places: the file is
        /// patched (only changed columns encoded) into the bytes of a fresh write.
        #[test]
        fn items_recomputed_in_place_patch_the_file(
            old in proptest::collection::vec(0u8..12, 1..40),
            again in proptest::collection::btree_map(0usize..40, 0u8..12, 0..8),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("old.parquet");
            let old: Vec<ResultRow> = old.iter().enumerate().map(|(i, &v)| row(i as u8, v)).collect();
            write_rows(&old.iter().collect::<Vec<_>>(), &path).unwrap();
            let again: BTreeMap<usize, u8> = again.into_iter().filter(|(i, _)| *i < old.len()).collect();
            let new: Vec<ResultRow> = again.iter().map(|(&i, &v)| row(i as u8, v)).collect();
            let ids: Vec<String> = again.keys().map(|&i| format!("C{i:02}")).collect();
            let keep = |_: u8, _: ItemType, id: &str| !ids.iter().any(|x| x == id);
            let stored = read_stored(&path).unwrap();
            let rewritten = rewrite(&path, &stored.batch(), &keep, &new.iter().collect::<Vec<_>>()).unwrap();
            let replaced = rewritten.replaced.clone().expect("rows keep their places");
            proptest::prop_assert_eq!(&replaced, &again.keys().copied().collect::<Vec<_>>());
            let expected: Vec<ResultRow> = old
                .iter()
                .enumerate()
                .map(|(i, r)| again.get(&i).map_or_else(|| r.clone(), |&v| row(i as u8, v)))
                .collect();
            let expected_path = dir.path().join("expected.parquet");
            write_rows(&expected.iter().collect::<Vec<_>>(), &expected_path).unwrap();
            let patched_path = dir.path().join("patched.parquet");
            write_patched(&path, &patched_path, &rewritten.batch, &replaced)
                .unwrap();
            proptest::prop_assert_eq!(
                std::fs::read(&patched_path).unwrap(),
                std::fs::read(&expected_path).unwrap()
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// A file's rows kept as arrays, less the items reconciled again, with the recomputed
        /// rows put in: the same bytes and digest as writing those rows sorted from scratch,
        /// whether the file was in order or not.
        #[test]
        fn merged_files_equal_files_written_from_sorted_rows(
            old in proptest::collection::vec((0u8..12, 0u8..12), 0..40),
            again in proptest::collection::btree_set(0u8..12, 0..6),
            new in proptest::collection::vec(0u8..12, 0..12),
            shuffled in proptest::bool::ANY,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("old.parquet");
            let mut old: Vec<ResultRow> = sorted(old.iter().map(|&(id, v)| row(id, v)).collect());
            if shuffled {
                old.reverse();
            }
            write_rows(&old.iter().collect::<Vec<_>>(), &path).unwrap();
            let ids: Vec<String> = again.iter().map(|&id| format!("C{id:02}")).collect();
            let new: Vec<ResultRow> = sorted(
                new.iter()
                    .enumerate()
                    .map(|(j, &v)| row(again.iter().copied().nth(j % again.len().max(1)).unwrap_or(99), v))
                    .collect(),
            );
            let keep = |_: u8, _: ItemType, id: &str| !ids.iter().any(|x| x == id);
            let rewritten =
                rewrite(&path, &read_stored(&path).unwrap().batch(), &keep, &new.iter().collect::<Vec<_>>()).unwrap();
            let merged = rewritten.batch.clone();

            let expected: Vec<ResultRow> = sorted(
                old.iter()
                    .filter(|r| keep(r.layer, r.item_type, &r.item_id))
                    .cloned()
                    .chain(new.iter().cloned())
                    .collect(),
            );
            let expected_path = dir.path().join("expected.parquet");
            let refs: Vec<&ResultRow> = expected.iter().collect();
            write_rows(&refs, &expected_path).unwrap();
            // Rows read back hold what the file holds (dates, counterparts' text).
            let back = super::super::parquet::read_results_file(&expected_path).unwrap();
            let back: Vec<&ResultRow> = back.iter().collect();
            proptest::prop_assert_eq!(digest(&path, &merged).unwrap(), rows_digest(&back));
            let merged_path = dir.path().join("merged.parquet");
            let n = merged.num_rows();
            write_batch(&merged_path, &merged).unwrap();
            proptest::prop_assert_eq!(n, expected.len());
            proptest::prop_assert_eq!(
                std::fs::read(&merged_path).unwrap(),
                std::fs::read(&expected_path).unwrap()
            );
            // Rows that kept their places: the file patched from the old one is the same.
            if let Some(replaced) = &rewritten.replaced {
                let patched_path = dir.path().join("patched.parquet");
                write_patched(&path, &patched_path, &merged, replaced)
                    .unwrap();
                proptest::prop_assert_eq!(
                    std::fs::read(&patched_path).unwrap(),
                    std::fs::read(&expected_path).unwrap()
                );
            }
        }
    }
}
