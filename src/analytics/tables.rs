//! The result tables of `spec/analytics.md` from cells: approvals, declines by class and reason,
//! recovery, and the changes between two periods (polars frames).

use polars::prelude::{Column, DataFrame, DataType, IntoColumn, NamedFrom, Series};
use rustc_hash::FxHashMap;

use super::facts::{Facts, NONE, OrderFact, Outcome, iso_week, month, month_label, week_label};
use crate::model::catalogue::Catalogue;

use super::cells::*;
use super::{AnalyticsError, Dim, ReportOptions, stats};

/// Columns of a result table under construction.
pub(super) struct TableBuilder {
    columns: Vec<Column>,
}

impl TableBuilder {
    pub(super) fn new() -> Self {
        TableBuilder {
            columns: Vec::new(),
        }
    }

    /// The dimension columns of `keys`.
    pub(super) fn dims(mut self, f: &Facts, dims: &[Dim], keys: &[Key]) -> Self {
        for (i, d) in dims.iter().enumerate() {
            let codes = keys.iter().map(|k| k[i]);
            let col = match d {
                Dim::Day => Series::new(
                    d.name().into(),
                    codes
                        .map(|c| (c as i64 - (1i64 << 31)) as i32)
                        .collect::<Vec<i32>>(),
                )
                .cast(&DataType::Date)
                .expect("i32 casts to Date")
                .into_column(),
                _ => {
                    let values: Vec<Option<String>> = codes.map(|c| dim_label(f, *d, c)).collect();
                    Column::new(d.name().into(), values)
                }
            };
            self.columns.push(col);
        }
        self
    }

    pub(super) fn u64(mut self, name: &str, values: Vec<u64>) -> Self {
        self.columns.push(Column::new(name.into(), values));
        self
    }

    pub(super) fn f64(mut self, name: &str, values: Vec<Option<f64>>) -> Self {
        self.columns.push(Column::new(name.into(), values));
        self
    }

    /// `{rate}_lo` and `{rate}_hi` from Wilson intervals.
    pub(super) fn interval(self, rate: &str, w: &[Option<(f64, f64)>]) -> Self {
        self.f64(&format!("{rate}_lo"), w.iter().map(|w| lo(*w)).collect())
            .f64(&format!("{rate}_hi"), w.iter().map(|w| hi(*w)).collect())
    }

    pub(super) fn str(mut self, name: &str, values: Vec<Option<String>>) -> Self {
        self.columns.push(Column::new(name.into(), values));
        self
    }

    pub(super) fn bool(mut self, name: &str, values: Vec<bool>) -> Self {
        self.columns.push(Column::new(name.into(), values));
        self
    }

    pub(super) fn finish(self, height: usize) -> Result<DataFrame, AnalyticsError> {
        Ok(DataFrame::new(height, self.columns)?)
    }
}

/// The text of a dimension code.
pub(super) fn dim_label(f: &Facts, d: Dim, code: u32) -> Option<String> {
    if code == NONE {
        return None;
    }
    Some(match d {
        Dim::Country => f.countries[code as usize].clone(),
        Dim::Device => f.devices[code as usize].clone(),
        Dim::ValueBand => f.bands[code as usize].clone(),
        Dim::Currency => currencies_sorted()[code as usize].code().to_string(),
        Dim::ReasonCode => f.reasons[code as usize].clone(),
        Dim::DeclineClass => CLASSES[code as usize].as_str().to_string(),
        Dim::Day => crate::lake::day_label((code as i64 - (1i64 << 31)) as i32),
        Dim::Week => week_label(code),
        Dim::Month => month_label(code),
    })
}

pub(super) fn lo(w: Option<(f64, f64)>) -> Option<f64> {
    w.map(|w| w.0)
}

pub(super) fn hi(w: Option<(f64, f64)>) -> Option<f64> {
    w.map(|w| w.1)
}

/// `payrecon approvals`: one row per cell, with every rate of the spec.
///
/// Columns: the dimensions, then `attempts`, `approved`, `declined`, `pending`, `canceled`,
/// `approval_rate`, `approval_rate_lo`, `approval_rate_hi`, `amount_approval_rate`, `orders`,
/// `first_attempt_rate`, `eventual_rate`, `retry_uplift`, `immature_orders`, `low_volume`, and
/// after them `decided_orders` and the intervals of the two order rates.
pub fn approvals(f: &Facts, opts: &ReportOptions) -> Result<DataFrame, AnalyticsError> {
    approvals_table(f, &opts.dims, &cells(f, opts), opts.min_n)
}

/// The table of [`approvals`] from its cells (sorted by key).
pub(super) fn approvals_table(
    f: &Facts,
    dims: &[Dim],
    cells: &[(Key, Cell)],
    min_n: u64,
) -> Result<DataFrame, AnalyticsError> {
    let keys: Vec<Key> = cells.iter().map(|c| c.0).collect();
    let cs: Vec<&Cell> = cells.iter().map(|c| &c.1).collect();
    let rate = |k: fn(&Cell) -> u64, n: fn(&Cell) -> u64| -> Vec<Option<f64>> {
        cs.iter().map(|c| stats::rate(k(c), n(c))).collect()
    };
    let wil = |k: fn(&Cell) -> u64, n: fn(&Cell) -> u64| -> Vec<Option<(f64, f64)>> {
        cs.iter().map(|c| stats::wilson(k(c), n(c))).collect()
    };
    let attempt_w = wil(|c| c.approved, Cell::decided);
    let first_w = wil(|c| c.first_approved, |c| c.decided_orders);
    let eventual_w = wil(|c| c.eventual_approved, |c| c.decided_orders);
    let first = rate(|c| c.first_approved, |c| c.decided_orders);
    let eventual = rate(|c| c.eventual_approved, |c| c.decided_orders);
    let uplift = first
        .iter()
        .zip(&eventual)
        .map(|(f, e)| Some((*e)? - (*f)?))
        .collect();
    let count = |g: fn(&Cell) -> u64| cs.iter().map(|c| g(c)).collect::<Vec<u64>>();
    TableBuilder::new()
        .dims(f, dims, &keys)
        .u64("attempts", count(|c| c.attempts))
        .u64("approved", count(|c| c.approved))
        .u64("declined", count(|c| c.declined))
        .u64("pending", count(|c| c.pending))
        .u64("canceled", count(|c| c.canceled))
        .f64("approval_rate", rate(|c| c.approved, Cell::decided))
        .interval("approval_rate", &attempt_w)
        .f64(
            "amount_approval_rate",
            cs.iter().map(|c| c.amount_approval_rate()).collect(),
        )
        .u64("orders", count(|c| c.orders))
        .f64("first_attempt_rate", first)
        .f64("eventual_rate", eventual)
        .f64("retry_uplift", uplift)
        .u64("immature_orders", count(|c| c.immature))
        .bool(
            "low_volume",
            cs.iter()
                .map(|c| c.decided().min(c.decided_orders) < min_n)
                .collect(),
        )
        .u64("decided_orders", count(|c| c.decided_orders))
        .interval("first_attempt_rate", &first_w)
        .interval("eventual_rate", &eventual_w)
        .finish(cells.len())
}

/// `payrecon declines`: declined attempts by reason code (and class) within each DIMS cell,
/// with their share of the cell's declines and attempts and the catalogue's advice.
pub fn declines(
    f: &Facts,
    catalogue: &Catalogue,
    opts: &ReportOptions,
) -> Result<DataFrame, AnalyticsError> {
    let dims = opts.dims_without_reason();
    let base = ReportOptions {
        dims: dims.clone(),
        ..opts.clone()
    };
    let totals: FxHashMap<Key, Cell> = cells(f, &base).into_iter().collect();
    let mut by_reason = dims.clone();
    by_reason.push(Dim::ReasonCode);
    let declined = aggregate(
        f,
        &by_reason,
        |a| a.outcome == Outcome::Declined && opts.in_range(a.day),
        |_| false,
    );
    declines_table(f, catalogue, &dims, &totals, declined)
}

/// The table of [`declines`] from the cells of its dimensions (`totals`) and of its dimensions
/// and the reason code (declined attempts only).
pub(super) fn declines_table(
    f: &Facts,
    catalogue: &Catalogue,
    dims: &[Dim],
    totals: &FxHashMap<Key, Cell>,
    declined: FxHashMap<Key, Cell>,
) -> Result<DataFrame, AnalyticsError> {
    let n = dims.len();
    let mut rows: Vec<(Key, u64)> = declined.into_iter().map(|(k, c)| (k, c.declined)).collect();
    rows.sort_by(|a, b| {
        a.0[..n]
            .cmp(&b.0[..n])
            .then(b.1.cmp(&a.1))
            .then(a.0[n].cmp(&b.0[n]))
    });
    let keys: Vec<Key> = rows.iter().map(|r| r.0).collect();
    let total_key = |k: &Key| {
        let mut t = *k;
        t[n] = 0;
        totals.get(&t).cloned().unwrap_or_default()
    };
    let mut share_declines = Vec::new();
    let mut share_attempts = Vec::new();
    let (mut reason, mut class, mut tier, mut freq, mut advice, mut action) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (k, count) in &rows {
        let t = total_key(k);
        share_declines.push(stats::rate(*count, t.declined));
        share_attempts.push(stats::rate(*count, t.attempts));
        let code = &f.reasons[k[n] as usize];
        let cls = f.reason_classes[k[n] as usize];
        let entry = catalogue.get(code);
        reason.push(Some(code.clone()));
        class.push(Some(cls.as_str().to_string()));
        tier.push(entry.map(|e| e.tier.clone()));
        freq.push(entry.map(|e| e.frequency.clone()));
        advice.push(entry.map(|e| e.description.clone()));
        action.push(Some(cls.action().to_string()));
    }
    TableBuilder::new()
        .dims(f, dims, &keys)
        .str("reason_code", reason)
        .str("decline_class", class)
        .u64("declines", rows.iter().map(|r| r.1).collect())
        .f64("share_of_declines", share_declines)
        .f64("share_of_attempts", share_attempts)
        .str("resolution_tier", tier)
        .str("frequency", freq)
        .str("action", action)
        .str("advice", advice)
        .finish(rows.len())
}

/// `payrecon recovery`: decided orders whose first decided attempt was declined, by that
/// attempt's reason code: how many later got an approved attempt, and after how many attempts.
pub fn recovery(f: &Facts, opts: &ReportOptions) -> Result<DataFrame, AnalyticsError> {
    let dims = opts.dims_without_reason();
    let n = dims.len();
    let mut map: FxHashMap<Key, Rec> = FxHashMap::default();
    for o in f
        .orders
        .iter()
        .filter(|o| o.first_decline_reason != NONE && opts.in_range(o.first_day))
    {
        let mut k = key_of(&dims, |d| order_code(f, o, d));
        k[n] = o.first_decline_reason;
        map.entry(k).or_default().add(o);
    }
    recovery_table(f, &dims, map, opts.min_n)
}

/// Orders of one [`recovery`] row.
#[derive(Debug, Clone, Default)]
pub(super) struct Rec {
    pub(super) orders: u64,
    pub(super) recovered: u64,
    pub(super) immature: u64,
    pub(super) attempts: Vec<u32>,
}

impl Rec {
    pub(super) fn add(&mut self, o: &OrderFact) {
        self.orders += 1;
        self.immature += o.immature as u64;
        if o.eventual_approved {
            self.recovered += 1;
            self.attempts.push(o.attempts_to_recovery);
        }
    }

    pub(super) fn merge(&mut self, other: Rec) {
        self.orders += other.orders;
        self.recovered += other.recovered;
        self.immature += other.immature;
        self.attempts.extend(other.attempts);
    }
}

/// The table of [`recovery`] from its rows by key (its dimensions, then the reason code).
pub(super) fn recovery_table(
    f: &Facts,
    dims: &[Dim],
    map: FxHashMap<Key, Rec>,
    min_n: u64,
) -> Result<DataFrame, AnalyticsError> {
    let n = dims.len();
    let mut rows: Vec<(Key, Rec)> = map.into_iter().collect();
    rows.sort_by(|a, b| {
        a.0[..n]
            .cmp(&b.0[..n])
            .then(b.1.orders.cmp(&a.1.orders))
            .then(a.0[n].cmp(&b.0[n]))
    });
    let keys: Vec<Key> = rows.iter().map(|r| r.0).collect();
    let w: Vec<Option<(f64, f64)>> = rows
        .iter()
        .map(|(_, r)| stats::wilson(r.recovered, r.orders))
        .collect();
    TableBuilder::new()
        .dims(f, dims, &keys)
        .str(
            "reason_code",
            keys.iter()
                .map(|k| Some(f.reasons[k[n] as usize].clone()))
                .collect(),
        )
        .str(
            "decline_class",
            keys.iter()
                .map(|k| Some(f.reason_classes[k[n] as usize].as_str().to_string()))
                .collect(),
        )
        .u64("orders", rows.iter().map(|r| r.1.orders).collect())
        .u64("recovered", rows.iter().map(|r| r.1.recovered).collect())
        .f64(
            "recovery_rate",
            rows.iter()
                .map(|r| stats::rate(r.1.recovered, r.1.orders))
                .collect(),
        )
        .interval("recovery_rate", &w)
        .f64(
            "median_attempts_to_recovery",
            rows.iter_mut()
                .map(|r| stats::median(&mut r.1.attempts))
                .collect(),
        )
        .u64(
            "immature_orders",
            rows.iter().map(|r| r.1.immature).collect(),
        )
        .bool(
            "low_volume",
            rows.iter().map(|r| r.1.orders < min_n).collect(),
        )
        .finish(rows.len())
}

/// A period for change detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    /// First and last local day of the period containing `day`, and its label.
    pub fn bounds(self, day: i32) -> (i32, i32, String) {
        use chrono::{Datelike, Months};
        let d = crate::model::time::from_epoch_days(day);
        let to_days = crate::model::time::to_epoch_days;
        match self {
            Period::Day => (day, day, d.to_string()),
            Period::Week => {
                let start = day - d.weekday().num_days_from_monday() as i32;
                (start, start + 6, week_label(iso_week(day)))
            }
            Period::Month => {
                let first = d.with_day(1).expect("day 1 exists");
                let next = first + Months::new(1);
                (to_days(first), to_days(next) - 1, month_label(month(day)))
            }
        }
    }
}

/// The first and last local day with attempts, if any.
pub fn attempt_days(f: &Facts) -> Option<(i32, i32)> {
    let first = f.attempts.iter().map(|a| a.day).min()?;
    Some((first, f.newest_day.unwrap_or(first).max(first)))
}

/// Attempts made from `from` to `to` (local days, inclusive).
pub fn attempts_between(f: &Facts, from: i32, to: i32) -> u64 {
    f.attempts
        .iter()
        .filter(|a| a.day >= from && a.day <= to)
        .count() as u64
}

impl Period {
    /// A day of the last period that is over by `newest` (the newest day with attempts, whose
    /// own period is still filling), and whether it is one: when no attempt precedes the
    /// newest day's period, that period itself.
    pub fn last_complete(self, f: &Facts) -> Option<(i32, bool)> {
        let (first, newest) = attempt_days(f)?;
        let (start, _, _) = self.bounds(newest);
        if start > first {
            Some((start - 1, true))
        } else {
            Some((newest, false))
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }
}

/// `payrecon changes`: each cell's attempt approval rate in the period containing `at` against
/// the period before, with a two-proportion z-test and Benjamini–Hochberg q-values across the
/// tested cells; significant drops first, then significant rises, then the rest by p-value.
pub fn changes(
    f: &Facts,
    dims: &[Dim],
    period: Period,
    at: Option<i32>,
    fdr: f64,
    min_n: u64,
) -> Result<DataFrame, AnalyticsError> {
    let at = match at.or(f.newest_day) {
        Some(d) => d,
        None => return empty_changes(f, dims),
    };
    let (cur_from, cur_to, cur_label) = period.bounds(at);
    let (prev_from, prev_to, prev_label) = period.bounds(cur_from - 1);
    let in_cur = |d: i32| d >= cur_from && d <= cur_to;
    let in_prev = |d: i32| d >= prev_from && d <= prev_to;
    let cur = aggregate(f, dims, |a| in_cur(a.day), |_| false);
    let prev = aggregate(f, dims, |a| in_prev(a.day), |_| false);
    changes_table(f, dims, &cur, &prev, [cur_label, prev_label], fdr, min_n)
}

/// The table of [`changes`] from the cells of the period (`cur`) and of the period before
/// (`prev`), and the two periods' labels.
pub(super) fn changes_table(
    f: &Facts,
    dims: &[Dim],
    cur: &FxHashMap<Key, Cell>,
    prev: &FxHashMap<Key, Cell>,
    [cur_label, prev_label]: [String; 2],
    fdr: f64,
    min_n: u64,
) -> Result<DataFrame, AnalyticsError> {
    let mut keys: Vec<Key> = cur.keys().chain(prev.keys()).copied().collect();
    keys.sort();
    keys.dedup();
    let empty = Cell::default();
    struct Row {
        key: Key,
        p: (u64, u64),
        c: (u64, u64),
        test: Option<stats::ZTest>,
    }
    let mut rows: Vec<Row> = keys
        .into_iter()
        .map(|key| {
            let a = prev.get(&key).unwrap_or(&empty);
            let b = cur.get(&key).unwrap_or(&empty);
            Row {
                key,
                p: (a.approved, a.decided()),
                c: (b.approved, b.decided()),
                test: stats::z_test(a.approved, a.decided(), b.approved, b.decided()),
            }
        })
        .collect();
    let tested: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].test.is_some())
        .collect();
    let pvals: Vec<f64> = tested.iter().map(|&i| rows[i].test.unwrap().p).collect();
    let qs = stats::benjamini_hochberg(&pvals);
    let mut q: Vec<Option<f64>> = vec![None; rows.len()];
    for (j, &i) in tested.iter().enumerate() {
        q[i] = Some(qs[j]);
    }
    let change = |r: &Row| Some(stats::rate(r.c.0, r.c.1)? - stats::rate(r.p.0, r.p.1)?);
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let rank = |i: usize| -> u8 {
        let sig = q[i].is_some_and(|q| q <= fdr);
        match (sig, change(&rows[i]).unwrap_or(0.0) < 0.0) {
            (true, true) => 0,
            (true, false) => 1,
            _ => 2,
        }
    };
    order.sort_by(|&a, &b| {
        let (ra, rb) = (rank(a), rank(b));
        let ca = change(&rows[a]).unwrap_or(0.0);
        let cb = change(&rows[b]).unwrap_or(0.0);
        ra.cmp(&rb)
            .then_with(|| match ra {
                0 => ca.total_cmp(&cb),
                1 => cb.total_cmp(&ca),
                _ => {
                    let pa = rows[a].test.map(|t| t.p).unwrap_or(f64::INFINITY);
                    let pb = rows[b].test.map(|t| t.p).unwrap_or(f64::INFINITY);
                    pa.total_cmp(&pb)
                }
            })
            .then(rows[a].key.cmp(&rows[b].key))
    });
    let sorted: Vec<Row> = {
        let mut slots: Vec<Option<Row>> = rows.drain(..).map(Some).collect();
        order.iter().map(|&i| slots[i].take().unwrap()).collect()
    };
    let q: Vec<Option<f64>> = order.iter().map(|&i| q[i]).collect();
    let keys: Vec<Key> = sorted.iter().map(|r| r.key).collect();
    let height = sorted.len();
    let direction = sorted
        .iter()
        .zip(&q)
        .map(|(r, q)| {
            let sig = q.is_some_and(|q| q <= fdr);
            Some(
                match (sig, change(r).unwrap_or(0.0) < 0.0) {
                    (true, true) => "drop",
                    (true, false) => "rise",
                    _ => "",
                }
                .to_string(),
            )
            .filter(|s| !s.is_empty())
        })
        .collect();
    TableBuilder::new()
        .dims(f, dims, &keys)
        .str("period", vec![Some(cur_label); height])
        .str("previous_period", vec![Some(prev_label); height])
        .u64("previous_decided", sorted.iter().map(|r| r.p.1).collect())
        .u64("previous_approved", sorted.iter().map(|r| r.p.0).collect())
        .f64(
            "previous_rate",
            sorted.iter().map(|r| stats::rate(r.p.0, r.p.1)).collect(),
        )
        .u64("decided", sorted.iter().map(|r| r.c.1).collect())
        .u64("approved", sorted.iter().map(|r| r.c.0).collect())
        .f64(
            "approval_rate",
            sorted.iter().map(|r| stats::rate(r.c.0, r.c.1)).collect(),
        )
        .f64("change", sorted.iter().map(change).collect())
        .f64("z", sorted.iter().map(|r| r.test.map(|t| t.z)).collect())
        .f64(
            "p_value",
            sorted.iter().map(|r| r.test.map(|t| t.p)).collect(),
        )
        .f64("q_value", q.clone())
        .bool(
            "significant",
            q.iter().map(|q| q.is_some_and(|q| q <= fdr)).collect(),
        )
        .str("direction", direction)
        .bool(
            "low_volume",
            sorted.iter().map(|r| r.p.1.min(r.c.1) < min_n).collect(),
        )
        .finish(height)
}

// ---------------------------------------------------------------------------------------------
// A month report's tables, in one pass.

pub(super) fn empty_changes(f: &Facts, dims: &[Dim]) -> Result<DataFrame, AnalyticsError> {
    TableBuilder::new()
        .dims(f, dims, &[])
        .str("period", vec![])
        .str("previous_period", vec![])
        .u64("previous_decided", vec![])
        .u64("previous_approved", vec![])
        .f64("previous_rate", vec![])
        .u64("decided", vec![])
        .u64("approved", vec![])
        .f64("approval_rate", vec![])
        .f64("change", vec![])
        .f64("z", vec![])
        .f64("p_value", vec![])
        .f64("q_value", vec![])
        .bool("significant", vec![])
        .str("direction", vec![])
        .bool("low_volume", vec![])
        .finish(0)
}
