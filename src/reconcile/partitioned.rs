//! A full reconciliation in bounded memory: the lake's item rows split into parts made of whole
//! components ([`super::components`]), each part reconciled on its own, its rows spilled to a
//! file, and the results files written from the spills a few at a time.
//!
//! 1. **Keys**: the four item tables are read a few files at a time; each row's link keys
//!    ([`super::components::push_keys`]) are kept (12 bytes a key), the records dropped. A
//!    union-find over shared keys labels every row with its component; a hash of the label picks
//!    its part. The default cut-off is taken on the way.
//! 2. **Parts**: a second read copies every item row into its part's Arrow IPC file of its
//!    table (lake order kept). Each part then reads only its own rows; layers 1 and 2 and
//!    layer 3's line checks ([`super::item_rows`]) give its rows, which are sorted by results
//!    file and [`super::row_order`] and spilled, with an index of where each file's rows
//!    start. Only one part's records and rows are in memory at once.
//! 3. **Settlement-wide**: balances and payouts ([`super::settlement_wide_of`]) from each
//!    settlement's sums and the few lines layer 4 reads, gathered by the second read.
//! 4. **Write**: every results file gets its rows from each spill (a contiguous range), sorted
//!    as the in-memory path sorts them, and is staged; all are committed together.
//!
//! The outputs are byte-for-byte those of [`super::reconcile`] and
//! [`super::results::write_results`] (a property test compares them). The lake is decoded twice
//! and its item rows written and read once more: the price of not holding it all.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use petgraph::unionfind::UnionFind;
use rayon::prelude::*;

use super::links::Row;
use super::load::{self, Inputs};
use super::results::{ResultsWrite, partition_of, write_results_streamed};
use super::{ItemType, Options, ReconcileError, ResultRow, Status};
use crate::lake::Lake;

/// Bytes of memory a full in-memory reconciliation takes per input row (measured at 2,000,000
/// orders: 3,045 MiB for 6,189,071 rows, rounded up), to pick the number of parts for a budget.
pub const BYTES_PER_ROW: u64 = 520;

/// Bytes per input row held through every part (a row's component label and part, the
/// allocator's slack), measured at 20,000,000 orders.
pub const FIXED_BYTES_PER_ROW: u64 = 12;

/// Bytes per input row the keys pass holds while it finds the components: the (key, row)
/// pairs, 16 bytes a key, about three keys a row.
pub const KEY_BYTES_PER_ROW: u64 = 48;

/// Memory besides the rows: the assembly of results files, the exceptions, the lines' heads.
pub const BASE_BYTES: u64 = 128 << 20;

/// The most parts (a part's label is a byte).
pub const MAX_PARTS: usize = 256;

/// The number of parts a memory budget asks for (1: reconcile in memory): the lake's estimated
/// in-memory size over what one part may take (nine tenths of the budget, less what every part
/// holds), rounded up.
pub fn parts_for_budget(rows: u64, budget_bytes: u64) -> usize {
    let need = rows.saturating_mul(BYTES_PER_ROW);
    if need <= budget_bytes {
        return 1;
    }
    let room = (budget_bytes / 10 * 9)
        .saturating_sub(
            rows.saturating_mul(FIXED_BYTES_PER_ROW)
                .saturating_add(BASE_BYTES),
        )
        .max(1);
    (need.div_ceil(room) as usize).clamp(2, MAX_PARTS)
}

/// The least budget that reconciling `rows` rows in parts can keep to: the keys pass holds a
/// few bytes per row of the whole lake (it grows with history, at a tenth of the in-memory rate).
pub fn least_budget(rows: u64) -> u64 {
    rows.saturating_mul(KEY_BYTES_PER_ROW + FIXED_BYTES_PER_ROW)
        .saturating_add(BASE_BYTES)
}

/// What a partitioned reconciliation gives besides the results files.
#[derive(Debug)]
pub struct Outcome {
    pub cutoff: i64,
    /// Every exception row, in [`super::row_order`].
    pub exceptions: Vec<ResultRow>,
    /// Rows per layer and status.
    pub counts: BTreeMap<(u8, Status), u64>,
    pub results: ResultsWrite,
}

/// Reconciles `lake` in `parts` parts and writes the results into `out` (as
/// [`super::results::write_results`] with `force` does); spill files go to a temporary folder in
/// `out`, removed at the end.
pub fn reconcile_in_parts(
    lake: &Lake,
    options: &Options,
    parts: usize,
    out: &Path,
) -> Result<Outcome, ReconcileError> {
    let parts = parts.clamp(1, MAX_PARTS);
    let mut clock = std::time::Instant::now();
    let mut lap = |what: &str| {
        tracing::debug!(
            elapsed_ms = clock.elapsed().as_millis() as u64,
            "reconcile in {parts} parts: {what}"
        );
        clock = std::time::Instant::now();
    };
    // Another process may write the lake meanwhile (readers take no lock): its mark before the
    // first read and after the second tells.
    let mark = super::incremental::lake_mark(lake)?;
    let keyed = key_rows(lake)?;
    crate::ingest::crash_point("reconcile-between-reads");
    lap("keys");
    let (settlements, deposits) = load::load_settlements_and_deposits(lake)?;
    // The in-memory default, taken a few files at a time (real timestamps are past 0).
    let deposits = Inputs {
        deposits,
        ..Inputs::default()
    };
    let newest = keyed.newest.max(super::newest_timestamp(&deposits));
    let deposits = deposits.deposits;
    let cutoff = options.cutoff.unwrap_or_else(|| newest.min(options.latest));
    let part_of = keyed.parts(parts);
    let starts = keyed.starts;
    drop(keyed);
    lap("components");

    let spill_dir = Spill::dir(out)?;
    let mut sums = super::payouts::SettlementSums::default();
    let mut kept_lines = Vec::new();
    let part_files = distribute(lake, &starts, &part_of, parts, &spill_dir.0, &mut |heads| {
        sums.add_keeping(heads, &mut kept_lines)
    })?;
    drop(part_of);
    if super::incremental::lake_mark(lake)? != mark {
        return Err(changed(lake.root()));
    }
    lap("rows distributed");
    let mut spills = Vec::with_capacity(parts);
    let mut exceptions = Vec::new();
    let mut counts: BTreeMap<(u8, Status), u64> = BTreeMap::new();
    for (p, files) in part_files.iter().enumerate() {
        let inputs = read_part(files)?;
        let mut rows = Vec::new();
        super::item_rows(&inputs, options, cutoff, &mut rows);
        drop(inputs);
        tally(&rows, &mut counts, &mut exceptions);
        spills.push(Spill::write(&spill_dir.0, p, rows)?);
        lap("a part");
    }
    let mut wide = Vec::new();
    super::settlement_wide_of(
        &sums,
        &kept_lines,
        &settlements,
        &deposits,
        options,
        cutoff,
        &mut wide,
    );
    drop((sums, kept_lines));
    tally(&wide, &mut counts, &mut exceptions);
    super::sort_rows(&mut wide);
    let mut wide_by_file: BTreeMap<(i32, ItemType), Vec<ResultRow>> = BTreeMap::new();
    for r in wide {
        wide_by_file.entry(partition_of(&r)).or_default().push(r);
    }
    lap("settlement-wide");

    let mut files: Vec<(i32, ItemType)> = spills
        .iter()
        .flat_map(|s| s.index.keys().copied())
        .chain(wide_by_file.keys().copied())
        .collect();
    files.sort_unstable();
    files.dedup();
    let readers = spills
        .iter()
        .map(|s| s.open())
        .collect::<Result<Vec<_>, _>>()?;
    // A few files at a time, about a million rows, each file assembled in parallel.
    const FEW_ROWS: usize = 1 << 20;
    let mut next = files.into_iter();
    let results = write_results_streamed(out, &mut || {
        let mut few = Vec::new();
        let mut n = 0;
        while n < FEW_ROWS {
            let Some(file) = next.next() else { break };
            n += spills.iter().map(|s| s.rows_of(file)).sum::<usize>();
            few.push((file, wide_by_file.remove(&file).unwrap_or_default()));
        }
        if few.is_empty() {
            return Ok(None);
        }
        few.par_iter_mut()
            .try_for_each(|(file, rows)| -> Result<(), ReconcileError> {
                for (s, f) in spills.iter().zip(&readers) {
                    s.read_file(f, *file, rows)?;
                }
                super::sort_rows(rows);
                Ok(())
            })?;
        Ok(Some(few))
    })?;
    drop(readers);
    drop(spill_dir);
    lap("results written");
    super::sort_rows(&mut exceptions);
    Ok(Outcome {
        cutoff,
        exceptions,
        counts,
        results,
    })
}

/// Adds `rows` to the counts per layer and status, and their exceptions to `exceptions`.
fn tally(
    rows: &[ResultRow],
    counts: &mut BTreeMap<(u8, Status), u64>,
    exceptions: &mut Vec<ResultRow>,
) {
    for r in rows {
        *counts.entry((r.layer, r.status)).or_default() += 1;
        if r.is_exception() {
            exceptions.push(r.clone());
        }
    }
}

/// Every item row's component, from its link keys.
struct Keyed {
    /// The first row of each item table (orders, charges, refunds, lines) among all rows, and
    /// then the number of rows.
    starts: [usize; 5],
    /// Each row's component label.
    labels: Vec<u32>,
    /// The newest charge, refund and line timestamp (for the default cut-off; 0: none).
    newest: i64,
}

impl Keyed {
    /// Each row's part: a hash of its component's label.
    fn parts(&self, parts: usize) -> Vec<u8> {
        self.labels
            .par_iter()
            .map(|&l| {
                let h = (l as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                ((h >> 32) % parts as u64) as u8
            })
            .collect()
    }
}

/// The keys pass: reads the item tables a few files at a time and labels every row with its
/// component.
fn key_rows(lake: &Lake) -> Result<Keyed, ReconcileError> {
    // (key, row): rows sharing a key are joined.
    let mut pairs: Vec<(u64, u32)> = Vec::new();
    let mut starts = [0usize; 5];
    let mut row = 0usize;
    let mut newest = 0;
    for (table, start) in starts.iter_mut().take(4).enumerate() {
        *start = row;
        load::read_item_batches(lake, table, &mut |_, batches| {
            let inputs = load::item_records(table, batches)?;
            let keys: Vec<super::links::Keys> = match table {
                0 => inputs
                    .orders
                    .par_iter()
                    .map(|o| super::components::push_keys(Row::Order(o)))
                    .collect(),
                1 => inputs
                    .charges
                    .par_iter()
                    .map(|c| super::components::push_keys(Row::Charge(c)))
                    .collect(),
                2 => inputs
                    .refunds
                    .par_iter()
                    .map(|r| super::components::push_keys(Row::Refund(r)))
                    .collect(),
                _ => inputs
                    .lines
                    .par_iter()
                    .map(|l| super::components::push_keys(Row::Line(l)))
                    .collect(),
            };
            newest = newest.max(super::newest_timestamp(&inputs));
            for (i, k) in keys.iter().enumerate() {
                let r = u32::try_from(row + i).map_err(|_| {
                    ReconcileError::Usage("more than 4 billion item rows in one lake".into())
                })?;
                pairs.extend(k.0[..k.1].iter().map(|&h| (h, r)));
            }
            row += keys.len();
            Ok(())
        })?;
    }
    starts[4] = row;
    pairs.par_sort_unstable();
    let mut uf: UnionFind<u32> = UnionFind::new(row);
    for w in pairs.windows(2) {
        if w[0].0 == w[1].0 {
            uf.union(w[0].1, w[1].1);
        }
    }
    drop(pairs);
    Ok(Keyed {
        starts,
        labels: uf.into_labeling(),
        newest,
    })
}

/// The lake changed between the two reads (another process wrote to it).
fn changed(path: &Path) -> ReconcileError {
    ReconcileError::Usage(format!(
        "the lake changed while it was being reconciled ({} differs between two reads); \
         reconcile again once the other writer is done",
        path.display()
    ))
}

/// Each part's rows of each item table, in Arrow IPC files (lake order).
type PartFiles = Vec<[Vec<PathBuf>; 4]>;

fn arrow_error(path: &Path, e: arrow_schema::ArrowError) -> ReconcileError {
    ReconcileError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

/// The second pass: every item row copied into its part's Arrow IPC file of its table, so that
/// each part then reads only its own rows (the lake is decoded twice in all, not once per part).
fn distribute(
    lake: &Lake,
    starts: &[usize; 5],
    part_of: &[u8],
    parts: usize,
    dir: &Path,
    line_heads: &mut dyn FnMut(&[super::load::Line]),
) -> Result<PartFiles, ReconcileError> {
    use arrow_ipc::writer::FileWriter;
    type Writer = FileWriter<BufWriter<std::fs::File>>;
    let mut files: PartFiles = vec![Default::default(); parts];
    for table in 0..4 {
        let of = &part_of[starts[table]..starts[table + 1]];
        let mut writers: Vec<Option<Writer>> = (0..parts).map(|_| None).collect();
        let mut seen = 0;
        load::read_item_batches(lake, table, &mut |first, batches| {
            let mut start = first;
            let mut offsets = Vec::with_capacity(batches.len());
            for (path, b) in &batches {
                offsets.push(start);
                start += b.num_rows();
                if start > of.len() {
                    return Err(changed(path));
                }
            }
            seen = start;
            if table == 3 {
                // What the settlement-wide layers read, on the way (lake order).
                line_heads(&load::line_heads(&batches)?);
            }
            // Each batch's rows of each part, taken in one pass over its labels.
            let split: Vec<Vec<arrow_array::RecordBatch>> = batches
                .par_iter()
                .zip(offsets)
                .map(|((path, b), start)| {
                    let mut picks: Vec<Vec<u32>> = vec![Vec::new(); parts];
                    for (i, &p) in of[start..start + b.num_rows()].iter().enumerate() {
                        picks[p as usize].push(i as u32);
                    }
                    picks
                        .into_iter()
                        .map(|rows| {
                            arrow_select::take::take_record_batch(
                                b,
                                &arrow_array::UInt32Array::from(rows),
                            )
                            .map_err(|e| arrow_error(path, e))
                        })
                        .collect()
                })
                .collect::<Result<_, ReconcileError>>()?;
            for per_part in split {
                for (part, b) in per_part.into_iter().enumerate() {
                    if b.num_rows() == 0 {
                        continue;
                    }
                    // A new file when the schema changes (files of older lake formats).
                    if writers[part]
                        .as_ref()
                        .is_some_and(|w| w.schema().as_ref() != b.schema().as_ref())
                    {
                        let mut w = writers[part].take().expect("checked");
                        let path = files[part][table].last().expect("opened").clone();
                        w.finish().map_err(|e| arrow_error(&path, e))?;
                    }
                    if writers[part].is_none() {
                        let path = dir.join(format!(
                            "rows-{part:03}-{table}-{}.arrow",
                            files[part][table].len()
                        ));
                        let f = std::fs::File::create(&path).map_err(|e| ReconcileError::Io {
                            path: path.clone(),
                            source: e,
                        })?;
                        let w =
                            FileWriter::try_new(BufWriter::with_capacity(1 << 20, f), &b.schema())
                                .map_err(|e| arrow_error(&path, e))?;
                        writers[part] = Some(w);
                        files[part][table].push(path);
                    }
                    let path = files[part][table].last().expect("opened");
                    writers[part]
                        .as_mut()
                        .expect("opened")
                        .write(&b)
                        .map_err(|e| arrow_error(path, e))?;
                }
            }
            Ok(())
        })?;
        for (part, w) in writers.into_iter().enumerate() {
            if let Some(mut w) = w {
                let path = files[part][table].last().expect("opened");
                w.finish().map_err(|e| arrow_error(path, e))?;
            }
        }
        if seen != of.len() {
            return Err(changed(lake.root()));
        }
    }
    Ok(files)
}

/// The item rows of one part, in lake order, from its files (removed once read); settlements
/// and deposits left empty.
fn read_part(files: &[Vec<PathBuf>; 4]) -> Result<Inputs, ReconcileError> {
    let mut inputs = Inputs::default();
    for (table, paths) in files.iter().enumerate() {
        let mut batches = Vec::new();
        for path in paths {
            let f = std::fs::File::open(path).map_err(|e| ReconcileError::Io {
                path: path.clone(),
                source: e,
            })?;
            let r = arrow_ipc::reader::FileReader::try_new(std::io::BufReader::new(f), None)
                .map_err(|e| arrow_error(path, e))?;
            for b in r {
                batches.push((path.clone(), b.map_err(|e| arrow_error(path, e))?));
            }
            let _ = std::fs::remove_file(path);
        }
        let mut few = load::item_records(table, batches)?;
        inputs.orders.append(&mut few.orders);
        inputs.charges.append(&mut few.charges);
        inputs.refunds.append(&mut few.refunds);
        inputs.lines.append(&mut few.lines);
    }
    Ok(inputs)
}

/// A part's rows on disk, sorted by results file and row order, every field kept.
struct Spill {
    path: PathBuf,
    /// Each results file's rows: byte offset, byte length, rows.
    index: BTreeMap<(i32, ItemType), (u64, u64, usize)>,
}

/// The spill folder, removed when the reconciliation ends, however it ends (a killed one's is
/// removed by the next).
struct SpillDir(PathBuf);

impl Drop for SpillDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Spill {
    fn dir(out: &Path) -> Result<SpillDir, ReconcileError> {
        let dir = out.join(format!("{}spill", crate::durable::TEMP_PREFIX));
        let io = |e| ReconcileError::Io {
            path: dir.clone(),
            source: e,
        };
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io)?;
        }
        std::fs::create_dir_all(&dir).map_err(io)?;
        Ok(SpillDir(dir))
    }

    fn write(dir: &Path, part: usize, mut rows: Vec<ResultRow>) -> Result<Spill, ReconcileError> {
        super::sort_rows(&mut rows);
        rows.par_sort_by_key(partition_of);
        let path = dir.join(format!("part-{part:03}.bin"));
        let io = |e| ReconcileError::Io {
            path: path.clone(),
            source: e,
        };
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).map_err(io)?);
        let mut index = BTreeMap::new();
        let mut offset = 0u64;
        let mut buf = Vec::new();
        for chunk in rows.chunk_by(|a, b| partition_of(a) == partition_of(b)) {
            buf.clear();
            for r in chunk {
                super::incremental::encode_row(r, &mut buf);
            }
            w.write_all(&buf).map_err(io)?;
            index.insert(
                partition_of(&chunk[0]),
                (offset, buf.len() as u64, chunk.len()),
            );
            offset += buf.len() as u64;
        }
        w.flush().map_err(io)?;
        Ok(Spill { path, index })
    }

    fn open(&self) -> Result<std::fs::File, ReconcileError> {
        std::fs::File::open(&self.path).map_err(|e| ReconcileError::Io {
            path: self.path.clone(),
            source: e,
        })
    }

    /// The rows this part has of results file `file`.
    fn rows_of(&self, file: (i32, ItemType)) -> usize {
        self.index.get(&file).map_or(0, |e| e.2)
    }

    /// Appends the rows this part has of results file `file` (a positioned read: files are
    /// assembled in parallel from the same spills).
    fn read_file(
        &self,
        f: &std::fs::File,
        file: (i32, ItemType),
        rows: &mut Vec<ResultRow>,
    ) -> Result<(), ReconcileError> {
        use std::os::unix::fs::FileExt;
        let Some(&(offset, len, n)) = self.index.get(&file) else {
            return Ok(());
        };
        let mut buf = vec![0u8; len as usize];
        f.read_exact_at(&mut buf, offset)
            .map_err(|e| ReconcileError::Io {
                path: self.path.clone(),
                source: e,
            })?;
        let mut r = crate::state::codec::Reader::new(&buf);
        rows.reserve(n);
        for _ in 0..n {
            let row = super::incremental::decode_row(&mut r).ok_or_else(|| {
                ReconcileError::Incremental(format!("{} is damaged", self.path.display()))
            })?;
            rows.push(row);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_for_a_budget() {
        // 2,000,000 orders are ~6.2 M rows: ~3.2 GB in memory.
        assert_eq!(parts_for_budget(6_189_071, 1 << 30), 5);
        assert_eq!(parts_for_budget(6_189_071, 4 << 30), 1);
        assert_eq!(parts_for_budget(0, 1 << 20), 1);
        assert_eq!(parts_for_budget(u64::MAX, 1), MAX_PARTS);
        // Just over: two parts, never one.
        assert_eq!(parts_for_budget(1_000_000, 500_000_000), 2);
        assert!(least_budget(6_189_071) < 1 << 30);
    }
}
