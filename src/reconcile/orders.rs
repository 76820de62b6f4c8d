//! Layer 1, orders ↔ charges and refunds: each order's captured amount (its charges' captures
//! in its currency, less nothing) against its total, refunds against the captures; a capture
//! whose order is not in the lake is `capture_without_order`.
//!
//! A charge belongs to the order its `merchantReferenceId` names, else to the order with its
//! `chargePermissionId` (the smallest order id if several share it); a refund to its charge.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::links::{AnyLink, Link};
use super::load::{Charge, Inputs, Order, Refund, Text};
use super::{Counterparts, ItemType, ResultRow, Status};
use crate::model::keys::Namespace;
use crate::model::states::RefundState;

/// A charge's order by the order id it carries.
pub(crate) const CHARGE_ORDER_ID: Link<Charge, Order> = Link {
    namespace: Namespace::OrderId,
    a: |c| c.merchant_ref.as_deref(),
    b: |o| Some(&o.id),
    what: "charge.merchantReferenceId = order.id",
};

/// Else by the charge permission they share.
pub(crate) const CHARGE_PERMISSION: Link<Charge, Order> = Link {
    namespace: Namespace::Permission,
    a: |c| Some(&c.permission),
    b: |o| o.permission.as_deref(),
    what: "charge.chargePermissionId = order.chargePermissionId",
};

/// A refund's charge.
pub(crate) const REFUND_CHARGE: Link<Refund, Charge> = Link {
    namespace: Namespace::ItemId,
    a: |r| Some(&r.charge_id),
    b: |c| Some(&c.id),
    what: "refund.chargeId = charge.id",
};

/// Everything layer 1 matches on.
pub(crate) const LINKS: [&dyn AnyLink; 3] = [&CHARGE_ORDER_ID, &CHARGE_PERMISSION, &REFUND_CHARGE];

/// The lookups of layer 1, built in parallel.
pub(super) struct Index<'a> {
    by_order_id: FxHashMap<&'a str, usize>,
    by_permission: FxHashMap<&'a str, usize>,
    /// Charges by id (layer 2 finds a refund's charge with it too).
    pub(super) charge_ix: FxHashMap<&'a str, usize>,
}

impl<'a> Index<'a> {
    pub(super) fn build(inputs: &'a Inputs) -> Self {
        let ((by_order_id, by_permission), charge_ix) = rayon::join(
            || {
                rayon::join(
                    || -> FxHashMap<&str, usize> {
                        inputs
                            .orders
                            .iter()
                            .enumerate()
                            .filter_map(|(i, o)| Some(((CHARGE_ORDER_ID.b)(o)?, i)))
                            .collect()
                    },
                    || {
                        let mut m: FxHashMap<&str, usize> = FxHashMap::with_capacity_and_hasher(
                            inputs.orders.len(),
                            Default::default(),
                        );
                        for (i, o) in inputs.orders.iter().enumerate() {
                            if let Some(p) = (CHARGE_PERMISSION.b)(o) {
                                m.entry(p)
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
                    .filter_map(|(i, c)| Some(((REFUND_CHARGE.b)(c)?, i)))
                    .collect()
            },
        );
        Index {
            by_order_id,
            by_permission,
            charge_ix,
        }
    }

    /// The order a charge belongs to.
    fn order_of(&self, c: &Charge) -> Option<usize> {
        (CHARGE_ORDER_ID.a)(c)
            .and_then(|m| self.by_order_id.get(m).copied())
            .or_else(|| (CHARGE_PERMISSION.a)(c).and_then(|p| self.by_permission.get(p).copied()))
    }

    /// The charge a refund belongs to.
    pub(super) fn charge_of(&self, r: &Refund) -> Option<usize> {
        (REFUND_CHARGE.a)(r).and_then(|id| self.charge_ix.get(id).copied())
    }
}

/// Layer 1's rows into `rows`; returns each charge's order (layer 2 falls back on its id).
pub(super) fn reconcile(
    inputs: &Inputs,
    ix: &Index<'_>,
    eq: impl Fn(i64, i64) -> bool + Sync,
    rows: &mut Vec<ResultRow>,
) -> Vec<Option<usize>> {
    let charge_order: Vec<Option<usize>> =
        inputs.charges.par_iter().map(|c| ix.order_of(c)).collect();
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
        if r.state != RefundState::Refunded {
            continue;
        }
        if let Some(oi) = ix.charge_of(r).and_then(|ci| charge_order[ci]) {
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
    charge_order
}
