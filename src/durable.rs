//! Making written files durable before they are renamed into place, for a batch at a time.
//!
//! An atomic output is a temporary file, synced, then renamed over its target. Syncing each file
//! costs a journal commit and a device flush of its own (~13 ms on the benchmark VM), so a night
//! that writes a hundred files waited over a second for them. [`sync_files`] syncs a batch with
//! one `syncfs(2)` per file system on Linux (an `fsync` each elsewhere, and for a single file).
//! Writers call [`start_writeback`] on each file as they finish it, so the device is busy while
//! the CPU goes on, and the sync at the end has little left to wait for.

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

/// One `syncfs` per file system the files are on.
#[cfg(target_os = "linux")]
fn sync_many(paths: &[&Path]) -> Result<(), (PathBuf, io::Error)> {
    use std::os::unix::fs::MetadataExt;
    let mut synced = std::collections::BTreeSet::new();
    for p in paths {
        let err = |e: io::Error| (p.to_path_buf(), e);
        let file = File::open(p).map_err(err)?;
        if synced.insert(file.metadata().map_err(err)?.dev()) {
            rustix::fs::syncfs(&file).map_err(|e| err(e.into()))?;
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn sync_many(paths: &[&Path]) -> Result<(), (PathBuf, io::Error)> {
    paths.iter().try_for_each(|p| fsync(p))
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
