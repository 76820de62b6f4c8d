//! Files written so that a reader sees the old file or the new one, never half of one, and that
//! survive a crash once committed: staging beside the target ([`stage_with`]), one sync for a
//! batch, then renames ([`commit_staged`]); [`write_atomic`] for a single file. Its error,
//! [`DurableError`], names the file; every stage that writes outputs converts it into its own.
//!
//! An atomic output is a temporary file, synced, then renamed over its target. Syncing each file
//! in turn costs a journal commit and a device flush of its own (~13 ms on the benchmark VM), so
//! a night that writes a hundred files waited over a second for them. [`sync_files`] syncs a
//! batch's files concurrently, on a few threads of its own: the file system joins their flushes
//! into a few journal commits. Writers call [`start_writeback`] on each file as they finish it,
//! so the device is busy while the CPU goes on, and the sync at the end has little left to wait
//! for. (One `syncfs(2)` per batch was tried: it also waits for every other dirty file on the file
//! system, such as the ~500 MB reconcile state a night rewrites without syncing, 0.16 s a batch.)

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A file that could not be written, synced, renamed or removed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct DurableError {
    pub path: PathBuf,
    pub source: io::Error,
}

impl DurableError {
    fn at(path: &Path) -> impl FnOnce(io::Error) -> DurableError + '_ {
        move |source| DurableError {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Name prefix of the temporary files of [`write_atomic_with`]; a killed process can leave
/// one behind, which [`remove_stale_temp_files`] sweeps up.
pub const TEMP_PREFIX: &str = ".payrecon-tmp-";

/// Removes temporary files a killed writer left in `dir` (call only while holding the run lock).
pub fn remove_stale_temp_files(dir: &Path) -> Result<usize, DurableError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(DurableError {
                path: dir.to_path_buf(),
                source: e,
            });
        }
    };
    let mut n = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            std::fs::remove_file(&path).map_err(DurableError::at(&path))?;
            n += 1;
        } else if path.is_dir() {
            n += remove_stale_temp_files(&path)?;
        }
    }
    Ok(n)
}

/// The xxh3-64 of everything written through it, on the way to `inner`.
pub struct Hashed<W> {
    inner: W,
    hasher: xxhash_rust::xxh3::Xxh3,
}

impl<W: std::io::Write> std::io::Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The writer [`stage_with`] hands out: buffered, hashing the file's bytes.
pub type StageWriter<'a> = std::io::BufWriter<Hashed<&'a std::fs::File>>;

/// A file written under a temporary name in its target's folder: neither durable nor in place
/// until [`commit_staged`].
pub struct Staged {
    /// Closed (a full rebuild stages hundreds of files), removed if dropped before the commit.
    tmp: tempfile::TempPath,
    path: std::path::PathBuf,
    /// xxh3-64 of the file's bytes.
    pub hash: u64,
}

/// Writes what `write` writes to a temporary file beside `path` (see [`commit_staged`]).
/// `write`'s own errors pass through; the error type only has to hold a [`DurableError`].
pub fn stage_with<E: From<DurableError>>(
    path: &Path,
    write: impl FnOnce(&mut StageWriter<'_>) -> Result<(), E>,
) -> Result<Staged, E> {
    let io = |e: std::io::Error| E::from(DurableError::at(path)(e));
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    // Temporary files are created owner-only; the result is an ordinary file (0644 before the
    // umask), like any other output.
    let tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)
        .map_err(io)?;
    let hash = {
        let mut w = std::io::BufWriter::new(Hashed {
            inner: tmp.as_file(),
            hasher: xxhash_rust::xxh3::Xxh3::new(),
        });
        write(&mut w)?;
        w.flush().map_err(io)?;
        let (hashed, _) = w.into_parts();
        start_writeback(tmp.as_file());
        hashed.hasher.digest()
    };
    Ok(Staged {
        tmp: tmp.into_temp_path(),
        path: path.to_path_buf(),
        hash,
    })
}

/// Makes the staged files durable (one sync for all: see [`sync_files`]), then renames each
/// over its target, so a reader sees each old file or its new one, never half of one.
pub fn commit_staged(staged: Vec<Staged>) -> Result<(), DurableError> {
    sync_files(staged.iter().map(|s| s.tmp.as_ref()))
        .map_err(|(path, source)| DurableError { path, source })?;
    for s in staged {
        let path = s.path;
        s.tmp.persist(&path).map_err(|e| DurableError {
            path,
            source: e.error,
        })?;
    }
    Ok(())
}

/// Writes `path` atomically: `write` fills a temporary file in the same folder, which is synced
/// and renamed over `path`.
pub fn write_atomic_with<E: From<DurableError>>(
    path: &Path,
    write: impl FnOnce(&mut StageWriter<'_>) -> Result<(), E>,
) -> Result<(), E> {
    Ok(commit_staged(vec![stage_with(path, write)?])?)
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DurableError> {
    commit_staged(vec![stage(path, bytes)?])
}

/// [`stage_with`] of `bytes`.
pub fn stage(path: &Path, bytes: &[u8]) -> Result<Staged, DurableError> {
    stage_with(path, |w| w.write_all(bytes).map_err(DurableError::at(path)))
}

/// Starts writing `file`'s dirty pages to the device, without waiting for them (Linux; a no-op
/// elsewhere). Only a hint: durability still comes from [`sync_files`].
pub fn start_writeback(file: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor; the call only reads it. Its result is ignored: a
        // failure leaves the pages for the sync.
        let _ =
            unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// Makes the data of every file in `paths` durable. The error names the file it came from.
pub fn sync_files<'a>(
    paths: impl IntoIterator<Item = &'a Path>,
) -> Result<(), (PathBuf, io::Error)> {
    let paths: Vec<&Path> = paths.into_iter().collect();
    match paths.as_slice() {
        [] => Ok(()),
        [one] => fsync(one),
        many => sync_many(many),
    }
}

fn fsync(p: &Path) -> Result<(), (PathBuf, io::Error)> {
    File::open(p)
        .and_then(|f| f.sync_all())
        .map_err(|e| (p.to_path_buf(), e))
}

/// The files synced at once: enough to overlap their flushes, few enough to stay cheap threads.
const SYNC_THREADS: usize = 16;

/// Each file's `fsync`, on up to [`SYNC_THREADS`] threads (not the rayon pool: a worker blocked
/// in a flush is a core lost to the CPU-bound work beside it). The error is the first file's in
/// `paths` order that failed.
fn sync_many(paths: &[&Path]) -> Result<(), (PathBuf, io::Error)> {
    let per_thread = paths.len().div_ceil(SYNC_THREADS);
    std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(per_thread)
            .map(|chunk| s.spawn(move || chunk.iter().try_for_each(|p| fsync(p))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("an fsync thread does not panic"))
            .collect::<Result<Vec<()>, _>>()
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncs_one_file_many_files_and_none() {
        let tmp = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..3).map(|i| tmp.path().join(format!("f{i}"))).collect();
        for p in &paths {
            std::fs::write(p, b"x").unwrap();
        }
        sync_files(paths.iter().map(|p| p.as_path())).unwrap();
        sync_files([paths[0].as_path()]).unwrap();
        sync_files(std::iter::empty()).unwrap();
        let missing = tmp.path().join("missing");
        let (path, _) = sync_files([paths[0].as_path(), missing.as_path()]).unwrap_err();
        assert_eq!(path, missing);
    }
}
