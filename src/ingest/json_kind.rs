//! What a JSON file holds, from its first objects: Amazon Pay Charge or Refund objects, or a
//! message naming what it is instead (ChargePermission or CheckoutSession objects, Reports API
//! responses, Selling Partner objects). Detection asks this before any reader runs.

use super::json_frames::{Frame, Framer};
use crate::model::FileKind;

/// What the first object of a JSON file says the file is: Charge or Refund objects, or a
/// message naming what it looks like instead.
pub(super) fn recognise(bytes: &[u8]) -> Result<FileKind, String> {
    let mut frames = Framer::new(bytes, bytes.len().max(1 << 20));
    let mut first_error = None;
    let mut seen = 0;
    while let Ok(Some(frame)) = frames.next_frame() {
        let Frame::Object { .. } = frame else {
            continue;
        };
        seen += 1;
        let value: serde_json::Value = match serde_json::from_slice(frames.object()) {
            Ok(v) => v,
            Err(e) => {
                first_error.get_or_insert_with(|| {
                    format!("JSON, but no object at its start parses: {}", e)
                });
                if seen >= 64 {
                    break;
                }
                continue;
            }
        };
        let Some(obj) = value.as_object() else {
            continue;
        };
        let has = |k: &str| obj.contains_key(k);
        return if has("refundId") {
            Ok(FileKind::Refunds)
        } else if has("chargeId") {
            Ok(FileKind::Charges)
        } else {
            Err(looks_like(obj))
        };
    }
    Err(first_error.unwrap_or_else(|| {
        if seen == 0 {
            "JSON, but with no object at its start (complete within the first MiB)".into()
        } else {
            "JSON, but no object at its start parses".into()
        }
    }))
}

/// What a JSON object that is neither a Charge nor a Refund looks like.
fn looks_like(obj: &serde_json::Map<String, serde_json::Value>) -> String {
    let has = |k: &str| obj.contains_key(k);
    let what = if has("chargePermissionId") {
        "Amazon Pay ChargePermission objects (`chargePermissionId` without `chargeId`)".into()
    } else if has("checkoutSessionId") {
        "Amazon Pay CheckoutSession objects (`checkoutSessionId`)".to_string()
    } else if has("reportId") || has("reportDocumentId") || has("reports") {
        "Amazon Pay Reports API responses (report metadata, not a report's content; \
         `payrecon fetch` downloads the reports themselves)"
            .to_string()
    } else if has("AmazonOrderId") || has("amazonOrderId") || has("payload") {
        "Selling Partner API objects (marketplace orders), not Amazon Pay".to_string()
    } else {
        let keys: Vec<&str> = obj.keys().take(6).map(String::as_str).collect();
        format!("JSON objects with the fields {}", keys.join(", "))
    };
    format!(
        "{what}; payrecon reads JSON Charge objects (`chargeId`) and Refund objects \
         (`refundId`), one per line, pretty-printed, in an array or in a list response"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_objects_are_named() {
        let cp = br#"{"chargePermissionId":"P01-1","limits":{}}"#;
        assert!(recognise(cp).unwrap_err().contains("ChargePermission"));
        let list = br#"{"charges":[{"refundId":"r","chargeId":"c"}],"nextToken":null}"#;
        assert_eq!(recognise(list), Ok(FileKind::Refunds));
        let array = b"[\n  {\n    \"chargeId\": \"c\"\n  }\n]";
        assert_eq!(recognise(array), Ok(FileKind::Charges));
    }
}
