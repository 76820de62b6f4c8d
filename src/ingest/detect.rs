//! Recognising a file's kind by its header (never by its name).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::model::{FileFormat, FileKind};
use crate::settings::OrderColumns;

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

/// Recognises a file by its first bytes. `Err` carries a message saying what was looked for.
pub fn detect(path: &Path, orders: &OrderColumns) -> std::io::Result<Result<Detected, String>> {
    let mut buf = Vec::with_capacity(SNIFF_BYTES);
    File::open(path)?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut buf)?;
    Ok(detect_bytes(&buf, orders))
}

pub fn detect_bytes(bytes: &[u8], orders: &OrderColumns) -> Result<Detected, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let Some(first) = first else {
        return Err("the file is empty".into());
    };
    if bytes[first] == b'{' {
        // The first line that parses decides (a damaged first line is then rejected by the
        // reader with its line and column, like any other bad row).
        let mut first_error = None;
        for line in bytes[first..].split(|&b| b == b'\n') {
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            let value: serde_json::Value = match serde_json::from_slice(line) {
                Ok(v) => v,
                Err(e) => {
                    first_error.get_or_insert_with(|| {
                        format!("looks like JSON Lines but no line of its start is JSON: {e}")
                    });
                    continue;
                }
            };
            let Some(obj) = value.as_object() else {
                return Err("first JSON line is not an object".into());
            };
            let kind = if obj.contains_key("refundId") {
                FileKind::Refunds
            } else if obj.contains_key("chargeId") {
                FileKind::Charges
            } else {
                return Err(
                    "JSON Lines without `chargeId` (Charge objects) or `refundId` (Refund objects)"
                        .into(),
                );
            };
            return Ok(Detected {
                kind,
                format: FileFormat::JsonLines,
            });
        }
        return Err(first_error.unwrap_or_else(|| "the file is empty".into()));
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = rdr.records();
    let header = match records.next() {
        Some(Ok(r)) => r,
        Some(Err(e)) => return Err(format!("the first line is not CSV: {e}")),
        None => return Err("the file is empty".into()),
    };
    let has = |name: &str| header.iter().any(|h| h == name);
    if header.get(0) == Some("TransactionPostedDate")
        || (header.len() <= 2
            && header
                .get(0)
                .is_some_and(|k| SETTLEMENT_HEADER_KEYS.contains(&k)))
    {
        return Ok(Detected {
            kind: FileKind::Settlement,
            format: FileFormat::FlatFile,
        });
    }
    let csv = |kind| {
        Ok(Detected {
            kind,
            format: FileFormat::Csv,
        })
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
    let shown: Vec<&str> = header.iter().take(8).collect();
    Err(format!(
        "unrecognised header [{}{}]: expected a settlement report (`TransactionPostedDate`), charges (`ChargeId`, `ChargeAmount`, `State`), refunds (`RefundId`, `RefundAmount`), deposits (`booking_date`, `bank_transaction_id`) or orders (`{}`, `{}`; see [orders.columns] in payrecon.toml)",
        shown.join(", "),
        if header.len() > 8 { ", ..." } else { "" },
        orders.order_id,
        orders.order_total
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Result<(FileKind, FileFormat), String> {
        detect_bytes(text.as_bytes(), &OrderColumns::default()).map(|d| (d.kind, d.format))
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
        assert!(
            kind("a,b,c\n1,2,3\n")
                .unwrap_err()
                .contains("unrecognised header [a, b, c]")
        );
        assert!(kind("{\"foo\":1}").unwrap_err().contains("chargeId"));
        assert!(
            kind("{\"chargeId\": \n{oops\n")
                .unwrap_err()
                .contains("no line")
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
        let d = detect_bytes(b"Name,Created at,Total\n", &cols).unwrap();
        assert_eq!(d.kind, FileKind::Orders);
    }
}
