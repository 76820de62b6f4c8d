//! Recognising a file's kind by its header (never by its name).

use std::io::Read;
use std::path::Path;

use crate::model::{FileFormat, FileKind};
use crate::settings::{BankCsvLayout, OrderColumns};

/// How many bytes of a file are looked at to recognise it.
const SNIFF_BYTES: usize = 64 * 1024;

/// Header keys that may open a settlement report's header block.
pub const SETTLEMENT_HEADER_KEYS: [&str; 4] = [
    "SellerId",
    "SettlementStartDate",
    "SettlementEndDate",
    "DepositDate",
];

/// What a file was taken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    pub kind: FileKind,
    pub format: FileFormat,
}

/// What a file's first bytes say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    /// One of the input kinds.
    Kind(Detected),
    /// Nothing but white space (or nothing at all): archived, nothing to read.
    Empty,
    /// None of the kinds: the message says what was looked for.
    Unknown(String),
}

/// Recognises a file by its first bytes (up to `max_record` of them when its first JSON line
/// is longer than the usual look).
pub fn detect(
    path: &Path,
    orders: &OrderColumns,
    banks: &[BankCsvLayout],
    max_record: usize,
) -> std::io::Result<Sniffed> {
    let mut file = super::inbox::open_regular(path)?;
    let mut buf = Vec::with_capacity(SNIFF_BYTES);
    (&mut file).take(SNIFF_BYTES as u64).read_to_end(&mut buf)?;
    let text = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf);
    let first = text.iter().position(|b| !b.is_ascii_whitespace());
    // JSON whose first object may be longer than the look: read on (bounded).
    if buf.len() == SNIFF_BYTES && first.is_some_and(|i| matches!(text[i], b'{' | b'[')) {
        file.take(max_record.saturating_sub(SNIFF_BYTES) as u64 + 1)
            .read_to_end(&mut buf)?;
    }
    Ok(detect_bytes(&buf, orders, banks))
}

/// Recognises a file from its first bytes.
pub fn detect_bytes(bytes: &[u8], orders: &OrderColumns, banks: &[BankCsvLayout]) -> Sniffed {
    match recognise(bytes, orders, banks) {
        Ok(Some(d)) => Sniffed::Kind(d),
        Ok(None) => Sniffed::Empty,
        Err(why) => Sniffed::Unknown(crate::printable::printable(&why, 600).into_owned()),
    }
}

/// A bank statement format recognised by its content (`bytes` start at the first non-blank
/// byte): camt by its root element's namespace, MT940 by its `:20:` and `:25:` tags, BAI2 by
/// its `01` file header.
fn bank_statement(bytes: &[u8]) -> Result<Option<FileFormat>, String> {
    if bytes.starts_with(b"<") {
        let ns = memchr::memmem::find(bytes, b"urn:iso:std:iso:20022:tech:xsd:camt.05");
        let root = memchr::memmem::find(bytes, b"Document");
        return match (ns, root) {
            (Some(_), Some(_)) => Ok(Some(FileFormat::Camt)),
            _ => Err(
                "XML, but not an ISO 20022 bank statement (a `Document` in a \
                      `urn:iso:std:iso:20022:tech:xsd:camt.05x` namespace)"
                    .into(),
            ),
        };
    }
    if bytes.starts_with(b"01,") {
        return Ok(Some(FileFormat::Bai2));
    }
    let tag_line = |tag: &[u8]| {
        bytes.split(|&b| b == b'\n').any(|l| {
            l.trim_ascii_start().starts_with(tag)
                || memchr::memmem::find(l, b"{4:")
                    .is_some_and(|i| l[i + 3..].trim_ascii_start().starts_with(tag))
        })
    };
    if tag_line(b":20:") && tag_line(b":25:") {
        return Ok(Some(FileFormat::Mt940));
    }
    Ok(None)
}

/// What a tab-separated Amazon marketplace (Selling Partner) flat file looks like, when the
/// first line is one: the reports merchants who also sell on Amazon download beside Amazon
/// Pay's, with hyphenated lower-case column names.
fn marketplace_flat_file(first_line: &str) -> Option<String> {
    if !first_line.contains('\t') {
        return None;
    }
    let cols: Vec<&str> = first_line.split('\t').map(str::trim).collect();
    let has = |c: &str| cols.contains(&c);
    let what = if has("settlement-id") && has("settlement-start-date") {
        "an Amazon marketplace (Selling on Amazon) settlement report (tab-separated \
         `settlement-id`, `settlement-start-date`, …), not an Amazon Pay settlement report"
    } else if has("amazon-order-id") || has("order-id") || has("sku") || has("asin") {
        "a Selling Partner (Seller Central) flat file (tab-separated `amazon-order-id`, `sku`, \
         …), not an Amazon Pay export"
    } else {
        return None;
    };
    Some(format!(
        "{what}; payrecon reads Amazon Pay settlement reports (`TransactionPostedDate`, …), \
         Charge and Refund exports (CSV or JSON), order records (CSV) and bank statements \
         (camt.053, MT940, BAI2, CSV)"
    ))
}

/// The header row of `bytes` read as `layout` says (its encoding, preamble and delimiter).
fn layout_header(bytes: &[u8], layout: &BankCsvLayout) -> Option<Vec<String>> {
    let (text, _, _) = layout.encoding().decode(bytes);
    let mut records =
        super::records::Records::new(text.as_bytes(), layout.delimiter_byte(), SNIFF_BYTES * 4);
    records.skip_lines(layout.skip_lines).ok()?;
    let mut rec = super::records::Record::default();
    match records.read(&mut rec) {
        Ok(true) if !rec.oversize => Some(
            rec.iter()
                .map(|f| String::from_utf8_lossy(f).trim().to_string())
                .collect(),
        ),
        _ => None,
    }
}

fn recognise(
    bytes: &[u8],
    orders: &OrderColumns,
    banks: &[BankCsvLayout],
) -> Result<Option<Detected>, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let Some(first) = first else {
        return Ok(None);
    };
    // A bank's own layout, when every header it maps is in the header row it expects.
    for (i, layout) in banks.iter().enumerate() {
        if let Some(header) = layout_header(bytes, layout)
            && layout
                .headers()
                .iter()
                .all(|h| header.iter().any(|x| x == h))
        {
            return Ok(Some(Detected {
                kind: FileKind::Deposits,
                format: FileFormat::BankCsv(i as u16),
            }));
        }
    }
    if let Some(format) = bank_statement(&bytes[first..])? {
        return Ok(Some(Detected {
            kind: FileKind::Deposits,
            format,
        }));
    }
    if matches!(bytes[first], b'{' | b'[') {
        return super::json_kind::recognise(&bytes[first..]).map(|kind| {
            Some(Detected {
                kind,
                format: FileFormat::JsonLines,
            })
        });
    }
    let mut records = super::records::Records::new(bytes, b',', SNIFF_BYTES);
    let mut rec = super::records::Record::default();
    match records.read(&mut rec) {
        Ok(true) if !rec.oversize => {}
        Ok(true) => return Err("the first line is longer than 64 KiB: not a header".into()),
        _ => return Ok(None),
    }
    let header: Vec<String> = rec
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let has = |name: &str| header.iter().any(|h| h == name);
    let first_cell = header.first().map(String::as_str);
    if first_cell == Some("TransactionPostedDate")
        || (header.len() <= 2 && first_cell.is_some_and(|k| SETTLEMENT_HEADER_KEYS.contains(&k)))
    {
        return Ok(Some(Detected {
            kind: FileKind::Settlement,
            format: FileFormat::FlatFile,
        }));
    }
    let csv = |kind| {
        Ok(Some(Detected {
            kind,
            format: FileFormat::Csv,
        }))
    };
    if has("ChargeId") && has("ChargeAmount") && has("State") {
        return csv(FileKind::Charges);
    }
    if has("RefundId") && has("RefundAmount") {
        return csv(FileKind::Refunds);
    }
    if has("booking_date") && has("bank_transaction_id") {
        return csv(FileKind::Deposits);
    }
    if has(&orders.order_id) && has(&orders.order_total) {
        return csv(FileKind::Orders);
    }
    if let Some(why) = marketplace_flat_file(first_cell.unwrap_or("")) {
        return Err(why);
    }
    let shown: Vec<&str> = header.iter().take(8).map(String::as_str).collect();
    Err(format!(
        "unrecognised header [{}{}]: expected a settlement report (`TransactionPostedDate`), charges (`ChargeId`, `ChargeAmount`, `State`), refunds (`RefundId`, `RefundAmount`), deposits (`booking_date`, `bank_transaction_id`), orders (`{}`, `{}`; see [orders.columns] in payrecon.toml){}",
        shown.join(", "),
        if header.len() > 8 { ", ..." } else { "" },
        orders.order_id,
        orders.order_total,
        if banks.is_empty() {
            " or a bank's own CSV export (see [[bank.csv]] in payrecon.toml)".to_string()
        } else {
            format!(
                " or one of the [[bank.csv]] layouts ({})",
                banks
                    .iter()
                    .map(|b| b.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Result<(FileKind, FileFormat), String> {
        match detect_bytes(text.as_bytes(), &OrderColumns::default(), &[]) {
            Sniffed::Kind(d) => Ok((d.kind, d.format)),
            Sniffed::Empty => Err("empty".into()),
            Sniffed::Unknown(why) => Err(why),
        }
    }

    #[test]
    fn recognises_every_kind() {
        assert_eq!(
            kind("\"SellerId\",\"A1\"\n").unwrap(),
            (FileKind::Settlement, FileFormat::FlatFile)
        );
        assert_eq!(
            kind("\u{feff}\"TransactionPostedDate\",\"SettlementId\"\n")
                .unwrap()
                .0,
            FileKind::Settlement
        );
        assert_eq!(
            kind("State,ChargeAmount,ChargeId\n").unwrap(),
            (FileKind::Charges, FileFormat::Csv)
        );
        assert_eq!(
            kind("RefundId,ChargeId,RefundAmount\n").unwrap().0,
            FileKind::Refunds
        );
        assert_eq!(
            kind("booking_date,amount,bank_transaction_id\n").unwrap().0,
            FileKind::Deposits
        );
        assert_eq!(
            kind("order_id,created_at,order_total\r\n").unwrap().0,
            FileKind::Orders
        );
        assert_eq!(
            kind("\n{\"chargeId\":\"C1\"}\n").unwrap(),
            (FileKind::Charges, FileFormat::JsonLines)
        );
        assert_eq!(
            kind("{\"refundId\":\"R\",\"chargeId\":\"C\"}").unwrap().0,
            FileKind::Refunds
        );
    }

    #[test]
    fn explains_unrecognised_files() {
        assert!(kind("").unwrap_err().contains("empty"));
        assert!(kind("\u{feff}\r\n \n").unwrap_err().contains("empty"));
        // A header cannot forge a log line.
        assert!(
            !kind("a\u{1b}[2J,b\rINFO forged\n")
                .unwrap_err()
                .contains('\u{1b}')
        );
        assert!(
            kind("a,b,c\n1,2,3\n")
                .unwrap_err()
                .contains("unrecognised header [a, b, c]")
        );
        assert!(kind("{\"foo\":1}").unwrap_err().contains("chargeId"));
        assert!(
            kind("{\"chargeId\": \n{oops\n")
                .unwrap_err()
                .contains("JSON, but")
        );
    }

    #[test]
    fn a_damaged_first_json_line_does_not_hide_the_kind() {
        // `--messy` data can truncate the first object; the reader rejects that line.
        assert_eq!(
            kind("{\"chargeId\":\"C1\",\"charge\n{\"chargeId\":\"C2\"}\n").unwrap(),
            (FileKind::Charges, FileFormat::JsonLines)
        );
    }

    #[test]
    fn mapped_order_columns() {
        let cols = OrderColumns {
            order_id: "Name".into(),
            order_total: "Total".into(),
            ..OrderColumns::default()
        };
        let d = detect_bytes(b"Name,Created at,Total\n", &cols, &[]);
        assert!(matches!(d, Sniffed::Kind(d) if d.kind == FileKind::Orders));
    }
}
