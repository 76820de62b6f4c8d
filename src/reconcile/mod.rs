//! Reconciliation: every order, charge, refund, settlement line, settlement and bank deposit gets
//! exactly one status per layer of `spec/reconciliation.md`'s chain
//!
//! ```text
//! orders ─(1)─ captured charges / refunds ─(2)─ settlement lines ─(3)─ payout ─(4)─ bank deposit
//! ```
//!
//! Matching uses hash indexes (built in parallel); the reference fallback of layer 2 looks only at
//! the lines with the same currency, amount and reference, inside the date window, so no step is
//! quadratic. Every amount is an integer in lake units (hundredths of the major unit).
//! [`close`] builds the month-close pack from the results.

pub mod close;
pub mod components;
mod file_rows;
pub mod incremental;
pub mod load;
pub mod output;

use std::borrow::Cow;
use std::path::PathBuf;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::lake::LakeError;
use crate::model::money::Currency;
use load::{Charge, Inputs, Line, Text};

/// Errors of the reconciliation stage.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Durable(#[from] crate::durable::DurableError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {}: {source}", path.display())]
    Polars {
        path: PathBuf,
        source: polars::prelude::PolarsError,
    },
    #[error("writing {}: {source}", path.display())]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    #[error("{0}")]
    Usage(String),
    /// The incremental state does not fit the lake or the outputs (the run falls back to a
    /// full reconciliation).
    #[error("incremental reconciliation: {0}")]
    Incremental(String),
}

const DAY_US: i64 = 86_400_000_000;

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

/// Windows and tolerance (`[reconcile]` in the configuration).
#[derive(Debug, Clone)]
pub struct Options {
    pub settlement_lag_days: u32,
    pub deposit_lag_days: u32,
    pub fallback_window_days: u32,
    /// Largest difference still equal, in lake units.
    pub tolerance: i64,
    /// Pending statuses are decided against this instant (µs); default: the newest timestamp in
    /// the lake, but never later than `latest`.
    pub cutoff: Option<i64>,
    /// The latest plausible instant (µs; the run's clock plus the ingest tolerance): a lake
    /// row written by an older build or another clock beyond it cannot move the default
    /// cut-off.
    pub latest: i64,
    /// A bank reference names Amazon Pay when it contains one of these (upper case, single
    /// spaces; see [`normalise_reference`]): only such lines can be `unexpected_deposit`.
    pub amazon_pay_references: Vec<String>,
}

/// Text compared case-insensitively with runs of white space collapsed: upper case, one space.
pub fn normalise_reference(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_uppercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The reconciliation of a lake.
#[derive(Debug, Clone)]
pub struct Reconciliation {
    pub cutoff: i64,
    /// Sorted by (layer, item type, item id, status, counterparts).
    pub rows: Vec<ResultRow>,
}

impl Reconciliation {
    pub fn exceptions(&self) -> impl Iterator<Item = &ResultRow> {
        self.rows.iter().filter(|r| r.is_exception())
    }
}

/// The newest timestamp of the inputs (µs): the default cut-off.
pub fn newest_timestamp(inputs: &Inputs) -> i64 {
    let c = inputs.charges.iter().map(|c| c.updated.max(c.created));
    let r = inputs.refunds.iter().map(|r| r.updated);
    let l = inputs.lines.iter().map(|l| l.posted);
    let d = inputs
        .deposits
        .iter()
        .map(|d| d.booking as i64 * DAY_US + DAY_US - 1);
    c.chain(r).chain(l).chain(d).max().unwrap_or(0)
}

fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
        .filter(|t| !t.is_empty())
}

/// Runs the four layers.
pub fn reconcile(inputs: &Inputs, options: &Options) -> Reconciliation {
    let cutoff = options
        .cutoff
        .unwrap_or_else(|| newest_timestamp(inputs).min(options.latest));
    let eq = |a: i64, b: i64| (a - b).abs() <= options.tolerance;
    // Room for every row up front (an upper bound: orders and capture-less charges in layer 1;
    // charges, refunds and lines in layer 2; settlements and lines in layer 3; payouts and bank
    // lines in layer 4), instead of growing and copying; pages never touched cost nothing.
    let mut rows: Vec<ResultRow> = Vec::with_capacity(
        inputs.orders.len()
            + 2 * inputs.charges.len()
            + inputs.refunds.len()
            + 4 * inputs.lines.len()
            + inputs.deposits.len(),
    );

    let mut clock = std::time::Instant::now();
    let mut lap = |what: &'static str, rows: usize| {
        tracing::debug!(
            elapsed_ms = clock.elapsed().as_millis() as u64,
            rows,
            "reconcile: {what}"
        );
        clock = std::time::Instant::now();
    };
    // ---------------------------------------------------------------- (1) orders ↔ charges
    // The four lookups are built at the same time (one core each, two at once).
    let (((by_order_id, by_permission), charge_ix), txn) = rayon::join(
        || {
            rayon::join(
                || {
                    rayon::join(
                        || -> FxHashMap<&str, usize> {
                            inputs
                                .orders
                                .iter()
                                .enumerate()
                                .map(|(i, o)| (&*o.id, i))
                                .collect()
                        },
                        || {
                            let mut m: FxHashMap<&str, usize> = FxHashMap::with_capacity_and_hasher(
                                inputs.orders.len(),
                                Default::default(),
                            );
                            for (i, o) in inputs.orders.iter().enumerate() {
                                if let Some(p) = &o.permission {
                                    m.entry(&**p)
                                        .and_modify(|j| {
                                            if o.id < inputs.orders[*j].id {
                                                *j = i
                                            }
                                        })
                                        .or_insert(i);
                                }
                            }
                            m
                        },
                    )
                },
                || -> FxHashMap<&str, usize> {
                    inputs
                        .charges
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (&*c.id, i))
                        .collect()
                },
            )
        },
        || txn_index(inputs),
    );
    let order_of = |c: &Charge| -> Option<usize> {
        c.merchant_ref
            .as_deref()
            .and_then(|m| by_order_id.get(m).copied())
            .or_else(|| by_permission.get(&*c.permission).copied())
    };
    let charge_order: Vec<Option<usize>> = inputs.charges.par_iter().map(order_of).collect();
    // Per order: captured (same currency), refunded, capturable; its charges and refunds.
    #[derive(Default, Clone, Copy)]
    struct Acc {
        captured: i64,
        refunded: i64,
        capturable: bool,
    }
    let mut acc: Vec<Acc> = vec![Acc::default(); inputs.orders.len()];
    // (order, charge or refund id) pairs, grouped by order below.
    let mut members: Vec<(u32, &Text)> = Vec::with_capacity(inputs.charges.len());
    for (ci, c) in inputs.charges.iter().enumerate() {
        match charge_order[ci] {
            Some(oi) => {
                let a = &mut acc[oi];
                members.push((oi as u32, &c.id));
                if c.captured() && c.currency == inputs.orders[oi].currency {
                    a.captured += c.capture_amount.unwrap_or(0);
                }
                a.capturable |= c.capturable();
            }
            None if c.captured() => rows.push(ResultRow {
                layer: 1,
                item_type: ItemType::Charge,
                item_id: c.id.clone(),
                status: Status::CaptureWithoutOrder,
                currency: c.currency,
                expected: None,
                actual: c.capture_amount,
                item_ts: c.updated,
                counterparts: Counterparts::ids(c.merchant_ref.clone()),
                source_file: None,
                source_line: None,
            }),
            None => {}
        }
    }
    for r in &inputs.refunds {
        if &*r.state != "Refunded" {
            continue;
        }
        if let Some(oi) = charge_ix
            .get(&*r.charge_id)
            .and_then(|&ci| charge_order[ci])
        {
            acc[oi].refunded += r.amount;
            members.push((oi as u32, &r.id));
        }
    }
    members.par_sort_unstable();
    let mut starts = vec![0usize; inputs.orders.len() + 1];
    for (oi, _) in &members {
        starts[*oi as usize + 1] += 1;
    }
    for i in 0..inputs.orders.len() {
        starts[i + 1] += starts[i];
    }
    rows.par_extend(inputs.orders.par_iter().enumerate().map(|(oi, o)| {
        let a = &acc[oi];
        let status = if a.refunded > a.captured && !eq(a.refunded, a.captured) {
            Status::RefundExceedsCapture
        } else if a.captured != 0 && eq(a.captured, o.total) {
            Status::OrderMatched
        } else if a.captured > o.total {
            Status::OrderOverCaptured
        } else if a.captured > 0 {
            Status::OrderUnderCaptured
        } else if o.cancelled {
            Status::OrderCancelled
        } else if a.capturable {
            Status::OrderAwaitingCapture
        } else {
            Status::OrderNotCaptured
        };
        ResultRow {
            layer: 1,
            item_type: ItemType::Order,
            item_id: o.id.clone(),
            status,
            currency: o.currency,
            expected: Some(o.total),
            actual: Some(a.captured),
            item_ts: o.created,
            counterparts: Counterparts::ids(
                members[starts[oi]..starts[oi + 1]]
                    .iter()
                    .map(|(_, id)| (*id).clone()),
            ),
            source_file: None,
            source_line: None,
        }
    }));

    lap("layer 1", rows.len());
    // ---------------------------------------------------- (2) charges/refunds ↔ settlement lines
    layer2(
        inputs,
        options,
        cutoff,
        txn,
        &charge_ix,
        &charge_order,
        &mut rows,
    );

    lap("layer 2", rows.len());
    // ----------------------------------------------------------- (3) settlement ↔ payout
    // Each line's arithmetic here; each settlement's balance with layer 4 below.
    rows.par_extend(inputs.lines.par_iter().map(|l| {
        let fee_ok = l.total_fee == l.pct_fee + l.fixed_fee;
        let net_ok = l.net == l.amount + l.total_fee;
        ResultRow {
            layer: 3,
            item_type: ItemType::SettlementLine,
            item_id: l.item_id(),
            status: if fee_ok && net_ok {
                Status::LineOk
            } else {
                Status::LineArithmeticError
            },
            currency: l.currency,
            expected: Some(l.amount + l.pct_fee + l.fixed_fee),
            actual: Some(l.net),
            item_ts: l.posted,
            counterparts: Counterparts::Id(l.settlement_id.clone()),
            source_file: Some(l.source_file.clone()),
            source_line: Some(l.source_line),
        }
    }));

    lap("layer 3", rows.len());
    // ------------------------------------------------------------ (4) payout ↔ bank deposit
    settlement_wide(
        &inputs.lines,
        &inputs.settlements,
        &inputs.deposits,
        options,
        cutoff,
        &mut rows,
    );
    lap("layer 4", rows.len());

    sort_rows(&mut rows);
    lap("sorted", rows.len());
    Reconciliation { cutoff, rows }
}

/// The settlement-wide rows: each settlement's balance (layer 3) and its payout against the bank
/// (layer 4). They read of the lines only the settlement, posting time, type, currency and net
/// amount, so [`load::load_line_heads`] serves them as well as whole lines.
pub fn settlement_wide(
    lines: &[Line],
    settlements: &[load::Settlement],
    deposits: &[load::Deposit],
    options: &Options,
    cutoff: i64,
    rows: &mut Vec<ResultRow>,
) {
    let eq = |a: i64, b: i64| (a - b).abs() <= options.tolerance;
    let mut by_settlement: FxHashMap<&str, (Text, i64, Currency, i64)> = FxHashMap::default();
    for l in lines {
        let e = by_settlement.entry(&*l.settlement_id).or_insert((
            l.settlement_id.clone(),
            0,
            l.currency,
            i64::MIN,
        ));
        e.1 += l.net;
        e.3 = e.3.max(l.posted);
    }
    let ends: FxHashMap<&str, i64> = settlements
        .iter()
        .filter_map(|s| Some((&*s.id, s.end?)))
        .collect();
    for (sid, (id, net, currency, last_posted)) in &by_settlement {
        rows.push(ResultRow {
            layer: 3,
            item_type: ItemType::Settlement,
            item_id: id.clone(),
            status: if eq(*net, 0) {
                Status::SettlementBalanced
            } else {
                Status::SettlementImbalance
            },
            currency: *currency,
            expected: Some(0),
            actual: Some(*net),
            item_ts: ends.get(sid).copied().unwrap_or(*last_posted),
            counterparts: Counterparts::None,
            source_file: None,
            source_line: None,
        });
    }
    layer4(lines, deposits, options, cutoff, &ends, rows);
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

/// of small keys (the group and the id's first 16 bytes; whole rows are compared only on equal
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

/// What layer 2 settles: a captured charge or a refunded refund.
struct Settleable<'a> {
    item_type: ItemType,
    id: &'a Text,
    /// Expected `TransactionAmount` on the line (capture amount, or −refund amount).
    amount: i64,
    currency: Currency,
    /// Capture (refund) time.
    ts: i64,
    /// Fallback keys: the charge's `SellerReferenceId`, then the order id.
    seller_ref: Option<&'a str>,
    order_id: Option<&'a str>,
}

/// Capture and Refund lines by (type, `AmazonTransactionId`): the first line of each key, and a
/// chain from each line to the next of the same key (duplicates are rare: no vector per key).
struct TxnIndex<'a> {
    by_txn: FxHashMap<(&'a str, &'a str), u32>,
    next_same: Vec<u32>,
}

fn txn_index(inputs: &Inputs) -> TxnIndex<'_> {
    let mut by_txn: FxHashMap<(&str, &str), u32> =
        FxHashMap::with_capacity_and_hasher(inputs.lines.len(), Default::default());
    let mut next_same: Vec<u32> = vec![u32::MAX; inputs.lines.len()];
    for (li, l) in inputs.lines.iter().enumerate().rev() {
        if let (true, Some(t)) = (&*l.ttype == "Capture" || &*l.ttype == "Refund", &l.txn_id) {
            match by_txn.entry((&*l.ttype, &**t)) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    next_same[li] = *e.get();
                    *e.get_mut() = li as u32;
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(li as u32);
                }
            }
        }
    }
    TxnIndex { by_txn, next_same }
}

fn layer2(
    inputs: &Inputs,
    options: &Options,
    cutoff: i64,
    txn: TxnIndex,
    charge_ix: &FxHashMap<&str, usize>,
    charge_order: &[Option<usize>],
    rows: &mut Vec<ResultRow>,
) {
    let eq = |a: i64, b: i64| (a - b).abs() <= options.tolerance;
    let order_id_of = |ci: usize| -> Option<&str> {
        charge_order[ci]
            .map(|oi| &*inputs.orders[oi].id)
            .or(inputs.charges[ci].merchant_ref.as_deref())
    };
    let mut items: Vec<Settleable> = Vec::new();
    for (ci, c) in inputs.charges.iter().enumerate() {
        if c.captured() {
            items.push(Settleable {
                item_type: ItemType::Charge,
                id: &c.id,
                amount: c.capture_amount.unwrap_or(0),
                currency: c.currency,
                ts: c.updated,
                seller_ref: c.seller_ref.as_deref(),
                order_id: order_id_of(ci),
            });
        }
    }
    for r in &inputs.refunds {
        if &*r.state == "Refunded" {
            let ci = charge_ix.get(&*r.charge_id).copied();
            items.push(Settleable {
                item_type: ItemType::Refund,
                id: &r.id,
                amount: -r.amount,
                currency: r.currency,
                ts: r.updated,
                seller_ref: None,
                order_id: ci.and_then(order_id_of),
            });
        }
    }
    let line_type = |t: ItemType| {
        if t == ItemType::Charge {
            "Capture"
        } else {
            "Refund"
        }
    };
    let TxnIndex { by_txn, next_same } = txn;
    let mut line_status: Vec<Option<(Status, Text)>> = vec![None; inputs.lines.len()];
    // Id matches, in parallel; each line belongs to one (type, id), so to at most one item.
    let matched: Vec<(usize, IdMatch)> = items
        .par_iter()
        .enumerate()
        .map(
            |(k, it)| match by_txn.get(&(line_type(it.item_type), &**it.id)) {
                None => (k, None),
                Some(&first) => {
                    let first = first as usize;
                    let ls = if next_same[first] == u32::MAX {
                        LineSet::One([first])
                    } else {
                        let mut v = vec![first];
                        let mut li = next_same[first];
                        while li != u32::MAX {
                            v.push(li as usize);
                            li = next_same[li as usize];
                        }
                        LineSet::Many(v)
                    };
                    let l = &inputs.lines[first];
                    let status = if ls.as_slice().len() > 1 {
                        Status::DuplicateSettlement
                    } else if l.currency == it.currency && eq(l.amount, it.amount) {
                        Status::Settled
                    } else {
                        Status::AmountMismatch
                    };
                    let row = item_row(it, status, Some(l.amount), ls.as_slice(), inputs);
                    (k, Some((status, ls, row)))
                }
            },
        )
        .collect();
    let mut unmatched: Vec<usize> = Vec::new();
    for (k, m) in matched {
        match m {
            None => unmatched.push(k),
            Some((status, ls, row)) => {
                rows.push(row);
                for &li in ls.as_slice() {
                    line_status[li] = Some((status, items[k].id.clone()));
                }
            }
        }
    }
    // Reference fallback over the lines no item took by id.
    type Key<'a> = (&'a str, Currency, i64, &'a str);
    let mut by_ref: FxHashMap<Key, Vec<usize>> = FxHashMap::default();
    let mut by_order: FxHashMap<Key, Vec<usize>> = FxHashMap::default();
    for (li, l) in inputs.lines.iter().enumerate() {
        if (&*l.ttype == "Capture" || &*l.ttype == "Refund") && line_status[li].is_none() {
            if let Some(r) = &l.seller_ref {
                by_ref
                    .entry((&*l.ttype, l.currency, l.amount, &**r))
                    .or_default()
                    .push(li);
            }
            if let Some(o) = &l.seller_order {
                by_order
                    .entry((&*l.ttype, l.currency, l.amount, &**o))
                    .or_default()
                    .push(li);
            }
        }
    }
    unmatched.sort_by(|&a, &b| (items[a].ts, items[a].id).cmp(&(items[b].ts, items[b].id)));
    let window = options.fallback_window_days as i64 * DAY_US;
    let lag = options.settlement_lag_days as i64 * DAY_US;
    let mut taken = vec![false; inputs.lines.len()];
    let mut ambiguous_candidates: FxHashMap<usize, Vec<Text>> = FxHashMap::default();
    for k in unmatched {
        let it = &items[k];
        let lt = line_type(it.item_type);
        let mut outcome: Option<(Status, Vec<usize>)> = None;
        for (index, key) in [(&by_ref, it.seller_ref), (&by_order, it.order_id)] {
            let Some(key) = key else { continue };
            let candidates: Vec<usize> = index
                .get(&(lt, it.currency, it.amount, key))
                .map(|v| {
                    v.iter()
                        .copied()
                        .filter(|&li| {
                            !taken[li] && (inputs.lines[li].posted - it.ts).abs() <= window
                        })
                        .collect()
                })
                .unwrap_or_default();
            match candidates.len() {
                0 => continue,
                1 => outcome = Some((Status::SettledByReference, candidates)),
                _ => outcome = Some((Status::Ambiguous, candidates)),
            }
            break;
        }
        match outcome {
            Some((Status::SettledByReference, ls)) => {
                taken[ls[0]] = true;
                line_status[ls[0]] = Some((Status::SettledByReference, it.id.clone()));
                rows.push(item_row(
                    it,
                    Status::SettledByReference,
                    Some(inputs.lines[ls[0]].amount),
                    &ls,
                    inputs,
                ));
            }
            Some((status, ls)) => {
                for &li in &ls {
                    ambiguous_candidates
                        .entry(li)
                        .or_default()
                        .push(it.id.clone());
                }
                rows.push(item_row(it, status, None, &ls, inputs));
            }
            None => {
                let status = if it.ts > cutoff - lag {
                    Status::InTransit
                } else {
                    Status::MissingFromSettlement
                };
                rows.push(item_row(it, status, None, &[], inputs));
            }
        }
    }
    // Indexed (not filtered) parallel rows are written straight into `rows`.
    let settleable: Vec<usize> = (0..inputs.lines.len())
        .filter(|&li| {
            let t = &*inputs.lines[li].ttype;
            t == "Capture" || t == "Refund"
        })
        .collect();
    rows.par_extend(settleable.into_par_iter().map(|li| {
        let l = &inputs.lines[li];
        let (status, counterparts) = match (&line_status[li], ambiguous_candidates.get(&li)) {
            (Some((s, id)), _) => (*s, Counterparts::Id(id.clone())),
            (None, Some(items)) => (Status::Ambiguous, Counterparts::ids(items.iter().cloned())),
            (None, None) => (Status::UnknownSettlementLine, Counterparts::None),
        };
        ResultRow {
            layer: 2,
            item_type: ItemType::SettlementLine,
            item_id: l.item_id(),
            status,
            currency: l.currency,
            expected: None,
            actual: Some(l.amount),
            item_ts: l.posted,
            counterparts,
            source_file: Some(l.source_file.clone()),
            source_line: Some(l.source_line),
        }
    }));
}

/// An item's id match: its status, its lines and its result row.
type IdMatch = Option<(Status, LineSet, ResultRow)>;

/// The settlement lines an item matched by id: almost always one.
enum LineSet {
    One([usize; 1]),
    Many(Vec<usize>),
}

impl LineSet {
    fn as_slice(&self) -> &[usize] {
        match self {
            LineSet::One(a) => a,
            LineSet::Many(v) => v,
        }
    }
}

fn item_row(
    it: &Settleable,
    status: Status,
    line_amount: Option<i64>,
    lines: &[usize],
    inputs: &Inputs,
) -> ResultRow {
    ResultRow {
        layer: 2,
        item_type: it.item_type,
        item_id: it.id.clone(),
        status,
        currency: it.currency,
        expected: line_amount,
        actual: Some(it.amount),
        item_ts: it.ts,
        counterparts: Counterparts::lines(lines.iter().map(|&li| &inputs.lines[li])),
        source_file: None,
        source_line: None,
    }
}

/// Does a bank reference name Amazon Pay?
/// Whether a bank reference names Amazon Pay: contains one of the (normalised) patterns.
/// `AMAZON PAY` also covers `AMAZON PAYMENTS EUROPE S.C.A.`; `AMAZON WEB SERVICES`,
/// `AMAZON MARKETPLACE`, `AMZN MKTP` and `AMAZON.COM` do not name it.
fn names_amazon_pay(reference: &str, patterns: &[String]) -> bool {
    let r = normalise_reference(reference);
    patterns.iter().any(|p| r.contains(p.as_str()))
}

fn layer4(
    lines: &[Line],
    deposits: &[load::Deposit],
    options: &Options,
    cutoff: i64,
    ends: &FxHashMap<&str, i64>,
    rows: &mut Vec<ResultRow>,
) {
    let lag_days = options.deposit_lag_days as i32;
    let cutoff_day = cutoff.div_euclid(DAY_US) as i32;
    // Deposits by (currency, amount), and by reference token.
    let mut by_amount: FxHashMap<(Currency, i64), Vec<usize>> = FxHashMap::default();
    let mut by_token: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (di, d) in deposits.iter().enumerate() {
        by_amount
            .entry((d.currency, d.amount))
            .or_default()
            .push(di);
        if let Some(r) = &d.reference {
            for t in tokens(r) {
                by_token.entry(t).or_default().push(di);
            }
        }
    }
    let mut transfers: Vec<(&Line, i64)> = lines
        .iter()
        .filter(|l| &*l.ttype == "Transfer")
        .map(|l| (l, ends.get(&*l.settlement_id).copied().unwrap_or(l.posted)))
        .collect();
    transfers.sort_by(|a, b| (a.1, &a.0.settlement_id).cmp(&(b.1, &b.0.settlement_id)));
    let mut used: Vec<Option<(Status, Text)>> = vec![None; deposits.len()];
    let mut with_transfer: rustc_hash::FxHashSet<&str> = Default::default();
    for (l, end) in transfers {
        with_transfer.insert(&*l.settlement_id);
        let amount = -l.net;
        let end_day = end.div_euclid(DAY_US) as i32;
        let refers = |di: usize| {
            deposits[di]
                .reference
                .as_deref()
                .is_some_and(|r| tokens(r).any(|t| t == &*l.settlement_id))
        };
        let found = by_amount
            .get(&(l.currency, amount))
            .into_iter()
            .flatten()
            .copied()
            .filter(|&di| {
                let b = deposits[di].booking;
                used[di].is_none() && b >= end_day && b <= end_day + lag_days
            })
            .min_by_key(|&di| {
                let d = &deposits[di];
                (!refers(di), d.booking, &*d.id)
            });
        let (status, deposit) = match found {
            Some(di) => (Status::Deposited, Some(di)),
            None => {
                let mismatch = by_token
                    .get(&*l.settlement_id)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|&di| {
                        let d = &deposits[di];
                        used[di].is_none() && d.currency == l.currency && d.amount != amount
                    })
                    .min_by_key(|&di| (deposits[di].booking, &deposits[di].id));
                match mismatch {
                    Some(di) => (Status::DepositAmountMismatch, Some(di)),
                    None if end_day + lag_days >= cutoff_day => (Status::DepositInTransit, None),
                    None => (Status::MissingDeposit, None),
                }
            }
        };
        if let Some(di) = deposit {
            used[di] = Some((status, l.settlement_id.clone()));
        }
        rows.push(ResultRow {
            layer: 4,
            item_type: ItemType::Settlement,
            item_id: l.settlement_id.clone(),
            status,
            currency: l.currency,
            expected: Some(amount),
            actual: deposit.map(|di| deposits[di].amount),
            item_ts: end,
            counterparts: Counterparts::ids(deposit.map(|di| deposits[di].id.clone())),
            source_file: None,
            source_line: None,
        });
    }
    // Settlements without a Transfer line (their balance went the other way): no deposit due.
    let mut seen: rustc_hash::FxHashSet<&str> = Default::default();
    for l in lines {
        let sid = &*l.settlement_id;
        if !with_transfer.contains(sid) && seen.insert(sid) {
            rows.push(ResultRow {
                layer: 4,
                item_type: ItemType::Settlement,
                item_id: l.settlement_id.clone(),
                status: Status::NoPayout,
                currency: l.currency,
                expected: None,
                actual: None,
                item_ts: ends.get(sid).copied().unwrap_or(l.posted),
                counterparts: Counterparts::None,
                source_file: None,
                source_line: None,
            });
        }
    }
    for (di, d) in deposits.iter().enumerate() {
        let (status, counterpart) = match used[di].take() {
            Some((s, sid)) => (s, Counterparts::Id(sid)),
            None if d
                .reference
                .as_deref()
                .is_some_and(|r| names_amazon_pay(r, &options.amazon_pay_references)) =>
            {
                (Status::UnexpectedDeposit, Counterparts::None)
            }
            None => (Status::NotAmazonPay, Counterparts::None),
        };
        rows.push(ResultRow {
            layer: 4,
            item_type: ItemType::Deposit,
            item_id: d.id.clone(),
            status,
            currency: d.currency,
            expected: None,
            actual: Some(d.amount),
            item_ts: d.booking as i64 * DAY_US,
            counterparts: counterpart,
            source_file: None,
            source_line: None,
        });
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
