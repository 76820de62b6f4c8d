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

/// Each settlement's balance row into `rows`; returns the settlements' end times (layer 4
/// dates payouts by them).
pub(super) fn balance_rows<'a>(
    lines: &'a [Line],
    settlements: &'a [load::Settlement],
    options: &Options,
    rows: &mut Vec<ResultRow>,
) -> FxHashMap<&'a str, i64> {
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
    ends
}
