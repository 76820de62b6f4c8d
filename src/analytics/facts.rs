//! Attempt facts and order facts, built from the lake's `charges` and `orders` tables.
//!
//! Reading is parallel per Parquet file (rayon), with only the needed columns projected. Each
//! charge becomes an [`AttemptFact`] with its outcome, decline class and segment; attempts are
//! then grouped into orders by one parallel sort on (order key, `creation_timestamp`,
//! `charge_id`), which also gives each order's attempt sequence. Every definition is
//! `spec/analytics.md`'s; `docs/ANALYTICS.md` states the choices the spec leaves open.

use std::path::{Path, PathBuf};

use arrow_array::types::{Decimal128Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch, StringArray};
use chrono::{Datelike, NaiveDate, Offset, TimeZone};
use rayon::prelude::*;
use rust_decimal::Decimal;
use rustc_hash::{FxHashMap, FxHashSet};

use super::AnalyticsError;
use crate::lake::Lake;
use crate::lake::columns::{self, opt};
use crate::model::catalogue::{Catalogue, DeclineClass};
use crate::model::money::Currency;
use crate::model::schema::{CHARGES, ORDERS};
use crate::model::time::{from_epoch_days, to_epoch_days};
use crate::settings::ValueBands;

/// "No value" in a dictionary-coded column.
pub const NONE: u32 = u32::MAX;

/// An attempt's outcome (`spec/analytics.md`, "Attempts and outcomes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Approved,
    Declined,
    Pending,
    Canceled,
}

impl Outcome {
    /// The outcome of a charge's latest `state` and `reason_code`.
    pub fn of(state: &str, reason_code: Option<&str>) -> Outcome {
        match state {
            "Authorized" | "CaptureInitiated" | "Captured" => Outcome::Approved,
            "Canceled" if reason_code == Some("ExpiredUnused") => Outcome::Approved,
            "Declined" => Outcome::Declined,
            "AuthorizationInitiated" => Outcome::Pending,
            _ => Outcome::Canceled,
        }
    }

    pub fn is_decided(self) -> bool {
        matches!(self, Outcome::Approved | Outcome::Declined)
    }
}

/// One charge (payment attempt) at its latest state, with its segment.
#[derive(Debug, Clone, Copy)]
pub struct AttemptFact {
    /// `creation_timestamp`, µs since the epoch (UTC).
    pub ts: i64,
    /// `charge_amount`, in lake units (hundredths of the major unit, for every currency).
    pub amount: i64,
    /// Index of the order (see [`Facts::orders`]).
    pub order: u32,
    /// Index of the matched order record, or [`NONE`].
    pub record: u32,
    /// Local calendar day of `creation_timestamp` (days since 1970-01-01).
    pub day: i32,
    /// Index into [`Facts::countries`].
    pub country: u32,
    /// Index into [`Facts::devices`].
    pub device: u32,
    /// Index into [`Facts::bands`].
    pub band: u32,
    /// Index into [`Facts::reasons`] for a declined attempt, else [`NONE`].
    pub reason: u32,
    /// The charge's currency.
    pub currency: Currency,
    pub outcome: Outcome,
}

/// One order: its attempts in (`creation_timestamp`, `charge_id`) order, summarised.
#[derive(Debug, Clone, Copy)]
pub struct OrderFact {
    /// First attempt's `creation_timestamp` (µs).
    pub first_ts: i64,
    /// First attempt's local day.
    pub first_day: i32,
    pub country: u32,
    pub device: u32,
    pub band: u32,
    /// The order record's currency (the first attempt's when there is no record).
    pub currency: Currency,
    /// Number of attempts (of every outcome).
    pub attempts: u32,
    /// At least one decided attempt.
    pub decided: bool,
    /// The first decided attempt was approved.
    pub first_approved: bool,
    /// Some attempt was approved.
    pub eventual_approved: bool,
    /// Reason of the first decided attempt when it was declined, else [`NONE`].
    pub first_decline_reason: u32,
    /// Attempts up to and including the first approved one, when the first decided attempt was
    /// declined and a later one approved (0 otherwise).
    pub attempts_to_recovery: u32,
    /// The first attempt is within the retry window of the newest attempt in the lake.
    pub immature: bool,
}

impl OrderFact {
    /// The order's day and codes as the incremental state stores them and the tables cache
    /// hashes them: first day, country, device, band, attempts, first decline reason,
    /// attempts to recovery.
    pub fn codes(&self) -> [u32; 7] {
        [
            self.first_day as u32,
            self.country,
            self.device,
            self.band,
            self.attempts,
            self.first_decline_reason,
            self.attempts_to_recovery,
        ]
    }

    /// `decided`, `first_approved`, `eventual_approved` and `immature` as bits 0 to 3, as the
    /// incremental state stores them and the tables cache hashes them.
    pub fn flags(&self) -> u8 {
        self.decided as u8
            | (self.first_approved as u8) << 1
            | (self.eventual_approved as u8) << 2
            | (self.immature as u8) << 3
    }

    /// Sets the four flags from [`Self::flags`]' bits.
    pub fn set_flags(&mut self, bits: u8) {
        self.decided = bits & 1 != 0;
        self.first_approved = bits & 2 != 0;
        self.eventual_approved = bits & 4 != 0;
        self.immature = bits & 8 != 0;
    }
}

/// A value-band table: per-currency edges in lake units and the labels of all bands.
#[derive(Debug, Clone)]
pub struct Bands {
    /// Band labels, ordered by lower edge.
    pub labels: Vec<String>,
    /// Per currency (indexed like `Currency::ALL`): ascending edges (lake units) and the label
    /// index of `< first edge`, then of each `[edge_i, edge_i+1)`.
    per_currency: Vec<(Vec<i64>, Vec<u32>)>,
}

impl Bands {
    /// Builds the table from the configured edges (major units).
    pub fn new(config: &ValueBands) -> Bands {
        let text = |d: &Decimal| d.normalize().to_string();
        // (sort key, label) for every band of every currency.
        let mut all: Vec<(Decimal, Decimal, String)> = Vec::new();
        let mut raw: Vec<(Vec<i64>, Vec<String>)> = Vec::new();
        for c in Currency::ALL {
            let edges = config.edges_for(c.code());
            let mut labels = Vec::with_capacity(edges.len() + 1);
            let below = format!("<{}", edges.first().map(text).unwrap_or_default());
            all.push((Decimal::MIN, Decimal::MIN, below.clone()));
            labels.push(below);
            for (i, lo) in edges.iter().enumerate() {
                let (label, hi) = match edges.get(i + 1) {
                    Some(hi) => (format!("{}-{}", text(lo), text(hi)), *hi),
                    None => (format!("{}+", text(lo)), Decimal::MAX),
                };
                all.push((*lo, hi, label.clone()));
                labels.push(label);
            }
            let units = edges
                .iter()
                .map(|e| {
                    (e * Decimal::from(100))
                        .trunc()
                        .to_string()
                        .parse::<i64>()
                        .unwrap_or(i64::MAX)
                })
                .collect();
            raw.push((units, labels));
        }
        all.sort();
        all.dedup_by(|a, b| a.2 == b.2);
        let labels: Vec<String> = all.into_iter().map(|(_, _, l)| l).collect();
        let index: FxHashMap<&str, u32> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i as u32))
            .collect();
        let per_currency = raw
            .iter()
            .map(|(edges, ls)| {
                (
                    edges.clone(),
                    ls.iter().map(|l| index[l.as_str()]).collect(),
                )
            })
            .collect();
        Bands {
            labels,
            per_currency,
        }
    }

    /// The band index of `amount` (lake units) in `currency`.
    pub fn band(&self, currency: Currency, amount: i64) -> u32 {
        let ci = Currency::ALL
            .iter()
            .position(|&c| c == currency)
            .unwrap_or(0);
        let (edges, ids) = &self.per_currency[ci];
        let above = edges.partition_point(|&e| e <= amount);
        ids[above]
    }
}

/// Local calendar days of UTC instants in the configured time zone.
#[derive(Clone)]
pub struct LocalDays {
    tz: chrono_tz::Tz,
    utc: bool,
    /// UTC quarter-hour -> offset seconds (every zone changes offset on a quarter hour).
    cache: FxHashMap<i64, i64>,
}

const QUARTER_HOUR_US: i64 = 900 * 1_000_000;
const DAY_US: i64 = 86_400 * 1_000_000;

impl LocalDays {
    pub fn new(tz: chrono_tz::Tz) -> LocalDays {
        LocalDays {
            tz,
            utc: tz == chrono_tz::UTC,
            cache: FxHashMap::default(),
        }
    }

    /// The local day (days since 1970-01-01) of an instant in µs.
    pub fn day(&mut self, micros: i64) -> i32 {
        if self.utc {
            return micros.div_euclid(DAY_US) as i32;
        }
        let bucket = micros.div_euclid(QUARTER_HOUR_US);
        let tz = self.tz;
        let offset = *self.cache.entry(bucket).or_insert_with(|| {
            let utc = crate::model::time::from_micros(bucket * QUARTER_HOUR_US).naive_utc();
            tz.offset_from_utc_datetime(&utc).fix().local_minus_utc() as i64
        });
        (micros + offset * 1_000_000).div_euclid(DAY_US) as i32
    }
}

/// Sortable id of a day's ISO week: `year * 100 + week` (label `2026-W43`).
pub fn iso_week(day: i32) -> u32 {
    let w = from_epoch_days(day).iso_week();
    (w.year() * 100 + w.week() as i32) as u32
}

/// Sortable id of a day's month: `year * 100 + month` (label `2026-10`).
pub fn month(day: i32) -> u32 {
    let d = from_epoch_days(day);
    (d.year() * 100 + d.month() as i32) as u32
}

/// Label of an [`iso_week`] id.
pub fn week_label(id: u32) -> String {
    format!("{}-W{:02}", id / 100, id % 100)
}

/// Label of a [`month`] id.
pub fn month_label(id: u32) -> String {
    format!("{}-{:02}", id / 100, id % 100)
}

/// Everything the reports need, built once per command.
pub struct Facts {
    pub attempts: Vec<AttemptFact>,
    pub orders: Vec<OrderFact>,
    pub countries: Vec<String>,
    pub devices: Vec<String>,
    pub bands: Vec<String>,
    /// Reason codes of declined attempts (an empty one is `Declined`), sorted.
    pub reasons: Vec<String>,
    /// Decline class of each entry of `reasons`.
    pub reason_classes: Vec<DeclineClass>,
    /// Newest `creation_timestamp` in the lake (µs), when there are charges.
    pub newest_ts: Option<i64>,
    /// Local day of `newest_ts`.
    pub newest_day: Option<i32>,
}

/// Facts that an incremental night can update: each attempt's charge key and each order's
/// (the charge key of its first attempt), as [`crate::reconcile::components`] keys charges.
/// All charges of an order share its key (`merchant_reference_id`, else the permission), a
/// link key of the reconciliation's components, so an order's attempts are all in one
/// component: replacing the facts of the touched components' charges replaces whole orders.
pub struct KeyedFacts {
    pub facts: Facts,
    pub attempt_keys: Vec<u64>,
    pub order_keys: Vec<u64>,
}

/// `old` ∪ `new` sorted, and where each entry of `old` and of `new` went.
fn merge_dict(old: &[String], new: &[String]) -> (Vec<String>, Vec<u32>, Vec<u32>) {
    let mut all: Vec<String> = old.iter().chain(new).cloned().collect();
    all.sort();
    all.dedup();
    let at = |v: &[String]| -> Vec<u32> {
        v.iter()
            .map(|x| all.binary_search(x).expect("merged") as u32)
            .collect()
    };
    let (a, b) = (at(old), at(new));
    (all, a, b)
}

fn remap(code: u32, map: &[u32]) -> u32 {
    if code == NONE {
        NONE
    } else {
        map[code as usize]
    }
}

impl KeyedFacts {
    /// Replaces the facts of the charges whose key `replaced` accepts (whole orders: see the
    /// type) by `sub`, built from every charge and order record of the same components; then
    /// the newest attempt and every order's `immature` flag are those of the whole.
    /// Dictionaries are merged (an entry no attempt uses any more stays, unseen by any table).
    /// Orders and attempts are kept in no particular order; `order` indices are renumbered,
    /// `record` indices are those of the build that made each attempt.
    pub fn replace(
        &mut self,
        replaced: &(dyn Fn(u64) -> bool + Sync),
        sub: KeyedFacts,
        options: &FactOptions,
    ) {
        let KeyedFacts {
            facts: sub,
            attempt_keys: sub_akeys,
            order_keys: sub_okeys,
        } = sub;
        let f = &mut self.facts;
        let (countries, c_old, c_new) = merge_dict(&f.countries, &sub.countries);
        let (devices, d_old, d_new) = merge_dict(&f.devices, &sub.devices);
        let (reasons, r_old, r_new) = merge_dict(&f.reasons, &sub.reasons);
        let mut reason_classes = vec![DeclineClass::Unknown; reasons.len()];
        for (i, &to) in r_old.iter().enumerate() {
            reason_classes[to as usize] = f.reason_classes[i];
        }
        for (i, &to) in r_new.iter().enumerate() {
            reason_classes[to as usize] = sub.reason_classes[i];
        }
        // Kept orders, renumbered.
        let kept_orders: Vec<bool> = self.order_keys.par_iter().map(|&k| !replaced(k)).collect();
        let mut new_index = vec![NONE; kept_orders.len()];
        let mut n = 0u32;
        for (i, &k) in kept_orders.iter().enumerate() {
            if k {
                new_index[i] = n;
                n += 1;
            }
        }
        // The common case: no new country, device or reason, the kept codes stand.
        let same = |m: &[u32]| m.iter().enumerate().all(|(i, &x)| x as usize == i);
        let keep_codes = same(&c_old) && same(&d_old) && same(&r_old);
        let recode_attempt = |a: &mut AttemptFact, cm: &[u32], dm: &[u32], rm: &[u32]| {
            a.country = remap(a.country, cm);
            a.device = remap(a.device, dm);
            a.reason = remap(a.reason, rm);
        };
        let recode_order = |o: &mut OrderFact, cm: &[u32], dm: &[u32], rm: &[u32]| {
            o.country = remap(o.country, cm);
            o.device = remap(o.device, dm);
            o.first_decline_reason = remap(o.first_decline_reason, rm);
        };
        // Kept in place (no fresh half-gigabyte copy): which to keep is decided in parallel,
        // the compaction is a sequential pass over memory.
        let mut attempts = std::mem::take(&mut f.attempts);
        let mut akeys = std::mem::take(&mut self.attempt_keys);
        let kept_attempts: Vec<bool> = akeys.par_iter().map(|&k| !replaced(k)).collect();
        let mut w = 0;
        for r in 0..attempts.len() {
            if kept_attempts[r] {
                let mut a = attempts[r];
                if !keep_codes {
                    recode_attempt(&mut a, &c_old, &d_old, &r_old);
                }
                a.order = remap(a.order, &new_index);
                attempts[w] = a;
                akeys[w] = akeys[r];
                w += 1;
            }
        }
        attempts.truncate(w);
        akeys.truncate(w);
        let mut orders = std::mem::take(&mut f.orders);
        let mut okeys = std::mem::take(&mut self.order_keys);
        let mut w = 0;
        for r in 0..orders.len() {
            if kept_orders[r] {
                let mut o = orders[r];
                if !keep_codes {
                    recode_order(&mut o, &c_old, &d_old, &r_old);
                }
                orders[w] = o;
                okeys[w] = okeys[r];
                w += 1;
            }
        }
        orders.truncate(w);
        okeys.truncate(w);
        attempts.reserve_exact(sub.attempts.len());
        akeys.reserve_exact(sub_akeys.len());
        orders.reserve_exact(sub.orders.len());
        okeys.reserve_exact(sub_okeys.len());
        let offset = orders.len() as u32;
        attempts.extend(sub.attempts.into_iter().map(|mut a| {
            recode_attempt(&mut a, &c_new, &d_new, &r_new);
            a.order = if a.order == NONE {
                NONE
            } else {
                a.order + offset
            };
            a
        }));
        akeys.extend(sub_akeys);
        orders.extend(sub.orders.into_iter().map(|mut o| {
            recode_order(&mut o, &c_new, &d_new, &r_new);
            o
        }));
        okeys.extend(sub_okeys);
        let newest_ts = attempts.par_iter().map(|a| a.ts).max();
        let mature_before = newest_ts
            .map(|t| t - options.retry_window_hours as i64 * 3_600_000_000)
            .unwrap_or(i64::MAX);
        orders
            .par_iter_mut()
            .for_each(|o| o.immature = o.first_ts > mature_before);
        *f = Facts {
            attempts,
            orders,
            countries,
            devices,
            bands: std::mem::take(&mut f.bands),
            reasons,
            reason_classes,
            newest_ts,
            newest_day: newest_ts.map(|t| LocalDays::new(options.tz).day(t)),
        };
        self.attempt_keys = akeys;
        self.order_keys = okeys;
    }
}

impl Facts {
    /// The attempts made and the orders first tried on local days `from..=to`, with every
    /// dictionary: the same cells as the whole for those days, from a fraction of the rows.
    /// (`order` indices of the attempts name the whole's orders.)
    pub fn days(&self, from: i32, to: i32) -> Facts {
        let (attempts, orders) = rayon::join(
            || {
                self.attempts
                    .par_iter()
                    .filter(|a| a.day >= from && a.day <= to)
                    .copied()
                    .collect()
            },
            || {
                self.orders
                    .par_iter()
                    .filter(|o| o.first_day >= from && o.first_day <= to)
                    .copied()
                    .collect()
            },
        );
        Facts {
            attempts,
            orders,
            countries: self.countries.clone(),
            devices: self.devices.clone(),
            bands: self.bands.clone(),
            reasons: self.reasons.clone(),
            reason_classes: self.reason_classes.clone(),
            newest_ts: self.newest_ts,
            newest_day: self.newest_day,
        }
    }
}

/// Options of the transforms.
#[derive(Debug, Clone)]
pub struct FactOptions {
    pub tz: chrono_tz::Tz,
    pub bands: ValueBands,
    pub retry_window_hours: u64,
}

/// A dictionary of low-cardinality strings, sorted, so codes order like their text.
fn sorted_dict<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> (Vec<String>, FxHashMap<String, u32>) {
    let mut v: Vec<String> = values
        .into_iter()
        .collect::<FxHashSet<&str>>()
        .into_iter()
        .map(str::to_string)
        .collect();
    v.sort();
    let index = v
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), i as u32))
        .collect();
    (v, index)
}

fn col<'a>(path: &Path, b: &'a RecordBatch, name: &str) -> Result<&'a StringArray, AnalyticsError> {
    Ok(columns::text(path, b, name)?)
}

fn money_col<'a>(
    path: &Path,
    b: &'a RecordBatch,
    name: &str,
) -> Result<&'a arrow_array::PrimitiveArray<Decimal128Type>, AnalyticsError> {
    Ok(columns::money(path, b, name)?)
}

fn currency(path: &Path, s: &str) -> Result<Currency, AnalyticsError> {
    Ok(columns::currency(path, s)?)
}

/// Order records: segment values and the two lookups of the spec's join.
struct Records {
    country: Vec<u32>,
    device: Vec<u32>,
    total: Vec<i64>,
    currency: Vec<Currency>,
    countries: Vec<String>,
    devices: Vec<String>,
}

/// Builds the facts from the lake.
/// The columns of `orders` the facts read.
pub const ORDER_COLUMNS: &[&str] = &[
    "order_id",
    "country",
    "device",
    "order_total",
    "currency",
    "charge_permission_id",
];

/// The columns of `charges` the facts read.
pub const CHARGE_COLUMNS: &[&str] = &[
    "charge_id",
    "charge_permission_id",
    "merchant_reference_id",
    "creation_timestamp",
    "state",
    "reason_code",
    "charge_amount",
    "currency",
];

pub fn build(
    lake: &Lake,
    catalogue: &Catalogue,
    options: &FactOptions,
) -> Result<Facts, AnalyticsError> {
    let (orders, charges) = rayon::join(
        || columns::read_table(lake, &ORDERS, ORDER_COLUMNS),
        || columns::read_table(lake, &CHARGES, CHARGE_COLUMNS),
    );
    let (orders, charges) = (orders?, charges?);
    build_from_batches(orders, charges, catalogue, options)
}

/// The attempt facts (order index not set yet) and their sort keys.
struct AttemptPhase {
    attempts: Vec<AttemptFact>,
    keys: Vec<SortKey>,
    record_currency: Vec<Currency>,
    countries: Vec<String>,
    devices: Vec<String>,
    bands: Vec<String>,
    reasons: Vec<String>,
    reason_classes: Vec<DeclineClass>,
}

/// Builds the facts from `orders` and `charges` batches (with the lake's column names; at least
/// [`ORDER_COLUMNS`] and [`CHARGE_COLUMNS`], others are ignored).
///
/// The `orders` batches and the charges' non-key columns are dropped as soon as the attempt
/// facts are built, before attempts are grouped into orders.
pub fn build_from_batches(
    orders: Vec<(PathBuf, RecordBatch)>,
    charges: Vec<(PathBuf, RecordBatch)>,
    catalogue: &Catalogue,
    options: &FactOptions,
) -> Result<Facts, AnalyticsError> {
    Ok(build_keyed_from_batches(orders, charges, catalogue, options)?.facts)
}

/// [`build_from_batches`], with each attempt's and each order's charge key (see [`KeyedFacts`]).
pub fn build_keyed_from_batches(
    orders: Vec<(PathBuf, RecordBatch)>,
    charges: Vec<(PathBuf, RecordBatch)>,
    catalogue: &Catalogue,
    options: &FactOptions,
) -> Result<KeyedFacts, AnalyticsError> {
    let AttemptPhase {
        mut attempts,
        mut keys,
        record_currency,
        countries,
        devices,
        bands,
        reasons,
        reason_classes,
    } = attempt_phase(&orders, &charges, catalogue, options)?;
    drop(orders);
    // Keep only the columns the grouping compares.
    let charges: Vec<RecordBatch> = charges
        .into_iter()
        .map(|(p, b)| {
            let schema = b.schema();
            let idx = ["charge_id", "charge_permission_id", "merchant_reference_id"]
                .map(|c| schema.index_of(c));
            let idx: Vec<usize> = idx
                .into_iter()
                .collect::<Result<_, _>>()
                .map_err(|e| AnalyticsError::corrupt(&p, e.to_string()))?;
            b.project(&idx)
                .map_err(|e| AnalyticsError::corrupt(&p, e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let key_cols: Vec<[&StringArray; 3]> = charges
        .iter()
        .map(|b| {
            [0, 1, 2].map(|i| {
                b.column(i)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .expect("checked when the facts were built")
            })
        })
        .collect();

    // Each attempt's charge key, in attempt (= charge row) order.
    let attempt_keys: Vec<u64> = key_cols
        .par_iter()
        .flat_map_iter(|[ids, _, _]| {
            (0..ids.len()).map(|i| crate::model::keys::charge_key(ids.value(i)))
        })
        .collect();
    let (orders, firsts, newest_ts) = group_orders(
        &mut attempts,
        &mut keys,
        &key_cols,
        &record_currency,
        options,
    );
    let order_keys = firsts.iter().map(|&i| attempt_keys[i as usize]).collect();
    Ok(KeyedFacts {
        facts: Facts {
            attempts,
            orders,
            countries,
            devices,
            bands,
            reasons,
            reason_classes,
            newest_ts,
            newest_day: newest_ts.map(|t| LocalDays::new(options.tz).day(t)),
        },
        attempt_keys,
        order_keys,
    })
}

/// Groups the attempts into orders and summarises each.
fn group_orders(
    attempts: &mut [AttemptFact],
    keys: &mut [SortKey],
    key_cols: &[[&StringArray; 3]],
    record_currency: &[Currency],
    options: &FactOptions,
) -> (Vec<OrderFact>, Vec<u32>, Option<i64>) {
    // Sort by (order key, creation_timestamp, charge_id).
    let order_key = |k: &SortKey| {
        let [_, permission, merchant_ref] = key_cols[k.batch as usize];
        let i = k.row as usize;
        opt(merchant_ref, i).unwrap_or_else(|| permission.value(i))
    };
    let charge_id = |k: &SortKey| key_cols[k.batch as usize][0].value(k.row as usize);
    keys.par_sort_unstable_by(|a, b| {
        a.hash
            .cmp(&b.hash)
            .then_with(|| order_key(a).cmp(order_key(b)))
            .then(a.ts.cmp(&b.ts))
            .then_with(|| charge_id(a).cmp(charge_id(b)))
    });
    let newest_ts = attempts.iter().map(|a| a.ts).max();
    let mature_before = newest_ts
        .map(|t| t - options.retry_window_hours as i64 * 3_600_000_000)
        .unwrap_or(i64::MAX);

    // Runs of equal keys are the orders.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for i in 1..=keys.len() {
        if i == keys.len()
            || keys[i].hash != keys[start].hash
            || order_key(&keys[i]) != order_key(&keys[start])
        {
            if i > start {
                runs.push((start, i));
            }
            start = i;
        }
    }
    let orders: Vec<OrderFact> = runs
        .par_iter()
        .map(|&(s, e)| {
            let seq = &keys[s..e];
            let first = &attempts[seq[0].idx as usize];
            let currency = if first.record == NONE {
                first.currency
            } else {
                record_currency[first.record as usize]
            };
            let mut o = OrderFact {
                first_ts: first.ts,
                first_day: first.day,
                country: first.country,
                device: first.device,
                band: first.band,
                currency,
                attempts: seq.len() as u32,
                decided: false,
                first_approved: false,
                eventual_approved: false,
                first_decline_reason: NONE,
                attempts_to_recovery: 0,
                immature: first.ts > mature_before,
            };
            for (pos, k) in seq.iter().enumerate() {
                let a = &attempts[k.idx as usize];
                if a.outcome.is_decided() && !o.decided {
                    o.decided = true;
                    o.first_approved = a.outcome == Outcome::Approved;
                    if !o.first_approved {
                        o.first_decline_reason = a.reason;
                    }
                }
                if a.outcome == Outcome::Approved && !o.eventual_approved {
                    o.eventual_approved = true;
                    if !o.first_approved {
                        o.attempts_to_recovery = pos as u32 + 1;
                    }
                }
            }
            o
        })
        .collect();
    for (oi, &(s, e)) in runs.iter().enumerate() {
        for k in &keys[s..e] {
            attempts[k.idx as usize].order = oi as u32;
        }
    }
    let firsts = runs.iter().map(|&(s, _)| keys[s].idx).collect();
    (orders, firsts, newest_ts)
}

fn attempt_phase(
    orders: &[(PathBuf, RecordBatch)],
    charges: &[(PathBuf, RecordBatch)],
    catalogue: &Catalogue,
    options: &FactOptions,
) -> Result<AttemptPhase, AnalyticsError> {
    let bands = Bands::new(&options.bands);
    // --- Order records and the two join lookups.
    let mut ord_cols = Vec::with_capacity(orders.len());
    for (p, b) in orders {
        ord_cols.push((
            col(p, b, "order_id")?,
            col(p, b, "country")?,
            col(p, b, "device")?,
            money_col(p, b, "order_total")?,
            col(p, b, "currency")?,
            col(p, b, "charge_permission_id")?,
            p.as_path(),
        ));
    }
    let n_records: usize = orders.iter().map(|(_, b)| b.num_rows()).sum();
    let (countries, country_ix) = sorted_dict(
        ord_cols
            .iter()
            .flat_map(|c| c.1.iter().flatten())
            .chain(["unknown"]),
    );
    let (devices, device_ix) = sorted_dict(
        ord_cols
            .iter()
            .flat_map(|c| c.2.iter().flatten())
            .chain(["unknown"]),
    );
    let mut rec = Records {
        country: Vec::with_capacity(n_records),
        device: Vec::with_capacity(n_records),
        total: Vec::with_capacity(n_records),
        currency: Vec::with_capacity(n_records),
        countries,
        devices,
    };
    for (_, country, device, total, cur, _, p) in &ord_cols {
        for i in 0..country.len() {
            rec.country.push(country_ix[country.value(i)]);
            rec.device.push(device_ix[device.value(i)]);
            rec.total.push(total.value(i) as i64);
            rec.currency.push(currency(p, cur.value(i))?);
        }
    }
    let (by_order_id, by_permission) = rayon::join(
        || {
            let mut m: FxHashMap<&str, u32> = FxHashMap::default();
            m.reserve(n_records);
            let mut r = 0u32;
            for c in &ord_cols {
                for i in 0..c.0.len() {
                    m.insert(c.0.value(i), r);
                    r += 1;
                }
            }
            m
        },
        || {
            // charge_permission_id -> the record with the smallest order_id (deterministic).
            let mut m: FxHashMap<&str, (&str, u32)> = FxHashMap::default();
            let mut r = 0u32;
            for c in &ord_cols {
                for i in 0..c.0.len() {
                    if let Some(cp) = opt(c.5, i) {
                        let id = c.0.value(i);
                        m.entry(cp)
                            .and_modify(|e| {
                                if id < e.0 {
                                    *e = (id, r)
                                }
                            })
                            .or_insert((id, r));
                    }
                    r += 1;
                }
            }
            m
        },
    );

    // --- Charges: typed columns per batch.
    struct ChargeCols<'a> {
        charge_id: &'a StringArray,
        permission: &'a StringArray,
        merchant_ref: &'a StringArray,
        ts: &'a arrow_array::PrimitiveArray<TimestampMicrosecondType>,
        state: &'a StringArray,
        reason: &'a StringArray,
        amount: &'a arrow_array::PrimitiveArray<Decimal128Type>,
        currency: &'a StringArray,
        path: &'a Path,
    }
    let mut cc = Vec::with_capacity(charges.len());
    for (p, b) in charges {
        cc.push(ChargeCols {
            charge_id: col(p, b, "charge_id")?,
            permission: col(p, b, "charge_permission_id")?,
            merchant_ref: col(p, b, "merchant_reference_id")?,
            ts: columns::timestamp(p, b, "creation_timestamp")?,
            state: col(p, b, "state")?,
            reason: col(p, b, "reason_code")?,
            amount: money_col(p, b, "charge_amount")?,
            currency: col(p, b, "currency")?,
            path: p,
        });
    }
    // Reason codes of declined attempts (empty -> `Declined`).
    let (reasons, reason_ix) = sorted_dict(cc.iter().flat_map(|c| {
        (0..c.state.len())
            .filter(|&i| c.state.value(i) == "Declined")
            .map(|i| opt(c.reason, i).unwrap_or("Declined"))
    }));
    let reason_classes: Vec<DeclineClass> = reasons
        .iter()
        .map(|r| catalogue.decline_class(Some(r)))
        .collect();
    for (r, class) in reasons.iter().zip(&reason_classes) {
        if *class == DeclineClass::Unknown {
            tracing::warn!(reason_code = %r, "reason code not in the catalogue: class `unknown`");
        }
    }
    let unknown_country = rec.countries.binary_search(&"unknown".to_string()).unwrap() as u32;
    let unknown_device = rec.devices.binary_search(&"unknown".to_string()).unwrap() as u32;

    // Attempt facts, per batch in parallel; `keys` carries (order-key hash, ts, batch, row).
    let offsets: Vec<usize> = cc
        .iter()
        .scan(0usize, |acc, c| {
            let o = *acc;
            *acc += c.charge_id.len();
            Some(o)
        })
        .collect();
    let per_batch: Vec<(Vec<AttemptFact>, Vec<SortKey>)> = cc
        .par_iter()
        .enumerate()
        .map(|(bi, c)| -> Result<_, AnalyticsError> {
            let mut days = LocalDays::new(options.tz);
            let n = c.charge_id.len();
            let mut facts = Vec::with_capacity(n);
            let mut keys = Vec::with_capacity(n);
            for i in 0..n {
                let merchant_ref = opt(c.merchant_ref, i);
                let permission = c.permission.value(i);
                let record = merchant_ref
                    .and_then(|m| by_order_id.get(m).copied())
                    .or_else(|| by_permission.get(permission).map(|e| e.1))
                    .unwrap_or(NONE);
                let state = c.state.value(i);
                let reason_code = opt(c.reason, i);
                let outcome = Outcome::of(state, reason_code);
                let cur = currency(c.path, c.currency.value(i))?;
                let amount = c.amount.value(i) as i64;
                let ts = c.ts.value(i);
                let (country, device, band) = if record == NONE {
                    (unknown_country, unknown_device, bands.band(cur, amount))
                } else {
                    let r = record as usize;
                    (
                        rec.country[r],
                        rec.device[r],
                        bands.band(rec.currency[r], rec.total[r]),
                    )
                };
                let reason = if outcome == Outcome::Declined {
                    reason_ix[reason_code.unwrap_or("Declined")]
                } else {
                    NONE
                };
                facts.push(AttemptFact {
                    ts,
                    amount,
                    order: NONE,
                    record,
                    day: days.day(ts),
                    country,
                    device,
                    band,
                    reason,
                    currency: cur,
                    outcome,
                });
                let key = merchant_ref.unwrap_or(permission);
                keys.push(SortKey {
                    hash: xxhash_rust::xxh3::xxh3_64(key.as_bytes()),
                    ts,
                    idx: (offsets[bi] + i) as u32,
                    batch: bi as u32,
                    row: i as u32,
                });
            }
            Ok((facts, keys))
        })
        .collect::<Result<_, _>>()?;
    let mut attempts = Vec::with_capacity(offsets.last().copied().unwrap_or(0) + 64);
    let mut keys = Vec::with_capacity(attempts.capacity());
    for (f, k) in per_batch {
        attempts.extend(f);
        keys.extend(k);
    }
    let Records {
        countries,
        devices,
        currency: record_currency,
        ..
    } = rec;
    Ok(AttemptPhase {
        attempts,
        keys,
        record_currency,
        countries,
        devices,
        bands: bands.labels,
        reasons,
        reason_classes,
    })
}

/// Sort entry of one attempt for the order grouping.
#[derive(Debug, Clone, Copy)]
struct SortKey {
    hash: u64,
    ts: i64,
    idx: u32,
    batch: u32,
    row: u32,
}

/// A date from `YYYY-MM-DD` as days since the epoch.
pub fn parse_day(text: &str) -> Result<i32, AnalyticsError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map(to_epoch_days)
        .map_err(|_| AnalyticsError::Usage(format!("{text:?} is not a date (YYYY-MM-DD)")))
}
