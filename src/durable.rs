//! Making written files durable before they are renamed into place, for a batch at a time.
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
use std::io;
use std::path::{Path, PathBuf};

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
