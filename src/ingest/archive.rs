//! Moving processed inbox files to the archive folder, so the inbox holds only what is new.
//!
//! A file is moved only after the lake commit that loaded it (or found it already loaded): if
//! the process dies in between, the next run finds the file again, sees its content is already
//! in the lake, and moves it then. A file keeps its path below the inbox; a different file of
//! the same name already archived gets a `.1`, `.2`, ... suffix, an identical one is simply
//! removed from the inbox.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

fn same_content(a: &Path, b: &Path) -> io::Result<bool> {
    if fs::metadata(a)?.len() != fs::metadata(b)?.len() {
        return Ok(false);
    }
    Ok(super::hashing::sha256_file(a)?.0 == super::hashing::sha256_file(b)?.0)
}

/// Moves `file` (below `inbox`) into `archive`, keeping its relative path; returns where it went.
pub fn archive_file(file: &Path, inbox: &Path, archive: &Path) -> io::Result<PathBuf> {
    let rel = file
        .strip_prefix(inbox)
        .unwrap_or_else(|_| Path::new(file.file_name().unwrap_or(file.as_os_str())));
    let mut target = archive.join(rel);
    if let Some(dir) = target.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut n = 0;
    while target.exists() {
        if same_content(file, &target)? {
            fs::remove_file(file)?;
            return Ok(target);
        }
        n += 1;
        let mut name = archive.join(rel).into_os_string();
        name.push(format!(".{n}"));
        target = PathBuf::from(name);
    }
    match fs::rename(file, &target) {
        Ok(()) => {}
        // Another file system: copy to a temporary name, sync, rename, then remove the original.
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            let tmp = target.with_extension("payrecon-partial");
            fs::copy(file, &tmp)?;
            fs::File::open(&tmp)?.sync_all()?;
            fs::rename(&tmp, &target)?;
            fs::remove_file(file)?;
        }
        Err(e) => return Err(e),
    }
    if let Some(dir) = target.parent() {
        // Make the move durable before the inbox forgets the file.
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_keeps_paths_and_never_overwrites() {
        let tmp = tempfile::tempdir().unwrap();
        let inbox = tmp.path().join("inbox");
        let archive = tmp.path().join("archive");
        fs::create_dir_all(inbox.join("bank")).unwrap();
        let f = inbox.join("bank/b.csv");
        fs::write(&f, "one").unwrap();
        let to = archive_file(&f, &inbox, &archive).unwrap();
        assert_eq!(to, archive.join("bank/b.csv"));
        assert!(!f.exists());
        // The same content again: removed from the inbox, nothing new in the archive.
        fs::write(&f, "one").unwrap();
        assert_eq!(archive_file(&f, &inbox, &archive).unwrap(), to);
        assert!(!f.exists());
        // Other content under the same name: kept beside it.
        fs::write(&f, "two").unwrap();
        let to2 = archive_file(&f, &inbox, &archive).unwrap();
        assert_eq!(to2, archive.join("bank/b.csv.1"));
        assert_eq!(fs::read_to_string(&to).unwrap(), "one");
        assert_eq!(fs::read_to_string(&to2).unwrap(), "two");
    }
}
