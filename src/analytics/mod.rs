//! Approval analytics: segmented approval and decline reports with confidence intervals,
//! recovery by reason code, and change detection, exactly as `spec/analytics.md` defines them.
//!
//! [`facts`] builds attempt and order facts from the lake (parallel Parquet reads, one parallel
//! sort to group attempts into orders); this module aggregates them by any combination of
//! [`Dim`]s (parallel fold per chunk, then a merge) and turns the cells into result tables
//! (polars `DataFrame`s, so every output format of `payrecon query` applies). [`stats`] holds
//! the Wilson interval, the z-test and the Benjamini–Hochberg correction.

pub mod facts;
pub mod stats;

use std::fmt;
use std::path::{Path, PathBuf};

use polars::prelude::{Column, DataFrame, DataType, IntoColumn, NamedFrom, Series};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::lake::LakeError;
use crate::model::catalogue::{Catalogue, DeclineClass};
use crate::model::money::Currency;
use facts::{
    AttemptFact, Facts, NONE, OrderFact, Outcome, iso_week, month, month_label, week_label,
};

/// Errors of the analytics stage.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
    #[error("building the result table: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
}

impl AnalyticsError {
    pub fn corrupt(path: &Path, message: impl Into<String>) -> Self {
        AnalyticsError::Corrupt {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// A segment dimension (`spec/analytics.md`, "Segments").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    Country,
    Device,
    ValueBand,
    Currency,
    ReasonCode,
    DeclineClass,
    Day,
    Week,
    Month,
}

impl Dim {
    pub const ALL: [Dim; 9] = [
        Dim::Country,
        Dim::Device,
        Dim::ValueBand,
        Dim::Currency,
        Dim::ReasonCode,
        Dim::DeclineClass,
        Dim::Day,
        Dim::Week,
        Dim::Month,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dim::Country => "country",
            Dim::Device => "device",
            Dim::ValueBand => "value_band",
            Dim::Currency => "currency",
            Dim::ReasonCode => "reason_code",
            Dim::DeclineClass => "decline_class",
            Dim::Day => "day",
            Dim::Week => "week",
            Dim::Month => "month",
        }
    }

    /// A comma-separated list such as `country,device` (empty text: no dimension).
    pub fn parse_list(text: &str) -> Result<Vec<Dim>, AnalyticsError> {
        let mut dims = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let dim = Dim::ALL
                .into_iter()
                .find(|d| d.name() == part)
                .ok_or_else(|| {
                    AnalyticsError::Usage(format!(
                        "unknown dimension {part:?}{}; choose from {}",
                        crate::suggest::hint(part, Dim::ALL.map(Dim::name)),
                        Dim::ALL.map(Dim::name).join(", ")
                    ))
                })?;
            if dims.contains(&dim) {
                return Err(AnalyticsError::Usage(format!(
                    "dimension {part} given twice"
                )));
            }
            dims.push(dim);
        }
        Ok(dims)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Report options shared by the commands.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub dims: Vec<Dim>,
    /// First local day included (days since the epoch).
    pub from: Option<i32>,
    /// Last local day included.
    pub to: Option<i32>,
    /// Cells with a denominator below this are flagged `low_volume`.
    pub min_n: u64,
}

impl ReportOptions {
    fn in_range(&self, day: i32) -> bool {
        self.from.is_none_or(|f| day >= f) && self.to.is_none_or(|t| day <= t)
    }
}

/// Cell key: one code per chosen dimension (codes sort like the values they stand for).
type Key = [u32; 9];

const CLASSES: [DeclineClass; 5] = [
    DeclineClass::Soft,
    DeclineClass::Hard,
    DeclineClass::BuyerAction,
    DeclineClass::Integration,
    DeclineClass::Unknown,
];

fn currencies_sorted() -> [Currency; 10] {
    let mut c = Currency::ALL;
    c.sort_by_key(|c| c.code());
    c
}

/// Each currency's code (indexed by `Currency as usize`, the order of [`Currency::ALL`]): its
/// place among the currencies sorted by ISO code.
const CURRENCY_CODES: [u32; 10] = [9, 4, 5, 6, 0, 1, 2, 8, 3, 7];

fn currency_code(c: Currency) -> u32 {
    CURRENCY_CODES[c as usize]
}

fn day_code(day: i32) -> u32 {
    (day as i64 + (1i64 << 31)) as u32
}

fn class_code(f: &Facts, reason: u32) -> u32 {
    if reason == NONE {
        return NONE;
    }
    let class = f.reason_classes[reason as usize];
    CLASSES.iter().position(|&c| c == class).unwrap_or(4) as u32
}

/// Dimension code of an attempt.
fn attempt_code(f: &Facts, a: &AttemptFact, d: Dim) -> u32 {
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
fn order_code(f: &Facts, o: &OrderFact, d: Dim) -> u32 {
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

fn key_of(dims: &[Dim], code: impl Fn(Dim) -> u32) -> Key {
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
    fn add_attempt(&mut self, a: &AttemptFact) {
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

    fn note_currency(&mut self, c: Option<Currency>, mixed: bool) {
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

    fn add_order(&mut self, o: &OrderFact) {
        self.orders += 1;
        self.immature += o.immature as u64;
        if o.decided {
            self.decided_orders += 1;
            self.first_approved += o.first_approved as u64;
            self.eventual_approved += o.eventual_approved as u64;
        }
    }

    fn merge(&mut self, other: &Cell) {
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

fn merge_maps(mut a: FxHashMap<Key, Cell>, b: FxHashMap<Key, Cell>) -> FxHashMap<Key, Cell> {
    if a.len() < b.len() {
        return merge_maps(b, a);
    }
    for (k, c) in b {
        a.entry(k).or_default().merge(&c);
    }
    a
}

const CHUNK: usize = 64 * 1024;

/// Aggregates attempts (those `keep` accepts) and orders into cells, in parallel: into a dense
/// array of cells when the chosen dimensions' codes span few enough (every report table), else
/// into hash maps.
fn aggregate(
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
fn fold<T: Sync>(
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
struct Dense {
    /// Per chosen dimension: (lowest code, number of codes).
    ranges: Vec<(u32, u32)>,
    cells: usize,
}

/// The most cells a dense layout may have (a few hundred kilobytes of counters per thread).
const DENSE_CELLS: usize = 4096;

impl Dense {
    fn new(f: &Facts, dims: &[Dim]) -> Option<Dense> {
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
    fn spanning(
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
    fn slot(&self, key: &Key) -> Option<usize> {
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
    fn key(&self, mut i: usize) -> Key {
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
    fn fold<T: Sync>(
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
    fn to_map(&self, cells: Vec<Cell>) -> FxHashMap<Key, Cell> {
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

/// Columns of a result table under construction.
struct TableBuilder {
    columns: Vec<Column>,
}

impl TableBuilder {
    fn new() -> Self {
        TableBuilder {
            columns: Vec::new(),
        }
    }

    /// The dimension columns of `keys`.
    fn dims(mut self, f: &Facts, dims: &[Dim], keys: &[Key]) -> Self {
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

    fn u64(mut self, name: &str, values: Vec<u64>) -> Self {
        self.columns.push(Column::new(name.into(), values));
        self
    }

    fn f64(mut self, name: &str, values: Vec<Option<f64>>) -> Self {
        self.columns.push(Column::new(name.into(), values));
        self
    }

    /// `{rate}_lo` and `{rate}_hi` from Wilson intervals.
    fn interval(self, rate: &str, w: &[Option<(f64, f64)>]) -> Self {
        self.f64(&format!("{rate}_lo"), w.iter().map(|w| lo(*w)).collect())
            .f64(&format!("{rate}_hi"), w.iter().map(|w| hi(*w)).collect())
    }

    fn str(mut self, name: &str, values: Vec<Option<String>>) -> Self {
        self.columns.push(Column::new(name.into(), values));
        self
    }

    fn bool(mut self, name: &str, values: Vec<bool>) -> Self {
        self.columns.push(Column::new(name.into(), values));
        self
    }

    fn finish(self, height: usize) -> Result<DataFrame, AnalyticsError> {
        Ok(DataFrame::new(height, self.columns)?)
    }
}

/// The text of a dimension code.
fn dim_label(f: &Facts, d: Dim, code: u32) -> Option<String> {
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

fn lo(w: Option<(f64, f64)>) -> Option<f64> {
    w.map(|w| w.0)
}

fn hi(w: Option<(f64, f64)>) -> Option<f64> {
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
fn approvals_table(
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
    let dims: Vec<Dim> = opts
        .dims
        .iter()
        .copied()
        .filter(|d| !matches!(d, Dim::ReasonCode | Dim::DeclineClass))
        .collect();
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
fn declines_table(
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
    let dims: Vec<Dim> = opts
        .dims
        .iter()
        .copied()
        .filter(|d| !matches!(d, Dim::ReasonCode | Dim::DeclineClass))
        .collect();
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
struct Rec {
    orders: u64,
    recovered: u64,
    immature: u64,
    attempts: Vec<u32>,
}

impl Rec {
    fn add(&mut self, o: &OrderFact) {
        self.orders += 1;
        self.immature += o.immature as u64;
        if o.eventual_approved {
            self.recovered += 1;
            self.attempts.push(o.attempts_to_recovery);
        }
    }

    fn merge(&mut self, other: Rec) {
        self.orders += other.orders;
        self.recovered += other.recovered;
        self.immature += other.immature;
        self.attempts.extend(other.attempts);
    }
}

/// The table of [`recovery`] from its rows by key (its dimensions, then the reason code).
fn recovery_table(
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
fn changes_table(
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
const APPROVAL_LAYOUTS: [&[Dim]; 7] = [
    &[],
    &[Dim::Country],
    &[Dim::Device],
    &[Dim::Currency],
    &[Dim::Day],
    &[Dim::ValueBand],
    &[Dim::Week],
];
/// The index of `[Dim::Week]` in [`APPROVAL_LAYOUTS`] (the totals of the declines by week).
const WEEK_LAYOUT: usize = 6;
/// The dimensions of [`MonthTables::changes`].
const CHANGE_DIMS: [Dim; 2] = [Dim::Country, Dim::Device];

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
fn month_cells(
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

fn empty_changes(f: &Facts, dims: &[Dim]) -> Result<DataFrame, AnalyticsError> {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::catalogue::DeclineClass;

    /// Facts over 40 days from a small generator: every dimension, declines with and without a
    /// reason, orders of several attempts.
    pub(crate) fn facts() -> Facts {
        let mut seed = 7u64;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let outcomes = [
            Outcome::Approved,
            Outcome::Declined,
            Outcome::Pending,
            Outcome::Canceled,
        ];
        let mut attempts = Vec::new();
        let mut orders = Vec::new();
        for o in 0..3000u32 {
            let day = 20_400 + next(40) as i32;
            let currency = Currency::ALL[next(10) as usize];
            let (country, device, band) = (next(5) as u32, next(3) as u32, next(4) as u32);
            let n = 1 + next(3) as u32;
            let mut reason = NONE;
            for _ in 0..n {
                let outcome = outcomes[next(4) as usize];
                // A declined attempt always has a reason (an empty code is `Declined`).
                let r = match outcome {
                    Outcome::Declined => next(3) as u32,
                    _ => NONE,
                };
                if reason == NONE {
                    reason = r;
                }
                attempts.push(AttemptFact {
                    ts: day as i64 * 86_400_000_000,
                    amount: 100 + next(100_000) as i64,
                    order: o,
                    record: NONE,
                    day: day + next(2) as i32,
                    country,
                    device,
                    band,
                    reason: r,
                    currency,
                    outcome,
                });
            }
            orders.push(OrderFact {
                first_ts: day as i64 * 86_400_000_000,
                first_day: day,
                country,
                device,
                band,
                currency,
                attempts: n,
                decided: next(4) > 0,
                first_approved: next(2) > 0,
                eventual_approved: next(3) > 0,
                first_decline_reason: reason,
                attempts_to_recovery: next(3) as u32,
                immature: next(10) == 0,
            });
        }
        Facts {
            attempts,
            orders,
            countries: ["AT", "DE", "FR", "GB", "US"].map(String::from).to_vec(),
            devices: ["desktop", "mobile", "unknown"].map(String::from).to_vec(),
            bands: ["<50", "50-100", "100-500", ">=500"]
                .map(String::from)
                .to_vec(),
            reasons: ["AmazonRejected", "ProcessingFailure", "SoftDeclined"]
                .map(String::from)
                .to_vec(),
            reason_classes: vec![DeclineClass::Hard, DeclineClass::Soft, DeclineClass::Soft],
            newest_ts: None,
            newest_day: Some(20_440),
        }
    }

    #[test]
    fn currency_codes_follow_the_iso_codes() {
        let sorted = currencies_sorted();
        for c in Currency::ALL {
            assert_eq!(sorted[currency_code(c) as usize], c);
        }
    }

    #[test]
    fn month_tables_equal_the_tables_one_by_one() {
        let f = facts();
        let catalogue = Catalogue::embedded();
        // A month inside the facts, one reaching past them, and one without facts.
        for (from, to, at) in [
            (20_410, 20_430, 20_430),
            (20_425, 20_455, 20_441),
            (20_500, 20_530, 20_530),
        ] {
            let opts = |dims: &[Dim]| ReportOptions {
                dims: dims.to_vec(),
                from: Some(from),
                to: Some(to),
                min_n: 30,
            };
            let t = month_tables(&f, catalogue, (from, to), at, 0.05, 30).unwrap();
            let one_by_one = [
                approvals(&f, &opts(&[])).unwrap(),
                approvals(&f, &opts(&[Dim::Country])).unwrap(),
                approvals(&f, &opts(&[Dim::Device])).unwrap(),
                approvals(&f, &opts(&[Dim::Currency])).unwrap(),
                approvals(&f, &opts(&[Dim::Day])).unwrap(),
                approvals(&f, &opts(&[Dim::ValueBand])).unwrap(),
                approvals(&f, &opts(&[Dim::Week])).unwrap(),
                declines(&f, catalogue, &opts(&[])).unwrap(),
                declines(&f, catalogue, &opts(&[Dim::Week])).unwrap(),
                changes(&f, &CHANGE_DIMS, Period::Week, Some(at), 0.05, 30).unwrap(),
                recovery(&f, &opts(&[Dim::ReasonCode])).unwrap(),
            ];
            for (a, b) in t.frames().into_iter().zip(&one_by_one) {
                assert!(a.equals_missing(b), "{from}..{to}: {a:?} != {b:?}");
                assert_eq!(a.schema(), b.schema());
            }
            assert!(from > 20_450 || t.by_day.height() > 0);
            // Declines by count (most first), then reason code: the order the report shows.
            let by_count = t
                .declines
                .sort(
                    ["declines", "reason_code"],
                    polars::prelude::SortMultipleOptions::default()
                        .with_order_descending_multi([true, false]),
                )
                .unwrap();
            assert!(by_count.equals_missing(&t.declines));
        }
    }

    #[test]
    fn dense_cells_equal_hashed_cells_for_every_layout() {
        let f = facts();
        let mut layouts: Vec<Vec<Dim>> = vec![vec![]];
        layouts.extend(Dim::ALL.map(|d| vec![d]));
        layouts.extend([
            vec![Dim::Country, Dim::Device],
            vec![Dim::ReasonCode, Dim::Day],
            vec![Dim::Week, Dim::DeclineClass, Dim::Currency],
            vec![Dim::Month, Dim::ValueBand, Dim::Country],
        ]);
        for dims in layouts {
            assert!(
                Dense::new(&f, &dims).is_some(),
                "{dims:?} fits a dense layout"
            );
            let keep_a = |a: &AttemptFact| a.day % 7 != 3;
            let keep_o = |o: &OrderFact| o.first_day % 5 != 1;
            let dense = aggregate(&f, &dims, keep_a, keep_o);
            let akey = |a: &AttemptFact| key_of(&dims, |d| attempt_code(&f, a, d));
            let okey = |o: &OrderFact| key_of(&dims, |d| order_code(&f, o, d));
            let hashed = merge_maps(
                fold(&f.attempts, keep_a, akey, Cell::add_attempt),
                fold(&f.orders, keep_o, okey, Cell::add_order),
            );
            assert!(!hashed.is_empty());
            assert_eq!(dense, hashed, "{dims:?}");
        }
        // Too many cells for a dense layout: the hash maps.
        assert!(Dense::new(&f, &Dim::ALL).is_none());
    }
}
