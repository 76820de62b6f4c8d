//! Bounded CSV records with physical line numbers, on `csv-core`'s state machine.
//!
//! The `csv` crate grows a record without limit (a 200 MB field is 200 MB of memory) and counts
//! lines its own way (a lone CR ends a record; its positions are off after CRLF and blank lines).
//! [`Records`] drives `csv_core::Reader` directly so that:
//! - a record longer than the limit is read past, not held: its first bytes are kept for the
//!   reject, the rest is discarded as it streams by, and the record is marked [`Record::oversize`];
//! - records end at `\n` only (a `\r` before it is dropped): a lone CR is data, so it neither
//!   splits a row nor shifts the line numbers of the rows after it;
//! - every record carries the physical line (by `\n`) its content starts on; blank lines and a
//!   UTF-8 byte-order mark are skipped.

use std::io::{self, Read};
use std::ops::Range;

use csv_core::{ReadRecordResult, ReaderBuilder, Terminator};

/// Bytes read from the source at a time.
const INPUT_BYTES: usize = 256 * 1024;

/// One CSV record: its fields' bytes, where each field ends, and where it was.
#[derive(Debug, Default, Clone)]
pub struct Record {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    len: usize,
    /// The physical line (1-based) the record starts on.
    pub line: u64,
    /// The record was longer than the limit: only its first bytes are kept (for the reject),
    /// and its fields are not to be trusted.
    pub oversize: bool,
    /// Bytes of the source the record took, terminator included.
    pub source_bytes: u64,
    /// Of an oversize record: output bytes and whole fields kept.
    kept: usize,
    kept_fields: usize,
}

impl Record {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The byte range of field `i` within [`Record::as_slice`].
    pub fn range(&self, i: usize) -> Option<Range<usize>> {
        if i >= self.len {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(start..self.ends[i])
    }

    /// Field `i`.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.range(i).map(|r| &self.bytes[r])
    }

    /// Every field's bytes, back to back.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self
            .ends
            .get(self.len.wrapping_sub(1))
            .copied()
            .unwrap_or(0)]
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len).filter_map(|i| self.get(i))
    }

    /// The fields of an oversize record as far as they were kept (the last one cut short).
    pub fn kept_prefix(&self) -> Vec<&[u8]> {
        let mut out = Vec::with_capacity(self.kept_fields + 1);
        let mut start = 0;
        for &end in &self.ends[..self.kept_fields] {
            out.push(&self.bytes[start..end]);
            start = end;
        }
        out.push(&self.bytes[start..self.kept.max(start)]);
        out
    }
}

/// Reads bounded [`Record`]s from a byte source.
pub struct Records<R> {
    inner: R,
    core: csv_core::Reader,
    buf: Box<[u8]>,
    pos: usize,
    cap: usize,
    eof: bool,
    started: bool,
    /// Bytes consumed from the source.
    offset: u64,
    /// `\n` bytes consumed.
    newlines: u64,
    max: usize,
    scratch: Vec<u8>,
    scratch_ends: Vec<usize>,
}

impl<R: Read> Records<R> {
    /// Records separated by `delimiter`, each at most `max_bytes` long.
    pub fn new(inner: R, delimiter: u8, max_bytes: usize) -> Self {
        Records {
            inner,
            core: ReaderBuilder::new()
                .delimiter(delimiter)
                .terminator(Terminator::Any(b'\n'))
                .build(),
            buf: vec![0; INPUT_BYTES].into_boxed_slice(),
            pos: 0,
            cap: 0,
            eof: false,
            started: false,
            offset: 0,
            newlines: 0,
            max: max_bytes.max(1),
            scratch: vec![0; 64 * 1024],
            scratch_ends: vec![0; 1024],
        }
    }

    /// Bytes of the source consumed so far.
    pub fn position(&self) -> u64 {
        self.offset
    }

    /// The source.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Refills the input buffer when it is used up; `false` at the end of the source.
    fn fill(&mut self) -> io::Result<bool> {
        if self.pos < self.cap {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        self.pos = 0;
        self.cap = 0;
        // The first fill takes at least three bytes (when there are), to see a byte-order mark.
        let want = if self.started { 1 } else { 3 };
        while self.cap < want {
            match self.inner.read(&mut self.buf[self.cap..]) {
                Ok(0) => break,
                Ok(n) => self.cap += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if self.cap == 0 {
            self.eof = true;
            return Ok(false);
        }
        if !self.started {
            self.started = true;
            if self.buf[..self.cap].starts_with(b"\xEF\xBB\xBF") {
                self.pos = 3;
                self.offset += 3;
            }
        }
        Ok(true)
    }

    fn take(&mut self, n: usize) {
        let bytes = &self.buf[self.pos..self.pos + n];
        self.newlines += memchr::memchr_iter(b'\n', bytes).count() as u64;
        self.pos += n;
        self.offset += n as u64;
    }

    /// Reads past the next `n` physical lines (a preamble before the header row), whatever
    /// they hold; line numbers of later records stay physical.
    pub fn skip_lines(&mut self, n: u32) -> io::Result<()> {
        let target = self.newlines + u64::from(n);
        while self.newlines < target && self.fill()? {
            let rest = &self.buf[self.pos..self.cap];
            let need = (target - self.newlines) as usize;
            let upto = memchr::memchr_iter(b'\n', rest)
                .nth(need - 1)
                .map_or(rest.len(), |i| i + 1);
            self.take(upto);
        }
        Ok(())
    }

    /// Reads the next record into `rec`; `false` at the end of the source.
    pub fn read(&mut self, rec: &mut Record) -> io::Result<bool> {
        // Blank lines (LF or CRLF) before the record.
        loop {
            if !self.fill()? {
                return Ok(false);
            }
            let skip = self.buf[self.pos..self.cap]
                .iter()
                .position(|&b| b != b'\n' && b != b'\r')
                .unwrap_or(self.cap - self.pos);
            self.take(skip);
            if self.pos < self.cap {
                break;
            }
        }
        rec.line = self.newlines + 1;
        rec.oversize = false;
        rec.source_bytes = 0;
        rec.kept = 0;
        rec.kept_fields = 0;
        if rec.bytes.is_empty() {
            rec.bytes.resize(1024, 0);
        }
        if rec.ends.is_empty() {
            rec.ends.resize(64, 0);
        }
        let (mut outlen, mut endlen) = (0usize, 0usize);
        loop {
            let more = self.fill()?;
            let input: &[u8] = if more {
                &self.buf[self.pos..self.cap]
            } else {
                &[]
            };
            let (res, nin, nout, nend) = if rec.oversize {
                self.core
                    .read_record(input, &mut self.scratch, &mut self.scratch_ends)
            } else {
                self.core
                    .read_record(input, &mut rec.bytes[outlen..], &mut rec.ends[endlen..])
            };
            if more {
                self.take(nin);
            }
            rec.source_bytes += nin as u64;
            if !rec.oversize {
                outlen += nout;
                endlen += nend;
                if rec.source_bytes > self.max as u64 {
                    rec.oversize = true;
                    rec.kept = outlen;
                    rec.kept_fields = endlen;
                }
            }
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    if !rec.oversize {
                        let n = (rec.bytes.len() * 2).min(self.max + INPUT_BYTES);
                        rec.bytes.resize(n.max(rec.bytes.len() + 1024), 0);
                    }
                }
                ReadRecordResult::OutputEndsFull => {
                    if !rec.oversize {
                        let n = rec.ends.len() * 2;
                        rec.ends.resize(n, 0);
                    }
                }
                ReadRecordResult::Record => {
                    if rec.oversize {
                        rec.len = 0;
                    } else {
                        rec.len = endlen;
                        // A CRLF line end: the CR is not part of the last field.
                        if endlen > 0 {
                            let last = rec.ends[endlen - 1];
                            let first = if endlen > 1 { rec.ends[endlen - 2] } else { 0 };
                            if last > first && rec.bytes[last - 1] == b'\r' {
                                rec.ends[endlen - 1] -= 1;
                            }
                        }
                    }
                    return Ok(true);
                }
                ReadRecordResult::End => return Ok(false),
            }
        }
    }
}

/// Reads one `\n`-terminated line into `buf`, keeping at most `max` bytes of it; the rest of a
/// longer line is read past, not held. Returns the bytes consumed and whether the line was
/// longer than `max`, or `None` at the end of the source.
pub fn read_line_bounded<R: io::BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<(u64, bool)>> {
    buf.clear();
    let (mut consumed, mut oversize) = (0u64, false);
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((consumed > 0).then_some((consumed, oversize)));
        }
        let (n, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = max.saturating_sub(buf.len());
        if n > room {
            oversize = true;
        }
        buf.extend_from_slice(&chunk[..n.min(room)]);
        r.consume(n);
        consumed += n as u64;
        if done {
            return Ok(Some((consumed, oversize)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8], max: usize, chunk: usize) -> Vec<(Vec<String>, u64, bool)> {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(self.1);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = Records::new(Trickle(input, chunk), b',', max);
        let mut rec = Record::default();
        let mut out = Vec::new();
        while r.read(&mut rec).unwrap() {
            let fields = rec
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            out.push((fields, rec.line, rec.oversize));
        }
        out
    }

    fn lines(input: &str) -> Vec<(String, u64)> {
        let mut all = Vec::new();
        for chunk in [1, 3, 7, INPUT_BYTES] {
            let got: Vec<(String, u64)> = read_all(input.as_bytes(), 1 << 20, chunk)
                .into_iter()
                .map(|(f, l, _)| (f.join("|"), l))
                .collect();
            if let Some(first) = all.first() {
                assert_eq!(&got, first, "chunk {chunk}");
            }
            all.push(got);
        }
        all.remove(0)
    }

    fn want(v: &[(&str, u64)]) -> Vec<(String, u64)> {
        v.iter().map(|(s, l)| (s.to_string(), *l)).collect()
    }

    #[test]
    fn lf_crlf_blank_lines_bom_and_multiline_fields() {
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
            want(&[("k|v", 1), ("TransactionPostedDate", 3), ("1", 4)])
        );
    }

    #[test]
    fn a_lone_cr_is_data_not_a_line_end() {
        assert_eq!(
            lines("h,i\na,b\rc,d\ne,f\n"),
            want(&[("h|i", 1), ("a|b\rc|d", 2), ("e|f", 3)])
        );
    }

    #[test]
    fn oversize_records_are_read_past_with_their_line() {
        let big = "x".repeat(5000);
        let input = format!("h\n1,{big}\n2,ok\n\"3,{big}\nstill quoted\"\n4\n");
        for chunk in [1, 100, INPUT_BYTES] {
            let got = read_all(input.as_bytes(), 1024, chunk);
            let summary: Vec<(u64, bool)> = got.iter().map(|(_, l, o)| (*l, *o)).collect();
            assert_eq!(
                summary,
                [(1, false), (2, true), (3, false), (4, true), (6, false)],
                "chunk {chunk}"
            );
            assert_eq!(got[2].0, ["2", "ok"]);
            assert!(got[1].0.is_empty());
        }
    }

    #[test]
    fn a_preamble_is_skipped_by_lines() {
        let input = "Kontoauszug \"Giro\"\n\nfrom;to\nh;i\n1;2\n";
        let mut r = Records::new(input.as_bytes(), b';', 1024);
        r.skip_lines(3).unwrap();
        let mut rec = Record::default();
        assert!(r.read(&mut rec).unwrap());
        assert_eq!((rec.get(0).unwrap(), rec.line), (&b"h"[..], 4));
        assert!(r.read(&mut rec).unwrap());
        assert_eq!(rec.line, 5);
    }

    #[test]
    fn bounded_lines() {
        let input = format!("a\n{}\nb", "z".repeat(3000));
        let mut r = io::BufReader::with_capacity(100, input.as_bytes());
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while let Some((n, over)) = read_line_bounded(&mut r, &mut buf, 1000).unwrap() {
            got.push((n, over, buf.len()));
        }
        assert_eq!(got, [(2, false, 2), (3001, true, 1000), (1, false, 1)]);
    }

    #[test]
    fn keeps_the_start_of_an_oversize_record() {
        let input = format!("a,{}\n", "y".repeat(10_000));
        let mut r = Records::new(input.as_bytes(), b',', 2048);
        let mut rec = Record::default();
        assert!(r.read(&mut rec).unwrap());
        assert!(rec.oversize);
        let kept = rec.kept_prefix();
        assert_eq!(kept[0], b"a");
        assert!(kept[1].starts_with(b"yyy") && kept[1].len() < 4096);
        assert!(!r.read(&mut rec).unwrap());
    }
}
