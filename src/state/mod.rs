//! Every file a run keeps to make the next one cheaper, behind one boundary: one binary
//! encoding ([`codec`]), one digest scheme ([`digest`]), and a small load/save API. A state
//! file that is missing, damaged, foreign or from another build reads as no state, and the
//! work it would have saved is done again: state never changes an output, only its cost.
//!
//! | file | kept by | holds |
//! |---|---|---|
//! | `.payrecon-run.json` ([`run`]) | the run | the inputs' digest, every output's digest, the last summary |
//! | `.payrecon-reconcile-state.bin` | `reconcile::incremental` | components, kept rows, attempt facts |
//! | `.payrecon-tables.bin` | `report::cache` | each month's analytics tables |
//! | `reconcile/results/_digests.json` | `reconcile::results` | each results file's row digest |
//!
//! The two a person may want to read (what the last run vouched for) are JSON; the two large
//! ones use the sealed binary envelope ([`codec::seal`]). Each owner encodes its own values
//! with [`codec`]; only this module names the files and reads and writes them.

pub mod codec;
pub mod digest;
pub mod run;

use std::path::{Path, PathBuf};

use crate::durable::DurableError;
pub use digest::{FileDigest, file_digest};

/// The incremental reconciliation's state, in the reports folder.
pub const RECONCILE_STATE: &str = ".payrecon-reconcile-state.bin";
/// The month tables' cache, in the reports folder.
pub const TABLES_CACHE: &str = ".payrecon-tables.bin";
/// The results files' row digests, in the results folder.
pub const RESULTS_DIGESTS: &str = "_digests.json";
pub use run::STATE_FILE as RUN_STATE;

/// Errors of keeping state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
    #[error(transparent)]
    Durable(#[from] DurableError),
    #[error("{}: written by this run but unreadable", path.display())]
    Unreadable { path: PathBuf },
}

/// A JSON state file, or `None` when it is missing or does not parse.
pub fn load_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Writes a JSON state file atomically (pretty, with a final newline).
pub fn save_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), DurableError> {
    let mut text = serde_json::to_vec_pretty(value).expect("state serialises");
    text.push(b'\n');
    crate::durable::write_atomic(path, &text)
}

/// Writes a sealed file atomically: `body` (its magic first) and the trailer.
pub fn save_sealed(path: &Path, body: Vec<u8>) -> Result<FileDigest, DurableError> {
    let bytes = codec::seal(body);
    crate::durable::write_atomic(path, &bytes)?;
    Ok(FileDigest::of_bytes(&bytes))
}

/// Writes a sealed file as `encode` streams it (see [`codec::write_hashed`]), over the last one
/// in place: not atomic and not synced, for a large state whose pages were just read. A crash
/// that leaves it half-written leaves a file that fails its trailer, which reads as no state.
pub fn save_streamed(
    path: &Path,
    encode: impl FnOnce(&mut codec::Sink),
) -> Result<FileDigest, DurableError> {
    let io = |source| DurableError {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    let (hash, len) = codec::write_hashed(&mut file, encode).map_err(io)?;
    file.set_len(len).map_err(io)?;
    Ok(FileDigest { hash, len })
}

/// Decodes a sealed file with `decode` (given the body after the magic), with the file's
/// digest; `None` when it is missing, does not verify, or does not decode. The file is mapped,
/// not read: no copy of a large state into fresh memory; the decoded value must own its data.
pub fn load_sealed<T>(
    path: &Path,
    magic: &[u8; 8],
    decode: impl FnOnce(&mut codec::Reader<'_>) -> Option<T>,
) -> Option<(T, FileDigest)> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: only a run, under the lake's run lock, writes these files, and never while one
    // is mapped (the mapping ends with this function; `decode`'s value owns its data).
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let (mut r, digest) = codec::open(magic, &map)?;
    let value = decode(&mut r)?;
    r.rest().is_empty().then_some((value, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_file_reads_back_and_a_damaged_one_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.bin");
        let mut body = b"PRTEST01".to_vec();
        codec::put_text(&mut body, "hello");
        let written = save_sealed(&path, body).unwrap();
        let read = |p: &Path| load_sealed(p, b"PRTEST01", |r| r.text().map(str::to_string));
        let (text, digest) = read(&path).unwrap();
        assert_eq!((text.as_str(), digest), ("hello", written));
        assert_eq!(Some(digest), FileDigest::of_file(&path));
        assert!(
            load_sealed(&path, b"PRTEST02", |_| Some(())).is_none(),
            "another magic"
        );
        assert!(
            load_sealed(&path, b"PRTEST01", |_| Some(())).is_none(),
            "bytes left over"
        );
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[9] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read(&path).is_none(), "damaged");
        std::fs::write(&path, &bytes[..10]).unwrap();
        assert!(read(&path).is_none(), "cut short");
        assert!(read(&dir.path().join("none")).is_none(), "missing");
    }

    #[test]
    fn a_streamed_file_is_sealed_like_a_whole_one() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        // Longer state first: the streamed write truncates what the old one left over.
        std::fs::write(&b, vec![7u8; 1000]).unwrap();
        let body = |b: &mut Vec<u8>| {
            b.extend_from_slice(b"PRTEST01");
            codec::put_opt(b, Some(-3));
        };
        let mut whole = Vec::new();
        body(&mut whole);
        let da = save_sealed(&a, whole).unwrap();
        let db = save_streamed(&b, |s| body(s)).unwrap();
        assert_eq!(da, db);
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        let (v, _) = load_sealed(&b, b"PRTEST01", |r| r.opt()).unwrap();
        assert_eq!(v, Some(-3));
    }
}
