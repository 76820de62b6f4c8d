//! Amazon Pay API v2 Charge and Refund objects, in every JSON shape of the spec (§2–3): JSON
//! Lines, pretty-printed objects, arrays and list responses (framed by
//! [`super::json_frames`]), including the first Checkout v2 integrations' variant
//! (`statusDetail` for `statusDetails`, epoch milliseconds for timestamps).
//!
//! Each object is parsed on its own under the CSV column names the row parsers use; a
//! rejected object is reported at the line where it starts, with its column and the JSON
//! path of the field that is wrong.

use std::borrow::Cow;
use std::fmt;
use std::io::BufReader;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::IngestError;
use super::IngestOptions;
use super::json_frames::{Frame, Framer};
use super::rows::{self, Fields, RowError};
use super::sink::{FileJob, FileRead, MemoryBudget, Rejects, Spiller, oversize_row};
use crate::model::FileKind;
use crate::model::schema::{CHARGES, REFUNDS, TableDef};

/// A JSON string, or a number kept as its text: early v2 integrations wrote timestamps as
/// epoch milliseconds. (Amounts stay strings, as the API writes them: a JSON number is not an
/// exact decimal.)
#[derive(Default, Debug)]
struct Text<'a> {
    text: Cow<'a, str>,
    number: bool,
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text {
                    text: Cow::Borrowed(v),
                    number: false,
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text {
                    text: Cow::Owned(v.to_string()),
                    number: false,
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Text {
                    text: Cow::Owned(v.to_string()),
                    number: true,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Text {
                    text: Cow::Owned(v.to_string()),
                    number: true,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl Text<'_> {
    /// An epoch-milliseconds timestamp (a number, or a string of 12–14 digits) as ISO 8601.
    fn normalise_timestamp(&mut self) {
        let t = self.text.trim();
        let digits = t.len() >= 12 && t.len() <= 14 && t.bytes().all(|b| b.is_ascii_digit());
        if !(self.number || digits) {
            return;
        }
        if let Ok(ms) = t.parse::<i64>()
            && let Some(dt) = chrono::DateTime::from_timestamp_millis(ms)
        {
            self.text = Cow::Owned(dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        }
    }
}

/// An API v2 price object.
#[derive(Deserialize, Default, Debug)]
struct JsonPrice<'a> {
    #[serde(borrow, default)]
    amount: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "currencyCode")]
    currency_code: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default, Debug)]
struct JsonStatus<'a> {
    #[serde(borrow, default)]
    state: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "reasonCode")]
    reason_code: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "lastUpdatedTimestamp")]
    last_updated: Option<Text<'a>>,
}

#[derive(Deserialize, Default, Debug)]
struct JsonMerchant<'a> {
    #[serde(borrow, default, rename = "merchantReferenceId")]
    merchant_reference_id: Option<Cow<'a, str>>,
}

/// An API v2 Charge or Refund object (unknown fields ignored).
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
struct JsonObject<'a> {
    #[serde(borrow, default)]
    charge_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    refund_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    charge_permission_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    charge_amount: Option<JsonPrice<'a>>,
    #[serde(borrow, default)]
    capture_amount: Option<JsonPrice<'a>>,
    #[serde(borrow, default)]
    refunded_amount: Option<JsonPrice<'a>>,
    #[serde(borrow, default)]
    refund_amount: Option<JsonPrice<'a>>,
    /// `statusDetail` in the first Checkout v2 integrations.
    #[serde(borrow, default, alias = "statusDetail")]
    status_details: Option<JsonStatus<'a>>,
    #[serde(borrow, default)]
    creation_timestamp: Option<Text<'a>>,
    #[serde(borrow, default)]
    merchant_metadata: Option<JsonMerchant<'a>>,
    #[serde(borrow, default)]
    release_environment: Option<Cow<'a, str>>,
}

impl JsonObject<'_> {
    fn normalise(&mut self) {
        if let Some(t) = &mut self.creation_timestamp {
            t.normalise_timestamp();
        }
        if let Some(t) = self
            .status_details
            .as_mut()
            .and_then(|s| s.last_updated.as_mut())
        {
            t.normalise_timestamp();
        }
    }
}

/// Presents a JSON object under the CSV column names the row parsers use.
struct JsonFields<'o, 'a> {
    obj: &'o JsonObject<'a>,
    kind: FileKind,
}

fn text<'b>(t: Option<&'b Text<'_>>) -> Option<&'b str> {
    t.map(|t| &*t.text)
}

impl Fields for JsonFields<'_, '_> {
    fn get(&self, name: &str) -> Option<&str> {
        let o = self.obj;
        let status = o.status_details.as_ref();
        let v: Option<&str> = match (self.kind, name) {
            (FileKind::Charges, "ChargeId") => o.charge_id.as_deref(),
            (FileKind::Refunds, "ChargeId") => o.charge_id.as_deref(),
            (_, "RefundId") => o.refund_id.as_deref(),
            (_, "ChargePermissionId") => o.charge_permission_id.as_deref(),
            (_, "MerchantReferenceId") => o
                .merchant_metadata
                .as_ref()
                .and_then(|m| m.merchant_reference_id.as_deref()),
            (_, "CreationTimestamp") => text(o.creation_timestamp.as_ref()),
            (_, "LastUpdatedTimestamp") => text(status.and_then(|s| s.last_updated.as_ref())),
            (_, "State") => status.and_then(|s| s.state.as_deref()),
            (_, "ReasonCode") => status.and_then(|s| s.reason_code.as_deref()),
            (_, "ChargeAmount") => amount_of(o.charge_amount.as_ref()),
            (_, "CaptureAmount") => amount_of(o.capture_amount.as_ref()),
            (_, "RefundedAmount") => amount_of(o.refunded_amount.as_ref()),
            (_, "RefundAmount") => amount_of(o.refund_amount.as_ref()),
            (FileKind::Charges, "CurrencyCode") => o
                .charge_amount
                .as_ref()
                .and_then(|p| p.currency_code.as_deref()),
            (FileKind::Refunds, "CurrencyCode") => o
                .refund_amount
                .as_ref()
                .and_then(|p| p.currency_code.as_deref()),
            (_, "ReleaseEnvironment") => o.release_environment.as_deref(),
            _ => None,
        };
        // A JSON field that is absent reads as empty, so required fields say "empty".
        Some(v.unwrap_or(""))
    }
}

fn amount_of<'b>(p: Option<&'b JsonPrice<'_>>) -> Option<&'b str> {
    p.and_then(|p| p.amount.as_deref())
}

/// The JSON path of a CSV column name, for reject messages.
fn json_path(kind: FileKind, column: &str) -> String {
    let path = match column {
        "ChargeId" => "chargeId",
        "RefundId" => "refundId",
        "ChargePermissionId" => "chargePermissionId",
        "MerchantReferenceId" => "merchantMetadata.merchantReferenceId",
        "CreationTimestamp" => "creationTimestamp",
        "LastUpdatedTimestamp" => "statusDetails.lastUpdatedTimestamp",
        "State" => "statusDetails.state",
        "ReasonCode" => "statusDetails.reasonCode",
        "ChargeAmount" => "chargeAmount.amount",
        "CaptureAmount" => "captureAmount.amount",
        "RefundedAmount" => "refundedAmount.amount",
        "RefundAmount" => "refundAmount.amount",
        "CurrencyCode" if kind == FileKind::Refunds => "refundAmount.currencyCode",
        "CurrencyCode" => "chargeAmount.currencyCode",
        "ReleaseEnvironment" => "releaseEnvironment",
        other => other,
    };
    path.to_string()
}

/// Every price of the object must be in the main currency.
fn check_currencies(obj: &JsonObject<'_>, kind: FileKind) -> Result<(), RowError> {
    let main = match kind {
        FileKind::Refunds => obj.refund_amount.as_ref(),
        _ => obj.charge_amount.as_ref(),
    }
    .and_then(|p| p.currency_code.as_deref());
    let Some(main) = main else { return Ok(()) };
    for (name, p) in [
        ("captureAmount", &obj.capture_amount),
        ("refundedAmount", &obj.refunded_amount),
    ] {
        let has_amount = amount_of(p.as_ref()).is_some_and(|a| !a.trim().is_empty());
        if let Some(c) = p.as_ref().and_then(|p| p.currency_code.as_deref())
            && has_amount
            && c != main
        {
            return Err(RowError::at(
                &format!("{name}.currencyCode"),
                format!("currency {c} differs from {main}"),
            ));
        }
    }
    Ok(())
}

/// Parses one framed object; a failure names the field by its JSON path and the place in the
/// file (the object starts at `line`, `column`).
fn parse_object<'a>(bytes: &'a [u8], line: u64, column: u64) -> Result<JsonObject<'a>, RowError> {
    // The fast parse first; only a failure is parsed again to learn the field's path.
    if let Ok(mut obj) = serde_json::from_slice::<JsonObject<'a>>(bytes) {
        obj.normalise();
        return Ok(obj);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let failure = match serde_path_to_error::deserialize::<_, JsonObject<'a>>(&mut de) {
        // Parsed, so what failed is after the object (trailing characters).
        Ok(_) => de.end().err().map(|e| (String::new(), e)),
        Err(e) => Some((e.path().to_string(), e.into_inner())),
    };
    match failure {
        None => Err(RowError::row("the object could not be read")),
        Some((path, inner)) => {
            // serde_json counts from the object's first byte: back to the file's lines.
            let (l, c) = (inner.line() as u64, inner.column() as u64);
            let (at_line, at_col) = if l <= 1 {
                (line, column + c.saturating_sub(1))
            } else {
                (line + l - 1, c)
            };
            let msg = inner.to_string();
            let what = strip_position(&msg);
            Err(RowError {
                column: (path != "." && !path.is_empty()).then_some(path),
                reason: format!(
                    "invalid JSON at line {at_line}, column {at_col} (object from line {line}, \
                     column {column}): {what}"
                ),
            })
        }
    }
}

/// serde_json's message without its own " at line N column M" (relative to the object).
fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}

/// Reads a JSON file of Charge or Refund objects, in any of the shapes.
pub(super) fn read_json<R: std::io::Read>(
    source: R,
    job: &FileJob,
    kind: FileKind,
    opts: &IngestOptions,
    scratch: &Path,
    budget: &MemoryBudget,
    progress: &dyn Fn(u64),
) -> Result<(FileRead, R), IngestError> {
    let table: &'static TableDef = if kind == FileKind::Refunds {
        &REFUNDS
    } else {
        &CHARGES
    };
    let mut spiller = Spiller::new(table, scratch, job.seq, budget);
    let mut rejects = Rejects::new(job);
    let reader = BufReader::with_capacity(256 * 1024, source);
    let mut frames = Framer::new(reader, opts.max_record_bytes);
    let mut read = 0u64;
    while let Some(frame) = frames
        .next_frame()
        .map_err(|e| IngestError::io(&job.path, e))?
    {
        read += 1;
        if read.is_multiple_of(65536) {
            progress(frames.bytes());
        }
        let (line, column, oversize) = match frame {
            Frame::Junk { line, column, what } => {
                let err = RowError::row(format!(
                    "not a JSON object at line {line}, column {column}: {what}"
                ));
                rejects.add(line, err, "");
                continue;
            }
            Frame::Object {
                line,
                column,
                oversize,
            } => (line, column, oversize),
        };
        let bytes = frames.object();
        if oversize {
            let n = bytes.len() as u64 + 1;
            rejects.add(line, oversize_row(opts, n), &String::from_utf8_lossy(bytes));
            continue;
        }
        let obj = match parse_object(bytes, line, column) {
            Ok(o) => o,
            Err(err) => {
                rejects.add(line, err, &String::from_utf8_lossy(bytes));
                continue;
            }
        };
        let fields = JsonFields { obj: &obj, kind };
        let result = check_currencies(&obj, kind).and_then(|()| match kind {
            FileKind::Refunds => rows::push_refund(&fields, &opts.window, &mut spiller.builder),
            _ => rows::push_charge(&fields, &opts.window, &mut spiller.builder),
        });
        match result {
            Ok(()) => {
                spiller.builder.finish_row(&job.display, line, job.seq);
                spiller.row_done().map_err(IngestError::Lake)?;
            }
            Err(mut e) => {
                if let Some(c) = &e.column
                    && !c.contains('.')
                {
                    e.column = Some(json_path(kind, c));
                }
                if column > 1 || frames.shape() != super::json_frames::Shape::Objects {
                    e.reason = format!("{} (object from line {line}, column {column})", e.reason);
                }
                rejects.add(line, e, &String::from_utf8_lossy(frames.object()));
            }
        }
    }
    let reader = frames.into_inner();
    Ok((
        FileRead::one_table(read, rejects, spiller)?,
        reader.into_inner(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_v2_objects_read_like_current_ones() {
        let early =
            br#"{"chargeId":"S01-1-C1","chargeAmount":{"amount":"49.99","currencyCode":"USD"},
            "statusDetail":{"state":"Captured","lastUpdatedTimestamp":1759333730000},
            "creationTimestamp":1759333700123}"#;
        let obj = parse_object(early, 1, 1).unwrap();
        let f = JsonFields {
            obj: &obj,
            kind: FileKind::Charges,
        };
        assert_eq!(f.get("State"), Some("Captured"));
        assert_eq!(f.get("ChargeAmount"), Some("49.99"));
        assert_eq!(f.get("CreationTimestamp"), Some("2025-10-01T15:48:20.123Z"));
        assert_eq!(
            f.get("LastUpdatedTimestamp"),
            Some("2025-10-01T15:48:50.000Z")
        );
    }

    #[test]
    fn a_bad_field_is_named_by_its_path_and_place() {
        let bad = b"{\n  \"chargeId\": \"a\",\n  \"statusDetails\": {\"state\": [1]}\n}";
        let err = parse_object(bad, 10, 3).unwrap_err();
        assert_eq!(err.column.as_deref(), Some("statusDetails.state"));
        assert!(err.reason.contains("line 12, column"), "{}", err.reason);
        assert!(
            err.reason.contains("object from line 10, column 3"),
            "{}",
            err.reason
        );
    }
}
