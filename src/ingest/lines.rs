//! Physical line numbers for CSV records.
//!
//! The `csv` crate reports a record's position as the end of the previous record, so after a
//! CRLF or blank lines its `line()` is off. [`LineTracker`] wraps the file, remembers where each
//! line with content starts as the bytes stream past, and maps a record's reported byte offset to
//! the physical line its content starts on. It also drops a leading UTF-8 BOM, so offsets agree.
//! Lines are counted by `\n` (LF and CRLF files; a file of lone-CR line ends counts as one line).

use std::collections::VecDeque;
use std::io::{self, Read};

/// A reader that records the physical line of every content line start it passes.
pub struct LineTracker<R> {
    inner: R,
    offset: u64,
    newlines: u64,
    prev: u8,
    started: bool,
    /// `(byte offset, line number)` of each line start with content, not yet consumed.
    starts: VecDeque<(u64, u64)>,
}

impl<R: Read> LineTracker<R> {
    pub fn new(inner: R) -> Self {
        LineTracker {
            inner,
            offset: 0,
            newlines: 0,
            prev: b'\n',
            started: false,
            starts: VecDeque::new(),
        }
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The physical line (1-based) of the record the parser says starts at byte `start`.
    pub fn line_of(&mut self, start: u64) -> u64 {
        while self.starts.front().is_some_and(|&(p, _)| p < start) {
            self.starts.pop_front();
        }
        self.starts
            .front()
            .map(|&(_, line)| line)
            .unwrap_or(self.newlines + 1)
    }

    fn scan(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        // A line that began at the end of the previous buffer.
        if self.prev == b'\n' && !matches!(bytes[0], b'\r' | b'\n') {
            self.starts.push_back((self.offset, self.newlines + 1));
        }
        for p in memchr::memchr_iter(b'\n', bytes) {
            self.newlines += 1;
            if let Some(&next) = bytes.get(p + 1)
                && next != b'\r'
                && next != b'\n'
            {
                self.starts
                    .push_back((self.offset + p as u64 + 1, self.newlines + 1));
            }
        }
        self.prev = bytes[bytes.len() - 1];
        self.offset += bytes.len() as u64;
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.started {
            self.started = true;
            let mut head = [0u8; 3];
            let mut got = 0;
            while got < 3 {
                let n = self.inner.read(&mut head[got..])?;
                if n == 0 {
                    break;
                }
                got += n;
            }
            let keep: &[u8] = if got == 3 && head == *b"\xEF\xBB\xBF" {
                &[]
            } else {
                &head[..got]
            };
            if !keep.is_empty() {
                let n = keep.len().min(buf.len());
                buf[..n].copy_from_slice(&keep[..n]);
                // A buffer shorter than 3 bytes is not something csv asks for.
                debug_assert_eq!(n, keep.len());
                self.scan(&keep[..n]);
                return Ok(n);
            }
        }
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &str) -> Vec<(String, u64)> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(4)
            .from_reader(LineTracker::new(input.as_bytes()));
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while rdr.read_byte_record(&mut rec).unwrap() {
            let start = rec.position().unwrap().byte();
            let line = rdr.get_mut().line_of(start);
            out.push((String::from_utf8_lossy(&rec[0]).into_owned(), line));
        }
        out
    }

    #[test]
    fn lf_crlf_blank_lines_bom_and_multiline_fields() {
        let want = |v: &[(&str, u64)]| {
            v.iter()
                .map(|(s, l)| (s.to_string(), *l))
                .collect::<Vec<_>>()
        };
        assert_eq!(lines("h\na\nb\n"), want(&[("h", 1), ("a", 2), ("b", 3)]));
        assert_eq!(
            lines("h\r\na\r\nb\r\n"),
            want(&[("h", 1), ("a", 2), ("b", 3)])
        );
        assert_eq!(lines("h\n\n\na\nb"), want(&[("h", 1), ("a", 4), ("b", 5)]));
        assert_eq!(
            lines("h\r\n\r\na\r\n\"x\r\ny\"\r\nb\r\n"),
            want(&[("h", 1), ("a", 3), ("x\r\ny", 4), ("b", 6)])
        );
        assert_eq!(lines("\u{feff}h\na\n"), want(&[("h", 1), ("a", 2)]));
        assert_eq!(
            lines("\u{feff}\"k\",\"v\"\r\n\r\n\"TransactionPostedDate\"\r\n\"1\""),
            want(&[("k", 1), ("TransactionPostedDate", 3), ("1", 4)])
        );
    }
}
