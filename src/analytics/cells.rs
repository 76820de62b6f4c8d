//! Cells: the attempts and orders of the facts aggregated by any combination of [`Dim`]s
//! (a parallel fold per chunk into dense arrays or hash maps, then a merge).

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::facts::{AttemptFact, Facts, NONE, OrderFact, Outcome, iso_week, month};
use crate::model::catalogue::DeclineClass;
use crate::model::money::Currency;

use super::{Dim, ReportOptions};

/// Cell key: one code per chosen dimension (codes sort like the values they stand for).
pub(super) type Key = [u32; 9];

pub(super) const CLASSES: [DeclineClass; 5] = [
    DeclineClass::Soft,
    DeclineClass::Hard,
    DeclineClass::BuyerAction,
    DeclineClass::Integration,
    DeclineClass::Unknown,
];

pub(super) fn currencies_sorted() -> [Currency; 10] {
    let mut c = Currency::ALL;
    c.sort_by_key(|c| c.code());
    c
}

/// Each currency's code (indexed by `Currency as usize`, the order of [`Currency::ALL`]): its
/// place among the currencies sorted by ISO code.
pub(super) const CURRENCY_CODES: [u32; 10] = [9, 4, 5, 6, 0, 1, 2, 8, 3, 7];

pub(super) fn currency_code(c: Currency) -> u32 {
    CURRENCY_CODES[c as usize]
}

pub(super) fn day_code(day: i32) -> u32 {
    (day as i64 + (1i64 << 31)) as u32
}

pub(super) fn class_code(f: &Facts, reason: u32) -> u32 {
    if reason == NONE {
        return NONE;
    }
    let class = f.reason_classes[reason as usize];
    CLASSES.iter().position(|&c| c == class).unwrap_or(4) as u32
}

/// Dimension code of an attempt.
pub(super) fn attempt_code(f: &Facts, a: &AttemptFact, d: Dim) -> u32 {
    match d {
        Dim::Country => a.country,
        Dim::Device => a.device,
        Dim::ValueBand => a.band,
        Dim::Currency => currency_code(a.currency),
        Dim::ReasonCode => a.reason,
        Dim::DeclineClass => class_code(f, a.reason),
        Dim::Day => day_code(a.day),
        Dim::Week => iso_week(a.day),
        Dim::Month => month(a.day),
    }
}

/// Dimension code of an order: its record's segment (its first attempt's when it has none),
/// the first attempt's day, and the reason of its first decided attempt when declined.
pub(super) fn order_code(f: &Facts, o: &OrderFact, d: Dim) -> u32 {
    match d {
        Dim::Country => o.country,
        Dim::Device => o.device,
        Dim::ValueBand => o.band,
        Dim::Currency => currency_code(o.currency),
        Dim::ReasonCode => o.first_decline_reason,
        Dim::DeclineClass => class_code(f, o.first_decline_reason),
        Dim::Day => day_code(o.first_day),
        Dim::Week => iso_week(o.first_day),
        Dim::Month => month(o.first_day),
    }
}

pub(super) fn key_of(dims: &[Dim], code: impl Fn(Dim) -> u32) -> Key {
    let mut k = [0u32; 9];
    for (i, d) in dims.iter().enumerate() {
        k[i] = code(*d);
    }
    k
}

/// Counters of one cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cell {
    pub attempts: u64,
    pub approved: u64,
    pub declined: u64,
    pub pending: u64,
    pub canceled: u64,
    /// Σ charge amounts (lake units) of approved / decided attempts.
    pub amount_approved: i128,
    pub amount_decided: i128,
    /// The one currency of the decided attempts, unless `mixed`.
    pub currency: Option<Currency>,
    pub mixed: bool,
    pub orders: u64,
    pub decided_orders: u64,
    pub first_approved: u64,
    pub eventual_approved: u64,
    pub immature: u64,
}

impl Cell {
    pub(super) fn add_attempt(&mut self, a: &AttemptFact) {
        self.attempts += 1;
        match a.outcome {
            Outcome::Approved => self.approved += 1,
            Outcome::Declined => self.declined += 1,
            Outcome::Pending => self.pending += 1,
            Outcome::Canceled => self.canceled += 1,
        }
        if a.outcome.is_decided() {
            self.amount_decided += a.amount as i128;
            if a.outcome == Outcome::Approved {
                self.amount_approved += a.amount as i128;
            }
            self.note_currency(Some(a.currency), false);
        }
    }

    pub(super) fn note_currency(&mut self, c: Option<Currency>, mixed: bool) {
        if mixed {
            self.mixed = true;
        }
        match (self.currency, c) {
            (_, None) => {}
            (None, Some(c)) => self.currency = Some(c),
            (Some(x), Some(c)) if x != c => self.mixed = true,
            _ => {}
        }
    }

    pub(super) fn add_order(&mut self, o: &OrderFact) {
        self.orders += 1;
        self.immature += o.immature as u64;
        if o.decided {
            self.decided_orders += 1;
            self.first_approved += o.first_approved as u64;
            self.eventual_approved += o.eventual_approved as u64;
        }
    }

    pub(super) fn merge(&mut self, other: &Cell) {
        self.attempts += other.attempts;
        self.approved += other.approved;
        self.declined += other.declined;
        self.pending += other.pending;
        self.canceled += other.canceled;
        self.amount_approved += other.amount_approved;
        self.amount_decided += other.amount_decided;
        self.note_currency(other.currency, other.mixed);
        self.orders += other.orders;
        self.decided_orders += other.decided_orders;
        self.first_approved += other.first_approved;
        self.eventual_approved += other.eventual_approved;
        self.immature += other.immature;
    }

    pub fn decided(&self) -> u64 {
        self.approved + self.declined
    }

    /// Σ approved amount / Σ decided amount, for a single-currency cell.
    pub fn amount_approval_rate(&self) -> Option<f64> {
        (!self.mixed && self.amount_decided != 0)
            .then(|| self.amount_approved as f64 / self.amount_decided as f64)
    }
}

pub(super) fn merge_maps(
    mut a: FxHashMap<Key, Cell>,
    b: FxHashMap<Key, Cell>,
) -> FxHashMap<Key, Cell> {
    if a.len() < b.len() {
        return merge_maps(b, a);
    }
    for (k, c) in b {
        a.entry(k).or_default().merge(&c);
    }
    a
}

pub(super) const CHUNK: usize = 64 * 1024;

/// Aggregates attempts (those `keep` accepts) and orders into cells, in parallel: into a dense
/// array of cells when the chosen dimensions' codes span few enough (every report table), else
/// into hash maps.
pub(super) fn aggregate(
    f: &Facts,
    dims: &[Dim],
    keep_attempt: impl Fn(&AttemptFact) -> bool + Sync,
    keep_order: impl Fn(&OrderFact) -> bool + Sync,
) -> FxHashMap<Key, Cell> {
    let attempt_key = |a: &AttemptFact| key_of(dims, |d| attempt_code(f, a, d));
    let order_key = |o: &OrderFact| key_of(dims, |d| order_code(f, o, d));
    if let Some(dense) = Dense::new(f, dims) {
        let cells = rayon::join(
            || dense.fold(&f.attempts, &keep_attempt, &attempt_key, Cell::add_attempt),
            || dense.fold(&f.orders, &keep_order, &order_key, Cell::add_order),
        );
        if let (Some(mut a), Some(b)) = cells {
            for (x, y) in a.iter_mut().zip(&b) {
                x.merge(y);
            }
            return dense.to_map(a);
        }
    }
    let attempts = fold(&f.attempts, keep_attempt, attempt_key, Cell::add_attempt);
    let orders = fold(&f.orders, keep_order, order_key, Cell::add_order);
    merge_maps(attempts, orders)
}

/// Folds `items` (those `keep` accepts) into cells by `key`, in parallel chunks.
pub(super) fn fold<T: Sync>(
    items: &[T],
    keep: impl Fn(&T) -> bool + Sync,
    key: impl Fn(&T) -> Key + Sync,
    add: impl Fn(&mut Cell, &T) + Sync,
) -> FxHashMap<Key, Cell> {
    items
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut m: FxHashMap<Key, Cell> = FxHashMap::default();
            for x in chunk.iter().filter(|x| keep(x)) {
                add(m.entry(key(x)).or_default(), x);
            }
            m
        })
        .reduce(FxHashMap::default, merge_maps)
}

/// A dense layout of cells: each chosen dimension's codes `lo..lo + n`, plus one slot for
/// [`NONE`], in mixed radix (the first dimension varies slowest).
pub(super) struct Dense {
    /// Per chosen dimension: (lowest code, number of codes).
    ranges: Vec<(u32, u32)>,
    pub(super) cells: usize,
}

/// The most cells a dense layout may have (a few hundred kilobytes of counters per thread).
pub(super) const DENSE_CELLS: usize = 4096;

impl Dense {
    pub(super) fn new(f: &Facts, dims: &[Dim]) -> Option<Dense> {
        // The days of the facts (the codes of days, weeks and months grow with the day).
        Dense::spanning(f, dims, || {
            let span = |x: (i32, i32), y: (i32, i32)| (x.0.min(y.0), x.1.max(y.1));
            let (a, o) = rayon::join(
                || {
                    f.attempts
                        .par_iter()
                        .map(|a| (a.day, a.day))
                        .reduce_with(span)
                },
                || {
                    f.orders
                        .par_iter()
                        .map(|o| (o.first_day, o.first_day))
                        .reduce_with(span)
                },
            );
            a.into_iter().chain(o).reduce(span)
        })
    }

    /// [`Dense::new`] for facts whose days lie in the span `days` gives (asked only for a
    /// layout by day, week or month).
    pub(super) fn spanning(
        f: &Facts,
        dims: &[Dim],
        days: impl FnOnce() -> Option<(i32, i32)>,
    ) -> Option<Dense> {
        let mut days = Some(days);
        let mut span: Option<Option<(i32, i32)>> = None;
        let mut ranges = Vec::with_capacity(dims.len());
        let mut cells = 1usize;
        for &d in dims {
            let len = |n: usize| u32::try_from(n).ok();
            let (lo, n) = match d {
                Dim::Country => (0, len(f.countries.len())?),
                Dim::Device => (0, len(f.devices.len())?),
                Dim::ValueBand => (0, len(f.bands.len())?),
                Dim::Currency => (0, len(Currency::ALL.len())?),
                Dim::ReasonCode => (0, len(f.reasons.len())?),
                Dim::DeclineClass => (0, len(CLASSES.len())?),
                Dim::Day | Dim::Week | Dim::Month => {
                    let (lo, hi) = (*span.get_or_insert_with(|| days.take().and_then(|d| d())))?;
                    let code = |day: i32| match d {
                        Dim::Day => day_code(day),
                        Dim::Week => iso_week(day),
                        _ => month(day),
                    };
                    (code(lo), code(hi).checked_sub(code(lo))?.checked_add(1)?)
                }
            };
            cells = cells.checked_mul(n as usize + 1)?;
            if cells > DENSE_CELLS {
                return None;
            }
            ranges.push((lo, n));
        }
        Some(Dense { ranges, cells })
    }

    /// The slot of `key`, or `None` when a code lies outside its range.
    pub(super) fn slot(&self, key: &Key) -> Option<usize> {
        let mut i = 0usize;
        for (&code, &(lo, n)) in key.iter().zip(&self.ranges) {
            let d = if code == NONE {
                n
            } else {
                let d = code.checked_sub(lo)?;
                if d >= n {
                    return None;
                }
                d
            };
            i = i * (n as usize + 1) + d as usize;
        }
        Some(i)
    }

    /// The key of slot `i`.
    pub(super) fn key(&self, mut i: usize) -> Key {
        let mut k = [0u32; 9];
        for (j, &(lo, n)) in self.ranges.iter().enumerate().rev() {
            let radix = n as usize + 1;
            let d = (i % radix) as u32;
            i /= radix;
            k[j] = if d == n { NONE } else { lo + d };
        }
        k
    }

    /// [`fold`] into the dense cells: one array per part (a few parts per thread), merged;
    /// `None` when some key falls outside the layout.
    pub(super) fn fold<T: Sync>(
        &self,
        items: &[T],
        keep: &(impl Fn(&T) -> bool + Sync),
        key: &(impl Fn(&T) -> Key + Sync),
        add: impl Fn(&mut Cell, &T) + Sync,
    ) -> Option<Vec<Cell>> {
        let part = items
            .len()
            .div_ceil(2 * rayon::current_num_threads())
            .max(CHUNK);
        items
            .par_chunks(part)
            .map(|chunk| {
                let mut cells = vec![Cell::default(); self.cells];
                for x in chunk.iter().filter(|x| keep(x)) {
                    add(&mut cells[self.slot(&key(x))?], x);
                }
                Some(cells)
            })
            .try_reduce(
                || vec![Cell::default(); self.cells],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(&b) {
                        x.merge(y);
                    }
                    Some(a)
                },
            )
    }

    /// The cells that something was added to, by key.
    pub(super) fn to_map(&self, cells: Vec<Cell>) -> FxHashMap<Key, Cell> {
        cells
            .into_iter()
            .enumerate()
            .filter(|(_, c)| c.attempts > 0 || c.orders > 0)
            .map(|(i, c)| (self.key(i), c))
            .collect()
    }
}

/// The cells of `--by DIMS` over the chosen days, sorted by key.
pub fn cells(f: &Facts, opts: &ReportOptions) -> Vec<(Key, Cell)> {
    let map = aggregate(
        f,
        &opts.dims,
        |a| opts.in_range(a.day),
        |o| opts.in_range(o.first_day),
    );
    let mut v: Vec<(Key, Cell)> = map.into_iter().collect();
    v.sort_by_key(|c| c.0);
    v
}

// ---------------------------------------------------------------------------------------------
// Result tables.
