//! Building the facts from the lake's `charges` and `orders`: columns projected per Parquet
//! file (in parallel), one attempt per charge, then one parallel sort that groups attempts into
//! orders and numbers them.

use super::*;

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
