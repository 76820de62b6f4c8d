//! Merging a batch of newly parsed rows into the lake, one partition group at a time.
//!
//! For each partition touched, the merge reads the partition's current file and its version
//! hashes, skips new rows identical to any version ever loaded (exact duplicates, counted against
//! the file that brought them), and for keyed tables keeps one winning row per key (the table's
//! [`Winner`] rule). Keys whose versions fall in different day partitions (e.g. a changed
//! creation timestamp) pull those partitions into one group, so a key never lives twice.
//! Keyed tables keep their rows in key order, so an update keeps its row's place and a partition
//! that only gets updates is patched: unchanged column chunks are copied, not encoded again
//! ([`parquet_io::write_patched`]), and a stored partition's columns are decoded only as far
//! as the merge needs them (the key and provenance columns whole, the others at the replaced
//! rows, and whole only where a replacement changes them). Everything is index-based over
//! Arrow arrays, generic over tables; groups run in parallel.

use std::collections::{BTreeMap, HashSet};

use rustc_hash::{FxHashMap, FxHashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{ArrayRef, FixedSizeBinaryArray, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::builder::MICROS_PER_DAY;
use super::parquet_io;
use super::{Lake, LakeError, Txn};
use crate::model::schema::{ColType, Partitioning, TableDef, Winner};

/// A chunk of newly parsed rows of one partition day: in memory, or spilled to disk once the
/// ingest's memory budget is used up.
#[derive(Debug, Clone)]
pub enum Chunk {
    Memory(RecordBatch),
    Disk(PathBuf),
}

impl Chunk {
    fn load(&self, schema: &SchemaRef) -> Result<RecordBatch, LakeError> {
        match self {
            Chunk::Memory(b) => Ok(b.clone()),
            Chunk::Disk(p) => parquet_io::read_spill(p, schema),
        }
    }
}

/// New rows of one table, by partition day.
#[derive(Debug)]
pub struct TableDelta {
    pub table: &'static TableDef,
    pub spills: BTreeMap<i32, Vec<Chunk>>,
    /// Keyed tables: `(hash of the key, partition day)` of every new row.
    pub keys: Vec<(u64, i32)>,
}

/// What merging a table did.
#[derive(Debug, Default)]
pub struct MergeOutcome {
    /// Exact duplicates skipped, by `file_seq`.
    pub duplicates: BTreeMap<i64, u64>,
    /// Rows accepted (new versions), by `file_seq`.
    pub accepted: BTreeMap<i64, u64>,
    pub puts: Vec<String>,
    pub deletes: Vec<String>,
    /// Partition files written whole, and patched (only changed columns encoded).
    pub rewritten: usize,
    pub patched: usize,
}

impl MergeOutcome {
    fn absorb(&mut self, other: MergeOutcome) {
        for (k, v) in other.duplicates {
            *self.duplicates.entry(k).or_default() += v;
        }
        for (k, v) in other.accepted {
            *self.accepted.entry(k).or_default() += v;
        }
        self.puts.extend(other.puts);
        self.deletes.extend(other.deletes);
        self.rewritten += other.rewritten;
        self.patched += other.patched;
    }
}

/// Hash of a key value, as stored in the version files.
pub fn key_hash(key: &str) -> u64 {
    xxh3_64(key.as_bytes())
}

fn versions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("key_hash", DataType::Int64, false),
        Field::new("row_hash", DataType::FixedSizeBinary(16), false),
    ]))
}

/// Merges the tables' new rows into the lake, staging files in `txn`; the outcomes are in the
/// order of `deltas`. Every table's partition groups run in one parallel pass, newest days
/// first (a night's largest), so that no core waits at the end of a table.
pub fn merge_tables(
    lake: &Lake,
    txn: &mut Txn,
    deltas: &[TableDelta],
) -> Result<Vec<MergeOutcome>, LakeError> {
    let mut tasks: Vec<(usize, Vec<i32>)> = Vec::new();
    for (t, delta) in deltas.iter().enumerate() {
        tasks.extend(plan_groups(lake, delta)?.into_iter().map(|days| (t, days)));
    }
    tasks.sort_by_key(|(t, days)| (std::cmp::Reverse(days.iter().max().copied()), *t));
    let txn_ref: &Txn = txn;
    let outcomes: Vec<(usize, MergeOutcome)> = tasks
        .into_par_iter()
        .map(|(t, days)| {
            let d = &deltas[t];
            merge_group(lake, txn_ref, d.table, &days, &d.spills).map(|o| (t, o))
        })
        .collect::<Result<_, _>>()?;
    let mut totals: Vec<MergeOutcome> = deltas.iter().map(|_| MergeOutcome::default()).collect();
    for (t, o) in outcomes {
        totals[t].absorb(o);
    }
    for total in &totals {
        for p in &total.puts {
            txn.stage(p);
        }
        for d in &total.deletes {
            txn.delete(d);
        }
    }
    Ok(totals)
}

/// Groups the touched partition days so that every key's versions are merged together.
fn plan_groups(lake: &Lake, delta: &TableDelta) -> Result<Vec<Vec<i32>>, LakeError> {
    let new_days: Vec<i32> = delta.spills.keys().copied().collect();
    if delta.table.key.is_none() || !matches!(delta.table.partitioning, Partitioning::Day(_)) {
        return Ok(new_days.into_iter().map(|d| vec![d]).collect());
    }
    let mut uf = UnionFind::default();
    for &d in &new_days {
        uf.add(d);
    }
    let mut first_day: FxHashMap<u64, i32> =
        FxHashMap::with_capacity_and_hasher(delta.keys.len(), Default::default());
    for &(k, d) in &delta.keys {
        match first_day.get(&k) {
            Some(&d0) if d0 != d => uf.union(d0, d),
            Some(_) => {}
            None => {
                first_day.insert(k, d);
            }
        }
    }
    // Keys already stored in partitions this batch does not touch.
    let new_set: HashSet<i32> = new_days.iter().copied().collect();
    let others: Vec<i32> = lake
        .days(delta.table)?
        .into_iter()
        .filter(|d| !new_set.contains(d))
        .collect();
    let hits: Vec<Vec<(i32, i32)>> = others
        .par_iter()
        .map(|&day| {
            let path = lake.root().join(Lake::versions_file(delta.table, day));
            if !path.exists() {
                return Ok(vec![]);
            }
            let mut found = Vec::new();
            for b in parquet_io::read_batches(&path, Some(&["key_hash"]))? {
                let hashes = b.column(0).as_primitive::<Int64Type>();
                for h in hashes.values().iter() {
                    if let Some(&d) = first_day.get(&(*h as u64)) {
                        found.push((day, d));
                    }
                }
            }
            Ok(found)
        })
        .collect::<Result<_, LakeError>>()?;
    for (a, b) in hits.into_iter().flatten() {
        uf.add(a);
        uf.union(a, b);
    }
    Ok(uf.groups())
}

#[derive(Default)]
struct UnionFind {
    parent: BTreeMap<i32, i32>,
}

impl UnionFind {
    fn add(&mut self, x: i32) {
        self.parent.entry(x).or_insert(x);
    }
    fn find(&mut self, x: i32) -> i32 {
        let p = self.parent[&x];
        if p == x {
            return x;
        }
        let root = self.find(p);
        self.parent.insert(x, root);
        root
    }
    fn union(&mut self, a: i32, b: i32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent.insert(ra.max(rb), ra.min(rb));
        }
    }
    fn groups(mut self) -> Vec<Vec<i32>> {
        let keys: Vec<i32> = self.parent.keys().copied().collect();
        let mut groups: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for k in keys {
            let r = self.find(k);
            groups.entry(r).or_default().push(k);
        }
        groups.into_values().collect()
    }
}

fn hash_at(col: &FixedSizeBinaryArray, i: usize) -> u128 {
    u128::from_le_bytes(col.value(i).try_into().expect("16-byte hash"))
}

fn merge_group(
    lake: &Lake,
    txn: &Txn,
    table: &'static TableDef,
    days: &[i32],
    spills: &BTreeMap<i32, Vec<Chunk>>,
) -> Result<MergeOutcome, LakeError> {
    let schema = table.arrow_schema();
    let keyed = table.key.is_some();
    // The stored partitions are opened with only the columns the merge reads: a partition that
    // only gets updates is patched, and reads its other columns only where they are replaced.
    let merge_columns: Vec<usize> = ["file_seq", "source_line", "row_hash"]
        .into_iter()
        .chain(table.key)
        .chain(match table.winner {
            Winner::LatestBy(c) => Some(c),
            _ => None,
        })
        .chain(match table.partitioning {
            Partitioning::Day(c) => Some(c),
            _ => None,
        })
        .map(|c| table.index_of(c))
        .collect();
    let mut existing_days = Vec::new();
    let mut stored: Vec<(PathBuf, parquet_io::StoredFile)> = Vec::new();
    for &d in days {
        let path = lake.root().join(Lake::partition_file(table, d));
        if path.exists() {
            let mut file = parquet_io::StoredFile::open(&path, &schema)?;
            file.load(&merge_columns)?;
            existing_days.push(d);
            stored.push((path, file));
        }
    }
    let n_existing: usize = stored.iter().map(|(_, f)| f.rows).sum();
    let mut old_versions: Vec<(i64, u128)> = Vec::new();
    if keyed {
        let vschema = versions_schema();
        for &d in days {
            let path = lake.root().join(Lake::versions_file(table, d));
            if path.exists() {
                let b = parquet_io::read_file(&path, &vschema)?;
                let kh = b.column(0).as_primitive::<Int64Type>();
                let rh = b.column(1).as_fixed_size_binary();
                old_versions.extend((0..b.num_rows()).map(|i| (kh.value(i), hash_at(rh, i))));
            }
        }
    }
    let mut chunks: Vec<RecordBatch> = Vec::new();
    for &d in days {
        for f in spills.get(&d).into_iter().flatten() {
            chunks.push(f.load(&schema)?);
        }
    }
    // Rows are numbered across the parts (the stored files first, then the new chunks); only
    // the columns the merge reads are put end to end, and the rows written are taken from the
    // parts themselves, so every other column is copied once.
    let mut offsets = Vec::with_capacity(stored.len() + chunks.len() + 1);
    offsets.push(0);
    for rows in stored
        .iter()
        .map(|(_, f)| f.rows)
        .chain(chunks.iter().map(|b| b.num_rows()))
    {
        offsets.push(offsets.last().copied().unwrap_or(0) + rows);
    }
    let column = |name: &str| -> Result<ArrayRef, LakeError> {
        let i = table.index_of(name);
        let arrays: Vec<&dyn arrow_array::Array> = stored
            .iter()
            .map(|(_, f)| f.column(i).as_ref())
            .chain(chunks.iter().map(|p| p.column(i).as_ref()))
            .collect();
        arrow_select::concat::concat(&arrays)
            .map_err(|e| LakeError::corrupt(lake.root(), e.to_string()))
    };
    let total = offsets.last().copied().unwrap_or(0);
    let file_seq = column("file_seq")?.as_primitive::<Int64Type>().clone();
    let line = column("source_line")?.as_primitive::<Int64Type>().clone();
    let row_hash = column("row_hash")?.as_fixed_size_binary().clone();
    // The stored rows (versions, for a keyed table) that a new row repeats: the new rows are
    // few, so the stored ones are looked up in a set of theirs rather than the other way round.
    let new: FxHashSet<u128> = (n_existing..total).map(|i| hash_at(&row_hash, i)).collect();
    let repeated = |h: &u128| new.contains(h);
    let mut seen: FxHashSet<u128> = if keyed {
        old_versions.iter().map(|v| v.1).filter(repeated).collect()
    } else {
        (0..n_existing)
            .map(|i| hash_at(&row_hash, i))
            .filter(repeated)
            .collect()
    };
    seen.reserve(new.len());

    // New rows in reading order; the first of identical rows is loaded, the rest are duplicates.
    // Reading order (file_seq, line). Chunks arrive in file order and rows within a chunk in
    // line order, so this is usually sorted already; existing rows always precede new ones.
    let order = |i: usize| (file_seq.value(i), line.value(i));
    let mut new_idx: Vec<usize> = (n_existing..total).collect();
    if !new_idx.is_sorted_by_key(|&i| order(i)) {
        new_idx.sort_by_key(|&i| order(i));
    }
    let mut out = MergeOutcome::default();
    let mut accepted = Vec::with_capacity(new_idx.len());
    for i in new_idx {
        let fs = file_seq.value(i);
        if seen.insert(hash_at(&row_hash, i)) {
            accepted.push(i);
            *out.accepted.entry(fs).or_default() += 1;
        } else {
            *out.duplicates.entry(fs).or_default() += 1;
        }
    }
    if accepted.is_empty() {
        return Ok(out); // nothing new: leave the partitions untouched
    }

    let day_column = match table.partitioning {
        Partitioning::Day(c) => Some(column(c)?),
        _ => None,
    };
    let day_of = day_reader(table, day_column.as_ref());
    let mut by_day: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    let mut version_rows: BTreeMap<i32, Vec<(i64, u128)>> = BTreeMap::new();
    // A partition whose rows stay where they are: some replaced (`patch`: its day, its file,
    // and (stored row, new row) pairs), or none (`unchanged`).
    let mut patch: Option<(i32, Vec<(usize, usize)>)> = None;
    let mut unchanged: Vec<i32> = Vec::new();
    if let Some(key_col) = table.key {
        let keys = column(key_col)?;
        let keys = keys.as_string::<i32>();
        let ts = match table.winner {
            Winner::LatestBy(c) => Some(column(c)?),
            _ => None,
        };
        let ts = ts
            .as_ref()
            .map(|t| t.as_primitive::<TimestampMicrosecondType>());
        let rank = |i: usize| {
            (
                ts.map(|t| t.value(i)).unwrap_or(0),
                file_seq.value(i),
                line.value(i),
            )
        };
        // The best new version of each key (a night's few), against the stored rows: each key is
        // stored once, and stays unless a new version outranks it (ties: the stored one).
        let mut best: FxHashMap<&str, usize> =
            FxHashMap::with_capacity_and_hasher(accepted.len(), Default::default());
        for &i in &accepted {
            best.entry(keys.value(i))
                .and_modify(|w| {
                    if rank(i) > rank(*w) {
                        *w = i;
                    }
                })
                .or_insert(i);
        }
        let new_versions = accepted
            .iter()
            .map(|&i| (key_hash(keys.value(i)) as i64, hash_at(&row_hash, i)));
        let by_key = |a: &usize, b: &usize| keys.value(*a).cmp(keys.value(*b));
        // Rows are stored in key order: deterministic, the same whether the data came in one
        // ingest or many, and an update keeps its row's place.
        let in_key_order = (1..n_existing).all(|i| keys.value(i - 1) < keys.value(i));
        if let ([day], true) = (days, in_key_order) {
            // One partition in key order: each new key is looked up by binary search.
            let mut replaced: Vec<(usize, usize)> = Vec::new();
            let mut inserted: Vec<usize> = Vec::new();
            for (&k, &w) in &best {
                let p = partition_point(n_existing, |i| keys.value(i) < k);
                if p < n_existing && keys.value(p) == k {
                    if rank(w) > rank(p) {
                        replaced.push((p, w));
                    }
                } else {
                    inserted.push(w);
                }
            }
            replaced.sort_unstable();
            inserted.sort_unstable_by(by_key);
            let mut all = old_versions;
            all.extend(new_versions);
            all.sort();
            version_rows.insert(*day, all);
            match (&stored[..], replaced.is_empty(), inserted.is_empty()) {
                // Every new version lost to the stored one: the rows stay as they are.
                ([_], true, true) => unchanged.push(*day),
                ([(_, file)], false, true) if parquet_io::patchable(file, table.name) => {
                    patch = Some((*day, replaced));
                }
                _ => {
                    let mut rows = Vec::with_capacity(n_existing + inserted.len());
                    let mut next = replaced.iter().peekable();
                    let mut stored_rows = (0..n_existing).map(|i| match next.peek() {
                        Some(&&(p, w)) if p == i => {
                            next.next();
                            w
                        }
                        _ => i,
                    });
                    let mut new_rows = inserted.into_iter().peekable();
                    let mut head = stored_rows.next();
                    loop {
                        match (head, new_rows.peek()) {
                            (Some(i), Some(&j)) if keys.value(j) < keys.value(i) => {
                                rows.push(j);
                                new_rows.next();
                            }
                            (Some(i), _) => {
                                rows.push(i);
                                head = stored_rows.next();
                            }
                            (None, Some(_)) => rows.extend(new_rows.by_ref()),
                            (None, None) => break,
                        }
                    }
                    by_day.insert(*day, rows);
                }
            }
        } else {
            // Keys across partitions (or a partition not in key order, written before rows were
            // kept in key order): every stored row is looked up.
            const KEPT: usize = usize::MAX;
            let mut winners: Vec<usize> = Vec::with_capacity(n_existing + best.len());
            for i in 0..n_existing {
                match best.get_mut(keys.value(i)) {
                    Some(w) if *w != KEPT && rank(i) < rank(*w) => {}
                    Some(w) => {
                        *w = KEPT;
                        winners.push(i);
                    }
                    None => winners.push(i),
                }
            }
            winners.extend(best.into_values().filter(|&w| w != KEPT));
            let mut key_day: FxHashMap<i64, i32> =
                FxHashMap::with_capacity_and_hasher(winners.len(), Default::default());
            for i in winners {
                let d = day_of(i);
                by_day.entry(d).or_default().push(i);
                key_day.insert(key_hash(keys.value(i)) as i64, d);
            }
            for rows in by_day.values_mut() {
                rows.sort_unstable_by(by_key);
            }
            for (kh, h) in old_versions.into_iter().chain(new_versions) {
                let d = key_day.get(&kh).copied().unwrap_or(days[0]);
                version_rows.entry(d).or_default().push((kh, h));
            }
        }
    } else if let [day] = days {
        by_day.insert(
            *day,
            (0..n_existing).chain(accepted.iter().copied()).collect(),
        );
    } else {
        for i in (0..n_existing).chain(accepted.iter().copied()) {
            by_day.entry(day_of(i)).or_default().push(i);
        }
    }

    let batches: Vec<RecordBatch> = if by_day.is_empty() {
        Vec::new()
    } else {
        // Rows move: every column of the stored partitions is needed.
        let all: Vec<usize> = (0..schema.fields().len()).collect();
        for (_, file) in stored.iter_mut() {
            file.load(&all)?;
        }
        stored
            .iter()
            .map(|(_, f)| f.batch())
            .chain(chunks.iter().cloned())
            .collect()
    };
    for (&d, idx) in &by_day {
        let target = Lake::partition_file(table, d);
        let at: Vec<(usize, usize)> = idx
            .iter()
            .map(|&i| {
                let p = offsets.partition_point(|&o| o <= i) - 1;
                (p, i - offsets[p])
            })
            .collect();
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        let batch = if refs.is_empty() {
            RecordBatch::new_empty(schema.clone())
        } else {
            arrow_select::interleave::interleave_record_batch(&refs, &at)
                .map_err(|e| LakeError::corrupt(lake.root(), e.to_string()))?
        };
        parquet_io::write_batches(
            &txn.staged_path(&target),
            table.name,
            schema.clone(),
            &[batch],
        )?;
        out.puts.push(target);
        out.rewritten += 1;
    }
    if let Some((d, replaced)) = patch {
        let target = Lake::partition_file(table, d);
        let (path, file) = &mut stored[0];
        write_patch(
            lake, txn, table, &target, path, file, &chunks, &offsets, &replaced,
        )?;
        out.puts.push(target);
        out.patched += 1;
        unchanged.push(d);
    }
    for &d in &existing_days {
        if !by_day.contains_key(&d) && !unchanged.contains(&d) {
            out.deletes.push(Lake::partition_file(table, d));
        }
    }
    if keyed {
        let vschema = versions_schema();
        for (&d, rows) in version_rows.iter_mut() {
            if !rows.is_sorted() {
                rows.sort_unstable();
            }
            rows.dedup();
            let kh: ArrayRef = Arc::new(Int64Array::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            ));
            let rh: ArrayRef = Arc::new(
                FixedSizeBinaryArray::try_from_iter(rows.iter().map(|r| r.1.to_le_bytes()))
                    .expect("16-byte hashes"),
            );
            let batch =
                RecordBatch::try_new(vschema.clone(), vec![kh, rh]).expect("versions schema");
            let target = Lake::versions_file(table, d);
            parquet_io::write_batches(
                &txn.staged_path(&target),
                "_versions",
                vschema.clone(),
                &[batch],
            )?;
            out.puts.push(target);
        }
        for &d in days {
            if !version_rows.contains_key(&d)
                && lake.root().join(Lake::versions_file(table, d)).exists()
            {
                out.deletes.push(Lake::versions_file(table, d));
            }
        }
    }
    Ok(out)
}

/// The first of `0..n` for which `before` is false (`before` is true for a prefix).
fn partition_point(n: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Stages a partition whose stored rows keep their places, some replaced by new versions
/// (`replaced`: stored row, combined row; by stored row; the stored file is the first part,
/// `chunks` the others). Only the columns where a replacement differs are encoded again, in
/// the row groups where it does; every other column chunk is copied from the stored file.
/// The stored file's other columns are read only at the replaced rows, and read whole only
/// where they change.
#[allow(clippy::too_many_arguments)]
fn write_patch(
    lake: &Lake,
    txn: &Txn,
    table: &TableDef,
    target: &str,
    path: &Path,
    file: &mut parquet_io::StoredFile,
    chunks: &[RecordBatch],
    offsets: &[usize],
    replaced: &[(usize, usize)],
) -> Result<(), LakeError> {
    let corrupt = |e: arrow_schema::ArrowError| LakeError::corrupt(lake.root(), e.to_string());
    let stored_rows: Vec<usize> = replaced.iter().map(|&(p, _)| p).collect();
    // The new rows, by chunk (the stored file is part 0 of `offsets`).
    let new_at: Vec<(usize, usize)> = replaced
        .iter()
        .map(|&(_, w)| {
            let p = offsets.partition_point(|&o| o <= w) - 1;
            (p - 1, w - offsets[p])
        })
        .collect();
    let n_columns = file.schema.fields().len();
    let all: Vec<usize> = (0..n_columns).collect();
    let before = file.values_at(&all, &stored_rows)?;
    let mut news = Vec::with_capacity(n_columns);
    let mut changed = Vec::with_capacity(n_columns);
    for (c, before) in before.iter().enumerate() {
        let arrays: Vec<&dyn arrow_array::Array> =
            chunks.iter().map(|b| b.column(c).as_ref()).collect();
        let new = arrow_select::interleave::interleave(&arrays, &new_at).map_err(corrupt)?;
        changed.push(parquet_io::changed_groups_at(
            before.as_ref(),
            &stored_rows,
            new.as_ref(),
            file.rows,
            parquet_io::ROW_GROUP_ROWS,
        ));
        news.push(new);
    }
    let differ: Vec<usize> = (0..n_columns).filter(|&c| !changed[c].is_empty()).collect();
    file.load(&differ)?;
    // The whole column: each stored row, or its replacement.
    let mut whole: Vec<(usize, usize)> = (0..file.rows).map(|i| (0, i)).collect();
    for (r, &p) in stored_rows.iter().enumerate() {
        whole[p] = (1, r);
    }
    let columns = (0..n_columns)
        .map(|c| {
            if changed[c].is_empty() {
                return Ok(None);
            }
            arrow_select::interleave::interleave(
                &[file.column(c).as_ref(), news[c].as_ref()],
                &whole,
            )
            .map(Some)
            .map_err(corrupt)
        })
        .collect::<Result<Vec<_>, _>>()?;
    parquet_io::write_patched(
        &txn.staged_path(target),
        path,
        table.name,
        file,
        &columns,
        &changed,
    )
}

/// Returns a function giving each combined row's partition day, from the partition column
/// (`None` for tables that are not partitioned by day).
fn day_reader<'a>(
    table: &TableDef,
    column: Option<&'a ArrayRef>,
) -> Box<dyn Fn(usize) -> i32 + Sync + 'a> {
    match (table.partitioning, column) {
        (Partitioning::Day(c), Some(array)) => {
            let idx = table.index_of(c);
            let col = table.all_columns().nth(idx).expect("column");
            match col.ty {
                ColType::Timestamp => {
                    let a = array.as_primitive::<TimestampMicrosecondType>();
                    Box::new(move |i| a.value(i).div_euclid(MICROS_PER_DAY) as i32)
                }
                ColType::Date => {
                    let a = array.as_primitive::<arrow_array::types::Date32Type>();
                    Box::new(move |i| a.value(i))
                }
                _ => unreachable!("partition columns are timestamps or dates"),
            }
        }
        _ => Box::new(|_| 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_find_groups() {
        let mut uf = UnionFind::default();
        for d in [1, 2, 3, 4] {
            uf.add(d);
        }
        uf.union(4, 2);
        assert_eq!(uf.groups(), vec![vec![1], vec![2, 4], vec![3]]);
    }

    #[test]
    fn versions_hashes_are_stable() {
        assert_eq!(key_hash("P01-1"), key_hash("P01-1"));
        assert_ne!(key_hash("P01-1"), key_hash("P01-2"));
    }
}
