//! Text from files made safe to print: control characters escaped, length bounded.
//!
//! A file name, a header or a field value can contain a newline (which would forge a log line),
//! an escape sequence (which would drive the terminal) or megabytes of text. Every message built
//! from file content passes through [`printable`] before it reaches a log, a terminal or the
//! `rejects` table.

use std::borrow::Cow;
use std::fmt::Write;

/// The longest reject reason or file message kept, in characters.
pub const MAX_MESSAGE_CHARS: usize = 300;
/// The longest file path or column name shown, in characters.
pub const MAX_NAME_CHARS: usize = 200;

fn needs_escape(c: char) -> bool {
    // Controls, and the bidirectional overrides that reorder what a terminal shows.
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with control characters escaped (`\n`, `\u{1b}`) and cut to `max_chars` characters
/// (then ending in `…` and how much was left out). Borrowed when nothing needed changing.
pub fn printable(text: &str, max_chars: usize) -> Cow<'_, str> {
    let long = text.len() > max_chars && text.chars().nth(max_chars).is_some();
    if !long && !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(max_chars * 2) + 32);
    let mut shown = 0;
    for c in text.chars() {
        if shown >= max_chars {
            break;
        }
        if needs_escape(c) {
            let _ = write!(out, "{}", c.escape_debug());
        } else {
            out.push(c);
        }
        shown += 1;
    }
    if long {
        let left = text.chars().count() - shown;
        let _ = write!(out, "… ({left} more characters)");
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_bounds() {
        assert!(matches!(printable("plain", 10), Cow::Borrowed("plain")));
        assert_eq!(
            printable("a\nINFO forged\r\u{1b}[31m", 100),
            "a\\nINFO forged\\r\\u{1b}[31m"
        );
        assert_eq!(printable("abcdef", 3), "abc… (3 more characters)");
        assert_eq!(printable("\u{202E}txt", 10), "\\u{202e}txt");
        assert_eq!(printable("ÄÖÜ", 3), "ÄÖÜ");
    }
}
