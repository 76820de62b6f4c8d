//! Layer 4, payout ↔ bank deposit: a settlement's `Transfer` line against the bank lines of
//! its currency and amount, booked within the deposit lag of the settlement's end (a line that
//! names the settlement id first); else a line naming it with another amount is
//! `deposit_amount_mismatch`. Bank lines no payout took are `unexpected_deposit` when their
//! reference names Amazon Pay, else `not_amazon_pay`.

use rustc_hash::FxHashMap;

use super::load::{self, Line, Text};
use super::{Counterparts, DAY_US, ItemType, Options, ResultRow, Status};
use crate::model::money::Currency;
use crate::model::states::TransactionType;

/// Text compared case-insensitively with runs of white space collapsed: upper case, one space.
pub fn normalise_reference(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_uppercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
        .filter(|t| !t.is_empty())
}

/// Whether a bank reference names Amazon Pay: contains one of the (normalised) patterns.
/// `AMAZON PAY` also covers `AMAZON PAYMENTS EUROPE S.C.A.`; `AMAZON WEB SERVICES`,
/// `AMAZON MARKETPLACE`, `AMZN MKTP` and `AMAZON.COM` do not name it.
fn names_amazon_pay(reference: &str, patterns: &[String]) -> bool {
    let r = normalise_reference(reference);
    patterns.iter().any(|p| r.contains(p.as_str()))
}

/// Layer 4's rows into `rows`: each `Transfer` line's payout against the deposits, then each
/// deposit. `ends` are the settlements' end times ([`super::payouts::balance_rows`]).
pub(super) fn reconcile(
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
        .filter(|l| l.ttype == TransactionType::Transfer)
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
