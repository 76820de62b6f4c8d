//! The reconciliation's results on disk: `results/`, a Parquet dataset partitioned by the
//! item's UTC day and type, rewritten file by file where rows changed ([`write_results`],
//! [`write_results_night`]), with each file's row digest in `_digests.json`.
//!
//! [`frames`] makes the tables (exceptions, results CSV), [`parquet`] the files' encoding,
//! [`digest`] the row digests, [`file_rows`] the files kept as Arrow arrays and patched.

mod digest;
mod file_rows;
mod frames;
mod parquet;

use std::collections::BTreeMap;
use std::path::Path;

use crate::durable::{Staged, TEMP_PREFIX, commit_staged};
use crate::reconcile::{ReconcileError, Reconciliation, ResultRow};
use digest::rows_digest;
use file_rows::{results_patchable, stage_patched};
use frames::date_of;
use parquet::{RESULT_ROW_GROUP, results_arrays, results_schema, stage_parquet};

pub(crate) use digest::{encode_row_head, encode_row_source};
pub use frames::{
    amount_text, csv_bytes, cutoff_text, exceptions_frame, money_column, write_csv,
    write_results_csv,
};
pub use parquet::read_results_file;

/// The folder of the results table inside an output folder.
pub const RESULTS_DIR: &str = "results";

/// The digests of the results files, inside [`RESULTS_DIR`].
pub use crate::state::RESULTS_DIGESTS;

/// The rows of one results file to write: rows, or a file's rows kept as Arrow arrays
/// ([`file_rows`]).
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
/// `new` (see [`file_rows::rewrite`]), made when the file is written.
enum Group<'a> {
    Ready(FileRows<'a>),
    Rewrite {
        new: Vec<&'a ResultRow>,
        keep: &'a (dyn Fn(u8, crate::reconcile::ItemType, &str) -> bool + Sync),
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
            FileRows::Batch(b) | FileRows::Patched { batch: b, .. } => file_rows::digest(path, b),
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
pub(crate) fn partition_of(r: &ResultRow) -> (i32, crate::reconcile::ItemType) {
    (date_of(r.item_ts), r.item_type)
}

fn partition_path((day, item_type): (i32, crate::reconcile::ItemType)) -> String {
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
    let mut groups: BTreeMap<(i32, crate::reconcile::ItemType), Vec<&ResultRow>> = BTreeMap::new();
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
    planned: &std::collections::BTreeSet<(i32, crate::reconcile::ItemType)>,
    keep: &(dyn Fn(u8, crate::reconcile::ItemType, &str) -> bool + Sync),
    recomputed: &[ResultRow],
    settlement_wide: &[ResultRow],
) -> Result<ResultsWrite, ReconcileError> {
    use crate::reconcile::ItemType;
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
    groups: BTreeMap<(i32, crate::reconcile::ItemType), Group>,
    owned: &dyn Fn(&str) -> bool,
    force: bool,
) -> Result<ResultsWrite, ReconcileError> {
    use rayon::prelude::*;
    let mut writer = GroupWriter::open(out, force)?;
    let groups: Vec<(String, Group)> = groups
        .into_iter()
        .map(|(k, rows)| (partition_path(k), rows))
        .collect();
    let outcomes: Vec<Outcome> = groups
        .par_iter()
        .map(|(rel, rows)| writer.outcome(rel, rows))
        .collect::<Result<_, ReconcileError>>()?;
    writer
        .done
        .extend(groups.into_iter().map(|(rel, _)| rel).zip(outcomes));
    writer.commit(owned)
}

/// Writes every results file (as [`write_results`] with `force`), the files' rows given a few
/// files at a time by `next` in partition order: only those few files' rows are in memory at
/// once (each file is staged on disk as it is made; all are committed together at the end).
pub fn write_results_streamed(
    out: &Path,
    next: &mut dyn FnMut() -> Result<Option<FewFiles>, ReconcileError>,
) -> Result<ResultsWrite, ReconcileError> {
    use rayon::prelude::*;
    let mut writer = GroupWriter::open(out, true)?;
    while let Some(few) = next()? {
        let outcomes: Vec<(String, Outcome)> = few
            .par_iter()
            .map(|(k, rows)| {
                let rel = partition_path(*k);
                let group = Group::Ready(FileRows::Rows(rows.iter().collect()));
                writer.outcome(&rel, &group).map(|o| (rel, o))
            })
            .collect::<Result<_, ReconcileError>>()?;
        writer.done.extend(outcomes);
    }
    writer.commit(&|_| true)
}

/// A few results files' rows, each with its (UTC day, item type), for
/// [`write_results_streamed`].
pub type FewFiles = Vec<((i32, crate::reconcile::ItemType), Vec<ResultRow>)>;

/// What became of one results file.
enum Outcome {
    /// Nothing to write: its rows came out empty.
    Empty,
    /// The file on disk already holds these rows.
    Same,
    /// Staged: the digest, the new file, and whether it was patched.
    New(String, Staged, bool),
}

/// A write of results files: each file's [`Outcome`] as it is made, then one commit.
struct GroupWriter {
    dir: std::path::PathBuf,
    digests_path: std::path::PathBuf,
    old: BTreeMap<String, String>,
    force: bool,
    /// Each file's outcome, in partition order.
    done: Vec<(String, Outcome)>,
}

/// A file's digests entry: the digest of its rows, then the hash of its bytes (read back), so
/// an edited or damaged file is rewritten even when its rows did not change.
fn entry(digest: &str, hash: &str) -> String {
    format!("{digest}:{hash}")
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ReconcileError + use<> {
    let path = path.to_path_buf();
    move |e: std::io::Error| ReconcileError::Io { path, source: e }
}

impl GroupWriter {
    fn open(out: &Path, force: bool) -> Result<Self, ReconcileError> {
        let dir = out.join(RESULTS_DIR);
        let digests_path = dir.join(RESULTS_DIGESTS);
        // The single-file table of earlier versions: replaced by the folder.
        for legacy in ["results.parquet", "results.parquet.xxh3"] {
            let p = out.join(legacy);
            if p.exists() {
                std::fs::remove_file(&p).map_err(io_error(&p))?;
            }
        }
        let old: BTreeMap<String, String> =
            crate::state::load_json(&digests_path).unwrap_or_default();
        Ok(GroupWriter {
            dir,
            digests_path,
            old,
            force,
            done: Vec::new(),
        })
    }

    fn bytes_hash(&self, rel: &str) -> Option<String> {
        std::fs::read(self.dir.join(rel))
            .ok()
            .map(|b| format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&b)))
    }

    /// Makes, hashes and (unless unchanged) stages the file `rel` of `rows`.
    fn outcome(&self, rel: &str, rows: &Group<'_>) -> Result<Outcome, ReconcileError> {
        let (dir, old, force) = (&self.dir, &self.old, self.force);
        let path = dir.join(rel);
        let made;
        let rows = match rows {
            Group::Ready(rows) => rows,
            Group::Rewrite { new, keep } => {
                if path.exists() {
                    let stored = file_rows::read_stored(&path)?;
                    let rewritten = file_rows::rewrite(&path, &stored.batch(), *keep, new)?;
                    made = match rewritten.replaced {
                        Some(replaced) if results_patchable(&stored) => {
                            let changed = file_rows::changed_columns(
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
                    made = FileRows::Batch(file_rows::rewrite(&path, &old, *keep, new)?.batch);
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
                    && self
                        .bytes_hash(rel)
                        .is_some_and(|h| *e == entry(&digest, &h))
            });
        Ok(if same {
            Outcome::Same
        } else {
            let staged = rows.stage(&path)?;
            Outcome::New(digest, staged, matches!(rows, FileRows::Patched { .. }))
        })
    }

    /// Commits the staged files and the digests; removes the files that `owned` claims and no
    /// outcome has.
    fn commit(self, owned: &dyn Fn(&str) -> bool) -> Result<ResultsWrite, ReconcileError> {
        let GroupWriter {
            dir,
            digests_path,
            old,
            done: outcomes,
            ..
        } = self;
        let io = io_error;
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
        let mut wanted: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut staged = Vec::new();
        let mut new_entries = Vec::new();
        for (rel, outcome) in outcomes {
            let p = Path::new(RESULTS_DIR).join(&rel);
            match outcome {
                Outcome::Empty => continue,
                Outcome::Same => {
                    kept.insert(rel.clone(), old[&rel].clone());
                    done.unchanged.push(p);
                }
                Outcome::New(digest, s, patched) => {
                    done.patched += usize::from(patched);
                    kept.remove(&rel);
                    new_entries.push((rel.clone(), entry(&digest, &format!("{:016x}", s.hash))));
                    staged.push(s);
                    done.written.push(p);
                }
            }
            wanted.insert(rel);
        }
        let stale: Vec<String> = results_files(&dir)
            .into_iter()
            .filter(|f| owned(f) && !wanted.contains(f))
            .collect();
        if !staged.is_empty() || !stale.is_empty() || !digests_path.exists() {
            for rel in &stale {
                kept.remove(rel);
            }
            // The digests first without the files about to change, then the files (synced
            // together, then renamed into place), then the digests with them.
            crate::state::save_json(&digests_path, &kept)?;
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
            crate::state::save_json(&digests_path, &kept)?;
        }
        // The files this write left alone, still outputs.
        for rel in kept.keys().filter(|rel| !wanted.contains(*rel)) {
            done.unchanged.push(Path::new(RESULTS_DIR).join(rel));
        }
        done.removed = stale.len();
        Ok(done)
    }
}

/// The UTC days of the results files on disk (from `_digests.json`).
pub fn results_days(out: &Path) -> Vec<i32> {
    let path = out.join(RESULTS_DIR).join(RESULTS_DIGESTS);
    let map: BTreeMap<String, String> = crate::state::load_json(&path).unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::money::Currency;
    use crate::reconcile::{Counterparts, ItemType, Status};
    use polars::prelude::*;

    use super::parquet::tests::write_rows as write_rows_parquet;

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
