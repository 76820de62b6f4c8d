//! Realistic synthetic data in all five input formats, deterministic for a seed.
//!
//! Each order's whole story is simulated when it is created (payment attempts with approval odds
//! that depend on country, device and order value; declines with catalogue-weighted reason
//! codes; retries that sometimes recover; captures, refunds, chargebacks; settlement postings),
//! and its events are buffered by the day they surface. A day's files are written as soon as no
//! later order can add to them, so memory holds a few days of activity, not the month.
//!
//! Files, one set per day: `orders-DAY.csv` (OMS export), `charges-DAY.csv|jsonl` (state changes
//! of that day; odd days as JSON Lines), `refunds-DAY.csv|jsonl`, one Amazon Pay settlement
//! report per currency and day, and `bank-DAY.csv` (payouts a few days later among unrelated
//! lines). `--messy` adds BOMs, CRLF, grouping commas, extra columns, varied timestamp forms, a
//! settlement report downloaded twice and a few malformed rows of every kind.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

pub mod bank;
mod simulate;
mod world;
mod write;

use world::*;

pub use bank::BankFormat;

use crate::model::money::{format_minor, group_thousands};
use crate::model::{Catalogue, Currency, DeclineClass};

/// Errors of the generate stage.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("--month {0:?} is not YYYY-MM")]
    Month(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> GenerateError + '_ {
    move |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub orders: u64,
    pub seed: u64,
    /// `YYYY-MM`: the first month orders are placed in.
    pub month: String,
    /// How many months, from `month` on, orders are spread over (at least 1).
    pub months: u32,
    pub out: PathBuf,
    pub messy: bool,
    pub store: String,
    /// The format of the bank statement files.
    pub bank_format: BankFormat,
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct GenerateSummary {
    pub orders: u64,
    pub attempts: u64,
    pub charge_rows: u64,
    pub refund_rows: u64,
    pub settlement_lines: u64,
    pub settlements: u64,
    pub deposit_rows: u64,
    pub malformed_rows: u64,
    pub files: u64,
    pub bytes: u64,
}

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
/// Days of activity simulated after the month's last order.
const TAIL_DAYS: i64 = 6;

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T], weight: impl Fn(&T) -> f64) -> &'a T {
    let total: f64 = items.iter().map(&weight).sum();
    let mut x = rng.random::<f64>() * total;
    for it in items {
        x -= weight(it);
        if x < 0.0 {
            return it;
        }
    }
    items.last().expect("non-empty")
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn day_of(t: i64) -> i64 {
    t.div_euclid(DAY)
}

#[derive(Debug, Clone)]
struct OrderRow {
    id: String,
    created: i64,
    country: &'static str,
    device: &'static str,
    currency: Currency,
    total: i64,
    status: &'static str,
    permission: Option<String>,
}

#[derive(Debug, Clone)]
struct ChargeRow {
    id: String,
    permission: String,
    merchant_ref: Option<String>,
    created: i64,
    updated: i64,
    state: &'static str,
    reason: Option<&'static str>,
    amount: i64,
    capture: Option<i64>,
    refunded: Option<i64>,
    currency: Currency,
    seller_ref: String,
}

#[derive(Debug, Clone)]
struct RefundRow {
    id: String,
    charge_id: String,
    created: i64,
    updated: i64,
    state: &'static str,
    reason: Option<&'static str>,
    amount: i64,
    currency: Currency,
}

#[derive(Debug, Clone)]
struct Line {
    posted: i64,
    txn_id: Option<String>,
    seller_ref: Option<String>,
    ttype: &'static str,
    order_ref: Option<String>,
    seller_order: Option<String>,
    description: &'static str,
    amount: i64,
    pct_fee: i64,
    fixed_fee: i64,
}

#[derive(Debug, Clone)]
struct Deposit {
    id: String,
    day: i64,
    amount: i64,
    currency: Currency,
    reference: String,
}

#[derive(Default)]
struct DayBuf {
    orders: Vec<OrderRow>,
    charges: Vec<ChargeRow>,
    refunds: Vec<RefundRow>,
    lines: BTreeMap<Currency, Vec<Line>>,
    deposits: Vec<Deposit>,
}

struct Gen {
    opts: GenerateOptions,
    rng: ChaCha8Rng,
    bufs: BTreeMap<i64, DayBuf>,
    summary: GenerateSummary,
    seller_id: String,
    settlement_seq: u64,
    bank_seq: u64,
    /// Each currency account's balance after the last statement written.
    bank_balances: BTreeMap<Currency, i64>,
    twice_done: bool,
    declines: Vec<(&'static str, f64, f64)>,
}

/// Generates the data set.
pub fn generate(opts: &GenerateOptions) -> Result<GenerateSummary, GenerateError> {
    let (year, month) = opts
        .month
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
        .ok_or_else(|| GenerateError::Month(opts.month.clone()))?;
    let first = NaiveDate::from_ymd_opt(year, month, 1)
        .ok_or_else(|| GenerateError::Month(opts.month.clone()))?;
    let next = first
        .checked_add_months(chrono::Months::new(opts.months.max(1)))
        .ok_or_else(|| GenerateError::Month(opts.month.clone()))?;
    let day0 = first
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp()
        / DAY;
    let ndays = (next - first).num_days();
    fs::create_dir_all(&opts.out).map_err(io_err(&opts.out))?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let seller_id = format!("A{:015X}", rng.random::<u64>() >> 4)
        .chars()
        .take(14)
        .collect::<String>();
    let mut g = Gen {
        opts: opts.clone(),
        rng,
        bufs: BTreeMap::new(),
        summary: GenerateSummary::default(),
        seller_id,
        settlement_seq: 5_044_000_000 + (opts.seed % 997) * 1000,
        bank_seq: 0,
        bank_balances: BTreeMap::new(),
        twice_done: false,
        declines: decline_reasons(),
    };
    // Orders per day: weekends busier, a slow ramp through the month.
    let weights: Vec<f64> = (0..ndays)
        .map(|d| {
            let date = first + chrono::Days::new(d as u64);
            let wd = date.weekday().num_days_from_monday();
            (if wd >= 5 { 1.25 } else { 1.0 }) * (0.95 + 0.1 * d as f64 / ndays as f64)
        })
        .collect();
    let wsum: f64 = weights.iter().sum();
    let mut assigned = 0u64;
    let mut order_idx = 0u64;
    for d in 0..ndays {
        let n = if d == ndays - 1 {
            opts.orders - assigned
        } else {
            ((opts.orders as f64) * weights[d as usize] / wsum).round() as u64
        }
        .min(opts.orders - assigned);
        assigned += n;
        let day = day0 + d;
        let mut times: Vec<i64> = (0..n)
            .map(|_| day * DAY + g.rng.random_range(0..DAY))
            .collect();
        times.sort_unstable();
        for t in times {
            g.simulate_order(order_idx, t);
            order_idx += 1;
        }
        g.flush_day(day)?;
    }
    for day in day0 + ndays..day0 + ndays + TAIL_DAYS {
        g.flush_day(day)?;
    }
    g.summary.orders = order_idx;
    Ok(g.summary)
}

impl Gen {
    fn buf(&mut self, day: i64) -> &mut DayBuf {
        self.bufs.entry(day).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decline_reasons_follow_the_catalogue() {
        let reasons = decline_reasons();
        let codes: Vec<&str> = reasons.iter().map(|r| r.0).collect();
        for c in [
            "SoftDeclined",
            "HardDeclined",
            "AmazonRejected",
            "ProcessingFailure",
            "TransactionTimedOut",
            "PaymentMethodExpired",
            "MFANotCompleted",
        ] {
            assert!(codes.contains(&c), "{c} missing from {codes:?}");
        }
        assert!(!codes.contains(&"StopShipmentAtypicalAuth"));
        let top = reasons.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        assert_eq!(top.0, "SoftDeclined");
    }
}
