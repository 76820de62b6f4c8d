//! Atomic multi-file commits: stage every new file, write a journal, then rename.
//!
//! A commit writes all new files under `_txn/stage/` (mirroring their final paths), then writes
//! `_txn/journal.json` atomically (temp file + rename + fsync): that rename is the commit point.
//! Only then are the staged files renamed over their targets and obsolete files deleted.
//! [`recover`] runs whenever the lake is opened: with a journal it finishes the renames (redo),
//! without one it discards the staging area. So a process killed at any instant leaves the lake
//! as before the commit or, once reopened, as after it.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LakeError;

pub const TXN_DIR: &str = "_txn";
const JOURNAL: &str = "journal.json";
const STAGE: &str = "stage";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Journal {
    /// Lake-relative paths to move from the staging area into place.
    puts: Vec<String>,
    /// Lake-relative paths to delete.
    deletes: Vec<String>,
}

/// An open transaction on the lake.
#[derive(Debug)]
pub struct Txn {
    root: PathBuf,
    puts: BTreeSet<String>,
    deletes: BTreeSet<String>,
}

impl Txn {
    pub(super) fn begin(root: &Path) -> Result<Txn, LakeError> {
        let stage = root.join(TXN_DIR).join(STAGE);
        if stage.exists() {
            fs::remove_dir_all(&stage).map_err(|e| LakeError::io(&stage, e))?;
        }
        fs::create_dir_all(&stage).map_err(|e| LakeError::io(&stage, e))?;
        Ok(Txn {
            root: root.to_path_buf(),
            puts: BTreeSet::new(),
            deletes: BTreeSet::new(),
        })
    }

    /// A scratch folder inside the staging area (for spill files); never committed.
    pub fn scratch_dir(&self) -> PathBuf {
        self.root.join(TXN_DIR).join("scratch")
    }

    /// Where to write the new version of lake-relative `target`; records the put.
    pub fn stage(&mut self, target: &str) -> PathBuf {
        self.deletes.remove(target);
        self.puts.insert(target.to_string());
        self.staged_path(target)
    }

    /// The staging path of `target`, without recording anything (for parallel writers; the
    /// coordinator records the put with [`Txn::stage`]).
    pub fn staged_path(&self, target: &str) -> PathBuf {
        self.root.join(TXN_DIR).join(STAGE).join(target)
    }

    /// Records that lake-relative `target` is to be deleted.
    pub fn delete(&mut self, target: &str) {
        if !self.puts.contains(target) {
            self.deletes.insert(target.to_string());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty()
    }

    /// Commits: journal first (the commit point), then the renames.
    pub fn commit(self) -> Result<(), LakeError> {
        self.commit_with_hook(|_| {})
    }

    /// [`Txn::commit`] with a hook called at named points, for crash tests.
    pub fn commit_with_hook(self, hook: impl Fn(&str)) -> Result<(), LakeError> {
        let journal = Journal {
            puts: self.puts.into_iter().collect(),
            deletes: self.deletes.into_iter().collect(),
        };
        let txn_dir = self.root.join(TXN_DIR);
        // Every staged file must be durable before the journal says it exists (one sync for
        // all of them).
        let staged: Vec<PathBuf> = journal
            .puts
            .iter()
            .map(|p| txn_dir.join(STAGE).join(p))
            .collect();
        crate::durable::sync_files(staged.iter().map(|p| p.as_path()))
            .map_err(|(path, e)| LakeError::io(&path, e))?;
        hook("before-journal");
        let tmp = txn_dir.join("journal.json.tmp");
        let bytes = serde_json::to_vec_pretty(&journal).expect("journal serialises");
        fs::write(&tmp, bytes).map_err(|e| LakeError::io(&tmp, e))?;
        fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| LakeError::io(&tmp, e))?;
        let path = txn_dir.join(JOURNAL);
        fs::rename(&tmp, &path).map_err(|e| LakeError::io(&path, e))?;
        sync_dir(&txn_dir);
        hook("after-journal");
        apply(&self.root, &journal, &hook)
    }
}

fn apply(root: &Path, journal: &Journal, hook: &impl Fn(&str)) -> Result<(), LakeError> {
    let txn_dir = root.join(TXN_DIR);
    let mut dirs = BTreeSet::new();
    for (i, p) in journal.puts.iter().enumerate() {
        let staged = txn_dir.join(STAGE).join(p);
        let target = root.join(p);
        if staged.exists() {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| LakeError::io(parent, e))?;
                dirs.insert(parent.to_path_buf());
            }
            fs::rename(&staged, &target).map_err(|e| LakeError::io(&target, e))?;
        }
        if i == journal.puts.len() / 2 {
            hook("mid-apply");
        }
    }
    for p in &journal.deletes {
        let target = root.join(p);
        match fs::remove_file(&target) {
            Ok(()) => {
                if let Some(parent) = target.parent() {
                    // Drop the partition folder once empty, so engines see no stale partition.
                    let _ = fs::remove_dir(parent);
                    dirs.insert(parent.to_path_buf());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LakeError::io(&target, e)),
        }
    }
    for d in &dirs {
        sync_dir(d);
    }
    hook("before-cleanup");
    let journal_path = txn_dir.join(JOURNAL);
    fs::remove_file(&journal_path).map_err(|e| LakeError::io(&journal_path, e))?;
    sync_dir(&txn_dir);
    let _ = fs::remove_dir_all(&txn_dir);
    Ok(())
}

/// Finishes a committed transaction or discards an uncommitted one. Returns what it did.
pub fn recover(root: &Path) -> Result<Option<&'static str>, LakeError> {
    let txn_dir = root.join(TXN_DIR);
    let journal_path = txn_dir.join(JOURNAL);
    if journal_path.exists() {
        let text = fs::read(&journal_path).map_err(|e| LakeError::io(&journal_path, e))?;
        let journal: Journal = serde_json::from_slice(&text)
            .map_err(|e| LakeError::corrupt(&journal_path, format!("unreadable journal: {e}")))?;
        apply(root, &journal, &|_| {})?;
        return Ok(Some("completed an interrupted commit"));
    }
    if txn_dir.exists() {
        let leftovers = fs::read_dir(&txn_dir)
            .map_err(|e| LakeError::io(&txn_dir, e))?
            .next()
            .is_some();
        fs::remove_dir_all(&txn_dir).map_err(|e| LakeError::io(&txn_dir, e))?;
        if leftovers {
            return Ok(Some("discarded an uncommitted ingest"));
        }
    }
    Ok(None)
}

fn sync_dir(dir: &Path) {
    // Directory fsync makes renames durable on Linux; it is best-effort elsewhere.
    if let Ok(f) = fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(txn: &mut Txn, target: &str, content: &str) {
        let p = txn.stage(target);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }

    #[test]
    fn commit_moves_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("t/day=1")).unwrap();
        fs::write(root.join("t/day=1/part-0.parquet"), "old").unwrap();
        let mut txn = Txn::begin(root).unwrap();
        put(&mut txn, "t/day=2/part-0.parquet", "new");
        txn.delete("t/day=1/part-0.parquet");
        txn.commit().unwrap();
        assert_eq!(
            fs::read_to_string(root.join("t/day=2/part-0.parquet")).unwrap(),
            "new"
        );
        assert!(!root.join("t/day=1").exists());
        assert!(!root.join(TXN_DIR).join(JOURNAL).exists());
    }

    #[test]
    fn crash_before_journal_rolls_back_and_after_rolls_forward() {
        for (point, committed) in [
            ("before-journal", false),
            ("after-journal", true),
            ("mid-apply", true),
            ("before-cleanup", true),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            fs::create_dir_all(root.join("t")).unwrap();
            fs::write(root.join("t/a"), "old-a").unwrap();
            let mut txn = Txn::begin(root).unwrap();
            put(&mut txn, "t/a", "new-a");
            put(&mut txn, "t/b", "new-b");
            put(&mut txn, "t/c", "new-c");
            // Simulate a kill at `point`: unwind out of the commit there.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                txn.commit_with_hook(|p| {
                    if p == point {
                        panic!("killed");
                    }
                })
            }));
            assert!(result.is_err());
            recover(root).unwrap();
            let a = fs::read_to_string(root.join("t/a")).unwrap();
            if committed {
                assert_eq!(a, "new-a", "{point}");
                assert_eq!(
                    fs::read_to_string(root.join("t/c")).unwrap(),
                    "new-c",
                    "{point}"
                );
            } else {
                assert_eq!(a, "old-a", "{point}");
                assert!(!root.join("t/b").exists(), "{point}");
            }
            assert!(!root.join(TXN_DIR).exists(), "{point}");
        }
    }
}
