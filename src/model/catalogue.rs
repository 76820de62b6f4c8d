//! The Amazon Pay status and reason-code catalogue, shipped as data, and decline classes.
//!
//! `data/reason-codes.csv` is built from the status page text (`shared/seeds/amazon-pay-statuses.txt`)
//! by [`parse_seed`] and embedded in the binary. The decline class of a reason code follows
//! `spec/analytics.md`: the spec's fixed lists first, then `unknown` for codes the catalogue
//! lacks, then the HTTP status, then the resolution tier.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The catalogue as shipped, embedded at build time.
pub const EMBEDDED_CSV: &str = include_str!("../../data/reason-codes.csv");

/// How a decline can be resolved, per `spec/analytics.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineClass {
    /// Transient: a retry may succeed.
    Soft,
    /// Final: retrying will not succeed; the buyer needs another payment method.
    Hard,
    /// The buyer must act (authenticate, fix or choose a payment method).
    BuyerAction,
    /// The merchant's integration sent something invalid.
    Integration,
    /// The reason code is not in the catalogue.
    Unknown,
}

impl DeclineClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DeclineClass::Soft => "soft",
            DeclineClass::Hard => "hard",
            DeclineClass::BuyerAction => "buyer_action",
            DeclineClass::Integration => "integration",
            DeclineClass::Unknown => "unknown",
        }
    }

    /// What to do about declines of this class, in one sentence.
    pub fn action(self) -> &'static str {
        match self {
            DeclineClass::Soft => "Retry later (with back-off); a later attempt often succeeds.",
            DeclineClass::Hard => "Do not retry; ask the buyer for another payment method.",
            DeclineClass::BuyerAction => {
                "Ask the buyer to act (authenticate, update or choose a payment method), then retry."
            }
            DeclineClass::Integration => {
                "Fix the request in the integration; retrying unchanged will fail again."
            }
            DeclineClass::Unknown => {
                "Not in the catalogue: look the code up and extend the catalogue."
            }
        }
    }
}

impl fmt::Display for DeclineClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCode {
    pub code: String,
    /// The page section: `Payment Status`, `Charge Status`, `Refund Status`, `Error Codes`.
    pub group: String,
    pub title: String,
    /// e.g. `Decline, Error`.
    pub level: String,
    /// `Common`, `Occasional` or `Rare`.
    pub frequency: String,
    /// Resolution tier `T0`..`T3`.
    pub tier: String,
    pub http_status: Option<u16>,
    pub decline_class: DeclineClass,
    /// The catalogue's description, which is also its advice.
    pub description: String,
}

/// Classes fixed by the spec, ahead of any catalogue rule.
const FIXED: &[(&str, DeclineClass)] = &[
    ("SoftDeclined", DeclineClass::Soft),
    ("ProcessingFailure", DeclineClass::Soft),
    ("TransactionTimedOut", DeclineClass::Soft),
    ("HardDeclined", DeclineClass::Hard),
    ("AmazonRejected", DeclineClass::Hard),
    ("PaymentMethodExpired", DeclineClass::Hard),
    ("MFANotCompleted", DeclineClass::BuyerAction),
    ("MFAFailed", DeclineClass::BuyerAction),
    ("PaymentMethodInvalid", DeclineClass::BuyerAction),
];

/// The class of a catalogue entry (rules 1, 3 and 4 of the spec).
pub fn classify(code: &str, http_status: Option<u16>, tier: &str) -> DeclineClass {
    if let Some((_, class)) = FIXED.iter().find(|(c, _)| *c == code) {
        return *class;
    }
    match http_status {
        Some(429) | Some(500..=599) => return DeclineClass::Soft,
        Some(400..=499) => return DeclineClass::Integration,
        _ => {}
    }
    match tier {
        "T3" => DeclineClass::Hard,
        "T2" => DeclineClass::BuyerAction,
        _ => DeclineClass::Soft,
    }
}

/// Why the catalogue text could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue seed line {line}: {message}")]
    Seed { line: usize, message: String },
    #[error("catalogue CSV: {0}")]
    Csv(#[from] csv::Error),
}

const GROUPS: [&str; 4] = [
    "Payment Status",
    "Charge Status",
    "Refund Status",
    "Error Codes",
];

/// Parses the status page text into catalogue entries (first occurrence of a code wins).
pub fn parse_seed(text: &str) -> Result<Vec<ReasonCode>, CatalogueError> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let start = lines
        .iter()
        .position(|(_, l)| *l == "CodeDescriptionLevelFrequencyResolution")
        .ok_or(CatalogueError::Seed {
            line: 0,
            message: "no `CodeDescriptionLevelFrequencyResolution` table header".into(),
        })?;
    let mut out: Vec<ReasonCode> = Vec::new();
    let mut group = String::new();
    let mut i = start + 1;
    while i < lines.len() {
        let (line_no, line) = lines[i];
        if line.starts_with("Articles you may find interesting") {
            break;
        }
        if GROUPS.contains(&line) {
            group = line.to_string();
            i += 1;
            continue;
        }
        if i + 3 >= lines.len() {
            return Err(CatalogueError::Seed {
                line: line_no,
                message: format!("entry {line:?} is incomplete"),
            });
        }
        let code = line;
        if code.contains(char::is_whitespace) {
            return Err(CatalogueError::Seed {
                line: line_no,
                message: format!("expected a reason code, found {code:?}"),
            });
        }
        let title = lines[i + 1].1;
        let description = lines[i + 2].1;
        let (meta_line, meta) = lines[i + 3];
        let (level, frequency, tier) = split_meta(meta).ok_or_else(|| CatalogueError::Seed {
            line: meta_line,
            message: format!("expected `<level><frequency><tier>`, found {meta:?}"),
        })?;
        let http_status = http_status(description);
        if !out.iter().any(|e| e.code == code) {
            out.push(ReasonCode {
                code: code.to_string(),
                group: group.clone(),
                title: title.to_string(),
                level: level.to_string(),
                frequency: frequency.to_string(),
                tier: tier.to_string(),
                http_status,
                decline_class: classify(code, http_status, tier),
                description: description.to_string(),
            });
        }
        i += 4;
    }
    Ok(out)
}

fn split_meta(meta: &str) -> Option<(&str, &str, &str)> {
    let tier_at = meta.len().checked_sub(2)?;
    let tier = meta.get(tier_at..)?;
    if !matches!(tier, "T0" | "T1" | "T2" | "T3") {
        return None;
    }
    let rest = &meta[..tier_at];
    let freq = ["Common", "Occasional", "Rare"]
        .into_iter()
        .find(|f| rest.ends_with(f))?;
    let level = rest[..rest.len() - freq.len()].trim();
    Some((level, freq, tier))
}

fn http_status(description: &str) -> Option<u16> {
    let at = description.find("HTTP ")?;
    let digits: String = description[at + 5..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Writes the catalogue as CSV (the shipped `data/reason-codes.csv` format).
pub fn to_csv(entries: &[ReasonCode]) -> Result<String, CatalogueError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "code",
        "group",
        "title",
        "level",
        "frequency",
        "tier",
        "http_status",
        "decline_class",
        "description",
    ])?;
    for e in entries {
        let http = e.http_status.map(|h| h.to_string()).unwrap_or_default();
        w.write_record([
            e.code.as_str(),
            &e.group,
            &e.title,
            &e.level,
            &e.frequency,
            &e.tier,
            &http,
            e.decline_class.as_str(),
            &e.description,
        ])?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8(bytes).expect("csv of utf-8 is utf-8"))
}

/// Reads the CSV form back.
pub fn from_csv(text: &str) -> Result<Vec<ReasonCode>, CatalogueError> {
    #[derive(Deserialize)]
    struct Row {
        code: String,
        group: String,
        title: String,
        level: String,
        frequency: String,
        tier: String,
        http_status: Option<u16>,
        description: String,
    }
    let mut out = Vec::new();
    for row in csv::Reader::from_reader(text.as_bytes()).deserialize::<Row>() {
        let r = row?;
        // The class is always derived, never trusted from the file.
        let decline_class = classify(&r.code, r.http_status, &r.tier);
        out.push(ReasonCode {
            code: r.code,
            group: r.group,
            title: r.title,
            level: r.level,
            frequency: r.frequency,
            tier: r.tier,
            http_status: r.http_status,
            decline_class,
            description: r.description,
        });
    }
    Ok(out)
}

/// The catalogue with lookups by code.
#[derive(Debug, Clone)]
pub struct Catalogue {
    entries: Vec<ReasonCode>,
    by_code: BTreeMap<String, usize>,
}

impl Catalogue {
    pub fn new(entries: Vec<ReasonCode>) -> Self {
        let by_code = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.code.clone(), i))
            .collect();
        Catalogue { entries, by_code }
    }

    /// The catalogue embedded in the binary.
    pub fn embedded() -> &'static Catalogue {
        static CAT: OnceLock<Catalogue> = OnceLock::new();
        CAT.get_or_init(|| {
            Catalogue::new(from_csv(EMBEDDED_CSV).expect("embedded catalogue is valid"))
        })
    }

    pub fn entries(&self) -> &[ReasonCode] {
        &self.entries
    }

    pub fn get(&self, code: &str) -> Option<&ReasonCode> {
        self.by_code.get(code).map(|&i| &self.entries[i])
    }

    /// The decline class of a declined attempt's reason code (an empty code counts as
    /// `Declined`; a code the catalogue lacks is `unknown`).
    pub fn decline_class(&self, reason_code: Option<&str>) -> DeclineClass {
        let code = match reason_code {
            None | Some("") => "Declined",
            Some(c) => c,
        };
        if let Some((_, class)) = FIXED.iter().find(|(c, _)| *c == code) {
            return *class;
        }
        self.get(code)
            .map(|e| e.decline_class)
            .unwrap_or(DeclineClass::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_line_splits() {
        assert_eq!(
            split_meta("Pending, InfoCommonT0"),
            Some(("Pending, Info", "Common", "T0"))
        );
        assert_eq!(split_meta("ErrorRareT1"), Some(("Error", "Rare", "T1")));
        assert_eq!(
            split_meta("Decline, ErrorOccasionalT3"),
            Some(("Decline, Error", "Occasional", "T3"))
        );
        assert_eq!(split_meta("Nonsense"), None);
    }

    #[test]
    fn class_rules_in_spec_order() {
        // 1. fixed by the spec, whatever the catalogue says.
        assert_eq!(
            classify("ProcessingFailure", Some(500), "T1"),
            DeclineClass::Soft
        );
        assert_eq!(
            classify("PaymentMethodExpired", None, "T3"),
            DeclineClass::Hard
        );
        assert_eq!(
            classify("MFANotCompleted", Some(422), "T2"),
            DeclineClass::BuyerAction
        );
        // 3. HTTP status.
        assert_eq!(
            classify("TooManyRequests", Some(429), "T0"),
            DeclineClass::Soft
        );
        assert_eq!(
            classify("ServiceUnavailable", Some(503), "T0"),
            DeclineClass::Soft
        );
        assert_eq!(
            classify("TransactionAmountExceeded", Some(400), "T2"),
            DeclineClass::Integration
        );
        // 4. tier.
        assert_eq!(
            classify("PaymentMethodDeleted", None, "T3"),
            DeclineClass::Hard
        );
        assert_eq!(
            classify("BillingAddressDeleted", None, "T2"),
            DeclineClass::BuyerAction
        );
        assert_eq!(
            classify("StopShipmentAtypicalAuth", None, "T1"),
            DeclineClass::Soft
        );
    }

    #[test]
    fn embedded_catalogue_lookups() {
        let cat = Catalogue::embedded();
        assert!(cat.entries().len() >= 60);
        assert_eq!(cat.decline_class(Some("SoftDeclined")), DeclineClass::Soft);
        assert_eq!(cat.decline_class(None), DeclineClass::BuyerAction); // counts as `Declined`, T2
        assert_eq!(cat.decline_class(Some("NoSuchCode")), DeclineClass::Unknown);
        assert_eq!(
            cat.decline_class(Some("InvalidChargeStatus")),
            DeclineClass::Integration
        );
        let e = cat.get("TooManyRequests").unwrap();
        assert_eq!(
            (e.http_status, e.tier.as_str(), e.frequency.as_str()),
            (Some(429), "T0", "Occasional")
        );
        assert_eq!(cat.get("Open").unwrap().group, "Payment Status");
    }

    #[test]
    fn shipped_csv_matches_the_seed() {
        let seed = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/seeds/amazon-pay-statuses.txt"
        );
        let Ok(text) = std::fs::read_to_string(seed) else {
            eprintln!("skipped: {seed} not present");
            return;
        };
        let parsed = parse_seed(&text).unwrap();
        assert_eq!(
            to_csv(&parsed).unwrap(),
            EMBEDDED_CSV,
            "run `payrecon codes --seed {seed} --format csv > data/reason-codes.csv`"
        );
    }
}
