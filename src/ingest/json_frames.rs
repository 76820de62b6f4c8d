//! Finding the objects in a JSON stream of any shape real Amazon Pay logs have: JSON Lines,
//! pretty-printed objects one after another, a JSON array of objects, or an API list response
//! that wraps them in an array field (`{"charges": [ … ], "nextToken": …}`).
//!
//! The framer reads the stream once and hands out one object's bytes at a time, with the line
//! and column where it starts; it only follows strings and brackets, and serde_json then parses
//! each object on its own. Memory is one object (bounded by the caller's limit), whatever the
//! size of an array around it: a 1 GB array is never parsed whole.

use std::io::{self, BufRead};

/// What the framer found next.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// An object (its bytes are [`Framer::object`]); `oversize` when it was longer than the
    /// limit (only its first bytes were kept).
    Object {
        line: u64,
        column: u64,
        oversize: bool,
    },
    /// Something that is not an object where one was expected, or an object still open at the
    /// end of the stream.
    Junk {
        line: u64,
        column: u64,
        what: String,
    },
}

/// Where the framer is outside the object it collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outer {
    /// Between top-level values.
    Root,
    /// In an array whose elements are the objects (top-level, or a list response's field).
    Records,
    /// In a list response object, outside its arrays of objects.
    Wrapper,
    /// In a nested value of a list response that is not an array of objects.
    Skip,
}

/// The shape the stream turned out to have, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    #[default]
    Unknown,
    /// Objects one after another (JSON Lines, or pretty-printed).
    Objects,
    /// A top-level array of objects.
    Array,
    /// An object wrapping an array of objects.
    ListResponse,
}

pub struct Framer<R> {
    reader: R,
    st: State,
}

/// The framer's state between bytes (apart from the reader, so a chunk of the reader's
/// buffer can be stepped through without a copy).
struct State {
    limit: usize,
    buf: Vec<u8>,
    /// 1-based line of the byte at `pos`; `pos` counts every byte consumed.
    line: u64,
    pos: u64,
    line_start: u64,
    /// The containers around the framer outside an object (never inside one).
    stack: Vec<Outer>,
    /// Inside the object being collected: its depth, string state, start, size.
    collecting: bool,
    /// Inside the object: its open containers (`{` or `[`) and, for objects, whether a `:`
    /// came since the last key (a value is due).
    ctx: Vec<(u8, bool)>,
    /// The byte just stepped ended a cut-short object and is to be stepped again.
    replay: bool,
    /// Depth of a skipped value.
    depth: u32,
    in_string: bool,
    escaped: bool,
    start: (u64, u64),
    size: usize,
    /// A top-level object being collected may turn out to be a list response: the state of
    /// its depth-1 keys and values, see [`Framer::step_collecting`].
    root_object: bool,
    key_start: Option<usize>,
    has_id: bool,
    /// After a `[` that opened a depth-1 value of a top-level object: deciding on the next
    /// non-blank byte whether the object is a list response.
    pending_array: bool,
    /// A skipped value (junk) being read past: its depth and string state.
    skipping: bool,
    /// JSON Lines: the first object filled its first line, so each line is taken as an object
    /// (found with memchr, as fast as the old line reader); `line_collect` while in one.
    lines_mode: bool,
    line_collect: bool,
    shape: Shape,
}

impl<R: BufRead> Framer<R> {
    pub fn new(reader: R, limit: usize) -> Self {
        Framer {
            reader,
            st: State::new(limit),
        }
    }

    /// The bytes of the object last returned (its first `limit` bytes when oversize).
    pub fn object(&self) -> &[u8] {
        &self.st.buf
    }

    /// Bytes consumed so far.
    pub fn bytes(&self) -> u64 {
        self.st.pos
    }

    pub fn shape(&self) -> Shape {
        self.st.shape
    }

    pub fn into_inner(self) -> R {
        self.reader
    }

    /// The next object or piece of junk, or `None` at the end of the stream.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(self.st.at_end());
            }
            let (taken, out) = self.st.run(chunk);
            self.reader.consume(taken);
            if out.is_some() {
                return Ok(out);
            }
        }
    }
}

impl State {
    fn new(limit: usize) -> Self {
        State {
            limit: limit.max(64),
            buf: Vec::new(),
            line: 1,
            pos: 0,
            line_start: 0,
            stack: vec![Outer::Root],
            collecting: false,
            ctx: Vec::new(),
            replay: false,
            depth: 0,
            in_string: false,
            escaped: false,
            start: (0, 0),
            size: 0,
            root_object: false,
            key_start: None,
            has_id: false,
            pending_array: false,
            skipping: false,
            lines_mode: false,
            line_collect: false,
            shape: Shape::Unknown,
        }
    }

    /// Steps through `chunk` up to the end of the next frame: the bytes taken and the frame.
    fn run(&mut self, chunk: &[u8]) -> (usize, Option<Frame>) {
        let mut i = 0;
        while i < chunk.len() {
            if self.lines_mode && (self.line_collect || !(self.collecting || self.skipping)) {
                if !self.line_collect {
                    let b = chunk[i];
                    if b.is_ascii_whitespace() {
                        if b == b'\n' {
                            self.line += 1;
                            self.line_start = self.pos + 1;
                        }
                        self.pos += 1;
                        i += 1;
                        continue;
                    }
                    if b != b'{' {
                        // Not a line of JSON Lines after all: framed from here on.
                        self.lines_mode = false;
                        continue;
                    }
                    self.line_collect = true;
                    self.start = (self.line, self.column());
                    self.size = 0;
                    self.buf.clear();
                }
                let rest = &chunk[i..];
                match memchr::memchr(b'\n', rest) {
                    Some(k) => {
                        self.keep_slice(&rest[..k]);
                        self.pos += k as u64 + 1;
                        self.line += 1;
                        self.line_start = self.pos;
                        return (i + k + 1, Some(self.line_frame()));
                    }
                    None => {
                        self.keep_slice(rest);
                        self.pos += rest.len() as u64;
                        return (chunk.len(), None);
                    }
                }
            }
            // Fast paths inside an object: the bytes of a string up to its next quote,
            // backslash or line end, and runs of indentation, are kept as they are.
            if self.collecting && !self.escaped && !self.pending_array {
                let rest = &chunk[i..];
                let k = if self.in_string {
                    memchr::memchr3(b'"', b'\\', b'\n', rest).unwrap_or(rest.len())
                } else {
                    rest.iter().position(|&c| c != b' ').unwrap_or(rest.len())
                };
                if k > 0 {
                    self.keep_slice(&rest[..k]);
                    self.pos += k as u64;
                    i += k;
                    continue;
                }
            }
            let b = chunk[i];
            let frame = self.step(b);
            if std::mem::take(&mut self.replay) {
                // Not consumed: stepped again by the next call.
                return (i, frame);
            }
            if b == b'\n' {
                self.line += 1;
                self.line_start = self.pos + 1;
            }
            self.pos += 1;
            i += 1;
            if frame.is_some() {
                return (i, frame);
            }
        }
        (chunk.len(), None)
    }

    fn column(&self) -> u64 {
        self.pos - self.line_start + 1
    }

    fn begin_object(&mut self, root: bool) {
        self.collecting = true;
        self.ctx.clear();
        self.in_string = false;
        self.escaped = false;
        self.start = (self.line, self.column());
        self.size = 0;
        self.buf.clear();
        self.root_object = root;
        self.key_start = None;
        self.has_id = false;
        self.pending_array = false;
    }

    fn keep_slice(&mut self, bytes: &[u8]) {
        self.size += bytes.len();
        let room = self.limit.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn keep(&mut self, b: u8) {
        self.size += 1;
        if self.buf.len() < self.limit {
            self.buf.push(b);
        }
    }

    fn finished(&mut self) -> Frame {
        self.collecting = false;
        if self.shape == Shape::Unknown
            && self.stack.len() == 1
            && self.start.1 == 1
            && self.start.0 == self.line
            && !self.replay
        {
            self.lines_mode = true;
        }
        if self.shape == Shape::Unknown {
            self.shape = match self.stack.last() {
                Some(Outer::Records) if self.stack.len() == 2 => Shape::Array,
                Some(Outer::Records) => Shape::ListResponse,
                _ => Shape::Objects,
            };
        }
        Frame::Object {
            line: self.start.0,
            column: self.start.1,
            oversize: self.size > self.limit,
        }
    }

    /// The line just read in JSON Lines mode, as an object (for the parser to judge) or junk.
    fn line_frame(&mut self) -> Frame {
        self.line_collect = false;
        while self.buf.last().is_some_and(u8::is_ascii_whitespace) {
            self.buf.pop();
        }
        let (line, column) = self.start;
        match self.buf.first() {
            Some(b'{') => Frame::Object {
                line,
                column,
                oversize: self.size > self.limit,
            },
            first => Frame::Junk {
                line,
                column,
                what: format!(
                    "text outside any JSON object (starts with `{}`)",
                    (*first.unwrap_or(&b' ') as char).escape_default()
                ),
            },
        }
    }

    fn at_end(&mut self) -> Option<Frame> {
        if self.line_collect {
            return Some(self.line_frame());
        }
        if self.collecting {
            self.collecting = false;
            let (line, column) = self.start;
            return Some(Frame::Junk {
                line,
                column,
                what: "the object that starts here is not closed at the end of the file".into(),
            });
        }
        if self.stack.len() > 1 {
            self.stack.truncate(1);
            return Some(Frame::Junk {
                line: self.line,
                column: self.column(),
                what: "the file ends inside an array or list response".into(),
            });
        }
        None
    }

    fn step(&mut self, b: u8) -> Option<Frame> {
        if self.collecting {
            return self.step_collecting(b);
        }
        if self.skipping {
            self.step_skipping(b);
            return None;
        }
        if b.is_ascii_whitespace() {
            return None;
        }
        let outer = *self.stack.last().unwrap_or(&Outer::Root);
        match (outer, b) {
            (Outer::Root, b'\xEF' | b'\xBB' | b'\xBF') if self.pos < 3 => {
                // A byte-order mark: the first object still starts at column 1.
                self.line_start = self.pos + 1;
                None
            }
            (Outer::Root, b'{') => {
                self.begin_object(true);
                self.step_collecting(b)
            }
            (Outer::Root, b'[') => {
                self.stack.push(Outer::Records);
                None
            }
            (Outer::Records, b'{') => {
                self.begin_object(false);
                self.step_collecting(b)
            }
            (Outer::Records, b',') => None,
            (Outer::Records, b']') => {
                self.stack.pop();
                None
            }
            (Outer::Wrapper, b'}') => {
                self.stack.pop();
                None
            }
            (Outer::Wrapper, b'[' | b'{') => {
                self.stack.push(Outer::Skip);
                None
            }
            (Outer::Skip, b'[' | b'{') => {
                self.stack.push(Outer::Skip);
                None
            }
            (Outer::Skip, b']' | b'}') => {
                self.stack.pop();
                None
            }
            (Outer::Wrapper | Outer::Skip, b'"') => {
                self.skipping = true;
                self.in_string = true;
                self.escaped = false;
                None
            }
            (Outer::Wrapper | Outer::Skip, _) => None,
            (Outer::Records, _) => {
                let frame = self.junk("an array element that is not an object", b);
                // Read past the element: to the next `,` or `]` of this array.
                self.skipping = true;
                self.depth = 0;
                self.in_string = b == b'"';
                self.escaped = false;
                Some(frame)
            }
            (Outer::Root, _) => {
                let frame = self.junk("text outside any JSON object", b);
                // Read past the rest of the line.
                self.skipping = true;
                self.depth = u32::MAX;
                Some(frame)
            }
        }
    }

    /// Steps a byte inside a string (escapes followed); whether it closed the string.
    fn string_byte(&mut self, b: u8) -> bool {
        if self.escaped {
            self.escaped = false;
        } else if b == b'\\' {
            self.escaped = true;
        } else if b == b'"' {
            self.in_string = false;
            return true;
        }
        false
    }

    /// Junk starting here with byte `b`.
    fn junk(&self, what: &str, b: u8) -> Frame {
        Frame::Junk {
            line: self.line,
            column: self.column(),
            what: format!("{what} (starts with `{}`)", (b as char).escape_default()),
        }
    }

    /// Reads past a string in a list response, junk in an array (to its `,` or `]`), or junk
    /// at the top level (`depth == u32::MAX`: to the end of the line).
    fn step_skipping(&mut self, b: u8) {
        if self.depth == u32::MAX {
            if b == b'\n' {
                self.skipping = false;
                self.depth = 0;
            }
            return;
        }
        if self.in_string {
            if self.string_byte(b)
                && matches!(self.stack.last(), Some(Outer::Wrapper | Outer::Skip))
            {
                self.skipping = false;
            }
            return;
        }
        match b {
            b'"' => self.in_string = true,
            b'[' | b'{' => self.depth += 1,
            b']' | b'}' if self.depth > 0 => self.depth -= 1,
            b',' if self.depth == 0 => self.skipping = false,
            b']' => {
                self.skipping = false;
                self.stack.pop();
            }
            _ => {}
        }
    }

    fn step_collecting(&mut self, b: u8) -> Option<Frame> {
        if self.pending_array {
            if b.is_ascii_whitespace() {
                self.keep(b);
                return None;
            }
            self.pending_array = false;
            if b == b'{' && !self.has_id {
                // A list response: its other fields are not needed; the array's elements are
                // the objects.
                self.stack.push(Outer::Wrapper);
                self.stack.push(Outer::Records);
                self.collecting = false;
                self.begin_object(false);
                return self.step_collecting(b);
            }
        }
        if self.in_string {
            if b == b'\n' {
                // JSON strings hold no raw line break: the line was cut short (a truncated
                // JSON Lines record). The object ends here, for the parser to reject, and
                // framing resumes with this byte.
                return Some(self.broken());
            }
            self.keep(b);
            if self.string_byte(b) {
                // Every Amazon Pay object has an `…Id` field (`chargeId`, `refundId`,
                // `chargePermissionId`, …); a list response has none at its top.
                if let Some(k) = self.key_start.take() {
                    let key = &self.buf[k..self.buf.len().saturating_sub(1)];
                    if key.ends_with(b"Id") {
                        self.has_id = true;
                    }
                }
            }
            return None;
        }
        let depth = self.ctx.len();
        let (inner, after_colon) = self.ctx.last().copied().unwrap_or((b'[', false));
        let cut_short = (matches!(b, b'{' | b'[') && inner == b'{' && !after_colon)
            || (b == b'{' && self.pos == self.line_start);
        if depth > 0 && cut_short {
            // An object or array where a key must come, or an object opening at the very start
            // of a line inside another (nested values are indented; JSON Lines records start
            // there): the object before it was cut short (`{"chargeId":"C1",` or
            // `{"a":` and the line ends). It ends here; this byte starts anew.
            return Some(self.broken());
        }
        self.keep(b);
        match b {
            b'"' => {
                self.in_string = true;
                // A key of the top-level object: remembered to see whether it is an id.
                if self.root_object && depth == 1 && !after_colon {
                    self.key_start = (self.buf.len() < self.limit).then_some(self.buf.len());
                }
            }
            b':' if inner == b'{' => {
                if let Some(top) = self.ctx.last_mut() {
                    top.1 = true;
                }
            }
            b',' if inner == b'{' => {
                if let Some(top) = self.ctx.last_mut() {
                    top.1 = false;
                }
            }
            b'{' | b'[' => {
                if b == b'[' && self.root_object && depth == 1 && after_colon {
                    self.pending_array = true;
                }
                self.ctx.push((b, false));
            }
            b'}' | b']' => {
                self.ctx.pop();
                if self.ctx.is_empty() {
                    return Some(self.finished());
                }
            }
            _ => {}
        }
        None
    }

    /// Ends an object that was cut short; the byte that showed it is stepped again.
    fn broken(&mut self) -> Frame {
        self.replay = true;
        self.ctx.clear();
        self.in_string = false;
        self.escaped = false;
        self.pending_array = false;
        self.finished()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(text: &str) -> Vec<(Frame, String)> {
        frames_limit(text, 1 << 20)
    }

    fn frames_limit(text: &str, limit: usize) -> Vec<(Frame, String)> {
        let mut f = Framer::new(io::BufReader::with_capacity(7, text.as_bytes()), limit);
        let mut out = Vec::new();
        while let Some(frame) = f.next_frame().unwrap() {
            let bytes = match frame {
                Frame::Object { .. } => String::from_utf8_lossy(f.object()).into_owned(),
                Frame::Junk { .. } => String::new(),
            };
            out.push((frame, bytes));
        }
        out
    }

    fn obj(line: u64, column: u64) -> Frame {
        Frame::Object {
            line,
            column,
            oversize: false,
        }
    }

    #[test]
    fn json_lines_and_pretty_objects() {
        let got = frames("{\"chargeId\":\"a\"}\n{\"chargeId\":\"b\",\"x\":{\"y\":\"}\"}}\n");
        assert_eq!(got[0], (obj(1, 1), "{\"chargeId\":\"a\"}".into()));
        assert_eq!(got[1].0, obj(2, 1));
        assert_eq!(got[1].1, "{\"chargeId\":\"b\",\"x\":{\"y\":\"}\"}}");
        let pretty =
            "{\n  \"chargeId\": \"a\",\n  \"s\": \"q\\\"}\"\n}\n\n  {\n\"chargeId\": \"b\"}";
        let got = frames(pretty);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, obj(1, 1));
        assert_eq!(got[1].0, obj(6, 3));
        assert!(got[1].1.ends_with("\"b\"}"));
    }

    #[test]
    fn arrays_and_list_responses() {
        let got = frames("[\n {\"chargeId\":\"a\"},\n {\"chargeId\":\"b\"}\n]\n");
        assert_eq!(
            got.iter().map(|g| &g.0).collect::<Vec<_>>(),
            [&obj(2, 2), &obj(3, 2)]
        );
        let list = "{\"nextToken\": \"x]\", \"meta\": {\"a\": [1]},\n \"charges\": [\n  {\"chargeId\": \"a\", \"p\": [{\"q\": 1}]},\n  {\"chargeId\": \"b\"}\n ], \"tail\": [\"}\"]}\n{\"chargeId\": \"c\"}";
        let got = frames(list);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].0, obj(3, 3));
        assert_eq!(got[0].1, "{\"chargeId\": \"a\", \"p\": [{\"q\": 1}]}");
        assert_eq!(got[1].0, obj(4, 3));
        assert_eq!(got[2].0, obj(6, 1));
    }

    #[test]
    fn a_charge_with_an_array_of_objects_after_its_id_is_one_object() {
        let got = frames("{\"chargeId\": \"a\", \"list\": [{\"b\": 1}]}");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, obj(1, 1));
    }

    #[test]
    fn junk_is_reported_and_read_past() {
        let got = frames(
            "garbage here {\n{\"chargeId\":\"a\"}\n[1, \"x,]\", {\"chargeId\":\"b\"}]\n{\"open\": [",
        );
        let kinds: Vec<_> = got
            .iter()
            .map(|(f, _)| match f {
                Frame::Object { line, .. } => format!("object {line}"),
                Frame::Junk { line, column, .. } => format!("junk {line}:{column}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "junk 1:1", "object 2", "junk 3:2", "junk 3:5", "object 3", "junk 4:1"
            ]
        );
    }

    #[test]
    fn a_cut_short_json_line_does_not_swallow_the_next() {
        for text in [
            "{\"chargeId\":\"C1\",\"charge\n{\"chargeId\":\"C2\"}\n",
            "{\"chargeId\":\"C1\",\n{\"chargeId\":\"C2\"}\n",
            "{\"chargeId\":\"C1\",\"m\":\n{\"chargeId\":\"C2\"}\n",
        ] {
            let got = frames(text);
            assert_eq!(got.len(), 2, "{text:?}: {got:?}");
            assert!(serde_json::from_str::<serde_json::Value>(&got[0].1).is_err());
            assert_eq!(got[1], (obj(2, 1), "{\"chargeId\":\"C2\"}".into()));
        }
    }

    #[test]
    fn oversize_objects_keep_their_start() {
        let big = format!(
            "{{\"chargeId\":\"{}\"}}\n{{\"chargeId\":\"b\"}}",
            "x".repeat(500)
        );
        let got = frames_limit(&big, 100);
        assert_eq!(
            got[0].0,
            Frame::Object {
                line: 1,
                column: 1,
                oversize: true
            }
        );
        assert_eq!(got[0].1.len(), 100);
        assert_eq!(got[1].0, obj(2, 1));
    }
}
