//! The inbox as an untrusted folder: listing it without being stopped by what is in it.
//!
//! Paths stay `OsStr` end to end (a Latin-1 file name from a Windows share is read and archived
//! under its own bytes; only messages show it lossily). Inside a folder, symbolic links are
//! skipped unless following them is asked for, and then a folder already visited (a link loop)
//! is skipped; FIFOs, sockets, devices and entries that cannot be read are skipped with a
//! warning that names them. None of these fails or blocks the rest of the listing, and files
//! are opened without blocking ([`open_regular`]), so a FIFO that appears after the listing
//! cannot hang a run either.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::printable::{MAX_NAME_CHARS, printable};

/// File name endings taken from folders (a file named explicitly is always taken).
/// Bank statements come as `.xml` (camt), `.sta`/`.mt940`/`.940`/`.942`/`.swi` (MT940/MT942)
/// and `.bai`/`.bai2` (BAI2) as well as `.txt`.
pub const DATA_EXTENSIONS: [&str; 13] = [
    "csv", "txt", "jsonl", "ndjson", "json", "xml", "sta", "mt940", "940", "942", "swi", "bai",
    "bai2",
];

/// A path as shown in messages and stored as `source_file`: lossy for a name that is not
/// UTF-8, control characters escaped.
pub fn shown_path(path: &Path) -> String {
    printable(&path.display().to_string(), MAX_NAME_CHARS * 4).into_owned()
}

/// An inbox entry that was not taken, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub why: String,
}

/// What a listing found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Regular files to ingest, in name order, with their sizes.
    pub files: Vec<(PathBuf, u64)>,
    /// Entries left alone (warned about).
    pub skipped: Vec<Skipped>,
}

/// Lists the files under `paths`: folders recursively in name order, hidden entries (`.`, `_`)
/// and names without a data ending skipped. A path named explicitly must exist; everything
/// below it is untrusted.
pub fn list(paths: &[PathBuf], follow_symlinks: bool) -> io::Result<Listing> {
    let mut out = Listing::default();
    let mut visited = HashSet::new();
    for p in paths {
        // The user named it: follow it, whatever it is.
        let meta = fs::metadata(p)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", shown_path(p))))?;
        if meta.is_dir() {
            visited.insert(identity(&meta));
            walk(p, follow_symlinks, &mut visited, &mut out);
        } else if meta.is_file() {
            out.files.push((p.clone(), meta.len()));
        } else {
            skip(&mut out, p, kind_of(&meta.file_type()));
        }
    }
    Ok(out)
}

#[cfg(unix)]
fn identity(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

fn kind_of(t: &fs::FileType) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe), not a regular file".into();
        }
        if t.is_socket() {
            return "a socket, not a regular file".into();
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device, not a regular file".into();
        }
    }
    let _ = t;
    "not a regular file".into()
}

fn skip(out: &mut Listing, path: &Path, why: String) {
    tracing::warn!(entry = %shown_path(path), "inbox entry skipped: {why}");
    out.skipped.push(Skipped {
        path: path.to_path_buf(),
        why,
    });
}

fn is_data_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| DATA_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn walk(dir: &Path, follow: bool, visited: &mut HashSet<(u64, u64)>, out: &mut Listing) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return skip(out, dir, format!("folder cannot be read: {e}")),
    };
    let mut found: Vec<(PathBuf, Option<fs::FileType>)> = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => found.push((e.path(), e.file_type().ok())),
            Err(e) => {
                skip(
                    out,
                    dir,
                    format!("an entry of this folder cannot be read: {e}"),
                );
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, file_type) in found {
        let name = path
            .file_name()
            .map(|n| n.as_encoded_bytes())
            .unwrap_or_default();
        if name.starts_with(b".") || name.starts_with(b"_") {
            continue;
        }
        let Some(mut t) = file_type else {
            skip(out, &path, "its type cannot be read".into());
            continue;
        };
        let mut meta = None;
        if t.is_symlink() {
            if !follow {
                skip(
                    out,
                    &path,
                    "a symbolic link, not followed (set ingest.follow_symlinks = true to follow links)"
                        .into(),
                );
                continue;
            }
            match fs::metadata(&path) {
                Ok(m) => {
                    t = m.file_type();
                    meta = Some(m);
                }
                Err(e) => {
                    skip(
                        out,
                        &path,
                        format!("a symbolic link that cannot be followed: {e}"),
                    );
                    continue;
                }
            }
        }
        if t.is_dir() {
            let m = match meta.map_or_else(|| fs::metadata(&path), Ok) {
                Ok(m) => m,
                Err(e) => {
                    skip(out, &path, format!("folder cannot be read: {e}"));
                    continue;
                }
            };
            if !visited.insert(identity(&m)) {
                skip(out, &path, "a folder already listed (a link loop)".into());
                continue;
            }
            walk(&path, follow, visited, out);
        } else if t.is_file() {
            if !is_data_name(&path) {
                tracing::debug!(file = %shown_path(&path), "skipped: not a data file name (.{})", DATA_EXTENSIONS.join(", ."));
                continue;
            }
            match meta.map_or_else(|| fs::metadata(&path), Ok) {
                Ok(m) => out.files.push((path, m.len())),
                Err(e) => skip(out, &path, format!("cannot be read: {e}")),
            }
        } else {
            let why = kind_of(&t);
            skip(out, &path, why);
        }
    }
}

/// Opens an input file for reading without blocking: a FIFO or device put in a file's place
/// after the listing is refused instead of waiting forever for a writer.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let mut opts = fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let file = opts.open(path)?;
    let t = file.metadata()?.file_type();
    if !t.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, kind_of(&t)));
    }
    Ok(file)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn names(l: &Listing) -> Vec<String> {
        l.files
            .iter()
            .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn odd_entries_are_skipped_and_named() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        fs::write(d.join("a.csv"), "x").unwrap();
        fs::write(d.join("notes.md"), "x").unwrap();
        fs::write(d.join(".hidden.csv"), "x").unwrap();
        let latin1 = d.join(std::ffi::OsStr::from_bytes(b"\xdcberweisung.csv"));
        fs::write(&latin1, "x").unwrap();
        std::os::unix::fs::symlink(d.join("missing.csv"), d.join("dangling.csv")).unwrap();
        std::os::unix::fs::symlink(d, d.join("loop")).unwrap();
        let fifo = d.join("pipe.csv");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);

        let l = list(&[d.to_path_buf()], false).unwrap();
        assert_eq!(names(&l), ["a.csv", "\u{fffd}berweisung.csv"]);
        assert!(
            l.files.iter().any(|(p, _)| *p == latin1),
            "the real bytes are kept"
        );
        let why: Vec<&str> = l.skipped.iter().map(|s| s.why.as_str()).collect();
        assert_eq!(why.len(), 3, "{why:?}");
        assert!(why.iter().filter(|w| w.contains("symbolic link")).count() == 2);
        assert!(why.iter().any(|w| w.contains("FIFO")));

        // Following links: the dangling one and the loop are named, nothing is read twice.
        let l = list(&[d.to_path_buf()], true).unwrap();
        assert_eq!(names(&l), ["a.csv", "\u{fffd}berweisung.csv"]);
        let why: Vec<&str> = l.skipped.iter().map(|s| s.why.as_str()).collect();
        assert!(
            why.iter().any(|w| w.contains("cannot be followed")),
            "{why:?}"
        );
        assert!(why.iter().any(|w| w.contains("link loop")), "{why:?}");

        assert!(
            open_regular(&fifo)
                .unwrap_err()
                .to_string()
                .contains("FIFO")
        );
    }
}
