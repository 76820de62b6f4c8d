//! Reconciliation: every order, charge, refund, settlement line, settlement and bank deposit gets
//! exactly one status per layer of `spec/reconciliation.md`'s chain
//!
//! ```text
//! orders ─(1)─ captured charges / refunds ─(2)─ settlement lines ─(3)─ payout ─(4)─ bank deposit
//! ```
//!
//! One file per layer: [`orders`] (1), [`settlement_lines`] (2), [`payouts`] (3), [`deposits`]
//! (4). A layer that joins rows declares the fields it joins on beside its rule ([`links`]);
//! [`components`] keys rows by those declarations for incremental runs. Matching uses hash
//! indexes (built in parallel); the reference fallback of layer 2 looks only at the lines with
//! the same currency, amount and reference, inside the date window, so no step is quadratic.
//! Every amount is an integer in lake units (hundredths of the major unit). [`close`] builds
//! the month-close pack from the results.

pub mod close;
pub mod components;
mod deposits;

pub mod incremental;
mod links;
pub mod load;
mod orders;
pub mod partitioned;
mod payouts;
pub mod results;
mod rows;
mod settlement_lines;

use std::path::PathBuf;

use crate::lake::LakeError;
use load::{Inputs, Line};

pub use deposits::normalise_reference;
pub use rows::{Counterparts, ItemType, ResultRow, Severity, Status, age_bucket, layer_name};
pub(crate) use rows::{merge_rows, row_order, sort_rows};

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

pub(crate) const DAY_US: i64 = 86_400_000_000;

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

/// Each step's time, logged at debug level.
struct Laps(std::time::Instant);

impl Laps {
    fn start() -> Self {
        Laps(std::time::Instant::now())
    }

    fn lap(&mut self, what: &str, rows: usize) {
        tracing::debug!(
            elapsed_ms = self.0.elapsed().as_millis() as u64,
            rows,
            "reconcile: {what}"
        );
        self.0 = std::time::Instant::now();
    }
}

/// Runs the four layers.
pub fn reconcile(inputs: &Inputs, options: &Options) -> Reconciliation {
    let cutoff = options
        .cutoff
        .unwrap_or_else(|| newest_timestamp(inputs).min(options.latest));
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

    item_rows(inputs, options, cutoff, &mut rows);
    let mut laps = Laps::start();
    settlement_wide(
        &inputs.lines,
        &inputs.settlements,
        &inputs.deposits,
        options,
        cutoff,
        &mut rows,
    );
    laps.lap("layer 4", rows.len());
    sort_rows(&mut rows);
    laps.lap("sorted", rows.len());
    Reconciliation { cutoff, rows }
}

/// The rows of layers 1 and 2 and layer 3's line checks: everything that never looks outside
/// an item's component ([`components`]), so a part of the lake made of whole components gets
/// the rows the whole lake would give its items.
pub(crate) fn item_rows(
    inputs: &Inputs,
    options: &Options,
    cutoff: i64,
    rows: &mut Vec<ResultRow>,
) {
    let eq = |a: i64, b: i64| (a - b).abs() <= options.tolerance;
    let mut laps = Laps::start();
    let (index, txn) = rayon::join(
        || orders::Index::build(inputs),
        || settlement_lines::txn_index(inputs),
    );
    let charge_order = orders::reconcile(inputs, &index, eq, rows);
    laps.lap("layer 1", rows.len());
    settlement_lines::reconcile(inputs, options, cutoff, txn, &index, &charge_order, rows);
    laps.lap("layer 2", rows.len());
    payouts::line_rows(&inputs.lines, rows);
    laps.lap("layer 3", rows.len());
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
    let mut sums = payouts::SettlementSums::default();
    sums.add(lines);
    settlement_wide_of(&sums, lines, settlements, deposits, options, cutoff, rows);
}

/// [`settlement_wide`] from the lines summed per settlement and (at least) every `Transfer`
/// line, in lake order: what a reconciliation in parts keeps of the lines.
pub(crate) fn settlement_wide_of(
    sums: &payouts::SettlementSums,
    transfers: &[Line],
    settlements: &[load::Settlement],
    deposits: &[load::Deposit],
    options: &Options,
    cutoff: i64,
    rows: &mut Vec<ResultRow>,
) {
    let ends = payouts::balance_rows(sums, settlements, options, rows);
    deposits::reconcile(transfers, deposits, options, cutoff, &ends, rows);
}
