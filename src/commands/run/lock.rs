//! The run lock (one run at a time, beside the lake, so it outlives a `--full` swap), and the
//! recovery of what a killed run left: a half-swapped `--full` rebuild, temporary files.

use std::path::Path;

use super::settings::{RunSettings, sibling};
use crate::commands::CommandError;

/// Takes the run lock, then finishes what a killed run left. The lock is held while the
/// returned file lives.
pub(super) fn take(s: &RunSettings) -> Result<std::fs::File, CommandError> {
    let lock = run_lock(&s.paths.lake, s.wait)?;
    recover_swap(&s.paths.lake)?;
    let swept = crate::durable::remove_stale_temp_files(&s.paths.reports)?;
    if swept > 0 {
        tracing::warn!(
            files = swept,
            "removed temporary files of an interrupted run"
        );
    }
    Ok(lock)
}

/// The run lock: a file beside the lake (it outlives a `--full` swap of the lake folder).
fn run_lock(lake: &Path, wait: bool) -> Result<std::fs::File, CommandError> {
    let path = sibling(lake, ".run-lock");
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CommandError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| CommandError::Io {
            path: path.clone(),
            source: e,
        })?;
    if wait {
        tracing::info!(lock = %path.display(), "waiting for the run lock");
        file.lock().map_err(|e| CommandError::Io {
            path: path.clone(),
            source: e,
        })?;
    } else {
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(CommandError::Usage(format!(
                    "another payrecon run is in progress (lock {} is held); not starting. \
                     Use --wait to wait for it",
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(CommandError::Io {
                    path: path.clone(),
                    source: e,
                });
            }
        }
    }
    Ok(file)
}

/// Finishes or undoes a `--full` lake swap that a killed run left half done.
fn recover_swap(lake: &Path) -> Result<(), CommandError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| CommandError::Io { path, source: e }
    };
    let old = sibling(lake, ".old");
    let rebuild = sibling(lake, ".rebuild");
    if old.exists() {
        if lake.exists() {
            tracing::warn!(lake = %lake.display(), "finishing an interrupted --full swap");
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        } else {
            tracing::warn!(lake = %lake.display(), "undoing an interrupted --full swap");
            std::fs::rename(&old, lake).map_err(io(&old))?;
        }
    }
    if rebuild.exists() {
        tracing::warn!(folder = %rebuild.display(), "removing an interrupted --full rebuild");
        std::fs::remove_dir_all(&rebuild).map_err(io(&rebuild))?;
    }
    Ok(())
}
