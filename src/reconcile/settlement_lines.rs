//! Layer 2, captured charges and refunded refunds ↔ settlement lines: by id (the line's
//! `AmazonTransactionId` and type), else by reference within a type, currency, amount and date
//! window (the charge's `SellerReferenceId`, then its order id); lines no item took are
//! `unknown_settlement_line`, or `ambiguous` when several items could take them.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::links::{AnyLink, Link};
use super::load::{Charge, Inputs, Line, Order, Refund, Text};
use super::orders::Index;
use super::{Counterparts, DAY_US, ItemType, Options, ResultRow, Status};
use crate::model::keys::Namespace;
use crate::model::money::Currency;
use crate::model::states::{RefundState, TransactionType};

/// A captured charge's line, by the id the line names it by.
pub(crate) const CHARGE_LINE: Link<Charge, Line> = Link {
    namespace: Namespace::ItemId,
    a: |c| Some(&c.id),
    b: |l| l.txn_id.as_deref(),
    what: "charge.id = Capture line.AmazonTransactionId",
};

/// A refunded refund's line.
pub(crate) const REFUND_LINE: Link<Refund, Line> = Link {
    namespace: Namespace::ItemId,
    a: |r| Some(&r.id),
    b: |l| l.txn_id.as_deref(),
    what: "refund.id = Refund line.AmazonTransactionId",
};

/// The fallback: the charge's reference.
pub(crate) const CHARGE_LINE_REFERENCE: Link<Charge, Line> = Link {
    namespace: Namespace::Reference,
    a: |c| c.seller_ref.as_deref(),
    b: |l| l.seller_ref.as_deref(),
    what: "charge.SellerReferenceId = line.SellerReferenceId",
};

/// Then the item's order: the order layer 1 found for its charge...
pub(crate) const ORDER_LINE: Link<Order, Line> = Link {
    namespace: Namespace::OrderId,
    a: |o| Some(&o.id),
    b: |l| l.seller_order.as_deref(),
    what: "order.id = line.SellerOrderId",
};

/// ...or, without one, the order id the charge names.
pub(crate) const CHARGE_ORDER_LINE: Link<Charge, Line> = Link {
    namespace: Namespace::OrderId,
    a: |c| c.merchant_ref.as_deref(),
    b: |l| l.seller_order.as_deref(),
    what: "charge.merchantReferenceId = line.SellerOrderId",
};

/// Everything layer 2 matches on.
pub(crate) const LINKS: [&dyn AnyLink; 5] = [
    &CHARGE_LINE,
    &REFUND_LINE,
    &CHARGE_LINE_REFERENCE,
    &ORDER_LINE,
    &CHARGE_ORDER_LINE,
];

/// What layer 2 settles: a captured charge or a refunded refund.
struct Settleable<'a> {
    item_type: ItemType,
    id: &'a Text,
    /// Expected `TransactionAmount` on the line (capture amount, or −refund amount).
    amount: i64,
    currency: Currency,
    /// Capture (refund) time.
    ts: i64,
    /// The id a line names it by ([`CHARGE_LINE`], [`REFUND_LINE`]).
    txn: Option<&'a str>,
    /// Fallback keys: the charge's `SellerReferenceId`, then the order id.
    seller_ref: Option<&'a str>,
    order_id: Option<&'a str>,
}

/// Capture and Refund lines by (type, `AmazonTransactionId`): the first line of each key, and a
/// chain from each line to the next of the same key (duplicates are rare: no vector per key).
pub(super) struct TxnIndex<'a> {
    by_txn: FxHashMap<(TransactionType, &'a str), u32>,
    next_same: Vec<u32>,
}

pub(super) fn txn_index(inputs: &Inputs) -> TxnIndex<'_> {
    let mut by_txn: FxHashMap<(TransactionType, &str), u32> =
        FxHashMap::with_capacity_and_hasher(inputs.lines.len(), Default::default());
    let mut next_same: Vec<u32> = vec![u32::MAX; inputs.lines.len()];
    for (li, l) in inputs.lines.iter().enumerate().rev() {
        let t = match l.ttype {
            TransactionType::Capture => (CHARGE_LINE.b)(l),
            TransactionType::Refund => (REFUND_LINE.b)(l),
            _ => None,
        };
        if let Some(t) = t {
            match by_txn.entry((l.ttype, t)) {
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

/// Layer 2's rows into `rows`: `charge_order` is each charge's order (layer 1).
pub(super) fn reconcile(
    inputs: &Inputs,
    options: &Options,
    cutoff: i64,
    txn: TxnIndex,
    orders: &Index<'_>,
    charge_order: &[Option<usize>],
    rows: &mut Vec<ResultRow>,
) {
    let eq = |a: i64, b: i64| (a - b).abs() <= options.tolerance;
    let order_id_of = |ci: usize| -> Option<&str> {
        charge_order[ci]
            .and_then(|oi| (ORDER_LINE.a)(&inputs.orders[oi]))
            .or((CHARGE_ORDER_LINE.a)(&inputs.charges[ci]))
    };
    let mut items: Vec<Settleable> = Vec::new();
    for (ci, c) in inputs.charges.iter().enumerate() {
        if c.captured() {
            items.push(Settleable {
                item_type: ItemType::Charge,
                id: &c.id,
                txn: (CHARGE_LINE.a)(c),
                amount: c.capture_amount.unwrap_or(0),
                currency: c.currency,
                ts: c.updated,
                seller_ref: (CHARGE_LINE_REFERENCE.a)(c),
                order_id: order_id_of(ci),
            });
        }
    }
    for r in &inputs.refunds {
        if r.state == RefundState::Refunded {
            let ci = orders.charge_of(r);
            items.push(Settleable {
                item_type: ItemType::Refund,
                id: &r.id,
                txn: (REFUND_LINE.a)(r),
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
            TransactionType::Capture
        } else {
            TransactionType::Refund
        }
    };
    let TxnIndex { by_txn, next_same } = txn;
    let mut line_status: Vec<Option<(Status, Text)>> = vec![None; inputs.lines.len()];
    // Id matches, in parallel; each line belongs to one (type, id), so to at most one item.
    let matched: Vec<(usize, IdMatch)> = items
        .par_iter()
        .enumerate()
        .map(|(k, it)| {
            match it
                .txn
                .and_then(|t| by_txn.get(&(line_type(it.item_type), t)))
            {
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
            }
        })
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
    type Key<'a> = (TransactionType, Currency, i64, &'a str);
    let mut by_ref: FxHashMap<Key, Vec<usize>> = FxHashMap::default();
    let mut by_order: FxHashMap<Key, Vec<usize>> = FxHashMap::default();
    for (li, l) in inputs.lines.iter().enumerate() {
        if l.ttype.is_settleable() && line_status[li].is_none() {
            if let Some(r) = (CHARGE_LINE_REFERENCE.b)(l) {
                by_ref
                    .entry((l.ttype, l.currency, l.amount, r))
                    .or_default()
                    .push(li);
            }
            if let Some(o) = (ORDER_LINE.b)(l) {
                by_order
                    .entry((l.ttype, l.currency, l.amount, o))
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
        .filter(|&li| inputs.lines[li].ttype.is_settleable())
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
