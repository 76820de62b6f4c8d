//! Layer 3, settlement ↔ payout: each line's arithmetic (fees add up, net = amount + fees) and
//! each settlement's balance (its lines' net amounts sum to zero, the `Transfer` line included).

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::load::{self, Line, Text};
use super::{Counterparts, ItemType, Options, ResultRow, Status};
use crate::model::money::Currency;

/// Every line's arithmetic row into `rows`.
pub(super) fn line_rows(lines: &[Line], rows: &mut Vec<ResultRow>) {
    rows.par_extend(lines.par_iter().map(|l| {
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
}

/// Each settlement's lines summed up: what its balance row reads. Lines can be added a few at
/// a time, in lake order (a settlement's currency is its first line's).
#[derive(Debug, Default)]
pub(crate) struct SettlementSums {
    /// Net sum, currency, newest posting time; keys are copies (no line's buffers kept).
    by_settlement: FxHashMap<Text, (i64, Currency, i64)>,
}

impl SettlementSums {
    pub(crate) fn add(&mut self, lines: &[Line]) {
        for l in lines {
            let e = match self.by_settlement.get_mut(&*l.settlement_id) {
                Some(e) => e,
                None => self
                    .by_settlement
                    .entry(Text::from(&*l.settlement_id))
                    .or_insert((0, l.currency, i64::MIN)),
            };
            e.0 += l.net;
            e.2 = e.2.max(l.posted);
        }
    }

    /// [`Self::add`], and copies into `kept` the lines layer 4 reads besides the sums: every
    /// `Transfer` line and each settlement's first line (a settlement without a transfer is
    /// dated and priced by it), in lake order.
    pub(crate) fn add_keeping(&mut self, lines: &[Line], kept: &mut Vec<Line>) {
        for l in lines {
            let first = !self.by_settlement.contains_key(&*l.settlement_id);
            self.add(std::slice::from_ref(l));
            if first || l.ttype == crate::model::states::TransactionType::Transfer {
                kept.push(l.detached());
            }
        }
    }
}

/// Each settlement's balance row into `rows`; returns the settlements' end times (layer 4
/// dates payouts by them).
pub(super) fn balance_rows<'a>(
    sums: &SettlementSums,
    settlements: &'a [load::Settlement],
    options: &Options,
    rows: &mut Vec<ResultRow>,
) -> FxHashMap<&'a str, i64> {
    let eq = |a: i64, b: i64| (a - b).abs() <= options.tolerance;
    let ends: FxHashMap<&str, i64> = settlements
        .iter()
        .filter_map(|s| Some((&*s.id, s.end?)))
        .collect();
    for (id, (net, currency, last_posted)) in &sums.by_settlement {
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
            item_ts: ends.get(&**id).copied().unwrap_or(*last_posted),
            counterparts: Counterparts::None,
            source_file: None,
            source_line: None,
        });
    }
    ends
}
