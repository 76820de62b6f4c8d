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

struct CountryDef {
    code: &'static str,
    weight: f64,
    currency: Currency,
    logit: f64,
}

const COUNTRIES: &[CountryDef] = &[
    CountryDef {
        code: "US",
        weight: 34.0,
        currency: Currency::USD,
        logit: 0.0,
    },
    CountryDef {
        code: "DE",
        weight: 15.0,
        currency: Currency::EUR,
        logit: 0.35,
    },
    CountryDef {
        code: "GB",
        weight: 12.0,
        currency: Currency::GBP,
        logit: 0.1,
    },
    CountryDef {
        code: "JP",
        weight: 8.0,
        currency: Currency::JPY,
        logit: 0.45,
    },
    CountryDef {
        code: "FR",
        weight: 6.0,
        currency: Currency::EUR,
        logit: -0.25,
    },
    CountryDef {
        code: "IT",
        weight: 5.0,
        currency: Currency::EUR,
        logit: -0.55,
    },
    CountryDef {
        code: "ES",
        weight: 5.0,
        currency: Currency::EUR,
        logit: -0.4,
    },
    CountryDef {
        code: "CA",
        weight: 4.0,
        currency: Currency::CAD,
        logit: 0.05,
    },
    CountryDef {
        code: "AU",
        weight: 3.0,
        currency: Currency::AUD,
        logit: -0.1,
    },
    CountryDef {
        code: "AT",
        weight: 2.0,
        currency: Currency::EUR,
        logit: 0.2,
    },
    CountryDef {
        code: "NL",
        weight: 2.0,
        currency: Currency::EUR,
        logit: 0.25,
    },
    CountryDef {
        code: "CH",
        weight: 1.5,
        currency: Currency::CHF,
        logit: 0.3,
    },
    CountryDef {
        code: "SE",
        weight: 1.0,
        currency: Currency::SEK,
        logit: 0.1,
    },
    CountryDef {
        code: "DK",
        weight: 0.75,
        currency: Currency::DKK,
        logit: 0.1,
    },
    CountryDef {
        code: "NO",
        weight: 0.75,
        currency: Currency::NOK,
        logit: 0.0,
    },
];

const DEVICES: &[(&str, f64, f64)] = &[
    ("desktop", 40.0, 0.25),
    ("mobile_web", 30.0, -0.45),
    ("ios_app", 12.0, 0.3),
    ("android_app", 12.0, -0.2),
    ("tablet", 6.0, 0.0),
];

/// Major-unit edges of the default value bands and the approval logit of each band.
const BAND_LOGIT: [(f64, f64); 6] = [
    (0.0, 0.35),
    (25.0, 0.2),
    (50.0, 0.0),
    (100.0, -0.3),
    (250.0, -0.75),
    (500.0, -1.3),
];

/// Per currency: units per USD (for order values and band placement), fee rate, fixed fee.
fn currency_params(c: Currency) -> (f64, f64, i64) {
    match c {
        Currency::USD => (1.0, 0.029, 30),
        Currency::EUR => (0.92, 0.019, 35),
        Currency::GBP => (0.79, 0.019, 20),
        Currency::JPY => (150.0, 0.039, 40),
        Currency::CAD => (1.36, 0.029, 30),
        Currency::AUD => (1.52, 0.029, 30),
        Currency::CHF => (0.88, 0.029, 30),
        Currency::SEK => (10.6, 0.029, 300),
        Currency::DKK => (6.9, 0.029, 250),
        Currency::NOK => (10.8, 0.029, 300),
    }
}

/// Decline reasons of a Charge, with weights and retry chances drawn from the catalogue: every
/// catalogue code whose level includes `Decline` (except checkout-session and shipment codes),
/// plus `ProcessingFailure`; weight by the catalogue's frequency (Common 10, Occasional 3,
/// Rare 1), soft declines boosted to be the most common; the buyer retries by decline class.
fn decline_reasons() -> Vec<(&'static str, f64, f64)> {
    const NOT_CHARGE_DECLINES: [&str; 5] = [
        "Canceled",
        "NonChargeable",
        "RefundDeclined",
        "StopShipmentAtypicalAuth",
        "CheckoutSessionCanceled",
    ];
    let cat = Catalogue::embedded();
    cat.entries()
        .iter()
        .filter(|e| {
            (e.level.contains("Decline") && !NOT_CHARGE_DECLINES.contains(&e.code.as_str()))
                || e.code == "ProcessingFailure"
        })
        .map(|e| {
            let weight = match e.frequency.as_str() {
                "Common" => 10.0,
                "Occasional" => 3.0,
                _ => 1.0,
            } * if e.code == "SoftDeclined" { 4.0 } else { 1.0 };
            let retry = match cat.decline_class(Some(&e.code)) {
                DeclineClass::Soft => 0.75,
                DeclineClass::BuyerAction => 0.55,
                DeclineClass::Hard => 0.25,
                DeclineClass::Integration | DeclineClass::Unknown => 0.2,
            };
            (e.code.as_str(), weight, retry)
        })
        .collect()
}

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

    fn simulate_order(&mut self, idx: u64, created: i64) {
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.opts.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ idx.wrapping_mul(0xD1B5_4A32_D192_ED03),
        );
        let country = pick(&mut rng, COUNTRIES, |c| c.weight);
        let device = pick(&mut rng, DEVICES, |d| d.1);
        let currency = country.currency;
        let (per_usd, fee_rate, fixed_fee) = currency_params(currency);
        let exp = 10f64.powi(currency.exponent() as i32);
        let usd: f64 = LogNormal::new(4.0, 0.85).expect("valid").sample(&mut rng);
        let usd = usd.clamp(1.0, 5000.0);
        let total = ((usd * per_usd * exp).round() as i64).max(exp as i64);
        let major_usd = usd;
        let band_logit = BAND_LOGIT
            .iter()
            .rev()
            .find(|(edge, _)| major_usd >= *edge)
            .map(|b| b.1)
            .unwrap_or(0.0);
        let order_id = format!("ORD-{:08}", idx + 1);
        let permission = format!(
            "P01-{:07}-{:07}",
            1_000_000 + idx % 9_000_000,
            rng.random_range(0..10_000_000u64)
        );
        let no_merchant_ref = rng.random_bool(0.03);
        let oms_has_permission = no_merchant_ref || rng.random_bool(0.7);
        let base = 2.1 + country.logit + device.2 + band_logit;

        let mut t = created + rng.random_range(20..600);
        let mut attempts = 0u32;
        let mut approved_charge: Option<(String, i64)> = None; // (id, auth time)
        let mut first_reason: Option<(&'static str, f64)> = None;
        while attempts < 4 {
            attempts += 1;
            self.summary.attempts += 1;
            let charge_id = format!("{permission}-C{:06}", rng.random_range(0..1_000_000u32));
            let seller_ref = format!("{order_id}-{attempts}");
            let bonus = match first_reason {
                Some((_, _)) if attempts > 1 => 0.3,
                _ => 0.0,
            };
            let approved = rng.random_bool(logistic(base + bonus));
            let mut states: Vec<(i64, &'static str, Option<&'static str>, Option<i64>)> =
                Vec::new();
            let mut decided = t;
            if rng.random_bool(0.03) {
                states.push((t, "AuthorizationInitiated", None, None));
                decided = t + rng.random_range(HOUR / 2..20 * HOUR);
            }
            if approved {
                states.push((decided, "Authorized", None, None));
                approved_charge = Some((charge_id.clone(), decided));
                let ch = ChargeCtx {
                    charge_id: charge_id.clone(),
                    permission: permission.clone(),
                    merchant_ref: (!no_merchant_ref).then(|| order_id.clone()),
                    created: t,
                    amount: total,
                    currency,
                    seller_ref,
                    order_id: order_id.clone(),
                };
                self.approved_path(
                    &mut rng,
                    ch,
                    states,
                    decided,
                    fee_rate,
                    fixed_fee,
                    country.code,
                    device.0,
                    oms_has_permission,
                    created,
                );
                break;
            }
            let (code, _, retry_p) = *pick(&mut rng, &self.declines, |d| d.1);
            // Messy exports: a decline without a reason code, or with one the catalogue lacks.
            let reason = match (self.opts.messy, rng.random::<f64>()) {
                (true, x) if x < 0.02 => None,
                (true, x) if x < 0.03 => Some("IssuerUnavailable"),
                _ => Some(code),
            };
            states.push((decided, "Declined", reason, None));
            self.emit_charge_versions(
                &ChargeCtx {
                    charge_id,
                    permission: permission.clone(),
                    merchant_ref: (!no_merchant_ref).then(|| order_id.clone()),
                    created: t,
                    amount: total,
                    currency,
                    seller_ref,
                    order_id: order_id.clone(),
                },
                &states,
                &[],
            );
            if first_reason.is_none() {
                first_reason = Some((code, retry_p));
            }
            if !rng.random_bool(retry_p * if attempts > 1 { 0.6 } else { 1.0 }) {
                break;
            }
            t = decided
                + if rng.random_bool(0.6) {
                    rng.random_range(60..1800)
                } else {
                    rng.random_range(HOUR..36 * HOUR)
                };
        }
        if approved_charge.is_none() {
            // Never paid: the OMS cancels the order.
            let order = OrderRow {
                id: order_id,
                created,
                country: country.code,
                device: device.0,
                currency,
                total,
                status: "cancelled",
                permission: oms_has_permission.then_some(permission),
            };
            self.buf(day_of(created)).orders.push(order);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn approved_path(
        &mut self,
        rng: &mut ChaCha8Rng,
        ch: ChargeCtx,
        mut states: Vec<(i64, &'static str, Option<&'static str>, Option<i64>)>,
        auth: i64,
        fee_rate: f64,
        fixed_fee: i64,
        country: &'static str,
        device: &'static str,
        oms_has_permission: bool,
        created: i64,
    ) {
        let mut order = OrderRow {
            id: ch.order_id.clone(),
            created,
            country,
            device,
            currency: ch.currency,
            total: ch.amount,
            status: "placed",
            permission: oms_has_permission.then(|| ch.permission.clone()),
        };
        let roll: f64 = rng.random();
        let mut refund_events: Vec<(i64, i64)> = Vec::new(); // (refund completion time, refunded total)
        if roll < 0.015 {
            // The merchant cancels before shipping.
            let t = auth + rng.random_range(HOUR..48 * HOUR);
            states.push((t, "Canceled", Some("MerchantCanceled"), None));
            self.buf(day_of(created)).orders.push(order.clone());
            order.status = "cancelled";
            self.buf(day_of(t)).orders.push(order);
        } else if roll < 0.02 {
            // Authorized, never captured: expires after 30 days.
            let t = auth + 30 * DAY;
            states.push((t, "Canceled", Some("ExpiredUnused"), None));
            self.buf(day_of(created)).orders.push(order);
        } else {
            let capture_at = if rng.random_bool(0.4) {
                auth + rng.random_range(1..30)
            } else if rng.random_bool(0.01) {
                // Captured more than 7 days after authorization: asynchronous.
                let init = auth + 8 * DAY + rng.random_range(0..DAY);
                states.push((init, "CaptureInitiated", None, None));
                init + rng.random_range(HOUR..6 * HOUR)
            } else {
                auth + rng.random_range(HOUR..60 * HOUR)
            };
            states.push((capture_at, "Captured", None, Some(ch.amount)));
            self.buf(day_of(created)).orders.push(order.clone());
            order.status = "shipped";
            self.buf(day_of(capture_at)).orders.push(order.clone());
            let posted = capture_at + rng.random_range(2 * HOUR..30 * HOUR);
            let pct = -((ch.amount as f64 * fee_rate).round() as i64);
            self.push_line(
                day_of(posted),
                ch.currency,
                Line {
                    posted,
                    txn_id: Some(ch.charge_id.clone()),
                    seller_ref: Some(ch.seller_ref.clone()),
                    ttype: "Capture",
                    order_ref: Some(ch.permission.clone()),
                    seller_order: Some(ch.order_id.clone()),
                    description: "",
                    amount: ch.amount,
                    pct_fee: pct,
                    fixed_fee: -fixed_fee,
                },
            );
            // Returns: a refund request, completed (or declined) some hours later.
            if rng.random_bool(0.06) {
                let requested = capture_at + rng.random_range(2 * DAY..15 * DAY);
                let full = rng.random_bool(0.7);
                let amount = if full {
                    ch.amount
                } else {
                    (ch.amount as f64 * rng.random_range(0.2..0.8))
                        .round()
                        .max(1.0) as i64
                };
                let refund_id = format!(
                    "{}-R{:06}",
                    ch.permission,
                    rng.random_range(0..1_000_000u32)
                );
                let done = requested + rng.random_range(HOUR..24 * HOUR);
                let declined = rng.random_bool(0.02);
                let mut versions = vec![(requested, "RefundInitiated", None)];
                versions.push((
                    done,
                    if declined { "Declined" } else { "Refunded" },
                    if declined {
                        Some("ProcessingFailure")
                    } else {
                        None
                    },
                ));
                let mut last_day = None;
                for (i, (ts, state, reason)) in versions.iter().enumerate() {
                    let d = day_of(*ts);
                    let row = RefundRow {
                        id: refund_id.clone(),
                        charge_id: ch.charge_id.clone(),
                        created: requested,
                        updated: *ts,
                        state,
                        reason: *reason,
                        amount,
                        currency: ch.currency,
                    };
                    let buf = &mut self.buf(d).refunds;
                    if last_day == Some(d) && i > 0 {
                        buf.pop();
                    }
                    buf.push(row);
                    last_day = Some(d);
                }
                if !declined {
                    refund_events.push((done, amount));
                    order.status = "returned";
                    self.buf(day_of(done)).orders.push(order.clone());
                    let posted = done + rng.random_range(2 * HOUR..30 * HOUR);
                    let pct_back = ((amount as f64 * fee_rate).round() as i64).min(-pct);
                    self.push_line(
                        day_of(posted),
                        ch.currency,
                        Line {
                            posted,
                            txn_id: Some(refund_id),
                            seller_ref: Some(format!("{}-refund", ch.order_id)),
                            ttype: "Refund",
                            order_ref: Some(ch.permission.clone()),
                            seller_order: Some(ch.order_id.clone()),
                            description: "",
                            amount: -amount,
                            pct_fee: pct_back,
                            fixed_fee: 0,
                        },
                    );
                }
            } else if rng.random_bool(0.004) {
                // A chargeback, with the chargeback fee.
                let at = capture_at + rng.random_range(10 * DAY..25 * DAY);
                let (_, _, cb_fee) = currency_params(ch.currency);
                self.push_line(
                    day_of(at),
                    ch.currency,
                    Line {
                        posted: at,
                        txn_id: Some(ch.charge_id.clone()),
                        seller_ref: None,
                        ttype: "Chargeback",
                        order_ref: Some(ch.permission.clone()),
                        seller_order: Some(ch.order_id.clone()),
                        description: "Chargeback",
                        amount: -ch.amount,
                        pct_fee: 0,
                        fixed_fee: -cb_fee * 50,
                    },
                );
            } else if rng.random_bool(0.002) {
                let at = capture_at + rng.random_range(7 * DAY..20 * DAY);
                self.push_line(
                    day_of(at),
                    ch.currency,
                    Line {
                        posted: at,
                        txn_id: Some(ch.charge_id.clone()),
                        seller_ref: None,
                        ttype: "A-to-z Guarantee Claim",
                        order_ref: Some(ch.permission.clone()),
                        seller_order: Some(ch.order_id.clone()),
                        description: "A-to-z Guarantee claim",
                        amount: -(ch.amount / 2).max(1),
                        pct_fee: 0,
                        fixed_fee: 0,
                    },
                );
            }
        }
        self.emit_charge_versions(&ch, &states, &refund_events);
    }

    /// Writes one charge row per day on which the charge changed (its last state that day);
    /// a completed refund re-exports the charge with its new `RefundedAmount`.
    fn emit_charge_versions(
        &mut self,
        ch: &ChargeCtx,
        states: &[(i64, &'static str, Option<&'static str>, Option<i64>)],
        refunds: &[(i64, i64)],
    ) {
        let mut by_day: BTreeMap<i64, ChargeRow> = BTreeMap::new();
        let mut captured = None;
        for &(t, state, reason, capture) in states {
            captured = capture.or(captured);
            by_day.insert(
                day_of(t),
                ChargeRow {
                    id: ch.charge_id.clone(),
                    permission: ch.permission.clone(),
                    merchant_ref: ch.merchant_ref.clone(),
                    created: ch.created,
                    updated: t,
                    state,
                    reason,
                    amount: ch.amount,
                    capture: captured,
                    refunded: None,
                    currency: ch.currency,
                    seller_ref: ch.seller_ref.clone(),
                },
            );
        }
        let mut refunded = 0;
        for &(t, amount) in refunds {
            refunded += amount;
            let d = day_of(t);
            let mut row = by_day
                .range(..=d)
                .next_back()
                .map(|(_, r)| r.clone())
                .expect("refund after capture");
            row.refunded = Some(refunded);
            by_day.insert(d, row);
        }
        for (d, row) in by_day {
            self.buf(d).charges.push(row);
        }
    }

    fn push_line(&mut self, day: i64, currency: Currency, line: Line) {
        self.buf(day).lines.entry(currency).or_default().push(line);
    }

    fn flush_day(&mut self, day: i64) -> Result<(), GenerateError> {
        let mut buf = self.bufs.remove(&day).unwrap_or_default();
        let date = DateTime::<Utc>::from_timestamp(day * DAY, 0)
            .expect("in range")
            .date_naive();
        let label = date.format("%Y-%m-%d").to_string();
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.opts.seed ^ (day as u64).wrapping_mul(0x2545_F491_4F6C_DD1D),
        );
        let messy = self.opts.messy;
        if !buf.orders.is_empty() {
            buf.orders
                .sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
            let path = self.opts.out.join(format!("orders-{label}.csv"));
            self.write_orders(&path, &buf.orders, &mut rng)?;
        }
        if !buf.charges.is_empty() {
            buf.charges
                .sort_by(|a, b| (a.updated, &a.id).cmp(&(b.updated, &b.id)));
            self.summary.charge_rows += buf.charges.len() as u64;
            if day % 2 == 1 {
                let path = self.opts.out.join(format!("charges-{label}.jsonl"));
                self.write_charges_jsonl(&path, &buf.charges, &mut rng)?;
            } else {
                let path = self.opts.out.join(format!("charges-{label}.csv"));
                self.write_charges_csv(&path, &buf.charges, &mut rng)?;
            }
        }
        if !buf.refunds.is_empty() {
            buf.refunds
                .sort_by(|a, b| (a.updated, &a.id).cmp(&(b.updated, &b.id)));
            self.summary.refund_rows += buf.refunds.len() as u64;
            let jsonl = day % 3 == 0;
            let path = self.opts.out.join(format!(
                "refunds-{label}.{}",
                if jsonl { "jsonl" } else { "csv" }
            ));
            self.write_refunds(&path, &buf.refunds, jsonl, &mut rng)?;
        }
        let mut lines = std::mem::take(&mut buf.lines);
        for (currency, mut lines) in std::mem::take(&mut lines) {
            lines.sort_by(|a, b| (a.posted, &a.txn_id).cmp(&(b.posted, &b.txn_id)));
            if rng.random_bool(0.15) {
                let amount = rng.random_range(-500..500);
                lines.push(Line {
                    posted: day * DAY + 23 * HOUR,
                    txn_id: None,
                    seller_ref: None,
                    ttype: "Adjustment",
                    order_ref: None,
                    seller_order: None,
                    description: "Fee correction",
                    amount,
                    pct_fee: 0,
                    fixed_fee: 0,
                });
            }
            if messy && rng.random_bool(0.1) {
                lines.push(Line {
                    posted: day * DAY + 23 * HOUR + 30 * 60,
                    txn_id: None,
                    seller_ref: None,
                    ttype: "ServiceFee",
                    order_ref: None,
                    seller_order: None,
                    description: "Monthly service fee",
                    amount: 0,
                    pct_fee: 0,
                    fixed_fee: -100,
                });
            }
            self.settlement_seq += 1;
            let settlement_id = self.settlement_seq.to_string();
            let net: i64 = lines
                .iter()
                .map(|l| l.amount + l.pct_fee + l.fixed_fee)
                .sum();
            let end = (day + 1) * DAY;
            // A negative balance is collected by a debit of the merchant's account: a Transfer
            // whose bank line is money out (`reconciliation.md` layer 4, signed amounts).
            let (ttype, description) = if net > 0 {
                ("Transfer", "Transfer to bank account")
            } else if net < 0 {
                ("Transfer", "Debit from bank account")
            } else {
                ("Debt", "Balance repayment")
            };
            lines.push(Line {
                posted: end,
                txn_id: None,
                seller_ref: None,
                ttype,
                order_ref: None,
                seller_order: None,
                description,
                amount: -net,
                pct_fee: 0,
                fixed_fee: 0,
            });
            let company = match currency {
                Currency::USD | Currency::CAD => "AMAZON PAYMENTS INC",
                Currency::JPY => "AMAZON PAY JAPAN",
                _ => "AMAZON PAYMENTS EUROPE S.C.A.",
            };
            if net > 0 {
                let booked = day + 1 + rng.random_range(2..6);
                self.bank_seq += 1;
                let dep = Deposit {
                    id: format!("BT{:010}", self.bank_seq),
                    day: booked,
                    amount: net,
                    currency,
                    reference: format!("{company} {settlement_id}"),
                };
                self.buf(booked).deposits.push(dep);
            } else if net < 0 {
                // No draw from the day's stream (the rest of the data set stays as it was) and
                // ids of their own (`BD` + settlement number).
                let booked = day + 2 + (self.settlement_seq % 3) as i64;
                let dep = Deposit {
                    id: format!("BD{:010}", self.settlement_seq),
                    day: booked,
                    amount: net,
                    currency,
                    reference: format!("{company} DEBIT {settlement_id}"),
                };
                self.buf(booked).deposits.push(dep);
            }
            self.summary.settlements += 1;
            self.summary.settlement_lines += lines.len() as u64;
            let path = self
                .opts
                .out
                .join(format!("settlement-{label}-{currency}.txt"));
            let crlf = messy && rng.random_bool(0.3);
            self.write_settlement(
                &path,
                &settlement_id,
                day,
                currency,
                &lines,
                &mut rng,
                crlf,
                false,
            )?;
            if messy && !self.twice_done && day % 7 == 3 {
                // The same report downloaded twice (other line ends, so other bytes; same rows).
                let again = self
                    .opts
                    .out
                    .join(format!("settlement-{label}-{currency}-download2.txt"));
                self.write_settlement(
                    &again,
                    &settlement_id,
                    day,
                    currency,
                    &lines,
                    &mut rng,
                    !crlf,
                    true,
                )?;
                self.twice_done = true;
            }
        }
        // Unrelated bank lines, and the payouts booked today.
        let mut deposits = std::mem::take(&mut buf.deposits);
        for (i, (reference, lo, hi)) in [
            ("SEPA CT RENT OFFICE", -500_000, -400_000),
            ("CARD PROCESSOR PAYOUT 88231", 10_000, 900_000),
            ("PAYROLL", -2_000_000, -1_500_000),
            ("BANK FEES", -5_000, -500),
        ]
        .iter()
        .enumerate()
        {
            if rng.random_bool(if i == 1 { 0.8 } else { 0.15 }) {
                self.bank_seq += 1;
                deposits.push(Deposit {
                    id: format!("BT{:010}", self.bank_seq),
                    day,
                    amount: rng.random_range(*lo..*hi),
                    currency: Currency::USD,
                    reference: reference.to_string(),
                });
            }
        }
        // Lines a real statement has that name Amazon but not Amazon Pay, or another payment
        // provider: never exceptions. Their own random stream and ids, so the rest of the data
        // set does not change with them.
        let mut other = ChaCha8Rng::seed_from_u64(
            self.opts.seed ^ 0xB4A4_0000 ^ (day as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        for (i, (reference, lo, hi, p)) in [
            (
                "AMAZON WEB SERVICES AWS EMEA INVOICE EUINGB24-{n}",
                -90_000,
                -2_000,
                0.10,
            ),
            ("AMZN MKTP US*{n} AMZN.COM/BILL", -20_000, -1_000, 0.10),
            ("AMAZON MARKETPLACE EU SARL ORDER {n}", -30_000, -500, 0.05),
            ("STRIPE PAYMENTS UK LTD PAYOUT {n}", 5_000, 400_000, 0.30),
            ("PAYPAL EUROPE S.A.R.L. ET CIE {n}", 2_000, 150_000, 0.20),
            ("CARD FEES VISA MASTERCARD {n}", -8_000, -100, 0.20),
            ("SALARY {n} MONTHLY PAYROLL", -3_000_000, -1_000_000, 0.03),
        ]
        .iter()
        .enumerate()
        {
            if other.random_bool(*p) {
                let n = other.random_range(100_000..999_999u32);
                deposits.push(Deposit {
                    id: format!("BX{:04}{:06}", i, (day as u64 % 1_000_000)),
                    day,
                    amount: other.random_range(*lo..*hi),
                    currency: Currency::USD,
                    reference: reference.replace("{n}", &n.to_string()),
                });
            }
        }
        if !deposits.is_empty() {
            deposits.sort_by(|a, b| a.id.cmp(&b.id));
            let path = self.opts.out.join(format!(
                "bank-{label}.{}",
                self.opts.bank_format.extension()
            ));
            self.write_deposits(&path, date, &deposits, &mut rng)?;
        }
        Ok(())
    }

    fn file(&mut self, path: &Path) -> Result<BufWriter<File>, GenerateError> {
        self.summary.files += 1;
        Ok(BufWriter::with_capacity(
            1 << 20,
            File::create(path).map_err(io_err(path))?,
        ))
    }

    fn done(&mut self, path: &Path, w: BufWriter<File>) -> Result<(), GenerateError> {
        let f = w.into_inner().map_err(|e| GenerateError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        self.summary.bytes += f.metadata().map_err(io_err(path))?.len();
        Ok(())
    }

    /// Decides whether to damage a row (messy only) and how.
    fn damage(&mut self, rng: &mut ChaCha8Rng) -> Option<u32> {
        if self.opts.messy && rng.random_bool(0.0015) {
            self.summary.malformed_rows += 1;
            Some(rng.random_range(0..6))
        } else {
            None
        }
    }

    fn csv_writer(
        &self,
        w: BufWriter<File>,
        crlf: bool,
        always_quote: bool,
    ) -> csv::Writer<BufWriter<File>> {
        csv::WriterBuilder::new()
            .flexible(true)
            .terminator(if crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .quote_style(if always_quote {
                csv::QuoteStyle::Always
            } else {
                csv::QuoteStyle::Necessary
            })
            .from_writer(w)
    }

    fn write_orders(
        &mut self,
        path: &Path,
        orders: &[OrderRow],
        rng: &mut ChaCha8Rng,
    ) -> Result<(), GenerateError> {
        let messy = self.opts.messy;
        let mut w = self.file(path)?;
        if messy {
            w.write_all(b"\xEF\xBB\xBF").map_err(io_err(path))?;
        }
        let mut c = self.csv_writer(w, messy, false);
        let mut header = vec![
            "order_id",
            "created_at",
            "country",
            "device",
            "order_total",
            "currency",
            "status",
            "charge_permission_id",
        ];
        if messy {
            header.push("customer_note");
        }
        c.write_record(&header).map_err(|e| csv_io(path, e))?;
        for o in orders {
            let mut total = format_minor(o.total, o.currency);
            if messy {
                total = group_thousands(&total);
            }
            let mut rec = vec![
                o.id.clone(),
                ts_form(o.created, if messy { rng.random_range(0..4) } else { 0 }),
                if messy && rng.random_bool(0.05) {
                    o.country.to_lowercase()
                } else {
                    o.country.to_string()
                },
                if messy && rng.random_bool(0.05) {
                    o.device.to_uppercase()
                } else {
                    o.device.to_string()
                },
                total,
                o.currency.to_string(),
                o.status.to_string(),
                o.permission.clone().unwrap_or_default(),
            ];
            if messy {
                rec.push(if rng.random_bool(0.1) {
                    "Leave at door, \"back\" entrance".into()
                } else {
                    String::new()
                });
            }
            match self.damage(rng) {
                Some(0) => rec[4] = "12.345".into(),
                Some(1) => rec[1] = "2026-13-45T99:00:00Z".into(),
                Some(2) => rec[5] = "XYZ".into(),
                Some(3) => rec[0] = String::new(),
                Some(4) => {
                    rec.pop();
                }
                Some(_) => rec[2] = "Narnia".into(),
                None => {}
            }
            c.write_record(&rec).map_err(|e| csv_io(path, e))?;
        }
        let w = c.into_inner().map_err(|e| GenerateError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        self.done(path, w)
    }

    fn write_charges_csv(
        &mut self,
        path: &Path,
        rows: &[ChargeRow],
        rng: &mut ChaCha8Rng,
    ) -> Result<(), GenerateError> {
        let messy = self.opts.messy;
        let w = self.file(path)?;
        let mut c = self.csv_writer(w, messy && rng.random_bool(0.5), false);
        let mut header = vec![
            "ChargeId",
            "ChargePermissionId",
            "MerchantReferenceId",
            "CreationTimestamp",
            "LastUpdatedTimestamp",
            "State",
            "ReasonCode",
            "ChargeAmount",
            "CaptureAmount",
            "RefundedAmount",
            "CurrencyCode",
            "SellerReferenceId",
            "ReleaseEnvironment",
        ];
        if messy {
            header.insert(5, "SoftDescriptor");
        }
        c.write_record(&header).map_err(|e| csv_io(path, e))?;
        for r in rows {
            let form = if messy { rng.random_range(0..5) } else { 0 };
            let mut rec = vec![
                r.id.clone(),
                r.permission.clone(),
                r.merchant_ref.clone().unwrap_or_default(),
                ts_form(r.created, form),
                ts_form(r.updated, form),
                r.state.to_string(),
                r.reason.unwrap_or("").to_string(),
                format_minor(r.amount, r.currency),
                r.capture
                    .map(|v| format_minor(v, r.currency))
                    .unwrap_or_default(),
                r.refunded
                    .map(|v| format_minor(v, r.currency))
                    .unwrap_or_default(),
                r.currency.to_string(),
                r.seller_ref.clone(),
                "Live".to_string(),
            ];
            match self.damage(rng) {
                Some(0) => rec[7] = "49.999".into(),
                Some(1) => rec[4] = "yesterday".into(),
                Some(2) => rec[10] = "EURO".into(),
                Some(3) => rec[0] = String::new(),
                Some(4) => rec[5] = "Settled".into(),
                Some(_) => {
                    rec.pop();
                }
                None => {}
            }
            if messy {
                rec.insert(5, "AMZ*ExampleStore".into());
            }
            c.write_record(&rec).map_err(|e| csv_io(path, e))?;
        }
        let w = c.into_inner().map_err(|e| GenerateError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        self.done(path, w)
    }

    fn write_charges_jsonl(
        &mut self,
        path: &Path,
        rows: &[ChargeRow],
        rng: &mut ChaCha8Rng,
    ) -> Result<(), GenerateError> {
        let mut w = self.file(path)?;
        for r in rows {
            let price = |v: Option<i64>| -> serde_json::Value {
                match v {
                    Some(v) => {
                        serde_json::json!({"amount": format_minor(v, r.currency), "currencyCode": r.currency.code()})
                    }
                    None => serde_json::Value::Null,
                }
            };
            let mut obj = serde_json::json!({
                "chargeId": r.id,
                "chargePermissionId": r.permission,
                "chargeAmount": price(Some(r.amount)),
                "captureAmount": price(r.capture),
                "refundedAmount": price(r.refunded.or(r.capture.map(|_| 0))),
                "convertedAmount": null,
                "softDescriptor": "AMZ*ExampleStore",
                "merchantMetadata": {"merchantReferenceId": r.merchant_ref, "merchantStoreName": self.opts.store, "noteToBuyer": null, "customInformation": null},
                "statusDetails": {"state": r.state, "reasonCode": r.reason, "reasonDescription": r.reason.map(|_| "See reasonCode"), "lastUpdatedTimestamp": ts_form(r.updated, 5)},
                "creationTimestamp": ts_form(r.created, 5),
                "expirationTimestamp": ts_form(r.created + 30 * DAY, 5),
                "releaseEnvironment": "Live",
            });
            let mut line = serde_json::to_string(&obj).expect("json");
            match self.damage(rng) {
                Some(0) => line.truncate(line.len() / 2),
                Some(1) => {
                    obj["chargeAmount"]["amount"] = serde_json::json!(12.5);
                    line = serde_json::to_string(&obj).expect("json");
                }
                Some(2) => {
                    obj["statusDetails"]["state"] = serde_json::json!("Pending");
                    line = serde_json::to_string(&obj).expect("json");
                }
                Some(3) => {
                    obj["creationTimestamp"] = serde_json::json!("not a time");
                    line = serde_json::to_string(&obj).expect("json");
                }
                Some(_) => {
                    obj["chargeId"] = serde_json::Value::Null;
                    line = serde_json::to_string(&obj).expect("json");
                }
                None => {}
            }
            w.write_all(line.as_bytes()).map_err(io_err(path))?;
            w.write_all(b"\n").map_err(io_err(path))?;
        }
        self.done(path, w)
    }

    fn write_refunds(
        &mut self,
        path: &Path,
        rows: &[RefundRow],
        jsonl: bool,
        rng: &mut ChaCha8Rng,
    ) -> Result<(), GenerateError> {
        if jsonl {
            let mut w = self.file(path)?;
            for r in rows {
                let obj = serde_json::json!({
                    "refundId": r.id,
                    "chargeId": r.charge_id,
                    "refundAmount": {"amount": format_minor(r.amount, r.currency), "currencyCode": r.currency.code()},
                    "softDescriptor": "AMZ*ExampleStore",
                    "creationTimestamp": ts_form(r.created, 5),
                    "statusDetails": {"state": r.state, "reasonCode": r.reason, "reasonDescription": null, "lastUpdatedTimestamp": ts_form(r.updated, 5)},
                    "releaseEnvironment": "Live",
                });
                let mut line = serde_json::to_string(&obj).expect("json");
                if self.damage(rng).is_some() {
                    line = line.replace(
                        "\"refundAmount\":{\"amount\":\"",
                        "\"refundAmount\":{\"amount\":\"-x",
                    );
                }
                w.write_all(line.as_bytes()).map_err(io_err(path))?;
                w.write_all(b"\n").map_err(io_err(path))?;
            }
            return self.done(path, w);
        }
        let w = self.file(path)?;
        let mut c = self.csv_writer(w, false, false);
        c.write_record([
            "RefundId",
            "ChargeId",
            "CreationTimestamp",
            "LastUpdatedTimestamp",
            "State",
            "ReasonCode",
            "RefundAmount",
            "CurrencyCode",
        ])
        .map_err(|e| csv_io(path, e))?;
        for r in rows {
            let mut rec = vec![
                r.id.clone(),
                r.charge_id.clone(),
                ts_form(r.created, 0),
                ts_form(r.updated, 0),
                r.state.to_string(),
                r.reason.unwrap_or("").to_string(),
                format_minor(r.amount, r.currency),
                r.currency.to_string(),
            ];
            if self.damage(rng).is_some() {
                rec[4] = "Done".into();
            }
            c.write_record(&rec).map_err(|e| csv_io(path, e))?;
        }
        let w = c.into_inner().map_err(|e| GenerateError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        self.done(path, w)
    }

    #[allow(clippy::too_many_arguments)]
    fn write_settlement(
        &mut self,
        path: &Path,
        id: &str,
        day: i64,
        currency: Currency,
        lines: &[Line],
        rng: &mut ChaCha8Rng,
        crlf: bool,
        redownload: bool,
    ) -> Result<(), GenerateError> {
        let messy = self.opts.messy;
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut w = self.file(path)?;
        let space = messy && rng.random_bool(0.5);
        let hts = |t: i64| settlement_ts(t, space);
        let header = [
            ("SellerId", self.seller_id.clone()),
            ("SettlementStartDate", hts(day * DAY)),
            ("SettlementEndDate", hts((day + 1) * DAY)),
            ("DepositDate", hts((day + 3) * DAY)),
        ];
        for (k, v) in &header {
            write!(w, "\"{k}\",\"{v}\"").map_err(io_err(path))?;
            w.write_all(eol).map_err(io_err(path))?;
        }
        w.write_all(eol).map_err(io_err(path))?;
        let mut c = csv::WriterBuilder::new()
            .terminator(if crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .quote_style(csv::QuoteStyle::Always)
            .from_writer(w);
        c.write_record([
            "TransactionPostedDate",
            "SettlementId",
            "AmazonTransactionId",
            "SellerReferenceId",
            "TransactionType",
            "AmazonOrderReferenceId",
            "SellerOrderId",
            "StoreName",
            "CurrencyCode",
            "TransactionDescription",
            "TransactionAmount",
            "TransactionPercentageFee",
            "TransactionFixedFee",
            "TotalTransactionFee",
            "NetTransactionAmount",
        ])
        .map_err(|e| csv_io(path, e))?;
        let store = if messy {
            format!("{}, Inc.", self.opts.store)
        } else {
            self.opts.store.clone()
        };
        for l in lines {
            let money = |v: i64| {
                let s = format_minor(v, currency);
                if messy { group_thousands(&s) } else { s }
            };
            let total_fee = l.pct_fee + l.fixed_fee;
            let mut rec = vec![
                settlement_ts(l.posted, space),
                id.to_string(),
                l.txn_id.clone().unwrap_or_default(),
                l.seller_ref.clone().unwrap_or_default(),
                l.ttype.to_string(),
                l.order_ref.clone().unwrap_or_default(),
                l.seller_order.clone().unwrap_or_default(),
                store.clone(),
                currency.to_string(),
                l.description.to_string(),
                money(l.amount),
                money(l.pct_fee),
                money(l.fixed_fee),
                money(total_fee),
                money(l.amount + total_fee),
            ];
            if !redownload && l.ttype != "Transfer" {
                match self.damage(rng) {
                    Some(0) => rec[10] = "1.2.3".into(),
                    Some(1) => rec[0] = "2026-10-32T00:00:00-0000".into(),
                    Some(2) => rec[8] = String::new(),
                    _ => {}
                }
            }
            c.write_record(&rec).map_err(|e| csv_io(path, e))?;
        }
        let w = c.into_inner().map_err(|e| GenerateError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        self.done(path, w)
    }

    fn write_deposits(
        &mut self,
        path: &Path,
        date: NaiveDate,
        rows: &[Deposit],
        rng: &mut ChaCha8Rng,
    ) -> Result<(), GenerateError> {
        // Damage is drawn for every row in order, whatever the format: the rest of the data
        // set stays the same in every format.
        let damaged: Vec<bool> = rows.iter().map(|_| self.damage(rng).is_some()).collect();
        self.summary.deposit_rows += rows.len() as u64;
        let mut w = self.file(path)?;
        if self.opts.bank_format != BankFormat::Csv {
            let mut accounts: BTreeMap<Currency, bank::Account<'_>> = BTreeMap::new();
            for (d, damaged) in rows.iter().zip(&damaged) {
                let opening = *self.bank_balances.get(&d.currency).unwrap_or(&1_000_000);
                accounts
                    .entry(d.currency)
                    .or_insert_with(|| bank::Account {
                        currency: d.currency,
                        opening,
                        lines: Vec::new(),
                    })
                    .lines
                    .push(bank::Line {
                        id: &d.id,
                        amount: d.amount,
                        reference: &d.reference,
                        damaged: *damaged,
                    });
            }
            for a in accounts.values() {
                let close = a.opening + a.lines.iter().map(|l| l.amount).sum::<i64>();
                self.bank_balances.insert(a.currency, close);
            }
            let accounts: Vec<bank::Account<'_>> = accounts.into_values().collect();
            bank::write(self.opts.bank_format, &mut w, date, &accounts).map_err(io_err(path))?;
            return self.done(path, w);
        }
        let mut c = self.csv_writer(w, false, false);
        c.write_record([
            "booking_date",
            "amount",
            "currency",
            "reference",
            "bank_transaction_id",
        ])
        .map_err(|e| csv_io(path, e))?;
        for (d, damaged) in rows.iter().zip(damaged) {
            let date = DateTime::<Utc>::from_timestamp(d.day * DAY, 0)
                .expect("in range")
                .format("%Y-%m-%d")
                .to_string();
            let mut rec = vec![
                date,
                format_minor(d.amount, d.currency),
                d.currency.to_string(),
                d.reference.clone(),
                d.id.clone(),
            ];
            if self.opts.messy {
                rec[1] = group_thousands(&rec[1]);
            }
            if damaged {
                rec[0] = "05/10/2026".into();
            }
            c.write_record(&rec).map_err(|e| csv_io(path, e))?;
        }
        let w = c.into_inner().map_err(|e| GenerateError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        self.done(path, w)
    }
}

struct ChargeCtx {
    charge_id: String,
    permission: String,
    merchant_ref: Option<String>,
    created: i64,
    amount: i64,
    currency: Currency,
    seller_ref: String,
    order_id: String,
}

fn csv_io(path: &Path, e: csv::Error) -> GenerateError {
    GenerateError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

/// A timestamp in one of the forms Amazon Pay emits.
fn ts_form(t: i64, form: u32) -> String {
    let dt = DateTime::<Utc>::from_timestamp(t, 0).expect("in range");
    match form {
        0 => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        1 => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        2 => dt
            .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).expect("offset"))
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
        3 => dt
            .with_timezone(&chrono::FixedOffset::west_opt(7 * 3600).expect("offset"))
            .format("%Y-%m-%dT%H:%M:%S%z")
            .to_string(),
        4 => dt.format("%Y-%m-%dT%H:%M:%S").to_string(),
        _ => dt.format("%Y%m%dT%H%M%SZ").to_string(),
    }
}

fn settlement_ts(t: i64, space: bool) -> String {
    let dt = DateTime::<Utc>::from_timestamp(t, 0).expect("in range");
    if space {
        dt.format("%Y-%m-%dT%H:%M:%S +0000").to_string()
    } else {
        dt.format("%Y-%m-%dT%H:%M:%S-0000").to_string()
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

    #[test]
    fn grouping_and_timestamp_forms_parse_back() {
        let t = 1_790_000_000;
        for form in 0..6 {
            let s = ts_form(t, form);
            let back = crate::model::time::parse_timestamp(&s).unwrap();
            assert_eq!(back.timestamp(), t, "{s}");
        }
        for space in [false, true] {
            let back = crate::model::time::parse_timestamp(&settlement_ts(t, space)).unwrap();
            assert_eq!(back.timestamp(), t);
        }
    }
}
