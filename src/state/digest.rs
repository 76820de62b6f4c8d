//! The one digest scheme of state and caches: xxh3. A file or output is named by
//! [`FileDigest`] (`xxh3-128 hex:bytes`); a record's relevance by [`Fields`] (a seeded xxh3-64
//! over tagged values, so `None` and an empty text differ); a build by [`hash_this_build`].

use std::path::Path;

use xxhash_rust::xxh3::{Xxh3, xxh3_128};

/// The xxh3-128 and length of a file's bytes; shown as `hex:bytes`, how the run state records
/// outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigest {
    pub hash: u128,
    pub len: u64,
}

impl FileDigest {
    pub fn of_bytes(bytes: &[u8]) -> FileDigest {
        FileDigest {
            hash: xxh3_128(bytes),
            len: bytes.len() as u64,
        }
    }

    /// The digest of the file at `path`, or `None` when it cannot be read.
    pub fn of_file(path: &Path) -> Option<FileDigest> {
        std::fs::read(path).ok().map(|b| Self::of_bytes(&b))
    }
}

impl std::fmt::Display for FileDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}:{}", self.hash, self.len)
    }
}

/// `xxh3-128 hex:bytes` of the file at `path`, or `None` when it cannot be read.
pub fn file_digest(path: &Path) -> Option<String> {
    FileDigest::of_file(path).map(|d| d.to_string())
}

/// Hashes the running binary's size and modification time: a rebuilt binary (same version
/// number, other code) gives another digest, so no state outlives the code that wrote it.
pub fn hash_this_build(h: &mut Xxh3) {
    if let Some(meta) = std::env::current_exe()
        .ok()
        .and_then(|exe| std::fs::metadata(exe).ok())
    {
        h.update(&meta.len().to_le_bytes());
        if let Ok(Ok(t)) = meta
            .modified()
            .map(|m| m.duration_since(std::time::UNIX_EPOCH))
        {
            h.update(&t.as_nanos().to_le_bytes());
        }
    }
}

/// A digest of values in order, each tagged (present or absent) and texts with their length,
/// so no two sequences of values hash alike by construction.
pub struct Fields(Xxh3);

impl Fields {
    pub fn new(seed: u64) -> Self {
        Self(Xxh3::with_seed(seed))
    }

    pub fn bytes(mut self, b: Option<&[u8]>) -> Self {
        match b {
            Some(b) => {
                self.0.update(&[1]);
                self.0.update(&(b.len() as u64).to_le_bytes());
                self.0.update(b);
            }
            None => self.0.update(&[0]),
        }
        self
    }

    pub fn text(self, t: Option<&str>) -> Self {
        self.bytes(t.map(str::as_bytes))
    }

    pub fn int(mut self, v: Option<i64>) -> Self {
        match v {
            Some(v) => {
                self.0.update(&[1]);
                self.0.update(&v.to_le_bytes());
            }
            None => self.0.update(&[0]),
        }
        self
    }

    pub fn finish(self) -> u64 {
        self.0.digest()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_fields_do_not_run_together() {
        let a = Fields::new(1).text(Some("ab")).text(Some("c")).finish();
        let b = Fields::new(1).text(Some("a")).text(Some("bc")).finish();
        let c = Fields::new(1).text(None).text(Some("abc")).finish();
        let d = Fields::new(1).text(Some("")).text(Some("abc")).finish();
        assert!(a != b && b != c && c != d && a != d);
        assert_ne!(Fields::new(1).finish(), Fields::new(2).finish());
    }

    #[test]
    fn a_file_digest_reads_as_the_run_state_writes_it() {
        let d = FileDigest::of_bytes(b"status\n");
        assert_eq!(d.len, 7);
        assert_eq!(d.to_string(), format!("{:032x}:7", xxh3_128(b"status\n")));
    }
}
