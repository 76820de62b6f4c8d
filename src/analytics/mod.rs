//! Approval analytics: segmented approval and decline reports with confidence intervals,
//! recovery by reason code, and change detection, exactly as `spec/analytics.md` defines them.
//!
//! [`facts`] builds attempt and order facts from the lake (parallel Parquet reads, one parallel
//! sort to group attempts into orders); this module aggregates them by any combination of
//! [`Dim`]s (parallel fold per chunk, then a merge) and turns the cells into result tables
//! (polars `DataFrame`s, so every output format of `payrecon query` applies). [`stats`] holds
//! the Wilson interval, the z-test and the Benjamini–Hochberg correction.

mod cells;
pub mod facts;
mod month;
pub mod stats;
mod tables;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::lake::LakeError;

pub use cells::{Cell, cells};
pub use month::{MonthTables, month_tables};
pub use tables::{Period, approvals, attempt_days, attempts_between, changes, declines, recovery};

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
    /// The chosen dimensions less the reason code and decline class (tables that are by reason
    /// already).
    pub(crate) fn dims_without_reason(&self) -> Vec<Dim> {
        self.dims
            .iter()
            .copied()
            .filter(|d| !matches!(d, Dim::ReasonCode | Dim::DeclineClass))
            .collect()
    }

    fn in_range(&self, day: i32) -> bool {
        self.from.is_none_or(|f| day >= f) && self.to.is_none_or(|t| day <= t)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::cells::*;
    use super::facts::*;
    use super::month::*;
    use super::tables::*;
    use super::*;
    use crate::model::catalogue::{Catalogue, DeclineClass};
    use crate::model::money::Currency;

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
