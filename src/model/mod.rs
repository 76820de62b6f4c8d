//! The typed model: currencies and exact amounts, time, states, link keys, the reason-code
//! catalogue and the lake schema.
//!
//! Ids are text in Arrow columns and, in the reconciler, shared substrings of them
//! (`reconcile::load::Text`); an owned newtype per id would allocate once per id, so there is
//! none. States are enums ([`states`]).
//!
//! Every other stage speaks these types; nothing here does I/O beyond reading embedded data.

pub mod catalogue;
pub mod keys;
pub mod money;
pub mod schema;
pub mod states;
pub mod time;

use std::fmt;

pub use catalogue::{Catalogue, DeclineClass, ReasonCode};
pub use money::{Currency, MoneyError};

/// The five kinds of source file of `spec/inputs.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum FileKind {
    Settlement,
    Charges,
    Refunds,
    Orders,
    Deposits,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Settlement => "settlement",
            FileKind::Charges => "charges",
            FileKind::Refunds => "refunds",
            FileKind::Orders => "orders",
            FileKind::Deposits => "deposits",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Encodings a source file may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum FileFormat {
    Csv,
    JsonLines,
    /// Amazon Pay's flat-file settlement report (header block, then CSV body).
    FlatFile,
    /// A bank's own CSV export, read by the `[[bank.csv]]` layout at this index.
    BankCsv(u16),
    /// ISO 20022 camt.052 / camt.053 / camt.054, any version.
    Camt,
    /// SWIFT MT940 (or MT942).
    Mt940,
    /// BAI2 (Cash Management Balance Reporting Specification, version 2).
    Bai2,
}

impl FileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::JsonLines => "jsonl",
            FileFormat::FlatFile => "flat-file",
            FileFormat::BankCsv(_) => "bank-csv",
            FileFormat::Camt => "camt",
            FileFormat::Mt940 => "mt940",
            FileFormat::Bai2 => "bai2",
        }
    }
}

/// Charge states of the Amazon Pay API v2.
pub const CHARGE_STATES: [&str; 6] = [
    "AuthorizationInitiated",
    "Authorized",
    "CaptureInitiated",
    "Captured",
    "Canceled",
    "Declined",
];

/// Refund states of the Amazon Pay API v2.
pub const REFUND_STATES: [&str; 3] = ["RefundInitiated", "Refunded", "Declined"];

/// Settlement `TransactionType` values known to `spec/inputs.md` (the set is open).
pub const KNOWN_TRANSACTION_TYPES: [&str; 10] = [
    "Capture",
    "Refund",
    "Chargeback",
    "A-to-z Guarantee Claim",
    "Dispute",
    "Debt",
    "Adjustment",
    "Authorization",
    "Carryover",
    "Transfer",
];

/// The canonical spelling of a settlement `TransactionType`, or `None` for a type not known.
/// Matched ignoring case, spaces, hyphens and other punctuation, because Amazon's regional
/// reports spell them differently: `A to Z Guarantee Claim`, `A-to-z Guarantee - Claim` and
/// `a-to-z guarantee claim` are all `A-to-z Guarantee Claim`.
pub fn canonical_transaction_type(text: &str) -> Option<&'static str> {
    if let Some(t) = KNOWN_TRANSACTION_TYPES.iter().find(|t| **t == text) {
        return Some(t);
    }
    let key = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = key(text);
    KNOWN_TRANSACTION_TYPES
        .iter()
        .find(|t| key(t) == wanted)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::canonical_transaction_type as canon;

    #[test]
    fn transaction_type_spellings_are_one_type() {
        for s in [
            "A-to-z Guarantee Claim",
            "A to Z Guarantee Claim",
            "A-to-z Guarantee - Claim",
            "a-to-z guarantee claim",
            "AtoZ Guarantee Claim",
        ] {
            assert_eq!(canon(s), Some("A-to-z Guarantee Claim"), "{s}");
        }
        assert_eq!(canon("CAPTURE"), Some("Capture"));
        assert_eq!(canon(" Charge back "), Some("Chargeback"));
        assert_eq!(canon("Carry-over"), Some("Carryover"));
        assert_eq!(canon("ServiceFee"), None);
    }
}
