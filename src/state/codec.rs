//! The one binary encoding of the state and cache files: little-endian numbers, texts with
//! their length first, optional values with a tag first, fixed-size records after their count
//! (encoded and decoded in parallel), and one envelope: an 8-byte magic, the body, and the
//! xxh3-128 of both as a trailer, so a file verifies itself and a damaged or foreign one reads
//! as no file.
//!
//! Decoding never trusts a length: every read is checked, and a file that does not decode is
//! `None` (the state is then rebuilt), never a panic.

use rayon::prelude::*;
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use super::digest::FileDigest;

/// Seals `body` (which starts with `magic`, see [`open`]): appends the trailer.
pub fn seal(mut body: Vec<u8>) -> Vec<u8> {
    let hash = xxh3_128(&body).to_le_bytes();
    body.extend_from_slice(&hash);
    body
}

/// The body of a sealed file after its magic, when the trailer verifies and the magic is
/// `magic`; and the file's digest (of every byte, as [`FileDigest::of_bytes`] gives it),
/// from the same pass over the bytes.
pub fn open<'a>(magic: &[u8; 8], bytes: &'a [u8]) -> Option<(Reader<'a>, FileDigest)> {
    let (body, trailer) = bytes.split_at_checked(bytes.len().checked_sub(16)?)?;
    let mut h = Xxh3::new();
    h.update(body);
    if h.digest128().to_le_bytes() != trailer {
        return None;
    }
    h.update(trailer);
    let digest = FileDigest {
        hash: h.digest128(),
        len: bytes.len() as u64,
    };
    let mut r = Reader(body);
    (r.take(8)? == magic).then_some((r, digest))
}

/// A text, its length first.
pub fn put_text(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s.as_bytes());
}

/// Bytes, their length first (a 64-bit count).
pub fn put_bytes(b: &mut Vec<u8>, bytes: &[u8]) {
    b.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    b.extend_from_slice(bytes);
}

/// An optional number, a tag first.
pub fn put_opt(b: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => {
            b.push(1);
            b.extend_from_slice(&v.to_le_bytes());
        }
        None => b.push(0),
    }
}

/// A cursor over encoded bytes: every read is checked (`None` when the bytes run short).
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader(bytes)
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (h, t) = self.0.split_at(n);
        self.0 = t;
        Some(h)
    }
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    pub fn u64(&mut self) -> Option<u64> {
        Some(le64(self.take(8)?))
    }
    pub fn u128(&mut self) -> Option<u128> {
        Some(u128::from_le_bytes(self.take(16)?.try_into().ok()?))
    }
    /// What [`put_bytes`] wrote.
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n)
    }
    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.0
    }
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    pub fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    pub fn text(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
    pub fn opt(&mut self) -> Option<Option<i64>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.i64()?)),
            _ => None,
        }
    }
}

/// A count, then each text.
pub fn put_strings(b: &mut Vec<u8>, v: &[String]) {
    b.extend_from_slice(&(v.len() as u32).to_le_bytes());
    for s in v {
        put_text(b, s);
    }
}

/// What [`put_strings`] wrote.
pub fn get_strings(r: &mut Reader) -> Option<Vec<String>> {
    let n = r.u32()? as usize;
    (0..n).map(|_| r.text().map(str::to_string)).collect()
}

pub fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b.try_into().expect("4 bytes"))
}

pub fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().expect("8 bytes"))
}

/// Encoded bytes on their way to a file (see [`write_hashed`]): a few buffers reused batch
/// after batch (no fresh memory for the whole encoding), each full one handed to a writer
/// thread that hashes and writes it while the next is encoded. Dereferences to its buffer.
pub struct Sink {
    buf: Vec<u8>,
    /// Full batches to the writer, and emptied ones back from it.
    full: std::sync::mpsc::SyncSender<Vec<u8>>,
    empty: std::sync::mpsc::Receiver<Vec<u8>>,
    /// Buffers made so far.
    made: usize,
}

/// Bytes a [`Sink`] gathers before it writes them.
const SINK_BATCH: usize = 4 << 20;
/// The most buffers a [`Sink`] makes: one filling, one queued, one being written.
const SINK_BUFFERS: usize = 3;

fn sink_buffer() -> Vec<u8> {
    Vec::with_capacity(SINK_BATCH + (1 << 16))
}

/// Writes to `file` what `encode` puts into a [`Sink`], then a trailer: the xxh3-128 of
/// everything before it (so the file verifies itself). A thread of its own hashes and writes
/// the batches, so the encoding does not wait for the copies into the page cache. Returns the
/// hash and length of the whole file, trailer included.
pub fn write_hashed(
    file: &mut (dyn std::io::Write + Send),
    encode: impl FnOnce(&mut Sink),
) -> std::io::Result<(u128, u64)> {
    use std::sync::mpsc::sync_channel;
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = sync_channel::<Vec<u8>>(1);
        let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(SINK_BUFFERS);
        let writer = scope.spawn(move || {
            let mut hash = xxhash_rust::xxh3::Xxh3::new();
            let mut len = 0u64;
            let mut error = None;
            for mut buf in full_rx {
                hash.update(&buf);
                len += buf.len() as u64;
                if error.is_none() {
                    error = file.write_all(&buf).err();
                }
                buf.clear();
                let _ = empty_tx.send(buf);
            }
            if error.is_none() {
                let trailer = hash.digest128().to_le_bytes();
                error = file.write_all(&trailer).err();
                hash.update(&trailer);
                len += trailer.len() as u64;
            }
            match error {
                Some(e) => Err(e),
                None => Ok((hash.digest128(), len)),
            }
        });
        let mut sink = Sink {
            buf: sink_buffer(),
            full: full_tx,
            empty: empty_rx,
            made: 1,
        };
        encode(&mut sink);
        let Sink { buf, full, .. } = sink;
        let _ = full.send(buf);
        drop(full);
        writer.join().expect("the writer thread does not panic")
    })
}

impl Sink {
    /// Hands the buffer to the writer when it holds a batch.
    pub fn maybe_flush(&mut self) {
        if self.buf.len() >= SINK_BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let next = match self.empty.try_recv() {
            Ok(b) => b,
            Err(_) if self.made < SINK_BUFFERS => {
                self.made += 1;
                sink_buffer()
            }
            // Every buffer is out: wait for the writer to hand one back (a fresh one if the
            // writer is gone, so the encoding still ends).
            Err(_) => self.empty.recv().unwrap_or_else(|_| sink_buffer()),
        };
        let full = std::mem::replace(&mut self.buf, next);
        let _ = self.full.send(full);
    }
}

impl std::ops::Deref for Sink {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.buf
    }
}

impl std::ops::DerefMut for Sink {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

/// Writes `values` little-endian into `out` from byte `at` on.
pub fn put_u32s(out: &mut [u8], at: usize, values: &[u32]) {
    for (i, v) in values.iter().enumerate() {
        out[at + 4 * i..at + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
}

/// Appends the count and `size`-byte records of `items`, each written by `put` (in parallel).
pub fn put_fixed<T: Sync>(
    out: &mut Sink,
    items: &[T],
    size: usize,
    put: impl Fn(&T, &mut [u8]) + Sync + Send,
) {
    put_fixed_n(out, items.len(), size, |i, b| put(&items[i], b));
}

/// Appends the count `n` and `n` records of `size` bytes, record `i` written by `put` (in
/// parallel, a batch at a time).
pub fn put_fixed_n(
    out: &mut Sink,
    n: usize,
    size: usize,
    put: impl Fn(usize, &mut [u8]) + Sync + Send,
) {
    out.extend_from_slice(&(n as u64).to_le_bytes());
    let per = (SINK_BATCH / size).max(1);
    for from in (0..n).step_by(per) {
        let to = (from + per).min(n);
        let start = out.len();
        out.resize(start + (to - from) * size, 0);
        out[start..]
            .par_chunks_exact_mut(size)
            .enumerate()
            .for_each(|(i, b)| put(from + i, b));
        out.maybe_flush();
    }
}

/// Reads what [`put_fixed`] wrote (in parallel); `None` when the bytes are short or a record
/// does not decode. The records are written in place into one vector (collecting `Option`s
/// would gather pieces and copy them again), with room for a few nights' additions, so
/// a later merge need not move it.
pub fn get_fixed<T: Send + Default>(
    r: &mut Reader<'_>,
    size: usize,
    get: impl Fn(&[u8]) -> Option<T> + Sync + Send,
) -> Option<Vec<T>> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let n = usize::try_from(r.u64()?).ok()?;
    let bytes = r.take(n.checked_mul(size)?)?;
    let mut out = Vec::with_capacity(n + n / 16 + 1024);
    let bad = AtomicBool::new(false);
    bytes
        .par_chunks_exact(size)
        .map(|x| {
            get(x).unwrap_or_else(|| {
                bad.store(true, Ordering::Relaxed);
                T::default()
            })
        })
        .collect_into_vec(&mut out);
    (!bad.into_inner()).then_some(out)
}
