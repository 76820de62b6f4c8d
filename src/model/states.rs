//! The closed sets of the Amazon Pay API and settlement reports as types: a charge's and a
//! refund's state, a settlement line's `TransactionType`. Their text is the lake's (the arrays
//! of [`super::CHARGE_STATES`], [`super::REFUND_STATES`] and
//! [`super::KNOWN_TRANSACTION_TYPES`] are the one spelling of each).

use super::{CHARGE_STATES, KNOWN_TRANSACTION_TYPES, REFUND_STATES};

/// A Charge object's `statusDetails.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChargeState {
    AuthorizationInitiated,
    Authorized,
    CaptureInitiated,
    Captured,
    Canceled,
    Declined,
}

impl ChargeState {
    pub const ALL: [ChargeState; 6] = [
        ChargeState::AuthorizationInitiated,
        ChargeState::Authorized,
        ChargeState::CaptureInitiated,
        ChargeState::Captured,
        ChargeState::Canceled,
        ChargeState::Declined,
    ];

    pub fn as_str(self) -> &'static str {
        CHARGE_STATES[self as usize]
    }

    /// The state a lake value names (`None` for a value the API does not have).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn is_captured(self) -> bool {
        self == ChargeState::Captured
    }

    /// Still capturable: `AuthorizationInitiated`, `Authorized` or `CaptureInitiated`.
    pub fn is_capturable(self) -> bool {
        matches!(
            self,
            ChargeState::AuthorizationInitiated
                | ChargeState::Authorized
                | ChargeState::CaptureInitiated
        )
    }
}

/// A Refund object's `statusDetails.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefundState {
    RefundInitiated,
    Refunded,
    Declined,
}

impl RefundState {
    pub const ALL: [RefundState; 3] = [
        RefundState::RefundInitiated,
        RefundState::Refunded,
        RefundState::Declined,
    ];

    pub fn as_str(self) -> &'static str {
        REFUND_STATES[self as usize]
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A settlement line's `TransactionType`: the known types, and `Other` for the rest (the set is
/// open; the line keeps its text in the lake).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransactionType {
    Capture,
    Refund,
    Chargeback,
    AtoZGuaranteeClaim,
    Dispute,
    Debt,
    Adjustment,
    Authorization,
    Carryover,
    Transfer,
    Other,
}

impl TransactionType {
    const KNOWN: [TransactionType; 10] = [
        TransactionType::Capture,
        TransactionType::Refund,
        TransactionType::Chargeback,
        TransactionType::AtoZGuaranteeClaim,
        TransactionType::Dispute,
        TransactionType::Debt,
        TransactionType::Adjustment,
        TransactionType::Authorization,
        TransactionType::Carryover,
        TransactionType::Transfer,
    ];

    /// The type of a lake value (canonical spelling; anything else is `Other`).
    pub fn parse(text: &str) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|t| t.as_str() == text)
            .unwrap_or(TransactionType::Other)
    }

    /// The canonical text (`Other` has none of its own: `"Other"`).
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionType::Other => "Other",
            t => KNOWN_TRANSACTION_TYPES[t as usize],
        }
    }

    /// A line layer 2 settles an item with: `Capture` or `Refund`.
    pub fn is_settleable(self) -> bool {
        matches!(self, TransactionType::Capture | TransactionType::Refund)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_lake_text() {
        for s in ChargeState::ALL {
            assert_eq!(ChargeState::parse(s.as_str()), Some(s));
        }
        for s in RefundState::ALL {
            assert_eq!(RefundState::parse(s.as_str()), Some(s));
        }
        for t in TransactionType::KNOWN {
            assert_eq!(TransactionType::parse(t.as_str()), t);
        }
        assert_eq!(CHARGE_STATES.len(), ChargeState::ALL.len());
        assert_eq!(REFUND_STATES.len(), RefundState::ALL.len());
        assert_eq!(KNOWN_TRANSACTION_TYPES.len(), TransactionType::KNOWN.len());
        assert_eq!(TransactionType::parse("Fee"), TransactionType::Other);
        assert_eq!(
            TransactionType::AtoZGuaranteeClaim.as_str(),
            "A-to-z Guarantee Claim"
        );
    }
}
