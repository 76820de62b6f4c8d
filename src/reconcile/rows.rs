//! What the reconciliation says about an item: its [`ItemType`], [`Status`] (with its layer and
//! [`Severity`]), the [`ResultRow`] with its [`Counterparts`], and the one order rows are kept
//! in ([`row_order`]), with the sort and merge that keep it.

use std::borrow::Cow;

use rayon::prelude::*;

use super::DAY_US;
use super::load::{Line, Text};
use crate::model::money::Currency;

/// The kind of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemType {
    Order,
    Charge,
    Refund,
    SettlementLine,
    Settlement,
    Deposit,
}

impl ItemType {
    /// Every item type, in declaration (and discriminant) order.
    pub const ALL: [ItemType; 6] = [
        ItemType::Order,
        ItemType::Charge,
        ItemType::Refund,
        ItemType::SettlementLine,
        ItemType::Settlement,
        ItemType::Deposit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::Order => "order",
            ItemType::Charge => "charge",
            ItemType::Refund => "refund",
            ItemType::SettlementLine => "settlement_line",
            ItemType::Settlement => "settlement",
            ItemType::Deposit => "deposit",
        }
    }
}

/// Every status of the spec, plus four that make "exactly one status per item and layer" total:
/// `order_cancelled` (a cancelled order with nothing captured: fine), `line_ok` (a line whose
/// fee and net arithmetic adds up), `not_amazon_pay` (a bank line that is no Amazon Pay payout)
/// and `no_payout` (a settlement whose balance went the other way: a `Debt` line, no deposit due).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    RefundExceedsCapture,
    OrderMatched,
    OrderOverCaptured,
    OrderUnderCaptured,
    OrderAwaitingCapture,
    OrderNotCaptured,
    OrderCancelled,
    CaptureWithoutOrder,
    Settled,
    SettledByReference,
    AmountMismatch,
    DuplicateSettlement,
    InTransit,
    MissingFromSettlement,
    UnknownSettlementLine,
    Ambiguous,
    SettlementBalanced,
    SettlementImbalance,
    LineOk,
    LineArithmeticError,
    Deposited,
    DepositAmountMismatch,
    DepositInTransit,
    MissingDeposit,
    UnexpectedDeposit,
    NotAmazonPay,
    NoPayout,
}

impl Status {
    pub const ALL: [Status; 27] = [
        Status::RefundExceedsCapture,
        Status::OrderMatched,
        Status::OrderOverCaptured,
        Status::OrderUnderCaptured,
        Status::OrderAwaitingCapture,
        Status::OrderNotCaptured,
        Status::OrderCancelled,
        Status::CaptureWithoutOrder,
        Status::Settled,
        Status::SettledByReference,
        Status::AmountMismatch,
        Status::DuplicateSettlement,
        Status::InTransit,
        Status::MissingFromSettlement,
        Status::UnknownSettlementLine,
        Status::Ambiguous,
        Status::SettlementBalanced,
        Status::SettlementImbalance,
        Status::LineOk,
        Status::LineArithmeticError,
        Status::Deposited,
        Status::DepositAmountMismatch,
        Status::DepositInTransit,
        Status::MissingDeposit,
        Status::UnexpectedDeposit,
        Status::NotAmazonPay,
        Status::NoPayout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::RefundExceedsCapture => "refund_exceeds_capture",
            Status::OrderMatched => "order_matched",
            Status::OrderOverCaptured => "order_over_captured",
            Status::OrderUnderCaptured => "order_under_captured",
            Status::OrderAwaitingCapture => "order_awaiting_capture",
            Status::OrderNotCaptured => "order_not_captured",
            Status::OrderCancelled => "order_cancelled",
            Status::CaptureWithoutOrder => "capture_without_order",
            Status::Settled => "settled",
            Status::SettledByReference => "settled_by_reference",
            Status::AmountMismatch => "amount_mismatch",
            Status::DuplicateSettlement => "duplicate_settlement",
            Status::InTransit => "in_transit",
            Status::MissingFromSettlement => "missing_from_settlement",
            Status::UnknownSettlementLine => "unknown_settlement_line",
            Status::Ambiguous => "ambiguous",
            Status::SettlementBalanced => "settlement_balanced",
            Status::SettlementImbalance => "settlement_imbalance",
            Status::LineOk => "line_ok",
            Status::LineArithmeticError => "line_arithmetic_error",
            Status::Deposited => "deposited",
            Status::DepositAmountMismatch => "deposit_amount_mismatch",
            Status::DepositInTransit => "deposit_in_transit",
            Status::MissingDeposit => "missing_deposit",
            Status::UnexpectedDeposit => "unexpected_deposit",
            Status::NotAmazonPay => "not_amazon_pay",
            Status::NoPayout => "no_payout",
        }
    }

    /// What the status says, in words (for summaries).
    pub fn meaning(self) -> &'static str {
        use Status::*;
        match self {
            RefundExceedsCapture => "refunded more than was captured",
            OrderMatched => "captured as ordered",
            OrderOverCaptured => "captured more than the order total",
            OrderUnderCaptured => "captured less than the order total",
            OrderAwaitingCapture => "authorized, not captured yet",
            OrderNotCaptured => "nothing captured: the authorization lapsed",
            OrderCancelled => "cancelled with nothing captured",
            CaptureWithoutOrder => "a capture that no order names",
            Settled => "on a settlement report, same amount",
            SettledByReference => "settled, found by reference or order id",
            AmountMismatch => "on a settlement report with another amount",
            DuplicateSettlement => "on more than one settlement line",
            InTransit => "captured recently, not on a settlement report yet",
            MissingFromSettlement => "on no settlement report within the lag",
            UnknownSettlementLine => "a settlement line no charge or refund explains",
            Ambiguous => "several settlement lines could be it",
            SettlementBalanced => "its lines add up to zero",
            SettlementImbalance => "its lines do not add up to zero",
            LineOk => "fee and net add up",
            LineArithmeticError => "net is not amount + fee",
            Deposited => "paid out and at the bank",
            DepositAmountMismatch => "at the bank with another amount",
            DepositInTransit => "paid out, not at the bank yet (within the lag)",
            MissingDeposit => "paid out, not at the bank after the lag",
            UnexpectedDeposit => "an Amazon Pay bank line that no payout explains",
            NotAmazonPay => "a bank line that is no Amazon Pay payout",
            NoPayout => "the balance went the other way: nothing to pay out",
        }
    }

    /// Pending statuses: not (yet) a break.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::OrderAwaitingCapture | Status::InTransit | Status::DepositInTransit
        )
    }

    /// An exception: anything but a match, a pending status or a fine non-match.
    pub fn is_exception(self) -> bool {
        !(self.is_pending()
            || matches!(
                self,
                Status::OrderMatched
                    | Status::OrderCancelled
                    | Status::Settled
                    | Status::SettledByReference
                    | Status::SettlementBalanced
                    | Status::LineOk
                    | Status::Deposited
                    | Status::NotAmazonPay
                    | Status::NoPayout
            ))
    }
}

/// The name of each layer of `spec/reconciliation.md`, by number (1–4).
pub fn layer_name(layer: u8) -> &'static str {
    match layer {
        1 => "orders and their charges",
        2 => "charges and refunds on settlement reports",
        3 => "settlements that balance",
        4 => "payouts and bank deposits",
        _ => "other",
    }
}

/// How much an exception matters, for thresholds and summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Money is missing or wrong.
    High,
    /// A person must match something.
    Medium,
    /// An authorization lapsed: nothing was taken.
    Low,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::High, Severity::Medium, Severity::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

impl Status {
    /// The severity of this status as an exception.
    pub fn severity(self) -> Severity {
        use Status::*;
        match self {
            MissingDeposit
            | DepositAmountMismatch
            | MissingFromSettlement
            | AmountMismatch
            | RefundExceedsCapture
            | SettlementImbalance
            | DuplicateSettlement => Severity::High,
            OrderNotCaptured => Severity::Low,
            _ => Severity::Medium,
        }
    }
}

/// One item's status in one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    pub layer: u8,
    pub item_type: ItemType,
    pub item_id: Text,
    pub status: Status,
    pub currency: Currency,
    /// What the other side says it should be (lake units).
    pub expected: Option<i64>,
    /// What this item says (lake units).
    pub actual: Option<i64>,
    /// The item's date (µs): order time, capture/refund time, posting time, settlement end,
    /// booking date.
    pub item_ts: i64,
    /// The matched (or candidate) items on the other side.
    pub counterparts: Counterparts,
    /// For settlement lines: where the line is.
    pub source_file: Option<Text>,
    pub source_line: Option<i64>,
}

impl ResultRow {
    /// Whether this row is an exception: one row per discrepancy. The other side of a
    /// discrepancy carries its status too (the deposit of a `deposit_amount_mismatch`, the
    /// candidate lines of an `ambiguous` charge or refund) but is not counted again: the
    /// discrepancy is the settlement's (the charge's, the refund's).
    pub fn is_exception(&self) -> bool {
        self.status.is_exception()
            && !matches!(
                (self.status, self.item_type),
                (Status::DepositAmountMismatch, ItemType::Deposit)
                    | (Status::Ambiguous, ItemType::SettlementLine)
            )
    }

    pub fn difference(&self) -> Option<i64> {
        Some(self.actual? - self.expected?)
    }

    /// Whole days from the item's date to the cut-off.
    pub fn age_days(&self, cutoff: i64) -> i64 {
        (cutoff.div_euclid(DAY_US) - self.item_ts.div_euclid(DAY_US)).max(0)
    }
}

/// The ids of an item's counterparts in its layer: none, one item, one settlement line (named
/// `SettlementId:line`, spelled out only when written) or several (sorted, `;`-separated).
/// Compared by their text.
#[derive(Debug, Clone, Default)]
pub enum Counterparts {
    #[default]
    None,
    Id(Text),
    Line(Text, u32),
    Many(Text),
}

impl Counterparts {
    /// Ids, sorted, each once.
    pub fn ids(ids: impl IntoIterator<Item = Text>) -> Self {
        let mut it = ids.into_iter();
        let Some(first) = it.next() else {
            return Self::None;
        };
        let Some(second) = it.next() else {
            return Self::Id(first);
        };
        let mut v: Vec<Text> = [first, second].into_iter().chain(it).collect();
        v.sort();
        v.dedup();
        match v.len() {
            1 => Self::Id(v.pop().expect("one id")),
            _ => Self::Many(v.join(";").into()),
        }
    }

    /// Settlement lines.
    pub fn lines<'a>(lines: impl IntoIterator<Item = &'a Line>) -> Self {
        let mut it = lines.into_iter();
        let Some(first) = it.next() else {
            return Self::None;
        };
        let Some(second) = it.next() else {
            return Self::Line(first.settlement_id.clone(), first.source_line as u32);
        };
        let mut v: Vec<String> = [first, second]
            .into_iter()
            .chain(it)
            .map(Line::reference)
            .collect();
        v.sort();
        v.dedup();
        Self::Many(v.join(";").into())
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Self::None)
    }

    /// The ids as text (`""` for none).
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Self::None => Cow::Borrowed(""),
            Self::Id(t) | Self::Many(t) => Cow::Borrowed(t),
            Self::Line(s, l) => Cow::Owned(format!("{s}:{l}")),
        }
    }

    /// Appends the text to `out`.
    pub fn write_to(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Self::None => {}
            Self::Id(t) | Self::Many(t) => out.push_str(t),
            Self::Line(s, l) => {
                let _ = write!(out, "{s}:{l}");
            }
        }
    }
}

impl std::fmt::Display for Counterparts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

impl PartialEq for Counterparts {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Counterparts {}

impl PartialOrd for Counterparts {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Counterparts {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (Self::Line(a, x), Self::Line(b, y)) if a == b => x.to_string().cmp(&y.to_string()),
            _ => self.text().cmp(&other.text()),
        }
    }
}

/// The age bucket of the spec.
pub fn age_bucket(days: i64) -> &'static str {
    match days {
        ..=1 => "0-1",
        2..=7 => "2-7",
        8..=30 => "8-30",
        _ => ">30",
    }
}

/// The order of result rows: (layer, item type, item id, status, counterparts, source line).
pub(crate) fn row_order(a: &ResultRow, b: &ResultRow) -> std::cmp::Ordering {
    (
        a.layer,
        a.item_type,
        &a.item_id,
        a.status,
        &a.counterparts,
        a.source_line,
    )
        .cmp(&(
            b.layer,
            b.item_type,
            &b.item_id,
            b.status,
            &b.counterparts,
            b.source_line,
        ))
}

/// Two runs of rows, each already in [`row_order`] (checked: a run that is not is sorted
/// first), as one run in that order: a linear merge, where sorting the whole would compare
/// every row again. Equal rows keep `a`'s first.
pub(crate) fn merge_rows(mut a: Vec<ResultRow>, mut b: Vec<ResultRow>) -> Vec<ResultRow> {
    let sorted = |rows: &[ResultRow]| rows.is_sorted_by(|x, y| row_order(x, y).is_le());
    if b.is_empty() && sorted(&a) {
        return a;
    }
    if a.is_empty() && sorted(&b) {
        return b;
    }
    let (sa, sb) = rayon::join(|| sorted(&a), || sorted(&b));
    if !sa {
        sort_rows(&mut a);
    }
    if !sb {
        sort_rows(&mut b);
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut b = b.into_iter().peekable();
    for x in a {
        while let Some(y) = b.next_if(|y| row_order(y, &x).is_lt()) {
            out.push(y);
        }
        out.push(x);
    }
    out.extend(b);
    out
}

/// Sorts rows into [`row_order`]: a sort of small keys (the group and the id's first 16 bytes; whole rows are compared only on equal
/// keys), then each row is moved into place once: sorting the wide rows themselves would move
/// each of them dozens of times.
pub(crate) fn sort_rows(rows: &mut [ResultRow]) {
    /// The group in the top byte, then the id's first 15 bytes (zero-padded, so shorter sorts
    /// first), as two integers that compare like the bytes.
    fn key(group: u8, id: &str) -> (u64, u64) {
        let mut b = [0u8; 16];
        b[0] = group;
        let n = id.len().min(15);
        b[1..1 + n].copy_from_slice(&id.as_bytes()[..n]);
        let (hi, lo) = b.split_at(8);
        (
            u64::from_be_bytes(hi.try_into().expect("8 bytes")),
            u64::from_be_bytes(lo.try_into().expect("8 bytes")),
        )
    }
    let full = row_order;
    // 24-byte keys: (group and id prefix, rest of the prefix, row).
    let mut keys: Vec<(u64, u64, u32)> = rows
        .par_iter()
        .enumerate()
        .map(|(i, r)| {
            let (hi, lo) = key((r.layer << 4) | r.item_type as u8, &r.item_id);
            (hi, lo, i as u32)
        })
        .collect();
    keys.par_sort_unstable_by(|a, b| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then_with(|| full(&rows[a.2 as usize], &rows[b.2 as usize]))
    });
    let mut perm: Vec<u32> = keys.par_iter().map(|k| k.2).collect();
    apply_permutation(rows, &mut perm);
}

/// Rearranges `items` so that position `i` holds what was at `perm[i]`, by swaps along each
/// cycle of the permutation (no second copy); `perm` is used up.
fn apply_permutation<T>(items: &mut [T], perm: &mut [u32]) {
    for start in 0..items.len() {
        if perm[start] as usize == start {
            continue;
        }
        let mut i = start;
        loop {
            let j = perm[i] as usize;
            perm[i] = i as u32;
            if j == start {
                break;
            }
            items.swap(i, j);
            i = j;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permutation_is_applied_in_place() {
        let mut items: Vec<char> = "abcdef".chars().collect();
        // position i gets what was at perm[i]
        let mut perm = vec![3, 0, 4, 1, 5, 2];
        apply_permutation(&mut items, &mut perm);
        assert_eq!(items.iter().collect::<String>(), "daebfc");
    }

    fn row(layer: u8, item_type: ItemType, id: &str, counterparts: Counterparts) -> ResultRow {
        ResultRow {
            layer,
            item_type,
            item_id: id.into(),
            status: Status::Settled,
            currency: Currency::EUR,
            expected: None,
            actual: None,
            item_ts: 0,
            counterparts,
            source_file: None,
            source_line: None,
        }
    }

    #[test]
    fn rows_sort_by_layer_type_id_then_counterparts() {
        // Ids sharing their first 16 bytes, a prefix of another, and an empty one.
        let long = "P01-1000001-1000001-C2";
        let mut rows = vec![
            row(2, ItemType::Refund, "a", Counterparts::None),
            row(
                2,
                ItemType::Charge,
                long,
                Counterparts::Line("9".into(), 10),
            ),
            row(
                2,
                ItemType::Charge,
                "P01-1000001-1000001-C1",
                Counterparts::None,
            ),
            row(1, ItemType::Order, "ORD-2", Counterparts::None),
            row(2, ItemType::Charge, long, Counterparts::Line("9".into(), 9)),
            row(1, ItemType::Order, "ORD-1", Counterparts::None),
            row(1, ItemType::Order, "ORD-1\u{0}", Counterparts::None),
            row(1, ItemType::Order, "", Counterparts::None),
        ];
        let mut expected = rows.clone();
        expected.sort_by(|a, b| {
            (
                a.layer,
                a.item_type,
                a.item_id.as_str(),
                a.counterparts.text(),
            )
                .cmp(&(
                    b.layer,
                    b.item_type,
                    b.item_id.as_str(),
                    b.counterparts.text(),
                ))
        });
        sort_rows(&mut rows);
        assert_eq!(rows, expected);
        // "9:10" sorts before "9:9" as text.
        assert_eq!(rows[5].counterparts.text(), "9:10");
    }

    #[test]
    fn counterparts_read_as_text() {
        assert_eq!(Counterparts::ids(Vec::<Text>::new()), Counterparts::None);
        assert_eq!(
            Counterparts::ids(["b".into(), "a".into(), "b".into()]).text(),
            "a;b"
        );
        assert!(matches!(
            Counterparts::ids(["x".into(), "x".into()]),
            Counterparts::Id(_)
        ));
        assert_eq!(Counterparts::Line("501".into(), 7).to_string(), "501:7");
        assert_eq!(
            Counterparts::Id("501:7".into()),
            Counterparts::Line("501".into(), 7)
        );
    }
}
