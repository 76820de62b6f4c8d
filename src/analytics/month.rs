//! A month's tables for its report, computed in one pass over its cells.

use polars::prelude::DataFrame;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::facts::{Facts, NONE, Outcome};
use crate::model::catalogue::Catalogue;

use super::cells::*;
use super::tables::*;
use super::{AnalyticsError, Dim, ReportOptions};

/// The analytics tables of a month report (`payrecon approvals|declines|recovery|changes`
/// frames): approvals overall and by country, device, currency and day, declines and recovery
/// by reason code (all over the month's days), and the week-over-week changes by country and
/// device.
#[derive(Debug, Clone)]
pub struct MonthTables {
    /// One row: the headline rates of the month.
    pub headline: DataFrame,
    pub by_country: DataFrame,
    pub by_device: DataFrame,
    /// By currency: the amount-weighted rate only exists within one currency.
    pub by_currency: DataFrame,
    pub by_day: DataFrame,
    pub by_value_band: DataFrame,
    /// By ISO week (the month's days of it: the first and last weeks may be partial).
    pub by_week: DataFrame,
    /// Declines by reason code (with class and the catalogue's advice), most frequent first.
    pub declines: DataFrame,
    /// Declines by ISO week and reason code (the month's days of each week).
    pub declines_by_week: DataFrame,
    /// Week over week changes by country and device, at the month's newest day.
    pub changes: DataFrame,
    pub recovery: DataFrame,
}

impl MonthTables {
    /// Every frame, in field order.
    pub fn frames(&self) -> [&DataFrame; 11] {
        [
            &self.headline,
            &self.by_country,
            &self.by_device,
            &self.by_currency,
            &self.by_day,
            &self.by_value_band,
            &self.by_week,
            &self.declines,
            &self.declines_by_week,
            &self.changes,
            &self.recovery,
        ]
    }
}

/// The dimensions of [`MonthTables`]' approval tables, in field order.
pub(super) const APPROVAL_LAYOUTS: [&[Dim]; 7] = [
    &[],
    &[Dim::Country],
    &[Dim::Device],
    &[Dim::Currency],
    &[Dim::Day],
    &[Dim::ValueBand],
    &[Dim::Week],
];
/// The index of `[Dim::Week]` in [`APPROVAL_LAYOUTS`] (the totals of the declines by week).
pub(super) const WEEK_LAYOUT: usize = 6;
/// The dimensions of [`MonthTables::changes`].
pub(super) const CHANGE_DIMS: [Dim; 2] = [Dim::Country, Dim::Device];

/// The month's tables over the local days `from..=to`, and the changes of the week containing
/// `at` against the week before: the very frames [`approvals`], [`declines`] (no dimensions),
/// [`recovery`] (by reason code) and [`changes`] give, from one parallel pass over the
/// attempts and one over the orders instead of one or two per table.
pub fn month_tables(
    f: &Facts,
    catalogue: &Catalogue,
    (from, to): (i32, i32),
    at: i32,
    fdr: f64,
    min_n: u64,
) -> Result<MonthTables, AnalyticsError> {
    let opts = |dims: &[Dim]| ReportOptions {
        dims: dims.to_vec(),
        from: Some(from),
        to: Some(to),
        min_n,
    };
    let (cur_from, cur_to, cur_label) = Period::Week.bounds(at);
    let (prev_from, prev_to, prev_label) = Period::Week.bounds(cur_from - 1);
    let Some((mut maps, rec)) =
        month_cells(f, (from, to), [(cur_from, cur_to), (prev_from, prev_to)])
    else {
        // Some code outside its dense layout: table by table.
        return Ok(MonthTables {
            headline: approvals(f, &opts(&[]))?,
            by_country: approvals(f, &opts(&[Dim::Country]))?,
            by_device: approvals(f, &opts(&[Dim::Device]))?,
            by_currency: approvals(f, &opts(&[Dim::Currency]))?,
            by_day: approvals(f, &opts(&[Dim::Day]))?,
            by_value_band: approvals(f, &opts(&[Dim::ValueBand]))?,
            by_week: approvals(f, &opts(&[Dim::Week]))?,
            declines: declines(f, catalogue, &opts(&[]))?,
            declines_by_week: declines(f, catalogue, &opts(&[Dim::Week]))?,
            changes: changes(f, &CHANGE_DIMS, Period::Week, Some(at), fdr, min_n)?,
            recovery: recovery(f, &opts(&[Dim::ReasonCode]))?,
        });
    };
    let sorted = |m: &FxHashMap<Key, Cell>| {
        let mut v: Vec<(Key, Cell)> = m.iter().map(|(k, c)| (*k, c.clone())).collect();
        v.sort_by_key(|c| c.0);
        v
    };
    let prev = maps.pop().expect("the previous week's cells");
    let cur = maps.pop().expect("the week's cells");
    let declined_by_week = maps.pop().expect("the declines' cells by week");
    let declined = maps.pop().expect("the declines' cells");
    let approval = |l: usize| approvals_table(f, APPROVAL_LAYOUTS[l], &sorted(&maps[l]), min_n);
    Ok(MonthTables {
        headline: approval(0)?,
        by_country: approval(1)?,
        by_device: approval(2)?,
        by_currency: approval(3)?,
        by_day: approval(4)?,
        by_value_band: approval(5)?,
        by_week: approval(WEEK_LAYOUT)?,
        declines: declines_table(f, catalogue, &[], &maps[0], declined)?,
        declines_by_week: declines_table(
            f,
            catalogue,
            &[Dim::Week],
            &maps[WEEK_LAYOUT],
            declined_by_week,
        )?,
        changes: changes_table(
            f,
            &CHANGE_DIMS,
            &cur,
            &prev,
            [cur_label, prev_label],
            fdr,
            min_n,
        )?,
        recovery: recovery_table(f, &[], rec, min_n)?,
    })
}

/// The cells of [`month_tables`] by layout (the approval tables', the declined attempts' by
/// reason code and by week and reason code, the week's and the previous week's by [`CHANGE_DIMS`]) and the recovery
/// rows; `None` when some code lies outside its dense layout.
#[allow(clippy::type_complexity)]
pub(super) fn month_cells(
    f: &Facts,
    (from, to): (i32, i32),
    [cur, prev]: [(i32, i32); 2],
) -> Option<(Vec<FxHashMap<Key, Cell>>, FxHashMap<Key, Rec>)> {
    let mut layouts: Vec<&[Dim]> = APPROVAL_LAYOUTS.to_vec();
    layouts.extend([
        &[Dim::ReasonCode][..],
        &[Dim::Week, Dim::ReasonCode],
        &CHANGE_DIMS,
        &CHANGE_DIMS,
    ]);
    // Only the month's facts are counted by day.
    let dense: Vec<Dense> = layouts
        .iter()
        .map(|dims| Dense::spanning(f, dims, || Some((from, to))))
        .collect::<Option<_>>()?;
    let within = |d: i32, (a, b): (i32, i32)| d >= a && d <= b;
    let empty = |n: usize| -> Vec<Vec<Cell>> {
        dense[..n]
            .iter()
            .map(|d| vec![Cell::default(); d.cells])
            .collect()
    };
    let merge = |mut a: Vec<Vec<Cell>>, b: &[Vec<Cell>]| {
        for (x, y) in a.iter_mut().zip(b) {
            for (p, q) in x.iter_mut().zip(y) {
                p.merge(q);
            }
        }
        a
    };
    let part = |n: usize| n.div_ceil(2 * rayon::current_num_threads()).max(CHUNK);
    let n_reasons = f.reasons.len();
    let (attempts, orders) = rayon::join(
        || {
            f.attempts
                .par_chunks(part(f.attempts.len()))
                .map(|chunk| {
                    let mut cells = empty(layouts.len());
                    for a in chunk {
                        let month = within(a.day, (from, to));
                        let weeks = [within(a.day, cur), within(a.day, prev)];
                        if !(month || weeks[0] || weeks[1]) {
                            continue;
                        }
                        for (l, dims) in layouts.iter().enumerate() {
                            const A: usize = APPROVAL_LAYOUTS.len();
                            let keep = match l {
                                0..A => month,
                                _ if l < A + 2 => month && a.outcome == Outcome::Declined,
                                _ => weeks[l - A - 2],
                            };
                            if keep {
                                let slot =
                                    dense[l].slot(&key_of(dims, |d| attempt_code(f, a, d)))?;
                                cells[l][slot].add_attempt(a);
                            }
                        }
                    }
                    Some(cells)
                })
                .try_reduce(|| empty(layouts.len()), |a, b| Some(merge(a, &b)))
        },
        || {
            f.orders
                .par_chunks(part(f.orders.len()))
                .map(|chunk| {
                    let mut cells = empty(APPROVAL_LAYOUTS.len());
                    let mut rec = vec![Rec::default(); n_reasons];
                    for o in chunk.iter().filter(|o| within(o.first_day, (from, to))) {
                        for (l, dims) in APPROVAL_LAYOUTS.iter().enumerate() {
                            let slot = dense[l].slot(&key_of(dims, |d| order_code(f, o, d)))?;
                            cells[l][slot].add_order(o);
                        }
                        if o.first_decline_reason != NONE {
                            rec.get_mut(o.first_decline_reason as usize)?.add(o);
                        }
                    }
                    Some((cells, rec))
                })
                .try_reduce(
                    || {
                        (
                            empty(APPROVAL_LAYOUTS.len()),
                            vec![Rec::default(); n_reasons],
                        )
                    },
                    |(a, mut ra), (b, rb)| {
                        for (x, y) in ra.iter_mut().zip(rb) {
                            x.merge(y);
                        }
                        Some((merge(a, &b), ra))
                    },
                )
        },
    );
    let (orders, rec) = orders?;
    let cells = merge(attempts?, &orders);
    let maps = cells
        .into_iter()
        .zip(&dense)
        .map(|(c, d)| d.to_map(c))
        .collect();
    let rec = rec
        .into_iter()
        .enumerate()
        .filter(|(_, r)| r.orders > 0)
        .map(|(i, r)| {
            let mut k = [0u32; 9];
            k[0] = i as u32;
            (k, r)
        })
        .collect();
    Some((maps, rec))
}
